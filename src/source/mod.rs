//! Where rows come from: CSV/TSV, NDJSON and Parquet readers, each turning its input into
//! [`crate::record::Record`]s (fields as text, with whether each was quoted), so that one pipeline and one
//! set of encoders serve them all; and the layers under them (decompression, sampling).

#[cfg(feature = "arrow")]
pub mod arrow;
pub mod batch;
pub mod chain;
pub mod csv;
pub mod decompress;
pub mod format;
pub mod input;
pub mod json_frames;
pub mod ndjson;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod project;
pub mod replay;
pub mod rows;
pub mod text;

use crate::error::{ErrorKind, Result};
use crate::record::{Record, RecordSource};

/// Reads the next line of `rdr` into `buf` (emptied first), its newline included; returns its
/// length, 0 at the end. For the formats whose records are lines (NDJSON, PostgreSQL's text
/// format).
///
/// # Errors
/// An I/O error, naming `input`.
pub(crate) fn read_line(
    rdr: &mut impl std::io::BufRead,
    buf: &mut Vec<u8>,
    input: &str,
) -> Result<usize> {
    buf.clear();
    rdr.read_until(b'\n', buf).map_err(|source| {
        ErrorKind::Io {
            input: input.to_string(),
            source,
        }
        .into()
    })
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
