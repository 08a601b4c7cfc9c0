//! Parquet files: read by the `parquet` crate's Arrow reader and handed to [`ArrowSource`], so
//! that their typed values go as a DataFrame's do (integers, timestamps, decimals and binary
//! without a detour through text).
//!
//! A row's position is its number in the file, as for any Arrow source: checkpoints record it,
//! and a resumed load opens the file again at the first row not committed (the reader skips
//! whole row groups and pages before it without decoding them). Batches are sized by bytes,
//! from the row groups' uncompressed sizes in the file's footer, so a file of wide rows holds
//! about as much in memory as a CSV reader's chunk does, not a fixed number of rows.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::arrow::ArrowSource;
use crate::error::{Error, Result};
use crate::record::{Record, RecordSource};

/// The uncompressed bytes a batch aims at. Batches of a few MiB keep the reader's share of
/// memory within what a chunk costs, whatever the row width.
const BATCH_BYTES: u64 = 2 * 1024 * 1024;

/// Rows in a batch at most (narrow rows): Arrow's usual batch size.
const BATCH_ROWS: u64 = 8192;

/// The rows of a Parquet file.
pub struct ParquetSource {
    inner: ArrowSource,
    /// Rows in the file, and its size: progress is reported in the file's bytes (the bar's
    /// total), as the share of its rows read.
    rows: u64,
    size: u64,
}

impl ParquetSource {
    /// Opens the Parquet file at `path` at row `skip` (0: the first); returns the source and
    /// its column names. `keep_raw` keeps each row as a CSV line (the rejects file). With
    /// `only` (the table's columns, for `--ignore-unknown`), the file's other columns are not
    /// read at all: Parquet stores each column apart, so they are neither decompressed nor
    /// decoded (unless `keep_raw`, whose lines hold every column).
    ///
    /// # Errors
    /// The file cannot be opened, or it is not Parquet (its footer says what is wrong).
    pub fn open(
        path: &Path,
        name: &str,
        keep_raw: bool,
        skip: u64,
        only: Option<&[String]>,
    ) -> Result<(ParquetSource, Vec<String>)> {
        let (mut builder, size) = footer(path, name)?;
        if let (Some(only), false) = (only, keep_raw) {
            let names: Vec<String> = builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let kept: Vec<usize> = crate::schema::match_names(only, &names)
                .iter()
                .enumerate()
                .filter_map(|(i, m)| m.map(|_| i))
                .collect();
            // None kept: the load fails naming the file's columns, as without the mask.
            if !kept.is_empty() && kept.len() < names.len() {
                let mask = ProjectionMask::roots(builder.parquet_schema(), kept);
                builder = builder.with_projection(mask);
            }
        }
        let meta = builder.metadata();
        let rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
        let bytes: u64 = meta
            .row_groups()
            .iter()
            .map(|g| u64::try_from(g.total_byte_size()).unwrap_or(0))
            .sum();
        let per_row = bytes.checked_div(rows).unwrap_or(1).max(1);
        let batch = (BATCH_BYTES / per_row).clamp(1, BATCH_ROWS);
        let reader = builder
            .with_batch_size(usize::try_from(batch).unwrap_or(1))
            .with_offset(usize::try_from(skip).unwrap_or(usize::MAX))
            .build()
            .map_err(|e| not_parquet(name, e))?;
        let (mut inner, names) = ArrowSource::new(Box::new(reader), name, keep_raw, None)?;
        inner.starting_at(skip);
        Ok((ParquetSource { inner, rows, size }, names))
    }
}

/// The rows of the Parquet file at `path`, from its footer (for `--split`, which shares a
/// Parquet file by rows).
///
/// # Errors
/// The file cannot be opened, or it is not Parquet.
pub fn rows_in(path: &Path, name: &str) -> Result<u64> {
    let (builder, _) = footer(path, name)?;
    Ok(u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// The file at `path` opened, its footer read (a reader's builder), and its size.
fn footer(path: &Path, name: &str) -> Result<(ParquetRecordBatchReaderBuilder<File>, u64)> {
    let file = File::open(path).map_err(|e| super::input::cannot_open(path, &e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| not_parquet(name, e))?;
    Ok((builder, size))
}

/// A file that is not Parquet, or not readable as it.
fn not_parquet(name: &str, e: parquet::errors::ParquetError) -> Error {
    Error::config(format!(
        "{name} cannot be read as Parquet: {e} (name a CSV, TSV or NDJSON file by its \
         extension, or pass --format)"
    ))
}

impl RecordSource for ParquetSource {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        self.inner.read_record(rec)
    }

    fn line(&self) -> u64 {
        self.inner.line()
    }

    /// The file's bytes, in proportion to the rows read.
    fn bytes_read(&self) -> u64 {
        let read = u128::from(self.inner.bytes_read());
        let share = read * u128::from(self.size) / u128::from(self.rows.max(1));
        u64::try_from(share).unwrap_or(u64::MAX)
    }

    fn can_continue(&self) -> bool {
        self.inner.can_continue()
    }

    fn inferred(&self) -> Option<crate::infer::InferredTable> {
        self.inner.inferred()
    }
}
