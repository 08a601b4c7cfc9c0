//! The load as a library call: a builder that reads like the command line.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chunk::CopyFormat;
use crate::encode::row::RowEncoder;
use crate::error::{Error, Result};
use crate::pipeline::{self, PipelineOptions, Progress};
use crate::schema::{ColumnType, TableName};
use crate::sink::postgres::{self, PgCopySink};
use crate::source::csv::{CsvOptions, CsvReader, Record};
use crate::target::Target;

/// Rows per chunk unless told otherwise. Measured on the 1M-row `events` bench file (see
/// README, "Performance"): past ~20k rows per chunk the commit cost is under 1% and throughput
/// is flat, while memory grows with chunk size.
pub const DEFAULT_CHUNK_ROWS: usize = 20_000;
/// Encoded bytes per chunk, at most: keeps memory bounded when rows are wide.
pub const DEFAULT_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// A load into one table.
///
/// # Example
/// ```no_run
/// # async fn run() -> barge::Result<()> {
/// let report = barge::Load::into("postgres://postgres@localhost/db")?
///     .table("events")
///     .load_path("events.csv")
///     .await?;
/// println!("{} rows in {:?}", report.rows, report.elapsed);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Load {
    target: Target,
    table: Option<String>,
    csv: CsvOptions,
    columns: Option<Vec<String>>,
    chunk_rows: usize,
    chunk_bytes: usize,
    workers: usize,
    progress: Arc<Progress>,
}

/// What a finished load did.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The target, without its password.
    pub target: String,
    /// The table, schema-qualified and quoted.
    pub table: String,
    /// Rows committed.
    pub rows: u64,
    /// Chunks (transactions) committed.
    pub chunks: u64,
    /// Input bytes read.
    pub bytes: u64,
    /// Wall time of the load.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// `binary`, or `text` when a column's type made barge fall back to text COPY.
    pub format: &'static str,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl LoadReport {
    /// Rows per second over the whole load.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Load {
    /// A load into the database at `target` (a `postgres://` URL or libpq `key=value` string).
    ///
    /// # Errors
    /// A configuration error when the string cannot be parsed.
    pub fn into(target: &str) -> Result<Load> {
        Ok(Load {
            target: Target::parse(target)?,
            table: None,
            csv: CsvOptions::default(),
            columns: None,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            workers: 1,
            progress: Arc::new(Progress::default()),
        })
    }

    /// The target table: `events`, `public.events`, `"Mixed Case"."T"`. Defaults to the input
    /// file's name without its extension.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = Some(name.into());
        self
    }

    /// How to read the CSV input.
    pub fn csv(mut self, opts: CsvOptions) -> Self {
        self.csv = opts;
        self
    }

    /// Names the input's columns (in order), instead of its header, or for a file without one.
    pub fn columns(mut self, names: Vec<String>) -> Self {
        self.columns = Some(names);
        self
    }

    /// Rows per chunk (one transaction each).
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// Upper bound on a chunk's encoded size, in bytes.
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// Writer tasks, each on its own connection.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The live counters of this load, for showing progress while it runs.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// The target, for messages (no password).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Loads a file.
    ///
    /// # Errors
    /// See [`Load::load_reader`]; also when the file cannot be opened.
    pub async fn load_path(&self, path: impl AsRef<Path>) -> Result<LoadReport> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| Error::config(format!("cannot open {name}: {e}")))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.progress.bytes_total.store(size, Ordering::Relaxed);
        let table = match &self.table {
            Some(t) => t.clone(),
            None => default_table_name(path)?,
        };
        self.run(file, &name, &table).await
    }

    /// Loads CSV from any reader; `name` is used in messages (`-` for stdin).
    ///
    /// # Errors
    /// Configuration errors (no table, unknown columns) before any row is sent; then the first
    /// bad row (with file, line, column, value and reason) or database error, carrying the
    /// number of rows already committed.
    pub async fn load_reader<R: Read + Send + 'static>(
        &self,
        reader: R,
        name: &str,
    ) -> Result<LoadReport> {
        let table = self
            .table
            .clone()
            .ok_or_else(|| Error::config("no table given: name the target table"))?;
        self.run(reader, name, &table).await
    }

    async fn run<R: Read + Send + 'static>(
        &self,
        reader: R,
        name: &str,
        table: &str,
    ) -> Result<LoadReport> {
        let started = Instant::now();
        let Target::Postgres(config) = &self.target;
        let table_name = TableName::parse(table)?;
        let client = postgres::connect(config, &self.target).await?;
        let table = postgres::introspect(&client, &table_name).await?;
        let session_utc = postgres::session_is_utc(&client).await?;

        // Header (or --columns) -> table columns, before any row is read or sent.
        let csv = self.csv.clone();
        let input = name.to_string();
        let given = self.columns.clone();
        let (reader, names) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut reader = CsvReader::new(reader, input, csv);
            let mut header = Vec::new();
            if reader.options().header {
                header = reader.read_header(&mut Record::default())?;
            }
            Ok((reader, given.or((!header.is_empty()).then_some(header))))
        })
        .await
        .map_err(|e| Error::config(format!("the reader thread failed: {e}")))??;
        let columns = match names {
            Some(names) => {
                let mapping = table.map_columns(&names)?;
                mapping.iter().map(|&i| table.columns[i].clone()).collect()
            }
            None => table.columns.clone(),
        };
        let format = if columns.iter().any(|c| c.ty == ColumnType::Other) {
            let odd: Vec<String> = columns
                .iter()
                .filter(|c| c.ty == ColumnType::Other)
                .map(|c| format!("\"{}\" ({})", c.name, c.type_name))
                .collect();
            tracing::warn!(
                columns = %odd.join(", "),
                "these column types are parsed by the server: falling back to text COPY"
            );
            CopyFormat::Text
        } else {
            CopyFormat::Binary
        };
        let encoder = RowEncoder::new(
            name,
            columns.clone(),
            format,
            self.csv.null.clone(),
            session_utc,
        );

        let mut sinks = Vec::with_capacity(self.workers);
        sinks.push(PgCopySink::new(
            client,
            &table,
            columns.clone(),
            format,
            name,
        ));
        for _ in 1..self.workers {
            let client = postgres::connect(config, &self.target).await?;
            sinks.push(PgCopySink::new(
                client,
                &table,
                columns.clone(),
                format,
                name,
            ));
        }
        let opts = PipelineOptions {
            chunk_rows: self.chunk_rows,
            chunk_bytes: self.chunk_bytes,
            workers: self.workers,
        };
        let stats = pipeline::run(reader, encoder, sinks, opts, self.progress.clone()).await?;
        Ok(LoadReport {
            target: self.target.to_string(),
            table: table.quoted(),
            rows: stats.rows,
            chunks: stats.chunks,
            bytes: stats.bytes,
            elapsed: started.elapsed(),
            format: format.as_str(),
        })
    }
}

/// `data/events.csv.gz` -> `events`.
fn default_table_name(path: &Path) -> Result<String> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| Error::config("cannot derive a table name from the input: use --table"))?;
    let stem = file.split('.').next().unwrap_or(file);
    if stem.is_empty() {
        return Err(Error::config(
            "cannot derive a table name from the input: use --table",
        ));
    }
    // Quoted, so the file name is taken as it is, never folded or parsed as schema.table.
    Ok(crate::schema::quote_ident(stem))
}
