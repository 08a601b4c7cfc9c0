//! One field of a Rust value as barge reads it: a serde serializer that turns a scalar into its
//! text (or keeps an integer, double or boolean typed), and says when the value is compound
//! (a struct, map or sequence), which then goes into its column as JSON.

use std::fmt;

use serde::{ser, Serialize};

use crate::record::Typed;

/// A field's value: text (and whether it is a string, so that `""` is not NULL), or typed.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum FieldVal {
    Text(Vec<u8>, bool),
    Typed(Typed),
}

/// How one field's value reads as text: `None` for NULL, else its bytes and whether they are
/// a quoted (string) value.
pub(super) struct FieldText;

#[derive(Debug)]
pub(super) enum FieldError {
    Compound,
    Other(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Compound => f.write_str("a compound value"),
            FieldError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for FieldError {}

impl ser::Error for FieldError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FieldError::Other(msg.to_string())
    }
}

pub(super) type Field = Option<FieldVal>;

fn text(s: impl ToString) -> std::result::Result<Field, FieldError> {
    Ok(Some(FieldVal::Text(s.to_string().into_bytes(), false)))
}

fn typed(v: Typed) -> std::result::Result<Field, FieldError> {
    Ok(Some(FieldVal::Typed(v)))
}

fn string(bytes: Vec<u8>) -> std::result::Result<Field, FieldError> {
    Ok(Some(FieldVal::Text(bytes, true)))
}

impl ser::Serializer for FieldText {
    type Ok = Field;
    type Error = FieldError;
    type SerializeSeq = ser::Impossible<Field, FieldError>;
    type SerializeTuple = ser::Impossible<Field, FieldError>;
    type SerializeTupleStruct = ser::Impossible<Field, FieldError>;
    type SerializeTupleVariant = ser::Impossible<Field, FieldError>;
    type SerializeMap = ser::Impossible<Field, FieldError>;
    type SerializeStruct = ser::Impossible<Field, FieldError>;
    type SerializeStructVariant = ser::Impossible<Field, FieldError>;

    fn serialize_bool(self, v: bool) -> std::result::Result<Field, FieldError> {
        typed(Typed::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v))
    }
    fn serialize_i128(self, v: i128) -> std::result::Result<Field, FieldError> {
        text(v)
    }
    fn serialize_u8(self, v: u8) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> std::result::Result<Field, FieldError> {
        typed(Typed::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> std::result::Result<Field, FieldError> {
        match i64::try_from(v) {
            Ok(v) => typed(Typed::Int(v)),
            Err(_) => text(v),
        }
    }
    fn serialize_u128(self, v: u128) -> std::result::Result<Field, FieldError> {
        text(v)
    }
    fn serialize_f32(self, v: f32) -> std::result::Result<Field, FieldError> {
        // The f32's own shortest text, not that of its f64 widening (0.1, not 0.100000001).
        if v.is_finite() {
            text(v)
        } else {
            typed(Typed::Float(f64::from(v)))
        }
    }
    fn serialize_f64(self, v: f64) -> std::result::Result<Field, FieldError> {
        typed(Typed::Float(v))
    }
    fn serialize_char(self, v: char) -> std::result::Result<Field, FieldError> {
        string(v.to_string().into_bytes())
    }
    fn serialize_str(self, v: &str) -> std::result::Result<Field, FieldError> {
        string(v.as_bytes().to_vec())
    }
    fn serialize_bytes(self, v: &[u8]) -> std::result::Result<Field, FieldError> {
        let mut s = String::with_capacity(2 + v.len() * 2);
        s.push_str("\\x");
        for b in v {
            s.push_str(&format!("{b:02x}"));
        }
        string(s.into_bytes())
    }
    fn serialize_none(self) -> std::result::Result<Field, FieldError> {
        Ok(None)
    }
    fn serialize_some<T: Serialize + ?Sized>(
        self,
        value: &T,
    ) -> std::result::Result<Field, FieldError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> std::result::Result<Field, FieldError> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> std::result::Result<Field, FieldError> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> std::result::Result<Field, FieldError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> std::result::Result<Field, FieldError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> std::result::Result<Field, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_seq(
        self,
        _: Option<usize>,
    ) -> std::result::Result<Self::SerializeSeq, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_map(
        self,
        _: Option<usize>,
    ) -> std::result::Result<Self::SerializeMap, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStruct, FieldError> {
        Err(FieldError::Compound)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, FieldError> {
        Err(FieldError::Compound)
    }
}
