//! What every source produces and every encoder takes: a [`Record`] of text fields (each
//! knowing whether it was quoted) or [`Typed`] values, read from a [`RecordSource`]. It sits
//! below both `source/` and `encode/`, so that neither imports from the other.

use crate::error::Result;
use crate::position::Position;

/// One parsed record: all fields' bytes in one buffer, with where each one is and whether any
/// part of it was quoted.
///
/// Fields need not be back to back in `data`: the CSV reader copies a run of unquoted fields
/// with one `memcpy`, delimiters included, and only notes where each field lies in it (a copy
/// per field was a tenth of the reader's time on the bench file).
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub(crate) data: Vec<u8>,
    pub(crate) spans: Vec<Span>,
    pub(crate) position: Position,
    /// Bytes of input this record spans, its line terminator included.
    pub(crate) input_len: u64,
    /// Those bytes, when the reader keeps them.
    pub(crate) raw: Vec<u8>,
    /// Fields that came typed (from a Rust value), by index; empty for text input.
    pub(crate) typed: Vec<Option<Typed>>,
    /// Set when the reader let go of a big record's kept input because its fields rebuild
    /// it exactly ([`Record::shed_raw`]).
    pub(crate) shed: Option<Shed>,
}

/// Where one field's bytes are in [`Record::data`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Some part of the field was quoted (so an empty one is an empty string, not NULL).
    pub(crate) quoted: bool,
}

/// How a CSV record's input is rebuilt from its fields: the dialect and the line terminator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shed {
    delimiter: u8,
    quote: u8,
    crlf: bool,
    /// The record had no line terminator (the input's last line).
    last: bool,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the record has no fields (never the case for a record that was read).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The bytes of field `i` (quotes removed) and whether it was quoted.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn field(&self, i: usize) -> (&[u8], bool) {
        let span = self.spans[i];
        (&self.data[span.start..span.end], span.quoted)
    }

    /// The record's input, when the reader let go of it because its fields rebuild it, is
    /// rebuilt now: before the fields change (some left out, or reordered).
    fn unshed(&mut self) {
        if self.shed.is_some() {
            self.raw = self.input().into_owned();
            self.shed = None;
        }
    }

    /// Keeps the fields whose `keep` is true, in order; a record of another width than `keep`
    /// is left whole (the encoder reports its width). The record's input, kept for a rejects
    /// file, stays the whole line.
    pub(crate) fn keep_fields(&mut self, keep: &[bool]) {
        if self.spans.len() != keep.len() {
            return;
        }
        self.unshed();
        let mut k = keep.iter();
        self.spans.retain(|_| k.next().copied().unwrap_or(false));
        if !self.typed.is_empty() {
            let mut k = keep.iter();
            self.typed.retain(|_| k.next().copied().unwrap_or(false));
        }
    }

    /// Puts the fields in `order` (field `j` becomes the one that was at `order[j]`); a record
    /// of another width is left whole (the encoder reports its width). `scratch` is reused
    /// from record to record. The record's input, kept for a rejects file, stays as it was.
    pub(crate) fn reorder_fields(&mut self, order: &[usize], scratch: &mut Vec<Span>) {
        if self.spans.len() != order.len() {
            return;
        }
        self.unshed();
        scratch.clear();
        scratch.extend(order.iter().filter_map(|&i| self.spans.get(i).copied()));
        std::mem::swap(&mut self.spans, scratch);
        if !self.typed.is_empty() {
            self.typed = order
                .iter()
                .map(|&i| self.typed.get(i).copied().flatten())
                .collect();
        }
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
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.spans.push(Span {
            start,
            end: self.data.len(),
            quoted,
        });
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
        self.push_typed_bytes(v, &[]);
    }

    /// Appends a typed field whose value is `bytes` ([`Typed::Bytes`]), or has none.
    pub(crate) fn push_typed_bytes(&mut self, v: Typed, bytes: &[u8]) {
        self.typed.resize(self.spans.len(), None);
        self.typed.push(Some(v));
        self.push_field(bytes, false);
    }

    /// Field `i`'s typed value, when it came typed.
    pub fn typed(&self, i: usize) -> Option<Typed> {
        self.typed.get(i).copied().flatten()
    }

    /// Whether the record is an empty line: one unquoted empty field. Files often end with
    /// one (spreadsheets, editors, files joined with `cat`); for a table of several columns
    /// it is no row, where PostgreSQL's COPY would refuse it as one field of too few.
    pub(crate) fn is_blank_line(&self) -> bool {
        matches!(self.spans[..], [Span { start, end, quoted: false }] if start == end)
            && self.typed.is_empty()
    }

    /// The record's input bytes as [`Record::raw`] gives them, rebuilt from the fields when
    /// the reader let go of them.
    pub fn input(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.shed {
            Some(shed) => {
                let mut out = self.data.clone();
                self.render_in_place(&mut out, shed);
                std::borrow::Cow::Owned(out)
            }
            None => std::borrow::Cow::Borrowed(&self.raw),
        }
    }

    /// With `--rejects` a record's input is kept, and for a big field that was a third copy
    /// of it (input, unquoted field, encoded value). When the fields written back as CSV
    /// (quoted where they were, quotes doubled) give the input exactly, the input is let go
    /// now and rebuilt from the fields after encoding ([`Record::restore_raw`]), in place: the
    /// record is then held twice at most. Returns whether it was let go.
    pub(crate) fn shed_raw(&mut self, delimiter: u8, quote: u8) -> bool {
        let Some(shed) = self.canonical(delimiter, quote) else {
            return false;
        };
        self.raw = Vec::new();
        self.shed = Some(shed);
        true
    }

    /// Whether the fields, written as CSV, give exactly the kept input; how, if so.
    fn canonical(&self, delimiter: u8, quote: u8) -> Option<Shed> {
        let raw = self.raw.as_slice();
        let mut at = 0;
        let mut expect = |bytes: &[u8]| -> Option<()> {
            (raw.get(at..at + bytes.len())? == bytes).then_some(())?;
            at += bytes.len();
            Some(())
        };
        for i in 0..self.len() {
            if i > 0 {
                expect(&[delimiter])?;
            }
            let (field, quoted) = self.field(i);
            if quoted {
                expect(&[quote])?;
                let mut rest = field;
                while let Some(q) = memchr::memchr(quote, rest) {
                    expect(&rest[..=q])?;
                    expect(&[quote])?;
                    rest = &rest[q + 1..];
                }
                expect(rest)?;
                expect(&[quote])?;
            } else {
                if field.contains(&quote) {
                    return None;
                }
                expect(field)?;
            }
        }
        let (crlf, last) = match raw.get(at..)? {
            b"\n" => (false, false),
            b"\r\n" => (true, false),
            b"" => (false, true),
            _ => return None,
        };
        Some(Shed {
            delimiter,
            quote,
            crlf,
            last,
        })
    }

    /// Turns the fields back into the input the reader let go of, moving the fields' buffer
    /// into [`Record::raw`] (the fields are gone after this; call it once they are encoded).
    pub(crate) fn restore_raw(&mut self) {
        if let Some(shed) = self.shed.take() {
            let mut buf = std::mem::take(&mut self.data);
            self.render_in_place(&mut buf, shed);
            self.raw = buf;
        }
    }

    /// Rewrites `buf` (a copy of, or the very buffer of, the fields' bytes) into the CSV line
    /// they came from. Written from the back: each field starts in the line no earlier than in
    /// `buf` (where at most a delimiter lies between two fields), so no byte is overwritten
    /// before it is read, and no second buffer is needed.
    fn render_in_place(&self, buf: &mut Vec<u8>, shed: Shed) {
        let mut len = 0;
        for (i, span) in self.spans.iter().enumerate() {
            let field = buf.get(span.start..span.end).unwrap_or_default();
            len += field.len() + usize::from(i > 0);
            if span.quoted {
                len += 2 + memchr::memchr_iter(shed.quote, field).count();
            }
        }
        len += match (shed.last, shed.crlf) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        };
        let src_len = buf.len();
        buf.resize(len.max(src_len), 0);
        // Runs of bytes are moved with `copy_within` (a memmove: source and destination may
        // overlap); the destination is never before the bytes still to be read.
        let mut dst = len;
        let put = |buf: &mut Vec<u8>, bytes: &[u8], dst: &mut usize| {
            *dst -= bytes.len();
            buf[*dst..*dst + bytes.len()].copy_from_slice(bytes);
        };
        let move_run = |buf: &mut Vec<u8>, run: std::ops::Range<usize>, dst: &mut usize| {
            *dst -= run.len();
            buf.copy_within(run, *dst);
        };
        if !shed.last {
            put(buf, if shed.crlf { b"\r\n" } else { b"\n" }, &mut dst);
        }
        for (i, span) in self.spans.iter().enumerate().rev() {
            let Span {
                start,
                mut end,
                quoted,
            } = *span;
            if quoted {
                put(buf, &[shed.quote], &mut dst);
                // Byte by byte: a field's quotes can be a few bytes apart (JSON), where a
                // search per quote cost twice as much.
                for j in (start..end).rev() {
                    let b = buf[j];
                    dst -= 1;
                    buf[dst] = b;
                    if b == shed.quote {
                        dst -= 1;
                        buf[dst] = b;
                    }
                }
                end = start;
            }
            move_run(buf, start..end, &mut dst);
            if quoted {
                put(buf, &[shed.quote], &mut dst);
            }
            if i > 0 {
                put(buf, &[shed.delimiter], &mut dst);
            }
        }
        buf.truncate(len);
    }

    pub(crate) fn clear(&mut self) {
        self.shed = None;
        self.raw.clear();
        self.typed.clear();
        self.data.clear();
        self.spans.clear();
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

/// Which of several inputs read as one (see [`crate::source::chain`]) records come from.
#[derive(Clone, Debug)]
pub struct InputOf {
    /// Its name, for messages.
    pub name: std::sync::Arc<str>,
    /// The bytes of the inputs before it: records' positions count over all of them.
    pub base: u64,
}

impl InputOf {
    /// `e`, an error about one of its records, named after it and placed in it.
    pub fn locate(&self, e: crate::error::Error) -> crate::error::Error {
        e.located(&self.name, self.base)
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

    /// The table a source whose values are typed makes for `--create`, from its own types
    /// without a sample (Arrow's schema); `None` for a source that has no such types.
    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        None
    }

    /// The input the records from here on come from, once each time it changes, for a source
    /// that reads several inputs one after another (`None` from any other). The pipeline
    /// starts a new chunk there, so that a chunk's messages name one input.
    fn next_input(&mut self) -> Option<InputOf> {
        None
    }

    /// `e`, an error about the record just read, placed in the input that record came from: a
    /// source of several inputs counts positions over all of them.
    fn locate(&self, e: crate::error::Error) -> crate::error::Error {
        e
    }
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

    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        (**self).inferred()
    }

    fn next_input(&mut self) -> Option<InputOf> {
        (**self).next_input()
    }

    fn locate(&self, e: crate::error::Error) -> crate::error::Error {
        (**self).locate(e)
    }
}

/// Every record of `src`, each as its fields' text (lossy) and whether each was quoted: what
/// the readers' unit tests compare.
#[cfg(test)]
pub(crate) fn read_all(src: &mut dyn RecordSource) -> Vec<Vec<(String, bool)>> {
    let mut rec = Record::default();
    let mut out = Vec::new();
    loop {
        match src.read_record(&mut rec) {
            Ok(true) => out.push(
                (0..rec.len())
                    .map(|i| {
                        let (b, quoted) = rec.field(i);
                        (String::from_utf8_lossy(b).into_owned(), quoted)
                    })
                    .collect(),
            ),
            Ok(false) => return out,
            Err(e) => panic!("reading: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::csv::{CsvOptions, CsvReader};

    fn read(line: &[u8]) -> Record {
        let opts = CsvOptions {
            keep_raw: true,
            header: false,
            ..CsvOptions::default()
        };
        let mut r = CsvReader::new(line, "t", opts);
        let mut rec = Record::default();
        assert!(r.read_record(&mut rec).unwrap());
        rec
    }

    #[test]
    fn records_whose_fields_give_their_input_back_are_let_go_of_and_rebuilt() {
        for line in [
            &b"1,\"a \"\"b\"\", c\r\nd\",,x\r\n"[..],
            b"1,plain,\"\"\n",
            b"last,line",
        ] {
            let mut rec = read(line);
            assert!(rec.shed_raw(b',', b'"'), "{line:?}");
            assert_eq!(rec.input().as_ref(), line);
            rec.restore_raw();
            assert_eq!(rec.raw(), line);
        }
        // A quote inside an unquoted field, and text after a closing quote: kept as read.
        for line in [&b"1,ab\"c\"d\n"[..], b"1,\"ab\"cd\n"] {
            let mut rec = read(line);
            assert!(!rec.shed_raw(b',', b'"'), "{line:?}");
            assert_eq!(rec.raw(), line);
        }
    }
}
