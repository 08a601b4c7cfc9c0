//! Rows from a Rust program: a `Stream` of `serde::Serialize` values (structs, or maps with
//! string keys), their fields mapped to columns by name.
//!
//! Each value becomes a [`Record`] like a CSV line or an NDJSON object does, so the same
//! validation, encoders, checkpoints (with a load id), upserts and rejects apply: a string field
//! is a text value (`""` stays an empty string), `None` is NULL, numbers and booleans are their
//! shortest text, bytes are `\x` hex, and nested structs, maps and sequences go whole into
//! `json`/`jsonb` columns as JSON. A value's position is its number in the stream (1, 2, ...).
//!
//! Integers, doubles and booleans stay typed ([`crate::record::Typed`]): they are encoded
//! straight from the Rust value into integer, double and boolean columns (binary COPY, or
//! SQLite's storage classes), and go through their text only into columns of other types.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use serde::ser::{self, Serialize};

use super::RecordSource;
use crate::error::{ErrorKind, Result};
use crate::position::Position;
use crate::record::Record;

/// A stream of values of any one `Serialize` type, boxed.
pub type BoxedRows = Pin<Box<dyn Stream<Item = Box<dyn erased::ErasedSerialize>> + Send>>;

/// Type erasure for `Serialize` values (`serde::Serialize` is not object safe): the value
/// serializes itself into a [`Record`].
mod field;

use self::field::{FieldError, FieldText, FieldVal};

pub mod erased {
    use super::RowWriter;

    /// A value that can write itself as a row.
    pub trait ErasedSerialize: Send {
        /// Writes the value's fields into `w`'s record.
        fn write_row(&self, w: &mut RowWriter<'_>) -> Result<(), super::SerError>;
        /// The value's field names, in order (for the first value: the input's columns).
        fn field_names(&self) -> Result<Vec<String>, super::SerError>;
        /// The value as JSON (a rejected row's bytes).
        fn json(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize + Send> ErasedSerialize for T {
        fn write_row(&self, w: &mut RowWriter<'_>) -> Result<(), super::SerError> {
            self.serialize(super::Top(w))
        }

        fn field_names(&self) -> Result<Vec<String>, super::SerError> {
            let mut names = super::Names::default();
            self.serialize(super::Top(&mut names))?;
            Ok(names.0)
        }

        fn json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

/// Why a value could not become a row.
#[derive(Debug)]
pub struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

/// Reads rows from a stream, on the pipeline's reader thread (which blocks on the stream
/// through the runtime's handle).
pub struct RowStream {
    rows: BoxedRows,
    first: Option<Box<dyn erased::ErasedSerialize>>,
    columns: HashMap<String, usize>,
    width: usize,
    handle: tokio::runtime::Handle,
    input_name: String,
    keep_raw: bool,
    count: u64,
}

impl RowStream {
    /// Wraps `rows`; the first value is taken now, for its field names (returned), unless
    /// `columns` names the fields.
    ///
    /// # Errors
    /// The first value is not a struct or a map with string keys.
    pub fn new(
        mut rows: BoxedRows,
        handle: tokio::runtime::Handle,
        input_name: &str,
        columns: Option<Vec<String>>,
        keep_raw: bool,
    ) -> Result<(RowStream, Vec<String>)> {
        let first = handle.block_on(rows.next());
        let names = match (&columns, &first) {
            (Some(c), _) => c.clone(),
            (None, Some(v)) => v.field_names().map_err(|e| {
                crate::Error::config(format!("{input_name}: the rows are not structs: {e}"))
            })?,
            (None, None) => Vec::new(),
        };
        Ok((
            RowStream {
                rows,
                first,
                columns: names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), i))
                    .collect(),
                width: names.len(),
                handle,
                input_name: input_name.to_string(),
                keep_raw,
                count: 0,
            },
            names,
        ))
    }
}

impl RecordSource for RowStream {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        let next = match self.first.take() {
            Some(v) => Some(v),
            None => self.handle.block_on(self.rows.next()),
        };
        let Some(value) = next else {
            return Ok(false);
        };
        self.count += 1;
        let position = Position::row(self.count);
        rec.begin(position);
        let raw = if self.keep_raw {
            let mut j = value.json();
            j.push(b'\n');
            j
        } else {
            Vec::new()
        };
        rec.set_input(&raw, self.keep_raw);
        // A value spans one "byte" of the input, whatever its JSON's length: chunks' ranges
        // are in value numbers, so that a resumed load skips exactly the values committed.
        rec.input_len = 1;
        let mut w = RowWriter {
            columns: &self.columns,
            fields: vec![None; self.width],
        };
        value.write_row(&mut w).map_err(|e| {
            crate::Error::from(ErrorKind::Csv {
                input: self.input_name.clone(),
                position,
                message: e.to_string(),
            })
        })?;
        for f in w.fields {
            match f {
                None => rec.push_field(b"", false),
                Some(FieldVal::Text(bytes, quoted)) => rec.push_field(&bytes, quoted),
                Some(FieldVal::Typed(v)) => rec.push_typed(v),
            }
        }
        Ok(true)
    }

    fn line(&self) -> u64 {
        self.count + 1
    }

    fn bytes_read(&self) -> u64 {
        self.count
    }

    fn can_continue(&self) -> bool {
        true
    }
}

/// Collects a value's field names.
#[derive(Default)]
struct Names(Vec<String>);

/// Writes one value's fields, by name, into their columns' slots.
pub struct RowWriter<'a> {
    columns: &'a HashMap<String, usize>,
    fields: Vec<Option<FieldVal>>,
}

impl RowWriter<'_> {
    fn put<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        let Some(&i) = self.columns.get(key) else {
            return Err(SerError(format!(
                "field \"{key}\" is not a column of the load"
            )));
        };
        self.fields[i] = match value.serialize(FieldText) {
            Ok(f) => f,
            // A struct, map or sequence: the field holds it as JSON.
            Err(FieldError::Compound) => Some(FieldVal::Text(
                serde_json::to_vec(value).map_err(|e| SerError(e.to_string()))?,
                true,
            )),
            Err(FieldError::Other(e)) => return Err(SerError(format!("field \"{key}\": {e}"))),
        };
        Ok(())
    }
}

/// Where a row's fields go: into a record's slots, or only their names.
trait FieldSink {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> std::result::Result<(), SerError>;
}

impl FieldSink for RowWriter<'_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.put(key, value)
    }
}

impl FieldSink for Names {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        _: &T,
    ) -> std::result::Result<(), SerError> {
        if !self.0.iter().any(|n| n == key) {
            self.0.push(key.to_string());
        }
        Ok(())
    }
}

/// The serializer a row value sees: a struct or a map with string keys, nothing else.
struct Top<'a, S: FieldSink>(&'a mut S);

/// A map being serialized: the key waiting for its value.
struct TopMap<'a, S: FieldSink>(&'a mut S, Option<String>);

fn not_a_row<T>() -> std::result::Result<T, SerError> {
    Err(SerError(
        "a row must be a struct or a map with string keys".into(),
    ))
}

impl<'a, S: FieldSink> ser::Serializer for Top<'a, S> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = ser::Impossible<(), SerError>;
    type SerializeTuple = ser::Impossible<(), SerError>;
    type SerializeTupleStruct = ser::Impossible<(), SerError>;
    type SerializeTupleVariant = ser::Impossible<(), SerError>;
    type SerializeMap = TopMap<'a, S>;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), SerError>;

    fn serialize_bool(self, _: bool) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_i8(self, _: i8) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_i16(self, _: i16) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_i32(self, _: i32) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_i64(self, _: i64) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_u8(self, _: u8) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_u16(self, _: u16) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_u32(self, _: u32) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_u64(self, _: u64) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_f32(self, _: f32) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_f64(self, _: f64) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_char(self, _: char) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_str(self, _: &str) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_bytes(self, _: &[u8]) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_none(self) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> std::result::Result<(), SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_unit_struct(self, _: &'static str) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> std::result::Result<(), SerError> {
        not_a_row()
    }
    fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Self::SerializeSeq, SerError> {
        not_a_row()
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, SerError> {
        not_a_row()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, SerError> {
        not_a_row()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, SerError> {
        not_a_row()
    }
    fn serialize_map(self, _: Option<usize>) -> std::result::Result<Self::SerializeMap, SerError> {
        Ok(TopMap(self.0, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Self, SerError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, SerError> {
        not_a_row()
    }
}

impl<S: FieldSink> ser::SerializeStruct for Top<'_, S> {
    type Ok = ();
    type Error = SerError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        self.0.field(key, value)
    }

    fn skip_field(&mut self, _: &'static str) -> std::result::Result<(), SerError> {
        Ok(())
    }

    fn end(self) -> std::result::Result<(), SerError> {
        Ok(())
    }
}

impl<S: FieldSink> ser::SerializeMap for TopMap<'_, S> {
    type Ok = ();
    type Error = SerError;

    fn serialize_key<T: Serialize + ?Sized>(
        &mut self,
        key: &T,
    ) -> std::result::Result<(), SerError> {
        match key.serialize(FieldText) {
            Ok(Some(FieldVal::Text(k, true))) => {
                self.1 = Some(String::from_utf8_lossy(&k).into_owned());
                Ok(())
            }
            _ => Err(SerError("map keys must be strings".into())),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), SerError> {
        let key = self
            .1
            .take()
            .ok_or_else(|| SerError("a map value without its key".into()))?;
        self.0.field(&key, value)
    }

    fn end(self) -> std::result::Result<(), SerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Typed;

    #[derive(serde::Serialize)]
    struct Event {
        id: i64,
        amount: Option<f64>,
        name: String,
        tags: Vec<&'static str>,
        raw: serde_bytes_like::Bytes,
    }

    mod serde_bytes_like {
        /// Serializes as bytes.
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn structs_and_maps_become_records() {
        let e = Event {
            id: 7,
            amount: None,
            name: String::new(),
            tags: vec!["a", "b"],
            raw: serde_bytes_like::Bytes(vec![0, 255]),
        };
        let names = erased::ErasedSerialize::field_names(&e).unwrap();
        assert_eq!(names, ["id", "amount", "name", "tags", "raw"]);
        let columns: HashMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let mut w = RowWriter {
            columns: &columns,
            fields: vec![None; 5],
        };
        erased::ErasedSerialize::write_row(&e, &mut w).unwrap();
        assert_eq!(w.fields[0], Some(FieldVal::Typed(Typed::Int(7))));
        assert_eq!(w.fields[1], None);
        assert_eq!(w.fields[2], Some(FieldVal::Text(Vec::new(), true)));
        assert_eq!(
            w.fields[3],
            Some(FieldVal::Text(b"[\"a\",\"b\"]".to_vec(), true))
        );
        assert_eq!(w.fields[4], Some(FieldVal::Text(b"\\x00ff".to_vec(), true)));
        let mut m = std::collections::BTreeMap::new();
        m.insert("id", 1);
        m.insert("nope", 2);
        let mut w = RowWriter {
            columns: &columns,
            fields: vec![None; 5],
        };
        let e = erased::ErasedSerialize::write_row(&m, &mut w).unwrap_err();
        assert!(e.to_string().contains("\"nope\" is not a column"), "{e}");
        assert!(erased::ErasedSerialize::field_names(&5).is_err());
    }
}
