//! Values for SQLite, validated by the same parsers as PostgreSQL's binary encoders.
//!
//! SQLite has five storage classes and no date, uuid or json types, so each value is first
//! encoded for PostgreSQL (which validates it: ranges, precision, calendar, UTF-8, JSON) and
//! then turned into the storage class a SQLite user expects: booleans as 0/1, dates and
//! timestamps as ISO 8601 text (what SQLite's date functions read; `timestamptz` in UTC with
//! `+00:00`), uuids as lowercase hyphenated text, `bytea` as a blob.
//!
//! A chunk holds its rows as a flat sequence of tagged values, decoded by the SQLite writer
//! straight into statement parameters: a tag byte, then 8 little-endian bytes for an integer or
//! real, or a 4-byte little-endian length and the bytes for text or a blob.

use super::{datetime, pg_binary, Outcome};
use crate::schema::ColumnType;

const NULL: u8 = 0;
const INTEGER: u8 = 1;
const REAL: u8 = 2;
const TEXT: u8 = 3;
const BLOB: u8 = 4;

/// One decoded value, borrowing from the chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(&'a [u8]),
    /// Bytes.
    Blob(&'a [u8]),
}

/// Appends a NULL.
pub fn put_null(out: &mut Vec<u8>) {
    out.push(NULL);
}

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_integer(out: &mut Vec<u8>, v: i64) {
    out.push(INTEGER);
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends one non-NULL value of type `ty` read from its text `raw`.
///
/// Forms the PostgreSQL encoders leave to the server ([`Outcome::Defer`]) have no server to go
/// to here: numbers in exponent form are passed on as text (SQLite's column affinity reads
/// them); other deferred forms are rejected with the form barge does read.
pub fn encode(ty: &ColumnType, raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let start = out.len();
    // A timestamp without an offset is taken as UTC: SQLite has no session time zone.
    let outcome = pg_binary::encode(ty, raw, true, out);
    match outcome {
        Outcome::Done => {}
        Outcome::Reject(why) => return Outcome::Reject(why),
        Outcome::Defer => {
            return match ty {
                ColumnType::Numeric(_) | ColumnType::Float4 | ColumnType::Float8 => {
                    match std::str::from_utf8(raw)
                        .ok()
                        .map(|s| s.trim().parse::<f64>())
                    {
                        Some(Ok(f)) if f.is_finite() => {
                            put_bytes(out, TEXT, super::trim_ascii(raw));
                            Outcome::Done
                        }
                        _ => Outcome::Reject("not a number".into()),
                    }
                }
                ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => {
                    Outcome::Reject("not an integer".into())
                }
                ColumnType::Bool => {
                    Outcome::Reject("not a boolean (true/false, yes/no, on/off, 1/0)".into())
                }
                ColumnType::Date => match datetime::day_of_timestamp(raw) {
                    Some((days, true)) => {
                        put_date(out, days);
                        Outcome::Done
                    }
                    Some((_, false)) => Outcome::Reject(
                        "a date and time, and a date column keeps no time of day: give the day \
                         alone, or load it into a timestamp column"
                            .into(),
                    ),
                    None => Outcome::Reject("expected an ISO 8601 date, YYYY-MM-DD".into()),
                },
                ColumnType::Time => Outcome::Reject("expected HH:MM[:SS[.ffffff]]".into()),
                ColumnType::Timestamp | ColumnType::Timestamptz => Outcome::Reject(
                    "expected an ISO 8601 timestamp, YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|+HH:MM]"
                        .into(),
                ),
                ColumnType::Uuid => {
                    Outcome::Reject("expected a uuid, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".into())
                }
                ColumnType::Json | ColumnType::Jsonb => Outcome::Reject("invalid JSON".into()),
                ColumnType::Bytea => {
                    Outcome::Reject("expected \\x followed by pairs of hex digits".into())
                }
                _ => Outcome::Reject("cannot be read as this type".into()),
            };
        }
    }
    // Replace the PostgreSQL encoding (4-byte length, then the value) with the SQLite one.
    let pg: Vec<u8> = out.split_off(start);
    let v = &pg[4..];
    let be8 = |b: &[u8]| -> [u8; 8] {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        a
    };
    match ty {
        ColumnType::Bool => put_integer(out, i64::from(v[0])),
        ColumnType::Int2 => put_integer(out, i64::from(i16::from_be_bytes([v[0], v[1]]))),
        ColumnType::Int4 => {
            put_integer(out, i64::from(i32::from_be_bytes([v[0], v[1], v[2], v[3]])))
        }
        ColumnType::Int8 => put_integer(out, i64::from_be_bytes(be8(v))),
        ColumnType::Float4 | ColumnType::Float8 => {
            let f = if v.len() == 4 {
                // Through its shortest decimal text, so that `0.1` stays 0.1, not 0.100000001.
                let f = f32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                f.to_string().parse::<f64>().unwrap_or(f64::from(f))
            } else {
                f64::from_be_bytes(be8(v))
            };
            if f.is_nan() {
                // SQLite would store NaN as NULL without a word.
                return Outcome::Reject("SQLite cannot store NaN".into());
            }
            out.push(REAL);
            out.extend_from_slice(&f.to_le_bytes());
        }
        // Validated (precision, scale) above; the text goes on and the column's NUMERIC
        // affinity stores it as INTEGER or REAL as SQLite does for its own imports.
        ColumnType::Numeric(_) => put_bytes(out, TEXT, super::trim_ascii(raw)),
        ColumnType::Date => put_date(out, i64::from(i32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
        ColumnType::Time => {
            out.push(TEXT);
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            datetime::write_iso_time(out, i64::from_be_bytes(be8(v)));
            patch_len(out, len_at);
        }
        ColumnType::Timestamp | ColumnType::Timestamptz => {
            out.push(TEXT);
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            datetime::write_iso_timestamp(out, i64::from_be_bytes(be8(v)));
            if *ty == ColumnType::Timestamptz {
                out.extend_from_slice(b"+00:00");
            }
            patch_len(out, len_at);
        }
        ColumnType::Uuid => {
            let mut s = [0u8; 36];
            let mut k = 0;
            for (i, b) in v.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    s[k] = b'-';
                    k += 1;
                }
                s[k] = HEX[usize::from(b >> 4)];
                s[k + 1] = HEX[usize::from(b & 15)];
                k += 2;
            }
            put_bytes(out, TEXT, &s);
        }
        ColumnType::Json => put_bytes(out, TEXT, v),
        ColumnType::Jsonb => put_bytes(out, TEXT, &v[1..]),
        ColumnType::Bytea => put_bytes(out, BLOB, v),
        ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Bpchar(_) | ColumnType::Other => {
            put_bytes(out, TEXT, v)
        }
        // SQLite has no arrays nor these (its columns are never read as one): the text as
        // given.
        ColumnType::Array { .. }
        | ColumnType::Inet
        | ColumnType::Cidr
        | ColumnType::Macaddr
        | ColumnType::Macaddr8
        | ColumnType::Geo
        | ColumnType::Interval
        | ColumnType::Range(_)
        | ColumnType::Multirange(_)
        | ColumnType::Timetz => put_bytes(out, TEXT, raw),
    }
    Outcome::Done
}

/// Appends a typed value (`field` holds [`Typed::Bytes`]' bytes): integers and booleans into
/// integer columns, doubles into real columns and binary data into blob columns go straight
/// in; anything else goes through the value's text.
pub fn encode_typed(
    ty: &ColumnType,
    v: crate::record::Typed,
    field: &[u8],
    out: &mut Vec<u8>,
) -> Outcome {
    use crate::record::Typed;
    match (ty, v) {
        (ColumnType::Int8, Typed::Int(v)) => put_integer(out, v),
        (ColumnType::Bool, Typed::Bool(v)) => put_integer(out, i64::from(v)),
        (ColumnType::Float8, Typed::Float(v)) if !v.is_nan() => {
            out.push(REAL);
            out.extend_from_slice(&v.to_le_bytes());
        }
        (ColumnType::Float8, Typed::Int(v)) => {
            out.push(REAL);
            out.extend_from_slice(&(v as f64).to_le_bytes());
        }
        (ColumnType::Bytea, Typed::Bytes) => put_bytes(out, BLOB, field),
        _ => return encode(ty, crate::record::typed_text(v, field).as_bytes(), out),
    }
    Outcome::Done
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A date (days since 2000-01-01) as ISO 8601 text, what SQLite's date functions read.
fn put_date(out: &mut Vec<u8>, days: i64) {
    out.push(TEXT);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    datetime::write_iso_date(out, days);
    patch_len(out, len_at);
}

fn patch_len(out: &mut [u8], len_at: usize) {
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Reads the value at `*pos` in `buf` and moves `pos` past it; `None` at the end of `buf` or
/// on a malformed buffer (which only a bug could produce).
pub fn decode<'a>(buf: &'a [u8], pos: &mut usize) -> Option<Value<'a>> {
    let tag = *buf.get(*pos)?;
    let body = *pos + 1;
    let fixed = |n: usize| buf.get(body..body + n);
    let (value, next) = match tag {
        NULL => (Value::Null, body),
        INTEGER | REAL => {
            let mut a = [0u8; 8];
            a.copy_from_slice(fixed(8)?);
            let v = if tag == INTEGER {
                Value::Integer(i64::from_le_bytes(a))
            } else {
                Value::Real(f64::from_le_bytes(a))
            };
            (v, body + 8)
        }
        TEXT | BLOB => {
            let mut l = [0u8; 4];
            l.copy_from_slice(fixed(4)?);
            let len = u32::from_le_bytes(l) as usize;
            let bytes = buf.get(body + 4..body + 4 + len)?;
            let v = if tag == TEXT {
                Value::Text(bytes)
            } else {
                Value::Blob(bytes)
            };
            (v, body + 4 + len)
        }
        _ => return None,
    };
    *pos = next;
    Some(value)
}

/// Where each row of a chunk of `columns`-value rows lies in it (`None` if it is malformed).
pub fn row_ranges(data: &[u8], columns: usize) -> Option<Vec<std::ops::Range<usize>>> {
    let mut rows = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let start = pos;
        for _ in 0..columns.max(1) {
            decode(data, &mut pos)?;
        }
        rows.push(start..pos);
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(ty: ColumnType, raw: &str) -> Result<String, String> {
        let mut out = Vec::new();
        match encode(&ty, raw.as_bytes(), &mut out) {
            Outcome::Done => {}
            Outcome::Reject(why) => return Err(why),
            Outcome::Defer => return Err("defer".into()),
        }
        let mut pos = 0;
        let v = decode(&out, &mut pos).ok_or("undecodable")?;
        assert_eq!(pos, out.len());
        Ok(match v {
            Value::Null => "NULL".into(),
            Value::Integer(i) => format!("int {i}"),
            Value::Real(f) => format!("real {f}"),
            Value::Text(t) => format!("text {}", String::from_utf8_lossy(t)),
            Value::Blob(b) => format!("blob {b:?}"),
        })
    }

    #[test]
    fn storage_classes() {
        assert_eq!(one(ColumnType::Bool, "yes").unwrap(), "int 1");
        assert_eq!(one(ColumnType::Int8, " -42 ").unwrap(), "int -42");
        assert!(one(ColumnType::Int8, "99999999999999999999").is_err());
        assert_eq!(one(ColumnType::Float8, "1.5").unwrap(), "real 1.5");
        assert_eq!(one(ColumnType::Float8, "1e3").unwrap(), "real 1000");
        assert!(one(ColumnType::Float8, "NaN").is_err());
        assert_eq!(
            one(ColumnType::Numeric(None), "12.50").unwrap(),
            "text 12.50"
        );
        assert_eq!(one(ColumnType::Numeric(None), "1e5").unwrap(), "text 1e5");
        assert!(one(ColumnType::Numeric(Some((4, 2))), "123.4").is_err());
        assert_eq!(
            one(ColumnType::Date, "2024-02-29").unwrap(),
            "text 2024-02-29"
        );
        assert!(one(ColumnType::Date, "2023-02-29").is_err());
        assert!(one(ColumnType::Date, "03/01/2024").is_err());
        assert_eq!(
            one(ColumnType::Timestamptz, "2024-03-01T12:00:00.25+01:00").unwrap(),
            "text 2024-03-01 11:00:00.25+00:00"
        );
        assert_eq!(
            one(ColumnType::Timestamp, "2024-03-01 12:00").unwrap(),
            "text 2024-03-01 12:00:00"
        );
        assert_eq!(
            one(ColumnType::Time, "23:59:59.5").unwrap(),
            "text 23:59:59.5"
        );
        assert_eq!(
            one(ColumnType::Uuid, "A0EEBC999C0B4EF8BB6D6BB9BD380A11").unwrap(),
            "text a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
        assert_eq!(
            one(ColumnType::Jsonb, "{\"a\": 1}").unwrap(),
            "text {\"a\": 1}"
        );
        assert!(one(ColumnType::Json, "{nope").is_err());
        assert_eq!(one(ColumnType::Bytea, "\\x0aff").unwrap(), "blob [10, 255]");
        assert_eq!(one(ColumnType::Text, "héllo").unwrap(), "text héllo");
        assert!(one(ColumnType::Text, "a\0b").is_err());
    }

    #[test]
    fn decode_stops_at_malformed_buffers() {
        let mut pos = 0;
        assert_eq!(decode(&[TEXT, 9, 0, 0, 0, b'a'], &mut pos), None);
        assert_eq!(decode(&[INTEGER, 1], &mut pos), None);
        assert_eq!(decode(&[7], &mut pos), None);
        assert_eq!(decode(&[], &mut pos), None);
    }
}
