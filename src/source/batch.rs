//! Rows that a program builds value by value, in batches: the way in for callers that hold
//! their own values (the Python package, any embedding that is not a `Serialize` stream).
//!
//! A [`RowBatch`] keeps its rows flat (one byte buffer, one list of field ends) so that a batch
//! of thousands of rows costs a handful of allocations, and it can be built on one thread and
//! loaded on another. Each value keeps its kind ([`Typed`]): an integer goes into an integer
//! column without being written out as text and parsed again, and into any other column as its
//! text, exactly as a file's field would.

use crate::error::{Error, Result};
use crate::null::NullTexts;
use crate::position::Position;
use crate::record::{Record, RecordSource, Typed};

/// Days from 1970-01-01 to 2000-01-01: Unix dates to PostgreSQL's.
const UNIX_TO_2000_DAYS: i32 = 10_957;
const USECS_PER_DAY: i64 = 86_400_000_000;

/// Rows built value by value, in the order of the load's columns.
///
/// # Example
/// ```
/// let mut batch = barge::RowBatch::new(2);
/// batch.push_int(1);
/// batch.push_text("one");
/// batch.end_row().unwrap();
/// assert_eq!(batch.rows(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RowBatch {
    width: usize,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// Per field: `None` for text (or NULL), else its kind.
    typed: Vec<Option<Typed>>,
    nulls: Vec<bool>,
    rows: usize,
}

impl RowBatch {
    /// An empty batch of rows of `width` values.
    pub fn new(width: usize) -> RowBatch {
        RowBatch {
            width,
            ..RowBatch::default()
        }
    }

    /// Rows ended so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes of values held (to bound a batch by size).
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    fn field(&mut self, typed: Option<Typed>, null: bool) {
        self.ends.push(self.data.len());
        self.typed.push(typed);
        self.nulls.push(null);
    }

    /// A NULL.
    pub fn push_null(&mut self) {
        self.field(None, true);
    }

    /// A string, read as its column's text form, as a CSV field is (`""` is an empty string,
    /// never NULL). Into `json`/`jsonb` it is JSON text.
    pub fn push_text(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.field(None, false);
    }

    /// An integer.
    pub fn push_int(&mut self, v: i64) {
        self.field(Some(Typed::Int(v)), false);
    }

    /// A double.
    pub fn push_float(&mut self, v: f64) {
        self.field(Some(Typed::Float(v)), false);
    }

    /// A boolean.
    pub fn push_bool(&mut self, v: bool) {
        self.field(Some(Typed::Bool(v)), false);
    }

    /// Binary data: into `bytea`/`blob`/`varbinary` as is.
    pub fn push_bytes(&mut self, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.field(Some(Typed::Bytes), false);
    }

    /// A UUID's 16 bytes.
    pub fn push_uuid(&mut self, v: [u8; 16]) {
        self.field(Some(Typed::Uuid(v)), false);
    }

    /// A date, as days since 1970-01-01.
    pub fn push_date_unix(&mut self, days: i32) {
        self.field(Some(Typed::Date(days - UNIX_TO_2000_DAYS)), false);
    }

    /// A date, by its calendar fields (a proleptic Gregorian year, month 1-12, day 1-31).
    pub fn push_date(&mut self, year: i32, month: u32, day: u32) {
        let days = civil_days_since_2000(year, month, day);
        self.field(Some(Typed::Date(days as i32)), false);
    }

    /// A time of day, as microseconds since midnight.
    pub fn push_time_micros(&mut self, usecs: i64) {
        self.field(Some(Typed::Time(usecs)), false);
    }

    /// A date and time as microseconds since 1970-01-01 00:00 on its wall clock, and its offset
    /// from UTC in seconds when it is aware (`None`: naive, which a `timestamptz` column reads
    /// in the session's time zone, as it reads such text).
    pub fn push_timestamp_unix_micros(&mut self, usecs: i64, offset: Option<i32>) {
        let usecs = usecs - i64::from(UNIX_TO_2000_DAYS) * USECS_PER_DAY;
        self.field(Some(Typed::Timestamp { usecs, offset }), false);
    }

    /// A date and time by its calendar and clock fields (see
    /// [`RowBatch::push_timestamp_unix_micros`] for `offset`).
    #[allow(clippy::too_many_arguments)]
    pub fn push_datetime(
        &mut self,
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        micro: u32,
        offset: Option<i32>,
    ) {
        let days = civil_days_since_2000(year, month, day);
        let usecs = days * USECS_PER_DAY
            + ((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second)) * 1_000_000
            + i64::from(micro);
        self.field(Some(Typed::Timestamp { usecs, offset }), false);
    }

    /// Ends a row.
    ///
    /// # Errors
    /// A configuration error when the row does not have the batch's width; the row's values
    /// are dropped.
    pub fn end_row(&mut self) -> Result<()> {
        let start = self.rows * self.width;
        let have = self.ends.len() - start;
        if have != self.width {
            let keep = if start == 0 { 0 } else { self.ends[start - 1] };
            self.data.truncate(keep);
            self.ends.truncate(start);
            self.typed.truncate(start);
            self.nulls.truncate(start);
            return Err(Error::config(format!(
                "a row has {have} values for {} columns",
                self.width
            )));
        }
        self.rows += 1;
        Ok(())
    }

    /// Copies row `row` into `rec`, whose position is already set; NULL as `null`'s first text
    /// unquoted, and text quoted unless it is one of `null`'s (see [`text_field`]).
    fn fill(&self, row: usize, rec: &mut Record, null: &NullTexts, null_strings: bool) {
        let first = row * self.width;
        let mut start = if first == 0 { 0 } else { self.ends[first - 1] };
        for f in first..first + self.width {
            let end = self.ends[f];
            match self.typed[f] {
                Some(v) => rec.push_typed_bytes(v, &self.data[start..end]),
                None if self.nulls[f] => rec.push_field(null.first(), false),
                None => text_field(rec, &self.data[start..end], null, null_strings),
            }
            start = end;
        }
    }
}

/// Appends a program's string: quoted (so never NULL), unless `null_strings` and it equals one
/// of the null texts, which makes it NULL as an unquoted field equal to `--null` is in a file.
pub(crate) fn text_field(rec: &mut Record, text: &[u8], null: &NullTexts, null_strings: bool) {
    rec.push_field(text, !(null_strings && null.matches(text)));
}

/// Days from 2000-01-01 to a calendar date.
fn civil_days_since_2000(year: i32, month: u32, day: u32) -> i64 {
    use crate::encode::datetime::days_from_civil;
    days_from_civil(i64::from(year), i64::from(month), i64::from(day)) - days_from_civil(2000, 1, 1)
}

/// Numbers the rows a program hands over (1, 2, ...: their position's byte, line and record)
/// and keeps each one's CSV line for a rejects file when asked to. A row spans one "byte" of
/// the input, whatever its kept text: chunks' ranges are in row numbers, so that a resumed
/// load skips exactly the rows committed.
#[derive(Debug, Default)]
pub(crate) struct RowNumbers {
    count: u64,
    keep_raw: bool,
}

impl RowNumbers {
    pub(crate) fn new(keep_raw: bool) -> RowNumbers {
        RowNumbers { count: 0, keep_raw }
    }

    /// The next row is number `skip + 1`: the rows before it were passed over.
    pub(crate) fn starting_at(&mut self, skip: u64) {
        self.count = skip;
    }

    /// Starts the next row's record.
    pub(crate) fn begin(&mut self, rec: &mut Record) {
        self.count += 1;
        rec.begin(Position::row(self.count));
    }

    /// Ends a row's record, its fields pushed.
    pub(crate) fn end(&self, rec: &mut Record) {
        if self.keep_raw {
            let line = csv_line(rec);
            rec.set_input(&line, true);
        }
        rec.input_len = 1;
    }

    /// The number the next row will have.
    pub(crate) fn next(&self) -> u64 {
        self.count + 1
    }

    /// Rows handed over so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Reads the rows of a stream of batches. Rows are numbered from 1 (their position's line,
/// record and byte), so that a resumed load with the same load id skips the ones committed.
pub struct BatchSource<I> {
    batches: I,
    current: RowBatch,
    next_row: usize,
    numbers: RowNumbers,
    null: NullTexts,
    null_strings: bool,
}

impl<I: Iterator<Item = Result<RowBatch>> + Send> BatchSource<I> {
    /// Reads `batches`; with `keep_raw` each row's input is its CSV line (the rejects file is
    /// then a CSV file that loads again); with `null`, a string equal to one of its texts is
    /// NULL.
    pub fn new(batches: I, keep_raw: bool, null: Option<NullTexts>) -> BatchSource<I> {
        BatchSource {
            batches,
            current: RowBatch::default(),
            next_row: 0,
            numbers: RowNumbers::new(keep_raw),
            null_strings: null.is_some(),
            null: null.unwrap_or_default(),
        }
    }
}

impl<I: Iterator<Item = Result<RowBatch>> + Send> RecordSource for BatchSource<I> {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        while self.next_row >= self.current.rows {
            match self.batches.next() {
                None => return Ok(false),
                Some(batch) => {
                    self.current = batch?;
                    self.next_row = 0;
                }
            }
        }
        self.numbers.begin(rec);
        self.current
            .fill(self.next_row, rec, &self.null, self.null_strings);
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

/// A record as a CSV line: NULL as an empty unquoted field, text quoted when it must be,
/// typed values as their text.
pub(crate) fn csv_line(rec: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(rec.data.len() + 2 * rec.len() + 1);
    for i in 0..rec.len() {
        if i > 0 {
            out.push(b',');
        }
        let typed = rec.typed_text(i);
        let (bytes, quoted) = match &typed {
            Some(t) => (t.as_bytes(), false),
            None => rec.field(i),
        };
        csv_field(&mut out, bytes, quoted);
    }
    out.push(b'\n');
    out
}

/// Appends one CSV field, quoted when it holds a delimiter, quote or line break, or when it is
/// an empty string that must not read back as NULL.
pub(crate) fn csv_field(out: &mut Vec<u8>, bytes: &[u8], quoted: bool) {
    let must = bytes.is_empty() && quoted
        || bytes
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !must {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The CSV header line of `names`.
pub(crate) fn csv_header(names: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(&mut out, n.as_bytes(), false);
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_records_with_their_kinds() {
        let mut b = RowBatch::new(4);
        b.push_int(7);
        b.push_text("a,\"b\"");
        b.push_null();
        b.push_bytes(b"\x00\x01");
        b.end_row().unwrap();
        b.push_float(1.5);
        b.push_text("");
        b.push_date(2024, 2, 29);
        b.push_timestamp_unix_micros(0, Some(3600));
        b.end_row().unwrap();
        b.push_int(1);
        assert!(b.end_row().is_err(), "a short row is refused");
        assert_eq!(b.rows(), 2);

        let mut src = BatchSource::new(vec![Ok(b)].into_iter(), true, None);
        let mut rec = Record::default();
        assert!(src.read_record(&mut rec).unwrap());
        assert_eq!(rec.typed(0), Some(Typed::Int(7)));
        assert_eq!(rec.field(1), (&b"a,\"b\""[..], true));
        assert_eq!(rec.field(2), (&b""[..], false));
        assert_eq!(rec.typed(3), Some(Typed::Bytes));
        assert_eq!(rec.field(3).0, b"\x00\x01");
        assert_eq!(rec.raw(), b"7,\"a,\"\"b\"\"\",,\\x0001\n");
        assert!(src.read_record(&mut rec).unwrap());
        assert_eq!(rec.position().record, 2);
        assert_eq!(rec.field(1), (&b""[..], true));
        assert_eq!(rec.typed_text(2).unwrap(), "2024-02-29");
        assert_eq!(rec.typed_text(3).unwrap(), "1970-01-01 00:00:00+01:00");
        assert_eq!(
            rec.raw(),
            b"1.5,\"\",2024-02-29,1970-01-01 00:00:00+01:00\n"
        );
        assert!(!src.read_record(&mut rec).unwrap());
    }
}
