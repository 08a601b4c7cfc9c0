//! Rows from Arrow record batches (a DataFrame, a Parquet reader, another process's stream
//! through the C stream interface), read column by column from Arrow's own buffers.
//!
//! Every value keeps its kind ([`Typed`]): integers, doubles, booleans, dates, times,
//! timestamps and binary go into columns of their type without being written as text, and into
//! other columns as their text, as a file's field would. Strings are text fields (a string into
//! `json` is JSON text). Decimals go as their exact digits; dictionaries (pandas categoricals)
//! as their values; lists, structs and maps as JSON (`arrow-json`); durations as ISO 8601
//! seconds; other types as Arrow's own text of them (`arrow-cast`).

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, TimeUnit};

use crate::error::{Error, Result};
use crate::null::NullTexts;
use crate::record::{Record, RecordSource, Typed};

/// How one Arrow column's values become fields.
enum Column {
    Int(ArrayRef),
    Float(ArrayRef),
    Bool(ArrayRef),
    Text(ArrayRef),
    Bytes(ArrayRef),
    /// Arrow's canonical UUID extension (`arrow.uuid`: 16 fixed-size bytes).
    Uuid(ArrayRef),
    /// Days since 1970-01-01 (`date32`), or milliseconds (`date64`).
    Date(ArrayRef),
    Time(ArrayRef),
    /// A timestamp, aware (stored as UTC) when it has a time zone.
    Timestamp(ArrayRef, bool),
    /// Anything else, turned into strings once per batch.
    Cast(ArrayRef),
    Null,
}

/// Reads the rows of an Arrow record batch reader.
pub struct ArrowSource {
    reader: Box<dyn RecordBatchReader + Send>,
    name: String,
    columns: Vec<Column>,
    rows: usize,
    next_row: usize,
    numbers: super::batch::RowNumbers,
    null: NullTexts,
    null_strings: bool,
    /// The table its schema makes, for `--create`.
    table: crate::infer::InferredTable,
}

impl ArrowSource {
    /// Reads `reader`; returns the source and its column names. With `keep_raw` each row's
    /// input is its CSV line (the rejects file); with `null`, a string equal to one of its
    /// texts is NULL.
    ///
    /// # Errors
    /// A configuration error for a column of a type barge cannot load (an Arrow union), found
    /// from the schema, before a table is created for it or a row is read.
    pub fn new(
        reader: Box<dyn RecordBatchReader + Send>,
        name: &str,
        keep_raw: bool,
        null: Option<NullTexts>,
    ) -> Result<(ArrowSource, Vec<String>)> {
        let schema = reader.schema();
        for f in schema.fields() {
            if let Err(why) = loadable(f) {
                return Err(unloadable(name, f.name(), f.data_type(), &why));
            }
        }
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        let table = table_of(&schema);
        Ok((
            ArrowSource {
                table,
                reader,
                name: name.to_string(),
                columns: Vec::new(),
                rows: 0,
                next_row: 0,
                numbers: super::batch::RowNumbers::new(keep_raw),
                null_strings: null.is_some(),
                null: null.unwrap_or_default(),
            },
            names,
        ))
    }

    /// Names the columns `given` (in order) instead of the schema's names; returns the names,
    /// or a configuration error when there are not as many as the columns.
    ///
    /// # Errors
    /// As said, naming the schema's columns.
    pub fn rename(&mut self, given: &[String]) -> Result<Vec<String>> {
        if given.len() != self.table.columns.len() {
            let names: Vec<&str> = self.table.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::config(format!(
                "columns= names {} columns, and the {} data has {}: {}",
                given.len(),
                self.name,
                names.len(),
                names.join(", ")
            )));
        }
        self.table.rename(given);
        Ok(given.to_vec())
    }

    /// Numbers rows after the first `skip`, which the reader has passed over (a Parquet file
    /// opened again at the first row a resumed load needs).
    pub fn starting_at(&mut self, skip: u64) {
        self.numbers.starting_at(skip);
    }

    fn start(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        self.columns = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(a, f)| column(a.clone(), f, &self.name))
            .collect::<Result<_>>()?;
        self.rows = batch.num_rows();
        self.next_row = 0;
        Ok(())
    }
}

/// The table a reader of `schema` creates (`--create`): each column's type from its Arrow type,
/// without a sample. A list of numbers, booleans, strings, dates, times or timestamps is an
/// array of them (PostgreSQL's `bigint[]`, `text[]`..., as asyncpg users have; JSON where there
/// are no arrays); other lists, structs and maps are JSON; a type barge reads as text (a
/// dictionary's values) is text; durations and intervals are intervals.
pub fn table_of(schema: &arrow_schema::Schema) -> crate::infer::InferredTable {
    use crate::infer::{Inferred, InferredColumn};
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            // Lists of lists may be ragged, which no PostgreSQL array is; bytes and durations
            // are written in JSON as no array element reads them.
            let array_of = list_item(f).map(type_of).filter(|(ty, _)| {
                !matches!(ty, Inferred::Json | Inferred::Bytes | Inferred::Interval)
            });
            let ((ty, digits), array) = match array_of {
                Some(t) => (t, true),
                None => (type_of(f), false),
            };
            InferredColumn {
                name: f.name().clone(),
                ty,
                digits,
                max_len: usize::MAX,
                array,
            }
        })
        .collect();
    crate::infer::InferredTable::of_types(columns)
}

/// A list's item field.
fn list_item(f: &arrow_schema::Field) -> Option<&arrow_schema::Field> {
    match f.data_type() {
        DataType::List(e)
        | DataType::LargeList(e)
        | DataType::FixedSizeList(e, _)
        | DataType::ListView(e)
        | DataType::LargeListView(e) => Some(e),
        _ => None,
    }
}

/// The type a column of `f`'s values makes, and a decimal's digits before and after the point.
fn type_of(f: &arrow_schema::Field) -> (crate::infer::Inferred, (usize, usize)) {
    use crate::infer::Inferred;
    match (extension(f), f.data_type()) {
        (Some(UUID), DataType::FixedSizeBinary(16)) => (Inferred::Uuid, (0, 0)),
        (Some(JSON), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            (Inferred::Json, (0, 0))
        }
        (_, ty) => match ty {
            // Past i64: exact, as a decimal of 20 digits.
            DataType::UInt64 => (Inferred::Numeric, (20, 0)),
            int if int.is_integer() => (Inferred::Bigint, (0, 0)),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => (Inferred::Double, (0, 0)),
            DataType::Boolean => (Inferred::Boolean, (0, 0)),
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                let scale = usize::try_from(*s).unwrap_or(0);
                (
                    Inferred::Numeric,
                    (usize::from(*p).saturating_sub(scale), scale),
                )
            }
            DataType::Date32 | DataType::Date64 => (Inferred::Date, (0, 0)),
            DataType::Time32(_) | DataType::Time64(_) => (Inferred::Time, (0, 0)),
            DataType::Timestamp(_, None) => (Inferred::Timestamp, (0, 0)),
            DataType::Timestamp(_, Some(_)) => (Inferred::Timestamptz, (0, 0)),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => (Inferred::Bytes, (0, 0)),
            nested if is_nested(nested) => (Inferred::Json, (0, 0)),
            DataType::Duration(_) | DataType::Interval(_) => (Inferred::Interval, (0, 0)),
            _ => (Inferred::Text, (0, 0)),
        },
    }
}

/// Arrow's canonical extension types barge reads as what they mean: a UUID's bytes as a UUID,
/// JSON text as JSON.
const UUID: &str = "arrow.uuid";
const JSON: &str = "arrow.json";

/// The extension type a field's values are (pandas' periods, Arrow's UUIDs): its storage type
/// is what the field's type says, its meaning is in the field's metadata.
fn extension(f: &arrow_schema::Field) -> Option<&str> {
    f.metadata().get("ARROW:extension:name").map(String::as_str)
}

fn column(a: ArrayRef, f: &arrow_schema::Field, input: &str) -> Result<Column> {
    let name = f.name();
    if let Err(why) = loadable(f) {
        return Err(unloadable(input, name, a.data_type(), &why));
    }
    if let (Some(UUID), DataType::FixedSizeBinary(16)) = (extension(f), a.data_type()) {
        return Ok(Column::Uuid(a));
    }
    Ok(match a.data_type() {
        DataType::Null => Column::Null,
        int if int.is_integer() => Column::Int(a),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Column::Float(a),
        DataType::Boolean => Column::Bool(a),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Text(a),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Column::Bytes(a),
        DataType::Date32 | DataType::Date64 => Column::Date(a),
        DataType::Time32(_) | DataType::Time64(_) => Column::Time(a),
        DataType::Timestamp(_, tz) => {
            let aware = tz.is_some();
            Column::Timestamp(a, aware)
        }
        _ => column_as_text(a, name, input)?,
    })
}

/// A column of a type read as text: nested values as JSON, the others as Arrow's text of them.
fn column_as_text(a: ArrayRef, name: &str, input: &str) -> Result<Column> {
    Ok(match a.data_type() {
        DataType::Duration(unit) => Column::Cast(duration_texts(&a, *unit)),
        other if is_nested(other) => Column::Cast(json_texts(&a, name).map_err(|e| {
            Error::config(format!(
                "{input}: column \"{name}\" is of Arrow type {other}, which barge cannot write \
                 as JSON: {e}"
            ))
        })?),
        other => {
            let cast = arrow_cast::cast(&a, &DataType::Utf8)
                .map_err(|e| unloadable(input, name, other, &e.to_string()))?;
            Column::Cast(cast)
        }
    })
}

/// Whether a column of type `ty` loads, and why not: as JSON (nested, when arrow-json can
/// write every member), or read as its own kind or as Arrow's text (every type [`column`]
/// reads as its own kind also has a text form, but for fixed-size binary). Not a union: its
/// cast to text keeps only its text member's values. Asked of the schema, so that a column
/// barge cannot write fails the load before `--create` makes a table for it.
fn loadable(f: &arrow_schema::Field) -> std::result::Result<(), String> {
    // A period's storage is its count of periods since 1970 (648 for 2024-01 by month), a
    // number that would load without its meaning.
    if extension(f) == Some("pandas.period") {
        return Err(
            "a pandas period, stored as a count of periods since 1970 (convert it \
                    first: .dt.to_timestamp() for each period's start, or .astype(str))"
                .into(),
        );
    }
    loadable_type(f.data_type())
}

fn loadable_type(ty: &DataType) -> std::result::Result<(), String> {
    match ty {
        DataType::Union(..) => Err("it has no text form".into()),
        DataType::FixedSizeBinary(_) => Ok(()),
        // arrow-json says whether it can write every member, at any depth (a list of unions
        // it cannot), from an empty column of the type.
        nested if is_nested(nested) => {
            use arrow_json::writer::{make_encoder, EncoderOptions};
            let empty = arrow_array::new_empty_array(nested);
            let field = std::sync::Arc::new(arrow_schema::Field::new("", nested.clone(), true));
            make_encoder(&field, empty.as_ref(), &EncoderOptions::default())
                .map(|_| ())
                .map_err(|e| format!("it cannot be written as JSON ({e})"))
        }
        other if arrow_cast::can_cast_types(other, &DataType::Utf8) => Ok(()),
        _ => Err("it has no text form".into()),
    }
}

fn unloadable(input: &str, name: &str, ty: &DataType, why: &str) -> Error {
    Error::config(format!(
        "{input}: column \"{name}\" is of Arrow type {ty}, which barge cannot load: {why}"
    ))
    .with_hint("leave the column out (select the others before loading), or convert it to a type with a text form")
}

/// Lists, structs and maps: values that hold values, which go as JSON (into `json`/`jsonb`
/// columns, and `--create` makes such columns for them). Arrow's own text of a list is no
/// JSON (`[a, b]`), and it has none for a struct.
fn is_nested(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::List(_)
            | DataType::LargeList(_)
            | DataType::FixedSizeList(..)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
            | DataType::Struct(_)
            | DataType::Map(..)
    )
}

/// Each value of a nested column as its JSON text, once per batch (`arrow-json` writes it:
/// a struct as an object with its null fields named, a map as an object, binary as hex; a
/// float that JSON cannot hold as PostgreSQL's `to_json` writes it: [`NonFinite`]).
fn json_texts(a: &ArrayRef, name: &str) -> std::result::Result<ArrayRef, String> {
    use arrow_json::writer::{make_encoder, EncoderOptions};
    let field = std::sync::Arc::new(arrow_schema::Field::new(name, a.data_type().clone(), true));
    let options = EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_encoder_factory(std::sync::Arc::new(NonFinite));
    let mut encoder = make_encoder(&field, a.as_ref(), &options).map_err(|e| e.to_string())?;
    let mut texts = arrow_array::builder::StringBuilder::with_capacity(a.len(), a.len() * 16);
    let mut buf = Vec::new();
    for i in 0..a.len() {
        if a.is_null(i) {
            texts.append_null();
            continue;
        }
        buf.clear();
        encoder.encode(i, &mut buf);
        let text = std::str::from_utf8(&buf).map_err(|e| e.to_string())?;
        texts.append_value(text);
    }
    Ok(std::sync::Arc::new(texts.finish()))
}

/// Writes the floats of a list (or struct, or map) as arrow-json does, except NaN and the
/// infinities, which JSON has no number for: arrow-json writes them as `null`, which a
/// `float8[]` column stores as NULL, another value, without a word. They are written as the
/// strings `"NaN"`, `"Infinity"` and `"-Infinity"`, as PostgreSQL's own `to_json` writes them:
/// an array column reads those as the floats, and a `jsonb` one stores what the server would
/// have made of the same values. Arrays with only finite values keep arrow-json's encoder.
#[derive(Debug)]
struct NonFinite;

impl arrow_json::EncoderFactory for NonFinite {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a arrow_schema::FieldRef,
        array: &'a dyn Array,
        _options: &'a arrow_json::writer::EncoderOptions,
    ) -> std::result::Result<
        Option<arrow_json::writer::NullableEncoder<'a>>,
        arrow_schema::ArrowError,
    > {
        let values: Vec<f64> = match array.data_type() {
            DataType::Float16 => {
                let a = array.as_primitive::<Float16Type>();
                a.values().iter().map(|v| f64::from(v.to_f32())).collect()
            }
            DataType::Float32 => {
                let a = array.as_primitive::<Float32Type>();
                if a.values().iter().all(|v| v.is_finite()) {
                    return Ok(None);
                }
                // Each as its shortest f32 text, as arrow-json writes it (not as the f64 of it).
                return Ok(Some(arrow_json::writer::NullableEncoder::new(
                    Box::new(Floats(a.values().to_vec())),
                    a.nulls().cloned(),
                )));
            }
            DataType::Float64 => array.as_primitive::<Float64Type>().values().to_vec(),
            _ => return Ok(None),
        };
        if values.iter().all(|v| v.is_finite()) {
            return Ok(None);
        }
        Ok(Some(arrow_json::writer::NullableEncoder::new(
            Box::new(Floats(values)),
            array.nulls().cloned(),
        )))
    }
}

/// Floats written as JSON, the non-finite ones as strings ([`NonFinite`]).
struct Floats<T>(Vec<T>);

impl<T: Copy + std::fmt::Debug + Into<f64>> arrow_json::Encoder for Floats<T> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        use std::io::Write;
        let Some(&v) = self.0.get(idx) else {
            return;
        };
        let x: f64 = v.into();
        let text: &[u8] = if x.is_nan() {
            b"\"NaN\""
        } else if x == f64::INFINITY {
            b"\"Infinity\""
        } else if x == f64::NEG_INFINITY {
            b"\"-Infinity\""
        } else {
            // `{:?}`: the shortest text that reads back as the same float, in exponent form
            // when long (`1e300`), a JSON number either way. Writing to a Vec cannot fail.
            let _ = write!(out, "{v:?}");
            return;
        };
        out.extend_from_slice(text);
    }
}

/// Each value of a duration column as ISO 8601 text in seconds, the sign inside
/// (`PT-3723.5S`, as Java writes durations): PostgreSQL's `interval` reads that, and not
/// Arrow's own text of a negative duration (`-PT3723.5S`). Seconds rather than days, hours
/// and minutes, because a duration is an exact span: an `interval` of hours stays one across a
/// daylight-saving change, where one of days would not.
fn duration_texts(a: &ArrayRef, unit: TimeUnit) -> ArrayRef {
    use arrow_array::types::{
        DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
        DurationSecondType,
    };
    let (values, digits): (Vec<Option<i64>>, usize) = match unit {
        TimeUnit::Second => (a.as_primitive::<DurationSecondType>().iter().collect(), 0),
        TimeUnit::Millisecond => (
            a.as_primitive::<DurationMillisecondType>().iter().collect(),
            3,
        ),
        TimeUnit::Microsecond => (
            a.as_primitive::<DurationMicrosecondType>().iter().collect(),
            6,
        ),
        TimeUnit::Nanosecond => (
            a.as_primitive::<DurationNanosecondType>().iter().collect(),
            9,
        ),
    };
    let mut texts = arrow_array::builder::StringBuilder::with_capacity(a.len(), a.len() * 12);
    for v in values {
        match v {
            Some(v) => texts.append_value(duration_text(v, digits)),
            None => texts.append_null(),
        }
    }
    std::sync::Arc::new(texts.finish())
}

/// `v` units of 10^-`digits` seconds as `PT[-]S[.F]S`, the fraction without trailing zeros.
fn duration_text(v: i64, digits: usize) -> String {
    let scale = 10u64.pow(digits as u32);
    let (whole, frac) = (v.unsigned_abs() / scale, v.unsigned_abs() % scale);
    let sign = if v < 0 { "-" } else { "" };
    if frac == 0 {
        return format!("PT{sign}{whole}S");
    }
    let frac = format!("{frac:0digits$}");
    format!("PT{sign}{whole}.{}S", frac.trim_end_matches('0'))
}

/// Rounds nanoseconds to microseconds, half away from zero, as PostgreSQL rounds the
/// fractional seconds of text.
fn ns_to_us(ns: i64) -> i64 {
    let q = ns.div_euclid(1000);
    if ns.rem_euclid(1000) >= 500 {
        q + 1
    } else {
        q
    }
}

fn int_value(a: &ArrayRef, i: usize) -> std::result::Result<i64, String> {
    Ok(match a.data_type() {
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => {
            let v = a.as_primitive::<UInt64Type>().value(i);
            // Too big for an i64: its digits, which the column reads (numeric) or refuses.
            return i64::try_from(v).map_err(|_| v.to_string());
        }
        _ => 0,
    })
}

fn push(rec: &mut Record, col: &Column, i: usize, nulls: &NullTexts, null_strings: bool) {
    let null_of = |a: &ArrayRef| a.is_null(i);
    let null = nulls.first();
    match col {
        Column::Null => rec.push_field(null, false),
        Column::Int(a) if null_of(a) => rec.push_field(null, false),
        Column::Int(a) => match int_value(a, i) {
            Ok(v) => rec.push_typed(Typed::Int(v)),
            Err(text) => rec.push_field(text.as_bytes(), true),
        },
        Column::Float(a) if null_of(a) => rec.push_field(null, false),
        Column::Float(a) => {
            let v = match a.data_type() {
                DataType::Float16 => a.as_primitive::<Float16Type>().value(i).to_f64(),
                DataType::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
                _ => a.as_primitive::<Float64Type>().value(i),
            };
            rec.push_typed(Typed::Float(v));
        }
        Column::Bool(a) if null_of(a) => rec.push_field(null, false),
        Column::Bool(a) => rec.push_typed(Typed::Bool(a.as_boolean().value(i))),
        Column::Text(a) | Column::Cast(a) if null_of(a) => rec.push_field(null, false),
        Column::Text(a) | Column::Cast(a) => {
            let s: &str = match a.data_type() {
                DataType::LargeUtf8 => a.as_string::<i64>().value(i),
                DataType::Utf8View => a.as_string_view().value(i),
                _ => a.as_string::<i32>().value(i),
            };
            super::batch::text_field(rec, s.as_bytes(), nulls, null_strings);
        }
        Column::Uuid(a) if null_of(a) => rec.push_field(null, false),
        Column::Uuid(a) => match <[u8; 16]>::try_from(a.as_fixed_size_binary().value(i)) {
            Ok(b) => rec.push_typed(Typed::Uuid(b)),
            // Not reached: the column's type is 16 bytes wide.
            Err(_) => rec.push_typed_bytes(Typed::Bytes, a.as_fixed_size_binary().value(i)),
        },
        Column::Bytes(a) if null_of(a) => rec.push_field(null, false),
        Column::Bytes(a) => {
            let b: &[u8] = match a.data_type() {
                DataType::LargeBinary => a.as_binary::<i64>().value(i),
                DataType::BinaryView => a.as_binary_view().value(i),
                DataType::FixedSizeBinary(_) => a.as_fixed_size_binary().value(i),
                _ => a.as_binary::<i32>().value(i),
            };
            rec.push_typed_bytes(Typed::Bytes, b);
        }
        Column::Date(a) if null_of(a) => rec.push_field(null, false),
        Column::Date(a) => {
            let days = match a.data_type() {
                DataType::Date64 => a
                    .as_primitive::<Date64Type>()
                    .value(i)
                    .div_euclid(86_400_000),
                _ => i64::from(a.as_primitive::<Date32Type>().value(i)),
            };
            rec.push_typed(Typed::Date((days - 10_957) as i32));
        }
        Column::Time(a) if null_of(a) => rec.push_field(null, false),
        Column::Time(a) => {
            let us = match a.data_type() {
                DataType::Time32(TimeUnit::Second) => {
                    i64::from(a.as_primitive::<Time32SecondType>().value(i)) * 1_000_000
                }
                DataType::Time32(_) => {
                    i64::from(a.as_primitive::<Time32MillisecondType>().value(i)) * 1000
                }
                DataType::Time64(TimeUnit::Nanosecond) => {
                    ns_to_us(a.as_primitive::<Time64NanosecondType>().value(i))
                }
                _ => a.as_primitive::<Time64MicrosecondType>().value(i),
            };
            rec.push_typed(Typed::Time(us));
        }
        Column::Timestamp(a, _) if null_of(a) => rec.push_field(null, false),
        Column::Timestamp(a, aware) => {
            let us = match a.data_type() {
                DataType::Timestamp(TimeUnit::Second, _) => a
                    .as_primitive::<TimestampSecondType>()
                    .value(i)
                    .saturating_mul(1_000_000),
                DataType::Timestamp(TimeUnit::Millisecond, _) => a
                    .as_primitive::<TimestampMillisecondType>()
                    .value(i)
                    .saturating_mul(1000),
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    ns_to_us(a.as_primitive::<TimestampNanosecondType>().value(i))
                }
                _ => a.as_primitive::<TimestampMicrosecondType>().value(i),
            };
            // An aware timestamp is stored as UTC: its wall clock at offset 0.
            rec.push_typed(Typed::Timestamp {
                usecs: us.saturating_sub(10_957 * 86_400_000_000),
                offset: aware.then_some(0),
            });
        }
    }
}

impl RecordSource for ArrowSource {
    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        Some(self.table.clone())
    }

    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        while self.next_row >= self.rows {
            match self.reader.next() {
                None => return Ok(false),
                Some(batch) => {
                    let batch =
                        batch.map_err(|e| Error::config(format!("{}: reading: {e}", self.name)))?;
                    self.start(&batch)?;
                }
            }
        }
        self.numbers.begin(rec);
        for col in &self.columns {
            push(rec, col, self.next_row, &self.null, self.null_strings);
        }
        self.next_row += 1;
        self.numbers.end(rec);
        Ok(true)
    }

    fn line(&self) -> u64 {
        self.numbers.next()
    }

    fn bytes_read(&self) -> u64 {
        self.numbers.count()
    }

    fn can_continue(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::Dialect;
    use arrow_schema::{Field, Schema};

    #[test]
    fn every_type_read_as_its_own_kind_is_loadable_and_a_union_is_not() {
        use arrow_schema::{UnionFields, UnionMode};
        for ty in [
            DataType::Null,
            DataType::Int8,
            DataType::UInt64,
            DataType::Float16,
            DataType::Boolean,
            DataType::Utf8,
            DataType::LargeUtf8,
            DataType::Utf8View,
            DataType::Binary,
            DataType::LargeBinary,
            DataType::BinaryView,
            DataType::FixedSizeBinary(16),
            DataType::Date32,
            DataType::Date64,
            DataType::Time32(TimeUnit::Millisecond),
            DataType::Time64(TimeUnit::Nanosecond),
            DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            DataType::Decimal128(10, 2),
            DataType::Duration(TimeUnit::Millisecond),
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            DataType::List(std::sync::Arc::new(Field::new("x", DataType::Int32, true))),
        ] {
            assert_eq!(loadable_type(&ty), Ok(()), "{ty}");
        }
        let union = DataType::Union(
            UnionFields::from_fields(vec![
                Field::new("i", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ]),
            UnionMode::Sparse,
        );
        assert!(loadable_type(&union).is_err());
        let list_of_unions = DataType::List(std::sync::Arc::new(Field::new("u", union, true)));
        let why = loadable_type(&list_of_unions).err().unwrap_or_default();
        assert!(why.starts_with("it cannot be written as JSON"), "{why}");
    }

    #[test]
    fn durations_are_seconds_with_the_sign_inside() {
        assert_eq!(duration_text(0, 9), "PT0S");
        assert_eq!(duration_text(-1, 0), "PT-1S");
        assert_eq!(duration_text(-500, 3), "PT-0.5S");
        assert_eq!(duration_text(259_200_000_005, 6), "PT259200.000005S");
        assert_eq!(duration_text(-3_723_500_000_000, 9), "PT-3723.5S");
        assert_eq!(duration_text(i64::MIN, 9), "PT-9223372036.854775808S");
        assert_eq!(duration_text(i64::MAX, 0), "PT9223372036854775807S");
    }

    #[test]
    fn a_schema_makes_its_table_without_a_sample() {
        let schema = Schema::new(vec![
            Field::new("Id", DataType::Int32, false),
            Field::new("big", DataType::UInt64, true),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new(
                "at utc",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("tm", DataType::Time64(TimeUnit::Microsecond), true),
            Field::new("raw", DataType::Binary, true),
            Field::new(
                "tags",
                DataType::List(std::sync::Arc::new(Field::new("t", DataType::Utf8, true))),
                true,
            ),
            Field::new(
                "ns",
                DataType::LargeList(std::sync::Arc::new(Field::new(
                    "n",
                    DataType::Decimal128(5, 2),
                    true,
                ))),
                true,
            ),
            Field::new(
                "grid",
                DataType::List(std::sync::Arc::new(Field::new(
                    "r",
                    DataType::List(std::sync::Arc::new(Field::new("c", DataType::Int64, true))),
                    true,
                ))),
                true,
            ),
            Field::new(
                "blobs",
                DataType::List(std::sync::Arc::new(Field::new("b", DataType::Binary, true))),
                true,
            ),
        ]);
        let t = table_of(&schema);
        // Lists of scalars are arrays; lists of lists (maybe ragged) and of bytes are JSON.
        assert_eq!(
            t.create_sql("\"t\"", Dialect::Postgres, false),
            "CREATE TABLE \"t\" (\n    \"id\" bigint,\n    \"big\" numeric,\n    \"price\" numeric,\n    \
             \"at\" timestamp,\n    \"at_utc\" timestamptz,\n    \"tm\" time,\n    \"raw\" bytea,\n    \
             \"tags\" text[],\n    \"ns\" numeric[],\n    \"grid\" jsonb,\n    \"blobs\" jsonb\n)"
        );
        let mysql: Vec<String> = t
            .columns
            .iter()
            .map(|c| c.sql_type(Dialect::Mysql))
            .collect();
        assert_eq!(
            mysql,
            [
                "BIGINT",
                "DECIMAL(20,0)",
                "DECIMAL(10,2)",
                "DATETIME(6)",
                "DATETIME(6)",
                "TIME(6)",
                "LONGBLOB",
                "JSON",
                "JSON",
                "JSON",
                "JSON"
            ]
        );
        assert_eq!(t.sampled_rows, 0);
    }
}
