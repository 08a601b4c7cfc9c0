//! One input record to one encoded row of a chunk.

use super::mysql::{self, MyType};
use super::number_format::{self, NumberFormat, Point};
use super::{pg_array, pg_binary, pg_text, sqlite, Outcome};
use crate::chunk::{Chunk, Deferred, WireFormat};
use crate::error::{cut_value, Error, ErrorKind, Result};
use crate::null::NullTexts;
use crate::record::{Record, Typed};
use crate::schema::{Column, ColumnType};

/// Encodes records into chunks for a fixed list of target columns (in the input's field
/// order).
#[derive(Clone, Debug)]
pub struct RowEncoder {
    input: String,
    columns: Vec<Column>,
    format: WireFormat,
    null: NullTexts,
    session_utc: bool,
    /// MySQL: each column's declared type, and the session's fixed offset from UTC.
    mysql: Vec<MyType>,
    zone: Option<i64>,
    /// `--decimal-comma`, `--thousands`: how number columns' fields are written.
    numbers: NumberFormat,
}

impl RowEncoder {
    /// An encoder for `columns`, which the input's fields map to one by one.
    ///
    /// `null` are the unquoted texts that mean NULL; `session_utc` whether the target
    /// session's time zone is UTC (see [`pg_binary::encode`]).
    pub fn new(
        input: impl Into<String>,
        columns: Vec<Column>,
        format: WireFormat,
        null: NullTexts,
        session_utc: bool,
    ) -> Self {
        let mysql = match format {
            WireFormat::Mysql => columns
                .iter()
                .map(|c| MyType::parse(&c.type_name))
                .collect(),
            _ => Vec::new(),
        };
        RowEncoder {
            input: input.into(),
            columns,
            format,
            null,
            session_utc,
            mysql,
            zone: Some(0),
            numbers: NumberFormat::PLAIN,
        }
    }

    /// Reads number columns' fields as written in `numbers` (`1.234,5`, `1,234.5`: see
    /// [`NumberFormat`]).
    pub fn with_number_format(mut self, numbers: NumberFormat) -> Self {
        self.numbers = numbers;
        self
    }

    /// The text field `raw` (column `i`) is read as: itself, or with `--decimal-comma` or
    /// `--thousands` a number column's as the server reads numbers (in `point`).
    ///
    /// # Errors
    /// A value error for a number column's field that is no number written so.
    #[inline]
    fn read_as<'a>(
        &self,
        rec: &Record,
        i: usize,
        raw: &'a [u8],
        point: &'a mut Option<Point>,
    ) -> Result<&'a [u8]> {
        if self.numbers.is_plain() || !number_format::is_number(&self.columns[i].ty) {
            return Ok(raw);
        }
        match self.numbers.read(raw) {
            number_format::Read::Same => Ok(raw),
            number_format::Read::Point(p) => Ok(point.insert(p).as_bytes()),
            number_format::Read::Bad => {
                Err(self.value_error(rec, i, raw, self.numbers.to_string()))
            }
        }
    }

    /// The session time zone's offset from UTC in seconds when it is a fixed one (`None` for
    /// a named zone): MySQL's timestamps are converted to and checked in it.
    pub fn with_session_offset(mut self, zone: Option<i64>) -> Self {
        self.zone = zone;
        self
    }

    /// The target columns, in field order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The wire format.
    pub fn format(&self) -> WireFormat {
        self.format
    }

    /// Starts a chunk's payload: the binary COPY header, for that format.
    pub fn begin_chunk(&self, chunk: &mut Chunk) {
        if self.format == WireFormat::Binary {
            chunk.data.extend_from_slice(pg_binary::HEADER);
        }
    }

    /// Ends a chunk's payload: the binary COPY trailer, for that format.
    pub fn finish_chunk(&self, chunk: &mut Chunk) {
        if self.format == WireFormat::Binary {
            chunk.data.extend_from_slice(pg_binary::TRAILER);
        }
    }

    /// Appends `rec` to `chunk`.
    ///
    /// # Errors
    /// A CSV error for a wrong number of fields; a value error (with position, column, value
    /// and reason) for a value that cannot be of its column's type, or a NULL in a NOT NULL
    /// column. On error the chunk is left as it was before the call.
    pub fn encode(&self, rec: &Record, chunk: &mut Chunk) -> Result<()> {
        if rec.len() != self.columns.len() {
            let mut message = format!(
                "expected {} fields, found {}",
                self.columns.len(),
                rec.len()
            );
            let extra_empty = rec.len() > self.columns.len()
                && (self.columns.len()..rec.len()).all(|i| rec.field(i) == (&b""[..], false));
            if extra_empty {
                message.push_str(", the last empty: ");
                message.push_str(crate::error::LINE_ENDS_WITH_DELIMITER);
            }
            return Err(ErrorKind::Csv {
                input: self.input.clone(),
                position: rec.position(),
                message,
            }
            .into());
        }
        let row_start = chunk.data.len();
        let deferred_before = chunk.deferred.len();
        let result = match self.format {
            WireFormat::Binary => self.encode_binary(rec, chunk),
            WireFormat::Text => self.encode_text(rec, chunk),
            WireFormat::Sqlite => self.encode_sqlite(rec, chunk),
            WireFormat::Mysql => self.encode_mysql(rec, chunk),
        };
        if result.is_err() {
            chunk.data.truncate(row_start);
            chunk.deferred.truncate(deferred_before);
        }
        result
    }

    fn value_error(&self, rec: &Record, i: usize, raw: &[u8], reason: String) -> Error {
        ErrorKind::Value {
            input: self.input.clone(),
            position: rec.position(),
            column: self.columns[i].name.clone(),
            value: cut_value(raw),
            reason,
        }
        .into()
    }

    /// What became of a typed value: a rejected one is reported with its text.
    fn typed(&self, rec: &Record, i: usize, outcome: Outcome) -> Result<()> {
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::Reject(why) => {
                let col = &self.columns[i];
                let text = rec.typed_text(i).unwrap_or_default();
                let why = format!("expected {}: {why}", col.type_name);
                Err(self.value_error(rec, i, text.as_bytes(), why))
            }
            // Only PostgreSQL's binary encoder leaves values to the server.
            Outcome::Defer => {
                let text = rec.typed_text(i).unwrap_or_default();
                Err(self.value_error(rec, i, text.as_bytes(), "cannot be read".into()))
            }
        }
    }

    fn is_null(&self, raw: &[u8], quoted: bool) -> bool {
        !quoted && self.null.matches(raw)
    }

    fn null_error(&self, rec: &Record, i: usize, raw: &[u8]) -> Error {
        self.value_error(
            rec,
            i,
            raw,
            format!(
                "NULL in column \"{}\", which is NOT NULL (quote the field, \"\", for an empty string)",
                self.columns[i].name
            ),
        )
    }

    fn encode_binary(&self, rec: &Record, chunk: &mut Chunk) -> Result<()> {
        chunk
            .data
            .extend_from_slice(&(self.columns.len() as i16).to_be_bytes());
        for (i, col) in self.columns.iter().enumerate() {
            let (raw, quoted) = rec.field(i);
            let outcome = match rec.typed(i) {
                Some(v) => {
                    pg_binary::encode_typed(&col.ty, v, raw, self.session_utc, &mut chunk.data)
                }
                None if self.is_null(raw, quoted) => {
                    if col.not_null {
                        return Err(self.null_error(rec, i, raw));
                    }
                    chunk.data.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                None => {
                    let mut point = None;
                    let text = self.read_as(rec, i, raw, &mut point)?;
                    match pg_binary::encode(&col.ty, text, self.session_utc, &mut chunk.data) {
                        Outcome::Defer => {
                            self.defer(rec, i, text, chunk)?;
                            continue;
                        }
                        outcome => outcome,
                    }
                }
            };
            match outcome {
                Outcome::Done => {}
                Outcome::Defer => self.defer(rec, i, raw, chunk)?,
                Outcome::Reject(why) => {
                    let typed = rec.typed_text(i);
                    let raw = typed.as_deref().map_or(raw, str::as_bytes);
                    let why = format!("expected {}: {why}", col.type_name);
                    return Err(self.value_error(rec, i, raw, why));
                }
            }
        }
        Ok(())
    }

    /// Leaves field `i` (`raw`) to the server: its text is kept, to be resolved and spliced
    /// in before the chunk is sent. Out of the field loop (rare), so that the loop stays small.
    #[cold]
    #[inline(never)]
    fn defer(&self, rec: &Record, i: usize, raw: &[u8], chunk: &mut Chunk) -> Result<()> {
        let typed = rec.typed_text(i);
        let raw = typed.as_deref().map_or(raw, str::as_bytes);
        pg_binary::check_text(raw).map_err(|why| self.value_error(rec, i, raw, why))?;
        let text = server_text(&self.columns[i].ty, raw);
        // The text stands in for the value: one over 2 GiB is no value either.
        let len = i32::try_from(text.len())
            .map_err(|_| self.value_error(rec, i, raw, "longer than 2 GiB".into()))?;
        chunk.deferred.push(Deferred {
            offset: chunk.data.len(),
            len: text.len(),
            column: i,
            position: rec.position(),
        });
        chunk.data.extend_from_slice(&len.to_be_bytes());
        chunk.data.extend_from_slice(&text);
        Ok(())
    }

    fn encode_sqlite(&self, rec: &Record, chunk: &mut Chunk) -> Result<()> {
        for (i, col) in self.columns.iter().enumerate() {
            if let Some(v) = rec.typed(i) {
                let field = rec.field(i).0;
                self.typed(
                    rec,
                    i,
                    sqlite::encode_typed(&col.ty, v, field, &mut chunk.data),
                )?;
                continue;
            }
            let (raw, quoted) = rec.field(i);
            if self.is_null(raw, quoted) {
                if col.not_null {
                    return Err(self.null_error(rec, i, raw));
                }
                sqlite::put_null(&mut chunk.data);
                continue;
            }
            let mut point = None;
            let text = self.read_as(rec, i, raw, &mut point)?;
            match sqlite::encode(&col.ty, text, &mut chunk.data) {
                Outcome::Done => {}
                // The SQLite encoder never defers: there is no server to ask.
                Outcome::Defer => {
                    return Err(self.value_error(rec, i, raw, "cannot be read".into()));
                }
                Outcome::Reject(why) => {
                    let why = format!("expected {}: {why}", col.type_name);
                    return Err(self.value_error(rec, i, raw, why));
                }
            }
        }
        Ok(())
    }

    fn encode_mysql(&self, rec: &Record, chunk: &mut Chunk) -> Result<()> {
        for (i, (col, ty)) in self.columns.iter().zip(&self.mysql).enumerate() {
            if i > 0 {
                chunk.data.push(b'\t');
            }
            // Binary data is its own bytes to MySQL's LOAD DATA (escaped, as every field is).
            let typed = match rec.typed(i) {
                Some(Typed::Bytes) | None => None,
                Some(v) => Some(v.text()),
            };
            let (raw, quoted) = match &typed {
                Some(text) => (text.as_bytes(), true),
                None if rec.typed(i).is_some() => (rec.field(i).0, true),
                None => rec.field(i),
            };
            if typed.is_none() && self.is_null(raw, quoted) {
                if col.not_null {
                    return Err(self.null_error(rec, i, raw));
                }
                chunk.data.extend_from_slice(mysql::NULL);
                continue;
            }
            let mut point = None;
            let text = match typed {
                Some(_) => raw,
                None => self.read_as(rec, i, raw, &mut point)?,
            };
            match mysql::encode(ty, text, self.zone, &mut chunk.data) {
                Outcome::Done => {}
                Outcome::Reject(why) => {
                    let why = format!("expected {}: {why}", col.type_name);
                    return Err(self.value_error(rec, i, raw, why));
                }
                // The MySQL encoder reads or rejects; it leaves nothing to the server.
                Outcome::Defer => {
                    return Err(self.value_error(rec, i, raw, "cannot be read".into()));
                }
            }
        }
        chunk.data.push(b'\n');
        Ok(())
    }

    fn encode_text(&self, rec: &Record, chunk: &mut Chunk) -> Result<()> {
        for (i, col) in self.columns.iter().enumerate() {
            if i > 0 {
                chunk.data.push(b'\t');
            }
            if let Some(text) = rec.typed_text(i) {
                pg_text::escape_into(text.as_bytes(), &mut chunk.data);
                continue;
            }
            let (raw, quoted) = rec.field(i);
            if self.is_null(raw, quoted) {
                if col.not_null {
                    return Err(self.null_error(rec, i, raw));
                }
                chunk.data.extend_from_slice(pg_text::NULL);
                continue;
            }
            pg_binary::check_text(raw).map_err(|why| self.value_error(rec, i, raw, why))?;
            let mut point = None;
            let text = self.read_as(rec, i, raw, &mut point)?;
            pg_text::escape_into(&server_text(&col.ty, text), &mut chunk.data);
        }
        chunk.data.push(b'\n');
        Ok(())
    }
}

/// A value's text as the server's input function for `ty` reads it: an array given as JSON
/// becomes an array literal; anything else is as it is.
fn server_text<'a>(ty: &ColumnType, raw: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    match ty {
        ColumnType::Array { elem, .. } => pg_array::server_text(raw, elem),
        _ => std::borrow::Cow::Borrowed(raw),
    }
}
