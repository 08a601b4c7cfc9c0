//! Where rows come from: CSV/TSV and NDJSON readers, each turning its input into
//! [`csv::Record`]s (fields as text, with whether each was quoted), so that one pipeline and one
//! set of encoders serve them all; and the layers under them (decompression, sampling).

pub mod csv;
pub mod decompress;
pub mod format;
pub mod input;
pub mod ndjson;
pub mod replay;
pub mod rows;

use crate::error::Result;
use csv::Record;

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

impl<R: std::io::Read + Send> RecordSource for csv::CsvReader<R> {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        csv::CsvReader::read_record(self, rec)
    }

    fn line(&self) -> u64 {
        csv::CsvReader::line(self)
    }

    fn bytes_read(&self) -> u64 {
        csv::CsvReader::bytes_read(self)
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
}
