//! CSV and TSV input, read the way PostgreSQL's own `COPY ... (FORMAT csv)` reads it.
//!
//! This parser is written by hand, not taken from the `csv` crate, for one reason: PostgreSQL
//! tells NULL from the empty string by whether the field was *quoted* (`a,,b` holds a NULL,
//! `a,"",b` an empty string), and neither `csv` nor `csv-core` reports that. Everything else
//! follows their design: one reused record buffer for the whole read loop (no allocation per
//! row once warm), `memchr` to jump over the bytes that need no attention, and a [`Position`]
//! for every record.

use std::io::{self, Read};

use memchr::{memchr2, memchr3};

use crate::encode::number_format::NumberFormat;
use crate::error::{Error, ErrorKind, Result};
use crate::null::NullTexts;
use crate::position::Position;
use crate::record::{Record, Span};

/// Kept input from which a record's is let go of when its fields rebuild it. Smaller rows are
/// bounded by the chunks they travel in; from half a default chunk on, a third copy of a row
/// is what breaks the memory bound. (The rebuild costs ~2.5 ns a byte of a quoted field, and
/// a memcpy far less: 200 rows of 1 MiB took 0.55 s more CPU rebuilt than copied.)
const SHED_FROM: usize = 4 * 1024 * 1024;

/// How to read the CSV input.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// Field delimiter (`,`; `\t` for TSV).
    pub delimiter: u8,
    /// Quote character (`"`). Inside quotes, a doubled quote is one quote character.
    pub quote: u8,
    /// The first record names the columns.
    pub header: bool,
    /// The unquoted texts that mean NULL (default: the empty string, as in PostgreSQL).
    pub null: NullTexts,
    /// Keep each record's input bytes as they were ([`Record::raw`]), for a rejects file that
    /// holds bad rows exactly as the input had them.
    pub keep_raw: bool,
    /// With the comma as `delimiter`: read the delimiter from the input's first lines instead
    /// when they are plainly separated by `;`, a tab or `|` ([`sniff_delimiter`]). Off when
    /// the delimiter was given.
    pub detect_delimiter: bool,
    /// How numbers are written (`--decimal-comma`, `--thousands`): a number column's fields
    /// are read so (see [`NumberFormat`]), and so is a sample for `--create`.
    pub numbers: NumberFormat,
    /// Whether `header` was given (`--header`, `--no-header`) rather than the format's
    /// default: a file found to be in PostgreSQL's text format says its own otherwise.
    pub header_given: bool,
    /// Lines at the input's start that are no part of the table (a report's title, the date
    /// it was run), skipped before the header: whole lines, whatever quotes they hold.
    pub skip_lines: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            header: true,
            null: NullTexts::default(),
            keep_raw: false,
            detect_delimiter: true,
            numbers: NumberFormat::PLAIN,
            header_given: false,
            skip_lines: 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside quotes (at a field's start or after text or a closing quote).
    Unquoted,
    /// Inside a quoted section.
    Quoted,
    /// Just saw a quote inside a quoted section: a second quote is a literal quote, anything
    /// else closes the section.
    QuoteInQuoted,
}

/// Reads records from any [`Read`], with a 256 KiB buffer of its own.
pub struct CsvReader<R> {
    input_name: String,
    rdr: R,
    opts: CsvOptions,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Input bytes before `buf[pos]`.
    consumed: u64,
    line: u64,
    record: u64,
    started: bool,
}

const BUF_SIZE: usize = 256 * 1024;

impl<R: Read> CsvReader<R> {
    /// A reader over `rdr`; `input_name` (a path or `-`) is used in error messages.
    pub fn new(rdr: R, input_name: impl Into<String>, opts: CsvOptions) -> Self {
        CsvReader {
            input_name: input_name.into(),
            rdr,
            opts,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            consumed: 0,
            line: 1,
            record: 0,
            started: false,
        }
    }

    /// A reader over input that starts at `start`: `rdr` has been positioned at byte
    /// `start.byte` of the input (a resumed load seeks past what is committed), `start.line` is
    /// the line there and `start.record` the number of records before it.
    pub fn starting_at(
        rdr: R,
        input_name: impl Into<String>,
        opts: CsvOptions,
        start: crate::position::Position,
    ) -> Self {
        let mut r = CsvReader::new(rdr, input_name, opts);
        r.consumed = start.byte;
        r.line = start.line;
        r.record = start.record;
        // A byte-order mark can only stand at the very start.
        r.started = start.byte > 0;
        r
    }

    /// The line the next record starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The options this reader was made with.
    pub fn options(&self) -> &CsvOptions {
        &self.opts
    }

    /// The input's name, for messages.
    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    /// The underlying reader (whatever this reader had buffered from it is lost).
    pub fn into_inner(self) -> R {
        self.rdr
    }

    /// Input bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.consumed
    }

    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.consumed += self.pos as u64;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.rdr.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ErrorKind::Io {
                        input: self.input_name.clone(),
                        source,
                    }
                    .into())
                }
            }
        }
    }

    fn skip_bom(&mut self) -> Result<()> {
        self.started = true;
        // The BOM (and an Excel `sep=` line after it) can in theory straddle reads; gather
        // enough bytes for both first.
        while self.end - self.pos < 3 + EXCEL_SEP_LINE {
            if self.eof {
                break;
            }
            let have = self.end - self.pos;
            self.buf.copy_within(self.pos..self.end, 0);
            self.consumed += self.pos as u64;
            self.pos = 0;
            self.end = have;
            match self.rdr.read(&mut self.buf[have..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ErrorKind::Io {
                        input: self.input_name.clone(),
                        source,
                    }
                    .into())
                }
            }
        }
        if self.buf[self.pos..self.end].starts_with(b"\xEF\xBB\xBF") {
            self.pos += 3;
        }
        Ok(())
    }

    /// Skips Excel's `sep=;` line, which says what separates the fields (see
    /// [`excel_sep`]) and is no record, when it is the input's first line (and no
    /// `--skip-lines` counts it).
    fn skip_excel_sep(&mut self) {
        let head = &self.buf[self.pos..self.end];
        if let Some((_, len)) = excel_sep_line(head) {
            self.pos += len;
            self.line += 1;
        }
    }

    /// Skips the lines before the header that [`CsvOptions::skip_lines`] says are none of the
    /// table's.
    fn skip_lines(&mut self) -> Result<()> {
        let mut left = self.opts.skip_lines;
        while left > 0 {
            if self.pos >= self.end && !self.fill()? {
                return Ok(());
            }
            match memchr::memchr(b'\n', &self.buf[self.pos..self.end]) {
                Some(at) => {
                    self.pos += at + 1;
                    self.line += 1;
                    left -= 1;
                }
                None => self.pos = self.end,
            }
        }
        Ok(())
    }

    /// Lets go of a big record's kept input when its fields rebuild it (see
    /// [`Record::shed_raw`]).
    fn shed_big(&self, rec: &mut Record) {
        if self.opts.keep_raw && rec.raw.len() >= SHED_FROM {
            rec.shed_raw(self.opts.delimiter, self.opts.quote);
        }
    }

    /// Reads the next record into `rec`, reusing its buffers. Returns `false` at the end of
    /// the input.
    ///
    /// Bytes reach `rec.data` in runs, not field by field: outside quotes, a run of fields is
    /// copied once, delimiters included, when a quote, the line's end or the buffer's end
    /// closes it, and each field only notes where it lies. A quoted section is copied a word
    /// at a time ([`read_quoted`]).
    ///
    /// # Errors
    /// An I/O error, or a CSV error for a quoted field that is still open at the end of the
    /// input.
    pub fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        if !self.started {
            self.skip_bom()?;
            match self.opts.skip_lines {
                0 => self.skip_excel_sep(),
                _ => self.skip_lines()?,
            }
        }
        rec.clear();
        if self.pos >= self.end && !self.fill()? {
            return Ok(false);
        }
        self.record += 1;
        let start_byte = self.consumed + self.pos as u64;
        rec.position = Position {
            byte: start_byte,
            line: self.line,
            record: self.record,
        };
        let (delim, quote) = (self.opts.delimiter, self.opts.quote);
        let keep_raw = self.opts.keep_raw;
        // Start of the part of `buf` that belongs to this record and is not yet in `rec.raw`.
        let mut mark = self.pos;
        // Start of the unquoted run of `buf` that is not yet in `rec.data`.
        let mut run = self.pos;
        // Where the field being read starts in `rec.data`.
        let mut field = 0;
        let mut state = State::Unquoted;
        let mut quoted = false;
        // Whether the last byte copied was a '\r' outside quotes: dropped before '\n'.
        let mut trailing_cr = false;
        loop {
            if self.pos >= self.end {
                // The buffer is used up: what of it belongs to the record goes to `rec`.
                let tail = &self.buf[run..self.end];
                if state == State::Unquoted && !tail.is_empty() {
                    trailing_cr = tail.last() == Some(&b'\r');
                    rec.data.extend_from_slice(tail);
                }
                if keep_raw {
                    rec.raw.extend_from_slice(&self.buf[mark..self.end]);
                }
                if !self.fill()? {
                    // End of input: the last line had no newline. (A quote that ended the
                    // last buffer closed its section.)
                    if state == State::Quoted {
                        return Err(ErrorKind::Csv {
                            input: self.input_name.clone(),
                            position: rec.position,
                            message: "unterminated quoted field at the end of the input".into(),
                        }
                        .into());
                    }
                    rec.spans.push(Span {
                        start: field,
                        end: rec.data.len(),
                        quoted,
                    });
                    rec.input_len = self.consumed + self.pos as u64 - start_byte;
                    self.shed_big(rec);
                    return Ok(true);
                }
                (mark, run) = (0, 0);
            }
            match state {
                State::Unquoted => {
                    let Some(i) = find_special(delim, quote, &self.buf[self.pos..self.end]) else {
                        self.pos = self.end;
                        continue;
                    };
                    let at = self.pos + i;
                    let b = self.buf[at];
                    self.pos = at + 1;
                    if b == delim {
                        // The delimiter stays in the run, after the field.
                        let end = rec.data.len() + (at - run);
                        rec.spans.push(Span {
                            start: field,
                            end,
                            quoted,
                        });
                        field = end + 1;
                        quoted = false;
                        continue;
                    }
                    let cr = if at > run {
                        self.buf[at - 1] == b'\r'
                    } else {
                        trailing_cr
                    };
                    rec.data.extend_from_slice(&self.buf[run..at]);
                    run = self.pos;
                    if b == quote {
                        state = State::Quoted;
                        quoted = true;
                        trailing_cr = false;
                        continue;
                    }
                    // '\n': the record ends.
                    if cr {
                        rec.data.pop();
                    }
                    rec.spans.push(Span {
                        start: field,
                        end: rec.data.len(),
                        quoted,
                    });
                    self.line += 1;
                    rec.input_len = self.consumed + self.pos as u64 - start_byte;
                    if keep_raw {
                        rec.raw.extend_from_slice(&self.buf[mark..self.pos]);
                    }
                    self.shed_big(rec);
                    return Ok(true);
                }
                State::Quoted => {
                    let (n, end) = read_quoted(
                        &self.buf[self.pos..self.end],
                        quote,
                        &mut rec.data,
                        &mut self.line,
                    );
                    self.pos += n;
                    match end {
                        SectionEnd::Closed => {
                            run = self.pos;
                            state = State::Unquoted;
                        }
                        SectionEnd::Open => {}
                        SectionEnd::Quote => state = State::QuoteInQuoted,
                    }
                }
                State::QuoteInQuoted => {
                    // A new buffer: its first byte tells whether the quote that ended the last
                    // one was doubled or closed the section.
                    if self.buf[self.pos] == quote {
                        rec.data.push(quote);
                        self.pos += 1;
                        state = State::Quoted;
                    } else {
                        run = self.pos;
                        state = State::Unquoted;
                    }
                }
            }
        }
    }

    /// Reads the header record and returns the column names; `None` when the input is empty
    /// (a zero-byte export of an empty result, which `COPY ... HEADER` loads as no rows).
    ///
    /// # Errors
    /// A CSV error when a name is not valid UTF-8.
    pub fn read_header(&mut self, rec: &mut Record) -> Result<Option<Vec<String>>> {
        if !self.read_record(rec)? {
            return Ok(None);
        }
        let mut names = Vec::with_capacity(rec.len());
        for i in 0..rec.len() {
            let (bytes, _) = rec.field(i);
            let name = std::str::from_utf8(bytes).map_err(|_| {
                Error::new(ErrorKind::Csv {
                    input: self.input_name.clone(),
                    position: rec.position(),
                    message: format!("header field {} is not valid UTF-8", i + 1),
                })
            })?;
            names.push(name.to_string());
        }
        Ok(Some(names))
    }
}

/// The delimiter a file seems to use instead of `delimiter`, judged from its header: a header
/// read as one field that holds `;`, a tab or `|` (or `,`, when another delimiter was given)
/// is, far more often than a one-column file, a file separated by that character. The most
/// frequent one of them is the guess.
pub fn other_delimiter(names: &[String], delimiter: u8) -> Option<u8> {
    let [name] = names else {
        return None;
    };
    [b';', b'\t', b'|', b',']
        .into_iter()
        .filter(|&d| d != delimiter)
        .map(|d| (name.bytes().filter(|&b| b == d).count(), d))
        .filter(|&(n, _)| n > 0)
        .max_by_key(|&(n, _)| n)
        .map(|(_, d)| d)
}

/// What [`sniff_delimiter`] reads of an input: enough lines to see that their field counts
/// agree, little enough to cost nothing.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The delimiter a CSV input uses when it is not the comma, read from its first bytes
/// (`head`; `whole`: they are the whole input): its first record holds no comma as a
/// delimiter, and read with `;`, a tab or `|` it has at least two fields, and every record in
/// `head` has as many. Exports from spreadsheets in most of Europe are separated by `;`
/// (their decimal separator is the comma), and a user should not have to say so; a
/// one-column file whose header holds such a character and whose rows agree with it is far
/// rarer, and `--delimiter ,` reads it. `None`: the comma (or nothing better).
pub fn sniff_delimiter(head: &[u8], whole: bool, opts: &CsvOptions) -> Option<u8> {
    if let Some(d) = excel_sep(head).filter(|_| opts.skip_lines == 0) {
        return (d != b',').then_some(d);
    }
    let counts = |delimiter: u8| -> Vec<usize> {
        let opts = CsvOptions {
            delimiter,
            header: false,
            keep_raw: false,
            ..opts.clone()
        };
        let mut r = CsvReader::new(head, "", opts);
        let mut rec = Record::default();
        let mut counts = Vec::new();
        // A record cut off by the end of `head` may end in an open quote: counts stop there.
        while let Ok(true) = r.read_record(&mut rec) {
            counts.push(rec.len());
        }
        if !whole && counts.len() > 1 {
            // The last record may be cut off by the end of `head`.
            counts.pop();
        }
        counts
    };
    if counts(b',').first() != Some(&1) {
        return None;
    }
    [b';', b'\t', b'|']
        .into_iter()
        .filter_map(|d| {
            let c = counts(d);
            let k = *c.first()?;
            (k >= 2 && c.iter().all(|&n| n == k)).then_some((k, d))
        })
        .max_by_key(|&(k, _)| k)
        .map(|(_, d)| d)
}

/// The longest `sep=` line: `sep=;\r\n`.
const EXCEL_SEP_LINE: usize = 7;

/// Excel's first line `sep=;` (any one character after `=`), which it writes, and reads, to
/// say what separates the fields when that is not the list separator of the machine's
/// region: the character, and the line's length with its line end.
fn excel_sep_line(head: &[u8]) -> Option<(u8, usize)> {
    let rest = head.strip_prefix(b"sep=")?;
    let (&d, rest) = rest.split_first()?;
    let end = match rest {
        [b'\n', ..] => 1,
        [b'\r', b'\n', ..] => 2,
        _ => return None,
    };
    (d != b'"' && d != b'\r' && d != b'\n').then_some((d, 5 + end))
}

/// The delimiter an Excel `sep=` first line names, read from the input's first bytes (after a
/// BOM): what the file says of itself comes before any guess.
pub fn excel_sep(head: &[u8]) -> Option<u8> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    excel_sep_line(head).map(|(d, _)| d)
}

/// How to write a delimiter on the command line.
pub fn delimiter_arg(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        d => format!("'{}'", d as char),
    }
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is zero, and maybe of bytes above the lowest zero one
/// (a borrow), never below it: so the lowest set bit, alone or in an OR of such masks, is
/// exact.
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LOW) & !x & HIGH
}

/// The first delimiter, quote or newline in `buf`: the first words eight bytes at a time,
/// then a vectorized search. Most fields are a few bytes long, and starting `memchr3` for
/// each cost more than comparing a word with the three bytes at once. Inlined into the
/// reader's loop: as a call, once per field, it was 12% of the CPU on narrow integer rows.
#[inline(always)]
fn find_special(delim: u8, quote: u8, buf: &[u8]) -> Option<usize> {
    const WALK: usize = 32;
    let (d, q, n) = (
        LOW * u64::from(delim),
        LOW * u64::from(quote),
        LOW * u64::from(b'\n'),
    );
    let mut at = 0;
    while at < WALK {
        let Some(word) = buf.get(at..at + 8) else {
            break;
        };
        let mut le = [0u8; 8];
        le.copy_from_slice(word);
        let w = u64::from_le_bytes(le);
        let hit = zero_bytes(w ^ d) | zero_bytes(w ^ q) | zero_bytes(w ^ n);
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = buf.get(at..)?;
    let found = if at < WALK {
        // Fewer than eight bytes are left.
        rest.iter()
            .position(|&c| c == delim || c == quote || c == b'\n')
    } else {
        memchr3(delim, b'\n', quote, rest)
    };
    found.map(|i| i + at)
}

/// How a quoted section's part in a buffer ended.
#[derive(Debug, PartialEq, Eq)]
enum SectionEnd {
    /// At its closing quote.
    Closed,
    /// Not in this buffer.
    Open,
    /// At a quote that is the buffer's last byte: the next byte tells whether it is doubled.
    Quote,
}

/// Copies a quoted section from `buf` (which starts inside it) into `data`, a doubled quote
/// as one, counting newlines into `lines`. Returns the bytes of `buf` read (the closing quote
/// included) and how the section ended.
///
/// Eight bytes at a time: each word is stored whole and the length then cut back to the
/// first quote or newline in it. A JSON field has a quote every few bytes, and a search and a
/// `memcpy` for each piece between them cost three times as much. After two words without
/// one, the rest of the piece is found by `memchr2` and copied at once: long quoted text
/// went three times slower word by word (`bench/memory.sh`'s quotes shape: 0.037 s of
/// parsing word by word, 0.013 s so).
fn read_quoted(buf: &[u8], quote: u8, data: &mut Vec<u8>, lines: &mut u64) -> (usize, SectionEnd) {
    let (q, n) = (LOW * u64::from(quote), LOW * u64::from(b'\n'));
    let mut at = 0;
    // Words in a row without a quote or newline.
    let mut clear = 0;
    loop {
        let len = data.len();
        let k = match buf
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            Some(word) => {
                let w = u64::from_le_bytes(word);
                data.extend_from_slice(&word);
                let hit = zero_bytes(w ^ q) | zero_bytes(w ^ n);
                if hit != 0 {
                    let k = (hit.trailing_zeros() / 8) as usize;
                    data.truncate(len + k);
                    k
                } else {
                    at += 8;
                    clear += 1;
                    if clear < 2 {
                        continue;
                    }
                    // Sixteen bytes without one: a long piece (text, not JSON's short ones),
                    // where a vectorized search and one copy pay.
                    let rest = buf.get(at..).unwrap_or_default();
                    let Some(k) = memchr2(quote, b'\n', rest) else {
                        data.extend_from_slice(rest);
                        return (buf.len(), SectionEnd::Open);
                    };
                    data.extend_from_slice(&rest[..k]);
                    k
                }
            }
            // Fewer than eight bytes are left.
            None => {
                let rest = buf.get(at..).unwrap_or_default();
                let Some(k) = rest.iter().position(|&c| c == quote || c == b'\n') else {
                    data.extend_from_slice(rest);
                    return (buf.len(), SectionEnd::Open);
                };
                data.extend_from_slice(&rest[..k]);
                k
            }
        };
        at += k;
        clear = 0;
        if buf[at] == b'\n' {
            data.push(b'\n');
            *lines += 1;
            at += 1;
            continue;
        }
        match buf.get(at + 1) {
            Some(&c) if c == quote => {
                data.push(quote);
                at += 2;
            }
            Some(_) => return (at + 1, SectionEnd::Closed),
            None => return (at + 1, SectionEnd::Quote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8], chunk: usize) -> Vec<Vec<(String, bool)>> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = CsvReader::new(Slow(input, chunk), "t", CsvOptions::default());
        crate::record::read_all(&mut r)
    }

    fn f(s: &str, q: bool) -> (String, bool) {
        (s.to_string(), q)
    }

    #[test]
    fn quoting_nulls_and_newlines() {
        let input = b"\xEF\xBB\xBFa,b,c\r\n1,,\"\"\n\"x,\"\"y\"\"\nz\",2,\"\"\"\"\nlast,no,newline";
        for chunk in [1, 2, 3, 7, 1000] {
            let rows = parse(input, chunk);
            assert_eq!(
                rows,
                vec![
                    vec![f("a", false), f("b", false), f("c", false)],
                    vec![f("1", false), f("", false), f("", true)],
                    vec![f("x,\"y\"\nz", true), f("2", false), f("\"", true)],
                    vec![f("last", false), f("no", false), f("newline", false)],
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn an_excel_sep_line_is_no_record() {
        // With a BOM before it, read in any sizes; the header is line 2.
        for chunk in [1, 2, 5, 1000] {
            let rows = parse(b"\xEF\xBB\xBFsep=,\r\na,b\r\n1,2\r\n", chunk);
            assert_eq!(rows.len(), 2, "chunk {chunk}");
            assert_eq!(rows[0], vec![f("a", false), f("b", false)], "chunk {chunk}");
        }
        assert_eq!(excel_sep(b"sep=;\nid;name\n"), Some(b';'));
        assert_eq!(excel_sep(b"\xEF\xBB\xBFsep=\t\r\n"), Some(b'\t'));
        for not in [
            &b"sep=;;\n"[..],
            b"sep=\n",
            b"sep=;",
            b"Sep=;\n",
            b"sep,x\n",
        ] {
            assert_eq!(excel_sep(not), None, "{not:?}");
        }
        // A sep= line decides the delimiter; --skip-lines counts it as a line of its own.
        let opts = CsvOptions::default();
        assert_eq!(
            sniff_delimiter(b"sep=|\na|b|c\n1|2|3\n", true, &opts),
            Some(b'|')
        );
        let skip = CsvOptions {
            skip_lines: 1,
            ..CsvOptions::default()
        };
        let mut r = CsvReader::new(&b"sep=;\nx,y\n"[..], "t", skip);
        let mut rec = Record::default();
        assert!(matches!(r.read_record(&mut rec), Ok(true)));
        assert_eq!(rec.len(), 2);
    }

    #[test]
    fn positions_count_lines_inside_quotes() {
        let input = b"h\n\"a\nb\"\nc\n";
        let mut r = CsvReader::new(&input[..], "t", CsvOptions::default());
        let mut rec = Record::default();
        let mut pos = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            pos.push((rec.position(), rec.input_len()));
        }
        assert_eq!(
            pos[0].0,
            Position {
                byte: 0,
                line: 1,
                record: 1
            }
        );
        assert_eq!(
            pos[1].0,
            Position {
                byte: 2,
                line: 2,
                record: 2
            }
        );
        assert_eq!(
            pos[2].0,
            Position {
                byte: 8,
                line: 4,
                record: 3
            }
        );
        assert_eq!(pos.iter().map(|p| p.1).sum::<u64>(), input.len() as u64);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let mut r = CsvReader::new(&b"a\n\"open"[..], "f.csv", CsvOptions::default());
        let mut rec = Record::default();
        assert!(r.read_record(&mut rec).unwrap());
        let err = r.read_record(&mut rec).unwrap_err().to_string();
        assert_eq!(
            err,
            "f.csv: record 2 (line 2, byte 2): unterminated quoted field at the end of the input"
        );
    }

    proptest::proptest! {
        /// The word-at-a-time search finds what a byte-by-byte one finds, at every length
        /// around its word size and its walk, with bytes that differ from the searched ones
        /// by one bit or a borrow (which is where such tricks go wrong).
        #[test]
        fn find_special_finds_the_first_special_byte(
            buf in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b',', b'-', b'"', b'#', b'\n', 0x0b, 0x09, 0x00, 0x80, 0xff]),
                0..80,
            ),
            tab in proptest::bool::ANY,
        ) {
            let delim = if tab { b'\t' } else { b',' };
            let naive = buf.iter().position(|&c| c == delim || c == b'"' || c == b'\n');
            proptest::prop_assert_eq!(find_special(delim, b'"', &buf), naive);
        }
    }

    #[test]
    fn a_one_field_header_suggests_the_delimiter_it_holds() {
        let one = |s: &str| vec![s.to_string()];
        assert_eq!(other_delimiter(&one("a;b;c"), b','), Some(b';'));
        assert_eq!(other_delimiter(&one("a\tb"), b','), Some(b'\t'));
        assert_eq!(other_delimiter(&one("a|b;c|d"), b','), Some(b'|'));
        assert_eq!(other_delimiter(&one("a,b"), b';'), Some(b','));
        assert_eq!(other_delimiter(&one("amount"), b','), None);
        assert_eq!(other_delimiter(&one("a;b"), b';'), None);
        assert_eq!(
            other_delimiter(&["a;b".to_string(), "c".to_string()], b','),
            None
        );
        assert_eq!(delimiter_arg(b'\t'), "tab");
        assert_eq!(delimiter_arg(b';'), "';'");
    }

    #[test]
    fn a_delimiter_other_than_the_comma_is_read_from_the_first_lines() {
        let sniff = |s: &str, whole| sniff_delimiter(s.as_bytes(), whole, &CsvOptions::default());
        // Decimal commas in the rows do not matter: the header has no comma.
        assert_eq!(sniff("id;amount\n1;2,50\n2;3\n", true), Some(b';'));
        assert_eq!(sniff("id\tname\n1\tx\n", true), Some(b'\t'));
        assert_eq!(sniff("a|b|c\n1|2|3\n", true), Some(b'|'));
        // A quoted field may hold the delimiter, and a record may span lines.
        assert_eq!(sniff("a;b\n\"x;y\";\"1\n2\"\n", true), Some(b';'));
        // The header alone decides when there is nothing else.
        assert_eq!(sniff("a;b", true), Some(b';'));
        // Comma-separated, one column, or rows that disagree: the comma stays.
        assert_eq!(sniff("a,b\n1;2,3\n", true), None);
        assert_eq!(sniff("amount\n1;2\n", true), None);
        assert_eq!(sniff("a;b\n1\n2;3\n", true), None);
        assert_eq!(sniff("", true), None);
        // More fields win: `;` splits this header in three, `|` in two.
        assert_eq!(sniff("a;b;c|d\n1;2;3|4\n", true), Some(b';'));
        // A cut-off last record is not counted, unless it is the input's end.
        assert_eq!(sniff("a;b\n1;2\n3", false), Some(b';'));
        assert_eq!(sniff("a;b\n1;2\n3", true), None);
    }

    #[test]
    fn quote_inside_unquoted_text_toggles_like_postgres() {
        // PostgreSQL reads a"b,c"d as one field: ab,cd.
        assert_eq!(
            parse(b"a\"b,c\"d,e\n", 3),
            vec![vec![f("ab,cd", true), f("e", false)]]
        );
    }
}
