//! Python values into a row: each kind of value keeps its kind (an int stays an integer, a
//! datetime its fields), so that it goes into a column of its type without being written out as
//! text; a `str` is the column's text form, as a CSV field is.
//!
//! Types are told apart by their type object first (one pointer comparison for the common
//! exact types), then by `isinstance` for subclasses (pandas' Timestamp is a datetime).

use barge::RowBatch;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

/// The types that are not builtins, looked up once per load.
pub struct Kinds {
    datetime: Py<PyType>,
    date: Py<PyType>,
    time: Py<PyType>,
    decimal: Py<PyType>,
    uuid: Py<PyType>,
    /// pandas' NaT (a datetime subclass) and NA, when pandas is loaded.
    missing: Vec<Py<PyType>>,
    /// numpy's scalar base class, when numpy is loaded.
    numpy: Option<Py<PyType>>,
}

impl Kinds {
    pub fn new(py: Python<'_>) -> PyResult<Kinds> {
        let dt = py.import("datetime")?;
        let ty = |m: &Bound<'_, PyAny>, name: &str| -> PyResult<Py<PyType>> {
            Ok(m.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Kinds {
            datetime: ty(dt.as_any(), "datetime")?,
            date: ty(dt.as_any(), "date")?,
            time: ty(dt.as_any(), "time")?,
            decimal: ty(py.import("decimal")?.as_any(), "Decimal")?,
            uuid: ty(py.import("uuid")?.as_any(), "UUID")?,
            // Only looked up when the program loaded them: barge does not import them.
            missing: match loaded(py, "pandas")? {
                Some(pd) => vec![
                    pd.getattr("NaT")?.get_type().unbind(),
                    pd.getattr("NA")?.get_type().unbind(),
                ],
                None => Vec::new(),
            },
            numpy: match loaded(py, "numpy")? {
                Some(np) => Some(ty(&np, "generic")?),
                None => None,
            },
        })
    }
}

/// A str's UTF-8 bytes, without a copy.
///
/// pyo3 under abi3-py39 reads a str through a new bytes object (`to_cow`), because
/// `PyUnicode_AsUTF8AndSize` joined the limited API only in 3.10. The function itself is in
/// every CPython 3 with the same signature, and this is the hottest call of a load from
/// Python (one per string value), so it is called directly.
fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            o: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::ffi::c_char;
    }
    let mut len: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a str (the type says so) and the GIL is held (a Bound proves it); the
    // buffer returned lives as long as the str, which outlives the borrow of `s`.
    let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len) };
    if ptr.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    // SAFETY: CPython returns `len` bytes of UTF-8 at `ptr` (a lone surrogate is an error,
    // returned above as NULL).
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) };
    std::str::from_utf8(bytes).map_err(|e| PyTypeError::new_err(e.to_string()))
}

/// A module the program has imported, without importing it.
fn loaded<'py>(py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let modules = py.import("sys")?.getattr("modules")?;
    Ok(modules.get_item(name).ok())
}

fn attr_i64(v: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    v.getattr(name)?.extract()
}

/// Seconds east of UTC of an aware datetime or time (`None` when naive).
fn utc_offset(v: &Bound<'_, PyAny>) -> PyResult<Option<i32>> {
    let off = v.call_method0("utcoffset")?;
    if off.is_none() {
        return Ok(None);
    }
    let days = attr_i64(&off, "days")?;
    let secs = attr_i64(&off, "seconds")?;
    Ok(Some((days * 86_400 + secs) as i32))
}

/// Appends one value to the row being built; `column` names it in errors.
pub fn push(
    batch: &mut RowBatch,
    v: &Bound<'_, PyAny>,
    kinds: &Kinds,
    column: &str,
) -> PyResult<()> {
    let py = v.py();
    if v.is_none() {
        batch.push_null();
        return Ok(());
    }
    // Exact builtin types first: the common case costs one comparison.
    if let Ok(s) = v.cast_exact::<PyString>() {
        batch.push_text(utf8(s)?);
        return Ok(());
    }
    if v.is_exact_instance_of::<PyBool>() {
        batch.push_bool(v.is_truthy()?);
        return Ok(());
    }
    if v.is_exact_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => batch.push_int(i),
            // Beyond 64 bits: its digits, which numeric reads and integer columns refuse.
            Err(_) => batch.push_text(&v.str()?.to_cow()?),
        }
        return Ok(());
    }
    if let Ok(f) = v.cast_exact::<PyFloat>() {
        batch.push_float(f.value());
        return Ok(());
    }
    let ty = v.get_type();
    if kinds.missing.iter().any(|m| ty.is(m.bind(py))) {
        batch.push_null();
        return Ok(());
    }
    if let Some(np) = &kinds.numpy {
        if v.is_instance(np.bind(py))? {
            return match numpy_scalar(v)? {
                Some(n) => push(batch, &n, kinds, column),
                None => {
                    batch.push_null();
                    Ok(())
                }
            };
        }
    }
    if ty.is(kinds.datetime.bind(py)) || v.is_instance(kinds.datetime.bind(py))? {
        return push_datetime(batch, v);
    }
    if ty.is(kinds.date.bind(py)) || v.is_instance(kinds.date.bind(py))? {
        batch.push_date(
            attr_i64(v, "year")? as i32,
            attr_i64(v, "month")? as u32,
            attr_i64(v, "day")? as u32,
        );
        return Ok(());
    }
    if ty.is(kinds.time.bind(py)) || v.is_instance(kinds.time.bind(py))? {
        if utc_offset(v)?.is_some() {
            // A time with a zone (timetz): its ISO text keeps the offset.
            batch.push_text(&v.call_method0("isoformat")?.extract::<String>()?);
        } else {
            let us = ((attr_i64(v, "hour")? * 60 + attr_i64(v, "minute")?) * 60
                + attr_i64(v, "second")?)
                * 1_000_000
                + attr_i64(v, "microsecond")?;
            batch.push_time_micros(us);
        }
        return Ok(());
    }
    if ty.is(kinds.decimal.bind(py)) || v.is_instance(kinds.decimal.bind(py))? {
        // Its exact digits (and NaN, Infinity), which numeric reads exactly.
        batch.push_text(&v.str()?.to_cow()?);
        return Ok(());
    }
    if ty.is(kinds.uuid.bind(py)) || v.is_instance(kinds.uuid.bind(py))? {
        let bytes: Vec<u8> = v.getattr("bytes")?.extract()?;
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| PyTypeError::new_err("a UUID's bytes are not 16 bytes"))?;
        batch.push_uuid(arr);
        return Ok(());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        batch.push_bytes(b.as_bytes());
        return Ok(());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        batch.push_bytes(&b.to_vec());
        return Ok(());
    }
    if v.is_instance_of::<PyDict>() || v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>()
    {
        let mut out = Vec::new();
        json(v, kinds, &mut out, 0)?;
        batch.push_text(&String::from_utf8_lossy(&out));
        return Ok(());
    }
    // Subclasses of the builtins (IntEnum, str enums, numpy.float64 is a float).
    if let Ok(s) = v.cast::<PyString>() {
        batch.push_text(utf8(s)?);
        return Ok(());
    }
    if v.is_instance_of::<PyBool>() {
        batch.push_bool(v.is_truthy()?);
        return Ok(());
    }
    if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => batch.push_int(i),
            Err(_) => batch.push_text(&v.str()?.to_cow()?),
        }
        return Ok(());
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        batch.push_float(f.value());
        return Ok(());
    }
    if v.hasattr("tobytes")? {
        // memoryview and other buffers.
        let b: Vec<u8> = v.call_method0("tobytes")?.extract()?;
        batch.push_bytes(&b);
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "column \"{column}\": a value of type {} cannot be loaded (pass None, bool, int, float, str, bytes, Decimal, datetime, date, time, UUID, dict or list)",
        ty.name()?
    )))
}

/// A numpy scalar as its Python equivalent (`None` for NaT).
fn numpy_scalar<'py>(v: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let name = v.get_type().name()?.to_cow()?.into_owned();
    if name.starts_with("datetime64") || name.starts_with("timedelta64") {
        if v.str()?.to_cow()? == "NaT" {
            return Ok(None);
        }
        if name.starts_with("datetime64") {
            // In nanoseconds, .item() is an int: microseconds first, for a datetime.
            let us = v.call_method1("astype", ("datetime64[us]",))?;
            return Ok(Some(us.call_method0("item")?));
        }
    }
    Ok(Some(v.call_method0("item")?))
}

fn push_datetime(batch: &mut RowBatch, v: &Bound<'_, PyAny>) -> PyResult<()> {
    batch.push_datetime(
        attr_i64(v, "year")? as i32,
        attr_i64(v, "month")? as u32,
        attr_i64(v, "day")? as u32,
        attr_i64(v, "hour")? as u32,
        attr_i64(v, "minute")? as u32,
        attr_i64(v, "second")? as u32,
        attr_i64(v, "microsecond")? as u32,
        utc_offset(v)?,
    );
    Ok(())
}

/// A pandas object column's value as its JSON text, as a row's dict or list is written; `None`
/// for a missing value (None, NaN, pandas' NA and NaT).
pub fn json_text(v: &Bound<'_, PyAny>, kinds: &Kinds) -> PyResult<Option<String>> {
    let py = v.py();
    let missing = v.is_none()
        || v.cast::<PyFloat>().is_ok_and(|f| f.value().is_nan())
        || kinds.missing.iter().any(|m| v.get_type().is(m.bind(py)));
    if missing {
        return Ok(None);
    }
    let mut out = Vec::new();
    json(v, kinds, &mut out, 0)?;
    String::from_utf8(out)
        .map(Some)
        .map_err(|_| PyTypeError::new_err("a value's JSON is not UTF-8"))
}

/// A dict, list or tuple as JSON: numbers, strings, booleans and None as themselves (NaN and
/// the infinities as strings), dates and times as ISO text, Decimals as numbers, UUIDs as
/// strings.
fn json(v: &Bound<'_, PyAny>, kinds: &Kinds, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if depth > 200 {
        return Err(PyTypeError::new_err(
            "a value nested over 200 deep cannot be JSON",
        ));
    }
    let py = v.py();
    if v.is_none() {
        out.extend_from_slice(b"null");
    } else if v.is_instance_of::<PyBool>() {
        out.extend_from_slice(if v.is_truthy()? { b"true" } else { b"false" });
    } else if v.is_instance_of::<PyInt>() {
        out.extend_from_slice(v.str()?.to_cow()?.as_bytes());
    } else if let Ok(f) = v.cast::<PyFloat>() {
        // NaN and the infinities have no JSON number: written as the strings PostgreSQL's
        // own `to_json` writes for them, which a float array column reads as the floats.
        let x = f.value();
        if x.is_nan() {
            out.extend_from_slice(b"\"NaN\"");
        } else if x.is_infinite() {
            out.extend_from_slice(if x > 0.0 {
                b"\"Infinity\""
            } else {
                b"\"-Infinity\""
            });
        } else {
            out.extend_from_slice(v.repr()?.to_cow()?.as_bytes());
        }
    } else if let Ok(s) = v.cast::<PyString>() {
        string(&s.to_cow()?, out);
    } else if let Ok(d) = v.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, val)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => k.str()?.to_cow()?.into_owned(),
            };
            string(&key, out);
            out.push(b':');
            json(&val, kinds, out, depth + 1)?;
        }
        out.push(b'}');
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        out.push(b'[');
        for (i, item) in v.try_iter()?.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json(&item?, kinds, out, depth + 1)?;
        }
        out.push(b']');
    } else if v.is_instance(kinds.decimal.bind(py))? {
        if v.call_method0("is_finite")?.is_truthy()? {
            out.extend_from_slice(v.str()?.to_cow()?.as_bytes());
        } else if v.call_method0("is_nan")?.is_truthy()? {
            // A quiet or signalling NaN: numeric and float both read "NaN".
            out.extend_from_slice(b"\"NaN\"");
        } else {
            // "Infinity" or "-Infinity", as a string (as a float's infinity above).
            string(&v.str()?.to_cow()?, out);
        }
    } else if v.is_instance(kinds.datetime.bind(py))?
        || v.is_instance(kinds.date.bind(py))?
        || v.is_instance(kinds.time.bind(py))?
    {
        string(&v.call_method0("isoformat")?.extract::<String>()?, out);
    } else if v.is_instance(kinds.uuid.bind(py))? {
        string(&v.str()?.to_cow()?, out);
    } else if kinds.missing.iter().any(|m| v.get_type().is(m.bind(py))) {
        out.extend_from_slice(b"null");
    } else if kinds
        .numpy
        .as_ref()
        .is_some_and(|np| v.is_instance(np.bind(py)).unwrap_or(false))
    {
        match numpy_scalar(v)? {
            Some(n) => json(&n, kinds, out, depth)?,
            None => out.extend_from_slice(b"null"),
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "a value of type {} has no JSON form",
            v.get_type().name()?
        )));
    }
    Ok(())
}

fn string(s: &str, out: &mut Vec<u8>) {
    // serde_json writes a &str as a JSON string; writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
