//! Rows from a Python iterable: this thread pulls them (it needs the GIL to), turns each into a
//! row of typed values, and hands batches of them to the load over a bounded channel. The GIL
//! is released while a batch waits for room, and everything after (encoding, sending,
//! committing) runs on the load's threads without it, so pulling overlaps with loading, and
//! memory is bounded by the channel however long the iterator is.

use std::sync::mpsc;

use barge::{Load, LoadReport, RowBatch};
use pyo3::exceptions::{PyKeyboardInterrupt, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::values::{self, Kinds};

/// Rows per batch handed to the load, at most.
const BATCH_ROWS: usize = 1024;
/// Bytes of values per batch, at most (wide rows, big strings).
const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for the load: with the load's own chunks in flight, this bounds memory.
const QUEUED_BATCHES: usize = 4;

/// How the rows are shaped.
enum Shape {
    /// Dicts keyed by column name (a missing key is NULL).
    Dict(Vec<Py<PyString>>),
    /// Tuples or lists, in the order of the columns.
    Seq,
    /// Objects of a class that declares its fields (dataclasses, pydantic models, attrs
    /// classes): each column is the attribute of its name.
    Attrs(Vec<Py<PyString>>),
}

/// The fields a row's class declares, in order, when it is a dataclass, a pydantic (v2)
/// model or an attrs class: applications keep their records in these, and
/// `dataclasses.asdict` for each row would copy it deeply.
fn declared_fields(row: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
    let py = row.py();
    let class = row.get_type();
    let names_of = |fields: Bound<'_, PyAny>| -> PyResult<Vec<String>> {
        fields
            .try_iter()?
            .map(|f| f?.getattr("name")?.extract())
            .collect()
    };
    if class.hasattr("__dataclass_fields__")? {
        let fields = py.import("dataclasses")?.call_method1("fields", (row,))?;
        return names_of(fields).map(Some);
    }
    if let Ok(fields) = class.getattr("__attrs_attrs__") {
        return names_of(fields).map(Some);
    }
    if let Ok(fields) = class.getattr("model_fields") {
        if let Ok(fields) = fields.cast::<PyDict>() {
            let names: PyResult<Vec<String>> = fields.keys().iter().map(|k| k.extract()).collect();
            return names.map(Some);
        }
    }
    Ok(None)
}

/// Whether a row is a 1-D numpy array, which is read as a tuple is (a list of them, or the
/// rows of a matrix, as numpy computations give).
fn is_vector(row: &Bound<'_, PyAny>) -> PyResult<bool> {
    let class = row.get_type();
    Ok(class.module()?.to_cow()? == "numpy"
        && class.name()?.to_cow()? == "ndarray"
        && row.getattr("ndim")?.extract::<usize>()? == 1)
}

/// The column names as Python strings, interned once: looked up in every row.
fn interned(py: Python<'_>, names: &[String]) -> Vec<Py<PyString>> {
    names
        .iter()
        .map(|n| PyString::intern(py, n).unbind())
        .collect()
}

fn shape(first: &Bound<'_, PyAny>, columns: Option<Vec<String>>) -> PyResult<(Shape, Vec<String>)> {
    let py = first.py();
    if let Ok(d) = first.cast::<PyDict>() {
        let names = match columns {
            Some(c) => c,
            None => d
                .keys()
                .iter()
                .map(|k| k.str().map(|s| s.to_string_lossy().into_owned()))
                .collect::<PyResult<_>>()?,
        };
        return Ok((Shape::Dict(interned(py, &names)), names));
    }
    if let Some(fields) = declared_fields(first)? {
        // As a dict's keys, columns= names the attributes to read.
        let names = columns.unwrap_or(fields);
        return Ok((Shape::Attrs(interned(py, &names)), names));
    }
    if first.is_instance_of::<PyTuple>() || first.is_instance_of::<PyList>() || is_vector(first)? {
        let names = match columns {
            Some(c) => c,
            // A namedtuple names its fields.
            None => match first.getattr("_fields") {
                Ok(f) => f.extract()?,
                Err(_) => {
                    return Err(PyTypeError::new_err(
                        "rows of tuples or lists need columns=[...] naming their values",
                    ))
                }
            },
        };
        return Ok((Shape::Seq, names));
    }
    Err(PyTypeError::new_err(format!(
        "rows must be dicts (keys = columns), tuples with columns=[...], or dataclasses \
         (pydantic models, attrs classes); the first is a {}",
        first.get_type().name()?
    )))
}

/// Appends one row.
fn push_row(
    batch: &mut RowBatch,
    row: &Bound<'_, PyAny>,
    shape: &Shape,
    names: &[String],
    kinds: &Kinds,
    number: u64,
) -> PyResult<()> {
    let py = row.py();
    match shape {
        Shape::Dict(keys) => {
            let d = row.cast::<PyDict>().map_err(|_| {
                PyTypeError::new_err(format!("row {number} is not a dict, as the first row is"))
            })?;
            let mut found = 0;
            for (key, name) in keys.iter().zip(names) {
                match d.get_item(key.bind(py))? {
                    Some(v) => {
                        found += 1;
                        values::push(batch, &v, kinds, name).map_err(|e| at(py, e, number))?;
                    }
                    None => batch.push_null(),
                }
            }
            if found < d.len() {
                let unknown = d
                    .keys()
                    .iter()
                    .map(|k| k.str().map(|s| s.to_string_lossy().into_owned()))
                    .collect::<PyResult<Vec<_>>>()?
                    .into_iter()
                    .find(|k| !names.contains(k))
                    .unwrap_or_default();
                return Err(PyTypeError::new_err(format!(
                    "row {number} has key {unknown:?}, which is not among the columns {names:?}"
                )));
            }
        }
        Shape::Attrs(keys) => {
            for (key, name) in keys.iter().zip(names) {
                let v = row.getattr(key.bind(py)).map_err(|_| {
                    PyTypeError::new_err(format!(
                        "row {number} has no attribute {name:?}, as the first row has"
                    ))
                })?;
                values::push(batch, &v, kinds, name).map_err(|e| at(py, e, number))?;
            }
        }
        Shape::Seq => {
            let n = row.len()?;
            if n != names.len() {
                return Err(PyTypeError::new_err(format!(
                    "row {number} has {n} values for {} columns",
                    names.len()
                )));
            }
            for (i, name) in names.iter().enumerate() {
                values::push(batch, &row.get_item(i)?, kinds, name)
                    .map_err(|e| at(py, e, number))?;
            }
        }
    }
    batch
        .end_row()
        .map_err(|e| PyTypeError::new_err(format!("row {number}: {e}")))
}

/// `e`, saying which row it is about.
fn at(py: Python<'_>, e: PyErr, number: u64) -> PyErr {
    if e.is_instance_of::<PyTypeError>(py) {
        PyTypeError::new_err(format!("row {number}, {}", e.value(py)))
    } else {
        e
    }
}

/// Loads the rows of `rows`.
pub fn load(
    py: Python<'_>,
    load: Load,
    rows: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    stop: Option<Py<PyAny>>,
) -> PyResult<barge::Result<LoadReport>> {
    let mut iter = rows.try_iter()?;
    let first = match iter.next() {
        Some(row) => row?,
        None => {
            // Nothing to load; the load still checks the table and reports 0 rows.
            let names = columns.unwrap_or_default();
            let cancel = crate::Stop::new(load.cancel_flag(), stop);
            return crate::wait(py, cancel, async move {
                load.load_batches(names, std::iter::empty()).await
            });
        }
    };
    let (shape, names) = shape(&first, columns)?;
    let kinds = Kinds::new(py)?;
    let (tx, rx) = mpsc::sync_channel::<barge::Result<RowBatch>>(QUEUED_BATCHES);
    let cancel = crate::Stop::new(load.cancel_flag(), stop);
    let width = names.len();
    let load_names = names.clone();
    let (done_tx, done_rx) = mpsc::channel();
    crate::runtime()?.spawn(async move {
        let _ = done_tx.send(load.load_batches(load_names, rx.into_iter()).await);
    });

    // Pull, convert, hand over. An error here (the iterator raised, a value of no known type,
    // Ctrl-C) is sent down the channel so the load fails rather than ends: what it committed
    // stays, the load is not marked done, and a re-run with the same load id resumes.
    let mut failure: Option<PyErr> = None;
    let mut batch = RowBatch::new(width);
    let mut number = 0u64;
    let mut pending = Some(first);
    loop {
        let row = match pending.take() {
            Some(r) => Some(Ok(r)),
            None => iter.next(),
        };
        let row = match row {
            None => break,
            Some(Err(e)) => {
                failure = Some(e);
                break;
            }
            Some(Ok(r)) => r,
        };
        number += 1;
        if let Err(e) = push_row(&mut batch, &row, &shape, &names, &kinds, number) {
            failure = Some(e);
            break;
        }
        if batch.rows() >= BATCH_ROWS || batch.bytes() >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, RowBatch::new(width));
            if py.detach(|| tx.send(Ok(full))).is_err() {
                // The load ended early (it failed): its error is the one to raise.
                break;
            }
            if let Err(e) = cancel.asked(py) {
                failure = Some(e);
                break;
            }
        }
    }
    match &failure {
        None => {
            if batch.rows() > 0 {
                let _ = py.detach(|| tx.send(Ok(batch)));
            }
        }
        Some(e) => {
            let why = if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                cancel.now();
                barge::Error::from(barge::ErrorKind::Interrupted)
            } else {
                crate::config(format!("row {number}: {e}"))
            };
            let _ = py.detach(|| tx.send(Err(why)));
        }
    }
    drop(tx);
    let result = crate::wait_for(py, cancel, done_rx)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(result),
    }
}
