//! PostgreSQL's text format (`--format text`): what `COPY ... TO` and `psql \copy ... to` write
//! unless told otherwise, and what MySQL's `SELECT ... INTO OUTFILE` writes. One line per row,
//! fields separated by a tab, `\N` for NULL, and a backslash before every byte that would
//! otherwise end a field or a line (`\t`, `\n`, `\r`, `\\`, octal `\0`..`\377`, hex `\x7F`), so
//! there is no quoting. Read as CSV or TSV, such a file loads `\N` as those two characters and
//! `\t` as a backslash and a t, silently: a format of its own, not a CSV dialect.
//!
//! A field's bytes are its unescaped value, pushed as a quoted field (never NULL, so that an
//! empty field is the empty string, as in the server's own text format); the field whose raw
//! text is the null marker is an unquoted empty field (NULL). A record is a line, or several
//! when a backslash before a line's end makes the newline data; positions are exact byte
//! offsets of records: a resumed load seeks, and `--split` cuts between records.

use std::io::{BufRead, BufReader, Read};

use memchr::memchr2;

use super::RecordSource;
use crate::error::{ErrorKind, Result};
use crate::null::NullTexts;
use crate::position::Position;
use crate::record::Record;

/// The null marker unless `--null` gives another.
pub const DEFAULT_NULL: &[u8] = b"\\N";

/// Reads text-format records.
pub struct TextReader<R> {
    rdr: BufReader<R>,
    input_name: String,
    delimiter: u8,
    null: NullTexts,
    null_as: Vec<u8>,
    keep_raw: bool,
    line: u64,
    record: u64,
    consumed: u64,
    /// The line being read, and the field being unescaped.
    buf: Vec<u8>,
    field: Vec<u8>,
    /// The end-of-data marker (`\.` alone on a line) was read: nothing after it is data.
    ended: bool,
}

impl<R: Read + Send> TextReader<R> {
    /// A reader of fields separated by `delimiter`; a field whose raw text is one of `null` is
    /// NULL, and becomes an unquoted field of `null_as` (one of the load's NULL texts: the
    /// encoders' NULL).
    pub fn new(
        rdr: R,
        input_name: impl Into<String>,
        delimiter: u8,
        (null, null_as): (NullTexts, Vec<u8>),
        keep_raw: bool,
    ) -> Self {
        TextReader {
            rdr: BufReader::with_capacity(256 * 1024, rdr),
            input_name: input_name.into(),
            delimiter,
            null,
            null_as,
            keep_raw,
            line: 1,
            record: 0,
            consumed: 0,
            buf: Vec::new(),
            field: Vec::new(),
            ended: false,
        }
    }

    /// A reader positioned at `start` (a resumed load seeks past what is committed).
    pub fn starting_at(mut self, start: Position) -> Self {
        self.consumed = start.byte;
        self.line = start.line;
        self.record = start.record;
        self
    }

    /// Reads the header line's names (unescaped); `None` when the input is empty.
    ///
    /// # Errors
    /// An I/O error, or a name that is not UTF-8.
    pub fn read_header(&mut self, rec: &mut Record) -> Result<Option<Vec<String>>> {
        if !self.read_record(rec)? {
            return Ok(None);
        }
        (0..rec.len())
            .map(|i| {
                let (name, _) = rec.field(i);
                String::from_utf8(name.to_vec()).map_err(|_| {
                    self.error(
                        rec.position,
                        format!("column {} of the header is not UTF-8", i + 1),
                    )
                })
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// The reader under this one (a sample's recorder, to play back).
    pub fn into_recorded(self) -> R {
        self.rdr.into_inner()
    }

    fn error(&self, position: Position, message: String) -> crate::Error {
        ErrorKind::Csv {
            input: self.input_name.clone(),
            position,
            message,
        }
        .into()
    }
}

impl<R: Read + Send> RecordSource for TextReader<R> {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        let mut n = super::read_line(&mut self.rdr, &mut self.buf, &self.input_name)?;
        if n == 0 {
            return Ok(false);
        }
        let start = self.consumed;
        let line = self.line;
        self.line += 1;
        // A backslash before the newline makes it data, and the record goes on on the next
        // line: MySQL's `INTO OUTFILE` writes a newline in a value so (the server reads it
        // back so too; PostgreSQL writes `\n`).
        while self.buf.ends_with(b"\n") && escaped(&self.buf[..n - 1]) {
            let more = self
                .rdr
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| {
                    crate::Error::from(ErrorKind::Io {
                        input: self.input_name.clone(),
                        source,
                    })
                })?;
            if more == 0 {
                break;
            }
            n += more;
            self.line += 1;
        }
        self.consumed += n as u64;
        // A carriage return in data is written `\r`: one before the newline ends the line
        // (unless a backslash makes it data).
        let mut body = self.buf.as_slice();
        body = body.strip_suffix(b"\n").unwrap_or(body);
        if let Some(cut) = body.strip_suffix(b"\r").filter(|cut| !escaped(cut)) {
            body = cut;
        }
        if body == b"\\." {
            self.ended = true;
            return Ok(false);
        }
        self.record += 1;
        rec.begin(Position {
            byte: start,
            line,
            record: self.record,
        });
        rec.set_input(&self.buf[..n], self.keep_raw);
        let delim = self.delimiter;
        let mut i = 0;
        loop {
            let from = i;
            self.field.clear();
            // The field ends at the next delimiter that is not escaped, or the line's end.
            let more = loop {
                match memchr2(delim, b'\\', &body[i..]) {
                    None => {
                        self.field.extend_from_slice(&body[i..]);
                        i = body.len();
                        break false;
                    }
                    Some(k) => {
                        self.field.extend_from_slice(&body[i..i + k]);
                        i += k;
                        if body[i] == delim {
                            break true;
                        }
                        i += 1 + unescape(&body[i + 1..], &mut self.field);
                    }
                }
            };
            if self.null.matches(&body[from..i]) {
                rec.push_field(&self.null_as, false);
            } else {
                rec.push_field(&self.field, true);
            }
            if !more {
                break;
            }
            i += 1;
        }
        Ok(true)
    }

    fn line(&self) -> u64 {
        self.line
    }

    fn bytes_read(&self) -> u64 {
        self.consumed
    }

    fn can_continue(&self) -> bool {
        true
    }
}

/// Whether the byte after `text` is escaped: `text` ends with an odd number of backslashes.
fn escaped(text: &[u8]) -> bool {
    text.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Appends the byte(s) the escape after a backslash stands for, `rest` being what follows the
/// backslash; returns the bytes of `rest` it took. As the server reads them: `\b \f \n \r \t
/// \v`, up to three octal digits, `\x` and one or two hex digits; any other byte stands for
/// itself (`\\`, an escaped delimiter, and `\N` inside a longer field). A backslash that ends
/// the line stands for itself.
fn unescape(rest: &[u8], out: &mut Vec<u8>) -> usize {
    let Some(&c) = rest.first() else {
        out.push(b'\\');
        return 0;
    };
    let simple = match c {
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        _ => None,
    };
    if let Some(b) = simple {
        out.push(b);
        return 1;
    }
    if c.is_ascii_digit() && c < b'8' {
        let digits = rest
            .iter()
            .take(3)
            .take_while(|d| (b'0'..=b'7').contains(*d))
            .count();
        let value = rest[..digits]
            .iter()
            .fold(0u32, |v, d| (v << 3) + u32::from(d - b'0'));
        out.push((value & 0xff) as u8);
        return digits;
    }
    if c == b'x' {
        let digits = rest[1..]
            .iter()
            .take(2)
            .take_while(|d| d.is_ascii_hexdigit())
            .count();
        if digits > 0 {
            let value = rest[1..=digits].iter().fold(0u32, |v, d| {
                (v << 4) + (*d as char).to_digit(16).unwrap_or(0)
            });
            out.push(value as u8);
            return 1 + digits;
        }
    }
    out.push(c);
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Vec<Vec<Option<String>>> {
        read_with(input, NullTexts::new([DEFAULT_NULL]))
    }

    fn read_with(input: &str, null: NullTexts) -> Vec<Vec<Option<String>>> {
        let mut r = TextReader::new(input.as_bytes(), "t", b'\t', (null, Vec::new()), false);
        // A NULL is the one unquoted field here.
        crate::record::read_all(&mut r)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(v, quoted)| quoted.then_some(v))
                    .collect()
            })
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn escapes_nulls_and_empty_fields_read_as_the_server_reads_them() {
        assert_eq!(
            read("1\t\\N\t\n2\ta\\tb\\nc\\\\d\\\\N\r\n3\t\\101\\x42\\q\\\t\t\\N\n"),
            [
                vec![s("1"), None, s("")],
                vec![s("2"), s("a\tb\nc\\d\\N")],
                vec![s("3"), s("ABq\t"), None],
            ]
        );
    }

    #[test]
    fn each_null_marker_given_is_null() {
        assert_eq!(
            read_with("NULL\t\\N\tnull\t\n", NullTexts::new(["NULL", "\\N", ""])),
            [vec![None, None, s("null"), None]]
        );
    }

    #[test]
    fn the_end_of_data_marker_ends_the_input() {
        assert_eq!(read("1\n\\.\n2\n"), [vec![s("1")]]);
        // Without a newline at the end, and an empty line: one empty field.
        assert_eq!(read("a\n\nb"), [vec![s("a")], vec![s("")], vec![s("b")]]);
    }

    #[test]
    fn a_trailing_backslash_and_short_escapes_stand_for_themselves() {
        assert_eq!(read("x\\\n"), [vec![s("x\\")]]);
        assert_eq!(read("\\xZ\\8\\09\n"), [vec![s("xZ8\u{0}9")]]);
    }
}
