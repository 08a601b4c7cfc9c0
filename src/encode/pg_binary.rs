//! PostgreSQL's binary `COPY` format, one value at a time.
//!
//! Each encoder appends the value's 4-byte length and its bytes to the chunk's buffer, in
//! place, as `postgres-types` does; nothing is allocated per value on the common path.

use super::json::{self, Json};
use super::jsonb_order;
use super::{datetime, interval, network, numeric, pg_array, pg_range, Outcome};
use crate::record::Typed;
use crate::schema::ColumnType;

/// The 19-byte header that opens a binary COPY stream: signature, flags, extension length.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The trailer that closes it: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// Appends one non-NULL value of type `ty` read from its text `raw`.
///
/// `session_utc` says whether the connection's `TimeZone` is UTC, so that a `timestamptz`
/// without an offset can be read on the client.
///
/// Integers, the most common columns, are encoded inline; every other type goes through
/// [`encode_other`], out of line: its frame (numeric's, timestamps' and JSON's locals) cost
/// every integer field of narrow rows a call's prologue and epilogue.
#[inline(always)]
pub fn encode(ty: &ColumnType, raw: &[u8], session_utc: bool, out: &mut Vec<u8>) -> Outcome {
    match ty {
        ColumnType::Int2 => encode_int::<2>(raw, out),
        ColumnType::Int4 => encode_int::<4>(raw, out),
        ColumnType::Int8 => encode_int::<8>(raw, out),
        _ => encode_other(ty, raw, session_utc, out),
    }
}

/// [`encode`] for the types other than integers.
#[inline(never)]
fn encode_other(ty: &ColumnType, raw: &[u8], session_utc: bool, out: &mut Vec<u8>) -> Outcome {
    match ty {
        ColumnType::Bool => encode_bool(raw, out),
        ColumnType::Int2 => encode_int::<2>(raw, out),
        ColumnType::Int4 => encode_int::<4>(raw, out),
        ColumnType::Int8 => encode_int::<8>(raw, out),
        ColumnType::Float4 => encode_float::<f32>(raw, out),
        ColumnType::Float8 => encode_float::<f64>(raw, out),
        ColumnType::Numeric(typmod) => numeric::encode(raw, *typmod, out),
        ColumnType::Text | ColumnType::Other => encode_text(raw, None, "", out),
        ColumnType::Varchar(n) => encode_text(raw, *n, "character varying", out),
        ColumnType::Bpchar(n) => encode_text(raw, *n, "character", out),
        ColumnType::Date => datetime::encode_date(raw, out),
        ColumnType::Time => datetime::encode_time(raw, out),
        ColumnType::Timetz => datetime::encode_timetz(raw, out),
        ColumnType::Timestamp => datetime::encode_timestamp(raw, false, session_utc, out),
        ColumnType::Timestamptz => datetime::encode_timestamp(raw, true, session_utc, out),
        ColumnType::Uuid => encode_uuid(raw, out),
        ColumnType::Json => encode_json(raw, false, out),
        ColumnType::Jsonb => encode_json(raw, true, out),
        ColumnType::Bytea => encode_bytea(raw, out),
        ColumnType::Inet => network::encode(raw, false, out),
        ColumnType::Cidr => network::encode(raw, true, out),
        ColumnType::Macaddr => network::encode_mac(raw, false, out),
        ColumnType::Macaddr8 => network::encode_mac(raw, true, out),
        ColumnType::Geo => encode_geo(raw, out),
        ColumnType::Interval => interval::encode(raw, out),
        ColumnType::Range(elem) => pg_range::encode(elem, raw, session_utc, out),
        ColumnType::Multirange(elem) => pg_range::encode_multi(elem, raw, session_utc, out),
        // Sent as text (`--mode insert`): the server reads the array, as a literal.
        ColumnType::Array { elem, .. } if elem.server_parsed() => {
            encode_text(&pg_array::server_text(raw, elem), None, "", out)
        }
        ColumnType::Array { elem, elem_oid } => {
            pg_array::encode(elem, *elem_oid, raw, session_utc, out)
        }
    }
}

/// Appends a typed value (`field` holds [`Typed::Bytes`]' bytes): each kind of value goes
/// straight into the columns of its own type (integers also into double columns); anything
/// else goes through the value's text, so that every column type reads it exactly as it would
/// read that text.
///
/// A naive timestamp into `timestamptz` is in the session's zone, as its text would be: read
/// here when that zone is UTC, else deferred to the server.
pub fn encode_typed(
    ty: &ColumnType,
    v: Typed,
    field: &[u8],
    session_utc: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let range = |v: i64, min: i64, max: i64, name: &str| {
        (v >= min && v <= max)
            .then_some(v)
            .ok_or_else(|| format!("out of range for type {name} ({min} to {max})"))
    };
    let reject = |why: String| Outcome::Reject(why);
    match (ty, v) {
        (ColumnType::Int2, Typed::Int(v)) => {
            match range(v, i16::MIN.into(), i16::MAX.into(), "smallint") {
                Ok(v) => put(out, &(v as i16).to_be_bytes()),
                Err(why) => return reject(why),
            }
        }
        (ColumnType::Int4, Typed::Int(v)) => {
            match range(v, i32::MIN.into(), i32::MAX.into(), "integer") {
                Ok(v) => put(out, &(v as i32).to_be_bytes()),
                Err(why) => return reject(why),
            }
        }
        (ColumnType::Int8, Typed::Int(v)) => put(out, &v.to_be_bytes()),
        // A double holds every integer below 2^53 exactly; the text of larger ones rounds the
        // same way.
        (ColumnType::Float8, Typed::Int(v)) => put(out, &(v as f64).to_be_bytes()),
        (ColumnType::Float8, Typed::Float(v)) => put(out, &v.to_be_bytes()),
        (ColumnType::Bool, Typed::Bool(v)) => put(out, &[u8::from(v)]),
        (ColumnType::Date, Typed::Date(d)) => put(out, &d.to_be_bytes()),
        (ColumnType::Time, Typed::Time(t)) => put(out, &t.to_be_bytes()),
        // A timestamp without zone ignores an offset, as PostgreSQL does with its text.
        (ColumnType::Timestamp, Typed::Timestamp { usecs, .. }) => put(out, &usecs.to_be_bytes()),
        (ColumnType::Timestamptz, Typed::Timestamp { usecs, offset }) => {
            let utc = match offset {
                Some(off) => usecs - i64::from(off) * 1_000_000,
                None if session_utc => usecs,
                None => return Outcome::Defer,
            };
            put(out, &utc.to_be_bytes());
        }
        (ColumnType::Uuid, Typed::Uuid(b)) => put(out, &b),
        (ColumnType::Bytea, Typed::Bytes) => put(out, field),
        // WKB, as GeoPandas and GeoArrow hold geometries: PostGIS' binary form.
        (ColumnType::Geo, Typed::Bytes) => put(out, field),
        // 16 bytes are a UUID, as the `uuid` type's binary form is.
        (ColumnType::Uuid, Typed::Bytes) if field.len() == 16 => put(out, field),
        (ColumnType::Uuid, Typed::Bytes) => {
            return reject(format!(
                "a uuid from bytes takes 16 of them, not {}",
                field.len()
            ))
        }
        (_, v) => {
            return encode(
                ty,
                crate::record::typed_text(v, field).as_bytes(),
                session_utc,
                out,
            )
        }
    }
    Outcome::Done
}

/// Appends one part of a composite value (an array's element, a range's bound) that starts at
/// `start` in `out` (its length's 4 bytes first). On anything but success the whole value is
/// taken back out and the outcome returned as the value's: a rejection names the part, as
/// `what` says it.
pub(super) fn encode_part(
    ty: &ColumnType,
    raw: &[u8],
    session_utc: bool,
    out: &mut Vec<u8>,
    start: usize,
    what: impl FnOnce() -> String,
) -> Result<(), Outcome> {
    match encode(ty, raw, session_utc, out) {
        Outcome::Done => Ok(()),
        Outcome::Defer => {
            out.truncate(start);
            Err(Outcome::Defer)
        }
        Outcome::Reject(why) => {
            out.truncate(start);
            Err(Outcome::Reject(format!("{}: {why}", what())))
        }
    }
}

/// Writes the length of the composite value that starts at `start` in `out` (after the 4
/// bytes kept for it), now that its parts are in.
pub(super) fn close_value(out: &mut [u8], start: usize) -> Outcome {
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Outcome::Done
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// `boolean`: PostgreSQL's `parse_bool`: any unambiguous prefix of true/false/yes/no, `on`,
/// `off`, `1`, `0`, in any case, with surrounding whitespace.
fn encode_bool(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let s = super::trim_ascii(raw);
    let is_prefix = |word: &[u8]| {
        !s.is_empty() && s.len() <= word.len() && word[..s.len()].eq_ignore_ascii_case(s)
    };
    let value = match s.first().map(u8::to_ascii_lowercase) {
        Some(b't') if is_prefix(b"true") => Some(true),
        Some(b'y') if is_prefix(b"yes") => Some(true),
        Some(b'f') if is_prefix(b"false") => Some(false),
        Some(b'n') if is_prefix(b"no") => Some(false),
        Some(b'o') if s.len() >= 2 && is_prefix(b"on") => Some(true),
        Some(b'o') if s.len() >= 2 && is_prefix(b"off") => Some(false),
        Some(b'1') if s.len() == 1 => Some(true),
        Some(b'0') if s.len() == 1 => Some(false),
        _ => None,
    };
    match value {
        Some(v) => {
            put(out, &[v as u8]);
            Outcome::Done
        }
        None => Outcome::Reject("expected a boolean (true/false, t/f, yes/no, on/off, 1/0)".into()),
    }
}

/// Integers: optional sign and decimal digits, range-checked. Other spellings that newer
/// servers accept (`0x1F`, `1_000`) are deferred to the server.
///
/// The common spelling (an optional `-`, then 1-18 digits, nothing around them) is read here
/// in one pass and written with one append; anything else (spaces, `+`, more digits, not a
/// number, out of range) goes to [`int_slowly`], out of line, so that this path keeps no
/// stack frame for an error message. On narrow, integer-heavy rows the per-field path is
/// most of the client's CPU.
#[inline]
fn encode_int<const WIDTH: usize>(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let (neg, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    if digits.is_empty() || digits.len() > 18 {
        return int_slowly::<WIDTH>(raw, out);
    }
    let mut acc: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return int_slowly::<WIDTH>(raw, out);
        }
        acc = acc * 10 + i64::from(d);
    }
    let v = if neg { -acc } else { acc };
    // The length and the value in one append: `[0, 0, 0, WIDTH]` and WIDTH bytes.
    match WIDTH {
        2 if i16::try_from(v).is_ok() => {
            out.extend_from_slice(&((2u64 << 16) | u64::from(v as u16)).to_be_bytes()[2..]);
        }
        4 if i32::try_from(v).is_ok() => {
            out.extend_from_slice(&((4u64 << 32) | u64::from(v as u32)).to_be_bytes());
        }
        8 => out.extend_from_slice(&((8u128 << 64) | u128::from(v as u64)).to_be_bytes()[4..]),
        _ => return int_slowly::<WIDTH>(raw, out),
    }
    Outcome::Done
}

/// [`encode_int`] for every spelling: surrounding spaces, a `+`, more than 18 digits, and the
/// reasons a value is refused or left to the server.
#[cold]
#[inline(never)]
fn int_slowly<const WIDTH: usize>(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let (min, max, name) = match WIDTH {
        2 => (i64::from(i16::MIN), i64::from(i16::MAX), "smallint"),
        4 => (i64::from(i32::MIN), i64::from(i32::MAX), "integer"),
        _ => (i64::MIN, i64::MAX, "bigint"),
    };
    let s = super::trim_ascii(raw);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // Off the common path, one checked reading serves every length.
    let value = match long_int(neg, digits) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match value {
        Some(v) if v >= min && v <= max => {
            match WIDTH {
                2 => put(out, &(v as i16).to_be_bytes()),
                4 => put(out, &(v as i32).to_be_bytes()),
                _ => put(out, &v.to_be_bytes()),
            }
            Outcome::Done
        }
        _ => Outcome::Reject(format!("out of range for type {name} ({min} to {max})")),
    }
}

/// An integer's digits, read with checked arithmetic: `None` when it overflows an `i64`, an
/// outcome when it is not digits (or none).
fn long_int(neg: bool, digits: &[u8]) -> Result<Option<i64>, Outcome> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Outcome::Defer);
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut acc: i64 = 0;
    for d in digits {
        match acc
            .checked_mul(10)
            .and_then(|a| a.checked_sub(i64::from(d - b'0')))
        {
            Some(a) => acc = a,
            None => return Ok(None),
        }
    }
    Ok(if neg { Some(acc) } else { acc.checked_neg() })
}

/// Whether a float's text is an explicit infinity (as opposed to a finite value too large).
fn is_infinity_literal(s: &[u8]) -> bool {
    let body = match s.first() {
        Some(b'+') | Some(b'-') => &s[1..],
        _ => s,
    };
    body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")
}

/// Whether the text has a non-zero digit before any exponent (so that 0.0 means underflow).
fn has_nonzero_mantissa(s: &[u8]) -> bool {
    s.iter()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .any(|b| (b'1'..=b'9').contains(b))
}

fn float_text(raw: &[u8]) -> Option<&str> {
    std::str::from_utf8(super::trim_ascii(raw)).ok()
}

/// What the float encoders need of `f32` and `f64`.
trait PgFloat: std::str::FromStr + Copy {
    fn is_infinite(self) -> bool;
    fn is_zero(self) -> bool;
    fn put(self, out: &mut Vec<u8>);
}

impl PgFloat for f64 {
    fn is_infinite(self) -> bool {
        f64::is_infinite(self)
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
    fn put(self, out: &mut Vec<u8>) {
        put(out, &self.to_bits().to_be_bytes());
    }
}

impl PgFloat for f32 {
    fn is_infinite(self) -> bool {
        f32::is_infinite(self)
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
    fn put(self, out: &mut Vec<u8>) {
        put(out, &self.to_bits().to_be_bytes());
    }
}

/// `real` and `double precision`. Rust's parsers are correctly rounded, like the strtof and
/// strtod PostgreSQL uses, and `real` is parsed directly as f32, not rounded twice via f64.
/// Overflow and underflow are left to the server, which has the final word on them.
fn encode_float<T: PgFloat>(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    let Some(s) = float_text(raw) else {
        return Outcome::Defer;
    };
    match s.parse::<T>() {
        Ok(v) if v.is_infinite() && !is_infinity_literal(s.as_bytes()) => Outcome::Defer,
        Ok(v) if v.is_zero() && has_nonzero_mantissa(s.as_bytes()) => Outcome::Defer,
        Ok(v) => {
            v.put(out);
            Outcome::Done
        }
        Err(_) => Outcome::Defer,
    }
}

/// Checks that text is UTF-8 without NUL bytes: the two things PostgreSQL refuses in any
/// text value. Returns the reason when it is not.
///
/// ASCII first, a word at a time (`is_ascii`), then the NUL search: most text is short ASCII,
/// where `from_utf8`'s setup cost more than the check.
pub fn check_text(raw: &[u8]) -> Result<(), String> {
    if !raw.is_ascii() {
        check_utf8(raw)?;
    }
    if memchr::memchr(0, raw).is_some() {
        return Err(NUL_IN_TEXT.into());
    }
    Ok(())
}

const NUL_IN_TEXT: &str = "text cannot contain NUL (0x00) bytes";

fn check_utf8(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|_| super::not_utf8(raw))
}

/// `text`, `varchar(n)`, `char(n)`, enums. Lengths count characters; like PostgreSQL, a value
/// over the limit is accepted only when the excess is spaces (which the server trims).
fn encode_text(raw: &[u8], limit: Option<u32>, type_name: &str, out: &mut Vec<u8>) -> Outcome {
    if let Err(why) = check_text(raw) {
        return Outcome::Reject(why);
    }
    if let Some(n) = limit {
        let n = n as usize;
        // Byte length bounds the character count: skip counting for short values.
        if raw.len() > n {
            let s = match check_utf8(raw) {
                Ok(s) => s,
                Err(why) => return Outcome::Reject(why),
            };
            if let Some((cut, _)) = s.char_indices().nth(n) {
                if !s[cut..].bytes().all(|b| b == b' ') {
                    return Outcome::Reject(format!(
                        "value too long for type {type_name}({n}): {} characters",
                        s.chars().count()
                    ));
                }
            }
        }
    }
    put(out, raw);
    Outcome::Done
}

/// Each byte's value as a hex digit, or 0xFF: one load per digit and no branch, because a
/// bench row's uuid alone was 9% of the client's CPU when decoded digit by digit with matches.
const HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes the hex digit pairs that start at `at` in `src` into `bytes`; false when any of
/// them is not a hex digit.
fn decode_hex_pairs(src: &[u8], at: impl Iterator<Item = usize>, bytes: &mut [u8]) -> bool {
    let mut bad = 0u8;
    for (byte, i) in bytes.iter_mut().zip(at) {
        let (hi, lo) = (HEX[src[i] as usize], HEX[src[i + 1] as usize]);
        bad |= hi | lo;
        *byte = hi << 4 | (lo & 0x0F);
    }
    bad & 0xF0 == 0
}

/// `uuid`: the canonical 8-4-4-4-12 form and 32 bare hex digits; braces and other hyphen
/// placements that PostgreSQL also accepts are deferred to it.
fn encode_uuid(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    /// Where each byte's two digits start in the 8-4-4-4-12 form.
    const CANONICAL: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut bytes = [0u8; 16];
    let ok = match raw.len() {
        36 if raw[8] == b'-' && raw[13] == b'-' && raw[18] == b'-' && raw[23] == b'-' => {
            decode_hex_pairs(raw, CANONICAL.into_iter(), &mut bytes)
        }
        32 => decode_hex_pairs(raw, (0..32).step_by(2), &mut bytes),
        _ => false,
    };
    if !ok {
        return Outcome::Defer;
    }
    put(out, &bytes);
    Outcome::Done
}

/// `json` / `jsonb`: validated here so a bad document is reported with its line; the server
/// still parses it. Documents serde_json refuses, and `\u0000` (which jsonb refuses), are
/// deferred so that the server's verdict and message are the ones the user sees. A jsonb
/// document goes with its keys in jsonb's order, which spares the server a sort
/// ([`jsonb_order`]); a json one as written, since json keeps its text.
fn encode_json(raw: &[u8], binary: bool, out: &mut Vec<u8>) -> Outcome {
    let at = out.len();
    let verdict = if binary {
        out.extend_from_slice(&[0; 4]);
        out.push(1); // jsonb binary format version
        jsonb_order::check_sorted(raw, out)
    } else {
        json::check(raw)
    };
    match verdict {
        Json::Valid { nul_escape: false } if binary => {
            let len = (out.len() - at - 4) as i32;
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
            Outcome::Done
        }
        Json::Valid { nul_escape: false } => {
            put(out, raw);
            Outcome::Done
        }
        Json::Valid { nul_escape: true } => {
            out.truncate(at);
            Outcome::Defer
        }
        // A valid document is valid UTF-8 and holds no NUL byte (JSON has no raw control
        // characters), so only a refused one is searched for what to tell.
        Json::Invalid => {
            out.truncate(at);
            match check_text(raw) {
                Ok(_) => Outcome::Defer,
                Err(why) => Outcome::Reject(why),
            }
        }
    }
}

/// `bytea`: `\x` hex, and the escape format when it holds no backslash (then every byte
/// stands for itself). Escapes such as `\\` and `\123` are deferred to the server.
fn encode_bytea(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    if let Some(hex) = raw.strip_prefix(b"\\x") {
        return put_hex(hex, out);
    }
    if memchr::memchr(b'\\', raw).is_some() {
        return Outcome::Defer;
    }
    put(out, raw);
    Outcome::Done
}

/// PostGIS' `geometry` and `geography` from hex (E)WKB, the text PostGIS writes for them
/// (`COPY TO`, `ST_AsEWKB`'s hex, GeoPandas' `to_wkb(hex=True)`): its bytes are their binary
/// form, which the type's receive function reads and checks as its text input reads and checks
/// the hex (a text starting with `0`, the byte-order byte `00` or `01`, is hex WKB to it).
/// WKT, EWKT and anything else are the server's.
fn encode_geo(raw: &[u8], out: &mut Vec<u8>) -> Outcome {
    if raw.first() != Some(&b'0') {
        return Outcome::Defer;
    }
    put_hex(raw, out)
}

/// Appends the value whose bytes `hex` spells in pairs of hex digits; deferred (nothing
/// appended) when it is no such text.
fn put_hex(hex: &[u8], out: &mut Vec<u8>) -> Outcome {
    if !hex.len().is_multiple_of(2) {
        return Outcome::Defer;
    }
    let start = out.len();
    out.extend_from_slice(&((hex.len() / 2) as i32).to_be_bytes());
    out.resize(start + 4 + hex.len() / 2, 0);
    if !decode_hex_pairs(hex, (0..hex.len()).step_by(2), &mut out[start + 4..]) {
        out.truncate(start);
        return Outcome::Defer;
    }
    Outcome::Done
}

#[cfg(test)]
mod tests {
    use crate::record::Typed;

    #[test]
    fn typed_values_encode_as_their_text_would() {
        let types = [
            ColumnType::Bool,
            ColumnType::Int2,
            ColumnType::Int4,
            ColumnType::Int8,
            ColumnType::Float4,
            ColumnType::Float8,
            ColumnType::Numeric(Some((12, 2))),
            ColumnType::Text,
            ColumnType::Varchar(Some(12)),
            ColumnType::Jsonb,
            ColumnType::Date,
            ColumnType::Time,
            ColumnType::Timestamp,
            ColumnType::Timestamptz,
            ColumnType::Uuid,
            ColumnType::Bytea,
        ];
        let day = |y, m, d| {
            (crate::encode::datetime::days_from_civil(y, m, d)
                - crate::encode::datetime::days_from_civil(2000, 1, 1)) as i32
        };
        let values = [
            Typed::Int(0),
            Typed::Int(1),
            Typed::Int(-40_000),
            Typed::Int(i64::MAX),
            Typed::Int(9_007_199_254_740_993),
            Typed::Float(0.1),
            Typed::Float(-2.5e300),
            Typed::Float(f64::NAN),
            Typed::Float(f64::NEG_INFINITY),
            Typed::Bool(true),
            Typed::Date(day(2024, 2, 29)),
            Typed::Date(day(1, 1, 1)),
            Typed::Date(day(9999, 12, 31)),
            Typed::Time(0),
            Typed::Time(86_399_999_999),
            Typed::Time(45_296_000_001),
            Typed::Timestamp {
                usecs: i64::from(day(2024, 3, 1)) * 86_400_000_000 + 45_296_123_456,
                offset: None,
            },
            Typed::Timestamp {
                usecs: i64::from(day(1969, 12, 31)) * 86_400_000_000 + 1,
                offset: Some(-(5 * 3600 + 30 * 60)),
            },
            Typed::Timestamp {
                usecs: i64::from(day(2024, 3, 1)) * 86_400_000_000,
                offset: Some(3600 + 17),
            },
            Typed::Uuid(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"),
            Typed::Bytes,
        ];
        let fields: [&[u8]; 3] = [b"", b"\x00\xffab\\", b"0123456789abcdef"];
        for ty in &types {
            for v in values {
                for field in fields {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    let typed = encode_typed(ty, v, field, true, &mut a);
                    let text = crate::record::typed_text(v, field);
                    let from_text = encode(ty, text.as_bytes(), true, &mut b);
                    // 16 bytes into a uuid are its binary form; its text is hex bytea.
                    if *ty == ColumnType::Uuid && v == Typed::Bytes {
                        continue;
                    }
                    // An offset with seconds is left to the server as text; its typed value
                    // is read here.
                    if from_text == Outcome::Defer && text.matches(':').count() == 4 {
                        continue;
                    }
                    assert_eq!(
                        std::mem::discriminant(&typed),
                        std::mem::discriminant(&from_text),
                        "{ty:?} {v:?} {text}"
                    );
                    assert_eq!(a, b, "{ty:?} {v:?} {text}");
                }
            }
        }
    }

    use super::*;

    fn enc(ty: ColumnType, s: &str) -> (Outcome, Vec<u8>) {
        let mut out = Vec::new();
        let o = encode(&ty, s.as_bytes(), true, &mut out);
        (o, out)
    }

    #[test]
    fn booleans_follow_parse_bool() {
        for t in ["t", "TRUE", " yes ", "y", "on", "1", "tr"] {
            assert_eq!(
                enc(ColumnType::Bool, t),
                (Outcome::Done, vec![0, 0, 0, 1, 1]),
                "{t}"
            );
        }
        for f in ["f", "False", "no", "off", "of", "0"] {
            assert_eq!(
                enc(ColumnType::Bool, f),
                (Outcome::Done, vec![0, 0, 0, 1, 0]),
                "{f}"
            );
        }
        for bad in ["o", "2", "truex", "", "nope"] {
            assert!(
                matches!(enc(ColumnType::Bool, bad).0, Outcome::Reject(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(enc(ColumnType::Int2, "-32768").1, [0, 0, 0, 2, 0x80, 0]);
        assert!(matches!(
            enc(ColumnType::Int2, "32768").0,
            Outcome::Reject(_)
        ));
        assert_eq!(
            enc(ColumnType::Int8, "-9223372036854775808").0,
            Outcome::Done
        );
        assert!(matches!(
            enc(ColumnType::Int8, "9223372036854775808").0,
            Outcome::Reject(_)
        ));
        assert!(matches!(
            enc(ColumnType::Int4, "99999999999999999999999").0,
            Outcome::Reject(_)
        ));
        assert_eq!(enc(ColumnType::Int4, " +42 ").1, [0, 0, 0, 4, 0, 0, 0, 42]);
        assert_eq!(enc(ColumnType::Int4, "4.5").0, Outcome::Defer);
        assert_eq!(enc(ColumnType::Int4, "abc").0, Outcome::Defer);
    }

    proptest::proptest! {
        /// Any sign, zeros and digits: the value when it fits the type, a rejection when it
        /// does not (read through `i128`, which no such text here overflows), deferred when
        /// there are no digits; both sides of the 18-digit fast path.
        #[test]
        fn integers_read_as_i128_reads_them(
            sign in proptest::sample::select(vec!["", "-", "+"]),
            zeros in 0usize..3,
            digits in "[0-9]{0,24}",
        ) {
            let text = format!("{sign}{}{digits}", "0".repeat(zeros));
            let wide = text.parse::<i128>().ok();
            for (ty, min, max) in [
                (ColumnType::Int2, i128::from(i16::MIN), i128::from(i16::MAX)),
                (ColumnType::Int4, i128::from(i32::MIN), i128::from(i32::MAX)),
                (ColumnType::Int8, i128::from(i64::MIN), i128::from(i64::MAX)),
            ] {
                let (outcome, bytes) = enc(ty.clone(), &text);
                match wide {
                    None => proptest::prop_assert_eq!(outcome, Outcome::Defer, "{}", text),
                    Some(v) if v < min || v > max => {
                        proptest::prop_assert!(matches!(outcome, Outcome::Reject(_)), "{}", text)
                    }
                    Some(v) => {
                        proptest::prop_assert_eq!(outcome, Outcome::Done);
                        let mut be = [0u8; 16];
                        be[16 - (bytes.len() - 4)..].copy_from_slice(&bytes[4..]);
                        if v < 0 {
                            be[..16 - (bytes.len() - 4)].fill(0xFF);
                        }
                        proptest::prop_assert_eq!(i128::from_be_bytes(be), v, "{}", text);
                    }
                }
            }
        }
    }

    #[test]
    fn floats_defer_overflow_to_the_server() {
        assert_eq!(enc(ColumnType::Float8, "-Infinity").0, Outcome::Done);
        assert_eq!(enc(ColumnType::Float8, "NaN").0, Outcome::Done);
        assert_eq!(enc(ColumnType::Float8, "1e400").0, Outcome::Defer);
        assert_eq!(enc(ColumnType::Float8, "1e-400").0, Outcome::Defer);
        assert_eq!(enc(ColumnType::Float8, "0e-400").0, Outcome::Done);
        assert_eq!(enc(ColumnType::Float4, "1e39").0, Outcome::Defer);
        assert_eq!(enc(ColumnType::Float8, "0x1p3").0, Outcome::Defer);
    }

    #[test]
    fn text_lengths_count_characters() {
        assert_eq!(enc(ColumnType::Varchar(Some(3)), "héé").0, Outcome::Done);
        assert_eq!(enc(ColumnType::Varchar(Some(3)), "abc   ").0, Outcome::Done);
        assert!(matches!(
            enc(ColumnType::Varchar(Some(3)), "abcd").0,
            Outcome::Reject(_)
        ));
        assert!(matches!(
            enc(ColumnType::Text, "a\0b").0,
            Outcome::Reject(_)
        ));
        let mut out = Vec::new();
        assert!(matches!(
            encode(&ColumnType::Text, b"\xff", true, &mut out),
            Outcome::Reject(_)
        ));
    }

    #[test]
    fn uuids_json_bytea() {
        let (o, b) = enc(ColumnType::Uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
        assert_eq!(o, Outcome::Done);
        assert_eq!(&b[4..8], &[0xa0, 0xee, 0xbc, 0x99]);
        assert_eq!(
            enc(ColumnType::Uuid, "a0eebc999c0b4ef8bb6d6bb9bd380a11").1,
            b
        );
        assert_eq!(
            enc(ColumnType::Uuid, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}").0,
            Outcome::Defer
        );
        assert_eq!(enc(ColumnType::Jsonb, r#"{"a":[1,2]}"#).1[4], 1);
        assert_eq!(enc(ColumnType::Jsonb, r#"{"a":"#).0, Outcome::Defer);
        assert_eq!(
            enc(ColumnType::Bytea, "\\xDEADbeef").1,
            [0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(enc(ColumnType::Bytea, "\\x0g").0, Outcome::Defer);
        assert_eq!(enc(ColumnType::Bytea, "plain").1, b"\0\0\0\x05plain");
    }
}
