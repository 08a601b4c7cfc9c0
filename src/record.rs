//! What every source produces and every encoder takes: a [`Record`] of text fields (each
//! knowing whether it was quoted) or [`Typed`] values, read from a [`RecordSource`]. It sits
//! below both `source/` and `encode/`, so that neither imports from the other.

use crate::error::Result;
use crate::position::Position;

/// One parsed record: all fields' bytes in one buffer, with where each ends and whether any
/// part of it was quoted.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub(crate) data: Vec<u8>,
    pub(crate) ends: Vec<usize>,
    pub(crate) quoted: Vec<bool>,
    pub(crate) position: Position,
    /// Bytes of input this record spans, its line terminator included.
    pub(crate) input_len: u64,
    /// Those bytes, when the reader keeps them.
    pub(crate) raw: Vec<u8>,
    /// Fields that came typed (from a Rust value), by index; empty for text input.
    pub(crate) typed: Vec<Option<Typed>>,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the record has no fields (never the case for a record that was read).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of field `i` (quotes removed) and whether it was quoted.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn field(&self, i: usize) -> (&[u8], bool) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (&self.data[start..self.ends[i]], self.quoted[i])
    }

    /// Where the record starts.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Bytes of input the record spans (line terminator included).
    pub fn input_len(&self) -> u64 {
        self.input_len
    }

    /// The record's input bytes, line terminator included, when the reader was asked to keep
    /// them (`keep_raw` in the reader's options); empty otherwise.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Starts a record at `position` (for readers of other formats that produce records).
    pub(crate) fn begin(&mut self, position: Position) {
        self.clear();
        self.position = position;
    }

    /// Appends a field: its text, and whether it was quoted (a quoted empty field is an empty
    /// string, an unquoted one NULL).
    pub(crate) fn push_field(&mut self, bytes: &[u8], quoted: bool) {
        self.data.extend_from_slice(bytes);
        self.ends.push(self.data.len());
        self.quoted.push(quoted);
    }

    /// Records the input the record spans (and keeps its bytes when asked to).
    pub(crate) fn set_input(&mut self, bytes: &[u8], keep_raw: bool) {
        self.input_len = bytes.len() as u64;
        if keep_raw {
            self.raw.clear();
            self.raw.extend_from_slice(bytes);
        }
    }

    /// Appends a typed field (see [`Typed`]).
    pub(crate) fn push_typed(&mut self, v: Typed) {
        self.typed.resize(self.ends.len(), None);
        self.typed.push(Some(v));
        self.ends.push(self.data.len());
        self.quoted.push(false);
    }

    /// Appends a typed field whose value is `bytes` ([`Typed::Bytes`]), or has none.
    pub(crate) fn push_typed_bytes(&mut self, v: Typed, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.push_typed(v);
    }

    /// Field `i`'s typed value, when it came typed.
    pub fn typed(&self, i: usize) -> Option<Typed> {
        self.typed.get(i).copied().flatten()
    }

    pub(crate) fn clear(&mut self) {
        self.raw.clear();
        self.typed.clear();
        self.data.clear();
        self.ends.clear();
        self.quoted.clear();
    }
}

/// A value that arrived typed from a program (see [`crate::source::rows`] and
/// [`crate::source::batch`]) rather than as text: it is encoded straight from its value into
/// the columns of its own type, without being written out and parsed again. Into columns of
/// other types it goes through its text ([`Typed::text`]), so that every column reads it
/// exactly as it would read that text in a file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Typed {
    /// An integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A date: days since 2000-01-01 (PostgreSQL's epoch, so that binary COPY takes it as is).
    Date(i32),
    /// A time of day: microseconds since midnight.
    Time(i64),
    /// A date and time: the wall clock's microseconds since 2000-01-01, and its offset from
    /// UTC in seconds when it has one (an aware datetime).
    Timestamp {
        /// Wall-clock microseconds since 2000-01-01 00:00.
        usecs: i64,
        /// Seconds east of UTC; `None` for a naive value.
        offset: Option<i32>,
    },
    /// A UUID's 16 bytes.
    Uuid([u8; 16]),
    /// Binary data: the field's bytes are the value itself, not text.
    Bytes,
}

impl Typed {
    /// The value as PostgreSQL's text input reads it: for columns of other types, and for
    /// messages. [`Typed::Bytes`] has its value in the record: see [`Record::typed_text`].
    pub fn text(&self) -> String {
        match *self {
            Typed::Int(v) => v.to_string(),
            Typed::Float(v) if v.is_nan() => "NaN".into(),
            Typed::Float(v) if v.is_infinite() => {
                if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
            }
            Typed::Float(v) => v.to_string(),
            Typed::Bool(v) => v.to_string(),
            Typed::Date(d) => {
                let mut out = Vec::with_capacity(10);
                crate::encode::datetime::write_iso_date(&mut out, i64::from(d));
                String::from_utf8_lossy(&out).into_owned()
            }
            Typed::Time(t) => {
                let mut out = Vec::with_capacity(15);
                crate::encode::datetime::write_iso_time(&mut out, t);
                String::from_utf8_lossy(&out).into_owned()
            }
            Typed::Timestamp { usecs, offset } => {
                let mut out = Vec::with_capacity(32);
                crate::encode::datetime::write_iso_timestamp(&mut out, usecs);
                if let Some(off) = offset {
                    let sign = if off < 0 { '-' } else { '+' };
                    let a = off.unsigned_abs();
                    out.extend_from_slice(
                        format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60).as_bytes(),
                    );
                    if a % 60 != 0 {
                        out.extend_from_slice(format!(":{:02}", a % 60).as_bytes());
                    }
                }
                String::from_utf8_lossy(&out).into_owned()
            }
            Typed::Uuid(b) => {
                let mut s = String::with_capacity(36);
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        s.push('-');
                    }
                    s.push_str(&format!("{byte:02x}"));
                }
                s
            }
            Typed::Bytes => String::new(),
        }
    }
}

impl Record {
    /// Field `i`'s typed value as text (see [`typed_text`]).
    pub fn typed_text(&self, i: usize) -> Option<String> {
        self.typed(i).map(|v| typed_text(v, self.field(i).0))
    }
}

/// A typed value as text (see [`Typed::text`]), `field` being its field's bytes: binary data
/// as `\x` hex, the form PostgreSQL's `bytea` reads.
pub fn typed_text(v: Typed, field: &[u8]) -> String {
    match v {
        Typed::Bytes => {
            let mut s = String::with_capacity(2 + 2 * field.len());
            s.push_str("\\x");
            for b in field {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
        v => v.text(),
    }
}

/// A reader of records.
pub trait RecordSource: Send {
    /// Reads the next record into `rec`; `false` at the end of the input.
    ///
    /// # Errors
    /// An I/O error, or a format error for a record that cannot be read.
    fn read_record(&mut self, rec: &mut Record) -> Result<bool>;

    /// The line the next record starts on.
    fn line(&self) -> u64;

    /// Input bytes consumed so far.
    fn bytes_read(&self) -> u64;

    /// Whether reading can go on after an error for one record (an NDJSON line stands alone;
    /// a CSV quote left open has swallowed the rest of the input).
    fn can_continue(&self) -> bool {
        false
    }

    /// Tells the reader which fields go into `json`/`jsonb` columns (`json[i]` for field `i`),
    /// before the first record is read. A reader whose values are typed (NDJSON) then hands
    /// such a field its JSON text unchanged, so a JSON string stays a JSON string; a text
    /// format has nothing to do.
    fn set_json_fields(&mut self, _json: &[bool]) {}
}

impl RecordSource for Box<dyn RecordSource> {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        (**self).read_record(rec)
    }

    fn line(&self) -> u64 {
        (**self).line()
    }

    fn bytes_read(&self) -> u64 {
        (**self).bytes_read()
    }

    fn can_continue(&self) -> bool {
        (**self).can_continue()
    }

    fn set_json_fields(&mut self, json: &[bool]) {
        (**self).set_json_fields(json);
    }
}
