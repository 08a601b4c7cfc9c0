//! The load as a library call: a builder that reads like the command line.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checkpoint::{self, Cell, Checkpoints, Ledger, SkipRanges, Start};
use crate::chunk::WireFormat;
use crate::encode::row::RowEncoder;
use crate::error::{Error, ErrorKind, Result};
use crate::ident::{quote_ident, Dialect};
use crate::infer;
use crate::pipeline::{self, PipelineOptions, Resume};
use crate::position::Position;
use crate::progress::{Progress, ProgressEvent};
use crate::rejects::Rejects;
use crate::retry::{self, RetryPolicy};
use crate::schema::{ColumnType, Table, TableName};
use crate::sink::postgres::{self, Method, PgLedger, PgPlan, PgSink, TxMode};
use crate::sink::sqlite::{self, SqlitePlan, SqliteSink};
use crate::source::csv::CsvOptions;
use crate::source::decompress::Compression;
use crate::source::format::Format;
use crate::source::input::{self, Head, Input, InputOptions};
use crate::target::{SqliteTarget, Target};
use crate::upsert::{OnConflict, UniqueKey, Upsert, UpsertCounts};

/// Rows per chunk unless told otherwise. Measured on the 1M-row `events` bench file with two
/// workers (3 alternating runs each): 5k, 10k and 20k rows per chunk all took 2.2-2.6 s, within
/// noise of each other, while peak memory was 17, 28 and 48 MiB; 50k and 100k were no faster and
/// took 110-120 MiB. 10k keeps memory low without making commits frequent on a server whose
/// commit is slower than this one's.
pub const DEFAULT_CHUNK_ROWS: usize = 10_000;
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
    checkpoint: Option<String>,
    load_id: Option<String>,
    again: bool,
    atomic: bool,
    retry: RetryPolicy,
    create: Option<bool>,
    sample_rows: usize,
    mode: Mode,
    on_conflict: Option<OnConflict>,
    key: Option<Vec<String>>,
    update_columns: Option<Vec<String>>,
    rejects: Option<PathBuf>,
    max_errors: Option<u64>,
    encoding: Option<&'static encoding_rs::Encoding>,
    format: Option<Format>,
    ignore_unknown: bool,
    observer: Option<Observer>,
    progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
}

/// A progress callback and how often to call it.
#[derive(Clone)]
struct Observer {
    every: Duration,
    callback: Arc<dyn Fn(&ProgressEvent) + Send + Sync>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Observer(every {:?})", self.every)
    }
}

/// What a finished load did.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The target, without its password.
    pub target: String,
    /// The table, schema-qualified and quoted.
    pub table: String,
    /// Rows committed by this run.
    pub rows: u64,
    /// Chunks (transactions) committed by this run.
    pub chunks: u64,
    /// Rows skipped because an earlier run of the same load had committed them.
    pub skipped_rows: u64,
    /// Retries after transient faults.
    pub retries: u64,
    /// Input bytes read.
    pub bytes: u64,
    /// Wall time of the load.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// `binary`, or `text` when a column's type made barge fall back to text COPY.
    pub format: &'static str,
    /// The load's id in the checkpoint table (`None` without checkpoints).
    pub load_id: Option<String>,
    /// Set when the input had been loaded completely before, so nothing was loaded now.
    pub already_loaded: Option<AlreadyLoaded>,
    /// Whether this load created the table (from the file's header and a sample of rows).
    pub created: bool,
    /// For an upsert: `on_conflict`, and rows inserted, updated and skipped.
    pub upsert: Option<UpsertReport>,
    /// Rows set aside as bad (`--rejects`) by this run.
    pub rejected: u64,
    /// Where they went.
    pub rejects_file: Option<String>,
    /// Input files (1 unless several were loaded as one).
    pub files: usize,
    /// Whether the load was one all-or-nothing transaction (`--atomic`, or no checkpoints
    /// could be kept).
    pub atomic: bool,
    /// Why this load kept no checkpoints, when it wanted to and could not (the role may not
    /// create or write the checkpoint table): it was loaded as one transaction instead, and an
    /// interrupted run starts over rather than resuming.
    pub not_resumable: Option<String>,
}

/// What an upsert did.
#[derive(Clone, Debug, Serialize)]
pub struct UpsertReport {
    /// `nothing` or `update`.
    pub on_conflict: OnConflict,
    /// The conflict key.
    pub key: Vec<String>,
    /// The counts, as a row-by-row load would count them.
    #[serde(flatten)]
    pub counts: UpsertCounts,
}

/// How rows travel to PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `COPY ... FROM STDIN`.
    Copy,
    /// Multi-row `INSERT ... VALUES` with binary parameters.
    Insert,
}

/// An earlier, completed load of the same input.
#[derive(Clone, Debug, Serialize)]
pub struct AlreadyLoaded {
    /// When it completed.
    pub at: String,
    /// Rows it loaded.
    pub rows: u64,
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
    /// A load into the database at `target`: a `postgres://` URL, a libpq `key=value` string,
    /// or `sqlite://path/to/file.db` (see [`Target::parse`]).
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
            checkpoint: Some(checkpoint::DEFAULT_TABLE.to_string()),
            load_id: None,
            again: false,
            atomic: false,
            retry: RetryPolicy::default(),
            create: None,
            sample_rows: infer::DEFAULT_SAMPLE_ROWS,
            mode: Mode::Copy,
            on_conflict: None,
            key: None,
            update_columns: None,
            rejects: None,
            max_errors: None,
            encoding: None,
            format: None,
            ignore_unknown: false,
            observer: None,
            progress: Arc::new(Progress::default()),
            cancel: Arc::new(AtomicBool::new(false)),
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

    /// The bookkeeping table for exactly-once resume (default `barge_checkpoint`, in the
    /// target table's schema unless qualified); `None` turns checkpoints off (a re-run then
    /// loads everything again).
    pub fn checkpoint_table(mut self, name: Option<String>) -> Self {
        self.checkpoint = name;
        self
    }

    /// Names the load instead of fingerprinting the input file (needed to resume stdin).
    pub fn load_id(mut self, id: impl Into<String>) -> Self {
        self.load_id = Some(id.into());
        self
    }

    /// Loads the input again even if an earlier run loaded it completely.
    pub fn again(mut self, yes: bool) -> Self {
        self.again = yes;
        self
    }

    /// The whole load in one transaction on one connection: all rows or none, no checkpoints.
    pub fn atomic(mut self, yes: bool) -> Self {
        self.atomic = yes;
        self
    }

    /// Whether to create the table when it does not exist, from the input's header and the
    /// types of a sample of its rows (see [`crate::infer`]). Default: yes for SQLite, no for
    /// PostgreSQL.
    pub fn create(mut self, yes: bool) -> Self {
        self.create = Some(yes);
        self
    }

    /// Rows read to infer the types of a table to create (0: the whole input, read twice).
    pub fn sample_rows(mut self, rows: usize) -> Self {
        self.sample_rows = rows;
        self
    }

    /// How rows travel to PostgreSQL: COPY (the default) or multi-row INSERTs (for engines
    /// without COPY). SQLite always takes INSERTs.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Loads into a table that may already hold some keys: see [`crate::upsert`].
    pub fn on_conflict(mut self, action: OnConflict) -> Self {
        self.on_conflict = Some(action);
        self
    }

    /// The conflict key's columns (default: the primary key); must be a unique key.
    pub fn key(mut self, columns: Vec<String>) -> Self {
        self.key = Some(columns);
        self
    }

    /// The columns an `update` overwrites (default: every loaded column not in the key).
    pub fn update_columns(mut self, columns: Vec<String>) -> Self {
        self.update_columns = Some(columns);
        self
    }

    /// Sets bad rows aside instead of failing: each goes to `path` with its original bytes
    /// (after the input's header), and why to `path.errors.jsonl` (see [`crate::rejects`]).
    pub fn rejects(mut self, path: impl Into<PathBuf>) -> Self {
        self.rejects = Some(path.into());
        self
    }

    /// With [`Load::rejects`]: fail (resumably) once more than `n` rows were rejected.
    pub fn max_errors(mut self, n: u64) -> Self {
        self.max_errors = Some(n);
        self
    }

    /// The input's character encoding, by its WHATWG label (`latin1`, `windows-1252`,
    /// `utf-16le`, `shift_jis`, ...): the input is transcoded to UTF-8 as it is read. Line,
    /// record and byte positions (and a rejects file's rows) are then those of the UTF-8 text.
    ///
    /// # Errors
    /// A configuration error for an unknown label.
    pub fn encoding(mut self, label: &str) -> Result<Self> {
        let enc = encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            Error::config(format!(
                "unknown encoding {label:?}: use a label such as utf-8, latin1, windows-1252, utf-16le"
            ))
        })?;
        self.encoding = (enc != encoding_rs::UTF_8).then_some(enc);
        Ok(self)
    }

    /// The input's format (default: from the file name's extension, else CSV).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// NDJSON: skip keys that are not columns of the table instead of failing.
    pub fn ignore_unknown(mut self, yes: bool) -> Self {
        self.ignore_unknown = yes;
        self
    }

    /// How an input (at `path`, if a file) is read.
    fn input_options(&self, path: Option<&Path>) -> InputOptions {
        let mut csv = self.csv.clone();
        csv.keep_raw = self.rejects.is_some();
        let format = self
            .format
            .or_else(|| path.and_then(Format::from_path))
            .unwrap_or(Format::Csv);
        if format == Format::Ndjson {
            // Missing keys and null are NULL; a string is never NULL.
            csv.null = Vec::new();
        }
        InputOptions {
            format,
            csv,
            columns: self.columns.clone(),
            encoding: self.encoding,
            ignore_unknown: self.ignore_unknown,
            known_columns: None,
        }
    }

    /// How transient faults are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Calls `callback` with the load's progress every `every` while it runs, and once more at
    /// the end (with `done` set), so that a service can report progress its own way. The CLI's
    /// progress bar is drawn from these events.
    pub fn on_progress(
        mut self,
        every: Duration,
        callback: impl Fn(&ProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Observer {
            every,
            callback: Arc::new(callback),
        });
        self
    }

    /// Runs `load` while calling the progress callback, if there is one.
    async fn observed<F: std::future::Future<Output = Result<LoadReport>>>(
        &self,
        load: F,
    ) -> Result<LoadReport> {
        let Some(obs) = self.observer.clone() else {
            return load.await;
        };
        let progress = self.progress.clone();
        let ticker = {
            let (obs, progress) = (obs.clone(), progress.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(obs.every).await;
                    (obs.callback)(&progress.snapshot());
                }
            })
        };
        let result = load.await;
        ticker.abort();
        let mut last = progress.snapshot();
        last.done = true;
        (obs.callback)(&last);
        result
    }

    /// The live counters of this load, for showing progress while it runs.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// Raise the returned flag to stop the load: reading stops, chunks being written finish,
    /// and the load fails with [`ErrorKind::Interrupted`]. A re-run resumes.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
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
        self.observed(self.run(Input::File(path.to_path_buf()), &name, &table, true))
            .await
    }

    /// Loads CSV from any reader; `name` is used in messages (`-` for stdin). Without
    /// [`Load::load_id`] such a load has no checkpoints: it cannot be resumed.
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
        self.observed(self.run(Input::Reader(Box::new(reader)), name, &table, true))
            .await
    }

    fn check_options(&self) -> Result<()> {
        if self.atomic && self.workers > 1 {
            return Err(Error::config(
                "--atomic loads over one connection: drop --workers",
            ));
        }
        if self.atomic && (self.again || self.load_id.is_some()) {
            return Err(Error::config(
                "--atomic keeps no checkpoints, so --again and --load-id do not apply",
            ));
        }
        if self.on_conflict.is_none() && (self.key.is_some() || self.update_columns.is_some()) {
            return Err(Error::config(
                "--key and --update-columns go with --on-conflict nothing|update",
            ));
        }
        if self.atomic && self.rejects.is_some() {
            return Err(Error::config(
                "--atomic loads every row or none, so it does not take --rejects",
            ));
        }
        if self.max_errors.is_some() && self.rejects.is_none() {
            return Err(Error::config(
                "--max-errors counts rejected rows: it goes with --rejects FILE",
            ));
        }
        if self.checkpoint.is_none() && (self.again || self.load_id.is_some()) {
            return Err(Error::config(
                "--again and --load-id need checkpoints: drop --no-checkpoint",
            ));
        }
        Ok(())
    }

    /// Connects, retrying briefly while the server is unreachable or starting up: at the
    /// start of a load a refused connection is more often a wrong port than a restart, and the
    /// user should hear so within seconds. (Once rows flow, writers retry with the full policy.)
    async fn connect(&self, config: &tokio_postgres::Config) -> Result<tokio_postgres::Client> {
        let policy = RetryPolicy {
            max_retries: self.retry.max_retries.min(3),
            max_elapsed: self.retry.max_elapsed.min(Duration::from_secs(10)),
            ..self.retry
        };
        retry::with_retries(
            &policy,
            |_| postgres::connect(config, &self.target),
            |n, reason, wait| {
                Progress::add(&self.progress.retries, 1);
                tracing::warn!(
                    attempt = n,
                    wait_ms = wait.as_millis() as u64,
                    "connecting failed ({reason}); retrying"
                );
            },
        )
        .await
    }

    /// Loads from an async reader (a socket, an HTTP body, an async file), as
    /// [`Load::load_reader`] does from a blocking one.
    ///
    /// # Errors
    /// As [`Load::load_reader`].
    pub async fn load_async_reader<R: tokio::io::AsyncRead + Send + Unpin + 'static>(
        &self,
        reader: R,
        name: &str,
    ) -> Result<LoadReport> {
        // The reader thread reads blocking; the bridge drives the async reader from it.
        self.load_reader(tokio_util::io::SyncIoBridge::new(reader), name)
            .await
    }

    /// Loads the values of a stream (structs, or maps with string keys), their fields mapped to
    /// the table's columns by name, as [`crate::source::rows`] describes. The table must exist.
    /// Without [`Load::load_id`] such a load keeps no checkpoints; with one, a re-run of the
    /// same stream resumes after the values already committed.
    ///
    /// # Errors
    /// As [`Load::load_reader`]; also when a value is not a struct or map.
    pub async fn load_rows<S, T>(&self, rows: S) -> Result<LoadReport>
    where
        S: futures_util::Stream<Item = T> + Send + 'static,
        T: serde::Serialize + Send + 'static,
    {
        use futures_util::StreamExt;
        let table = self
            .table
            .clone()
            .ok_or_else(|| Error::config("no table given: name the target table"))?;
        let boxed: crate::source::rows::BoxedRows = Box::pin(
            rows.map(|v| Box::new(v) as Box<dyn crate::source::rows::erased::ErasedSerialize>),
        );
        let load = Load {
            create: Some(false),
            ..self.clone()
        };
        self.observed(load.run(Input::Rows(boxed), "rows", &table, true))
            .await
    }

    /// Loads several files into one table, one after the other, as one load: one progress,
    /// one report (its counts the sums), checkpoints per file (a re-run skips the files and
    /// chunks already loaded), one rejects file naming each row's file.
    ///
    /// # Errors
    /// As [`Load::load_path`], for the first file that fails; the files before it stay loaded.
    pub async fn load_paths(&self, paths: &[PathBuf]) -> Result<LoadReport> {
        self.observed(self.load_files(paths)).await
    }

    async fn load_files(&self, paths: &[PathBuf]) -> Result<LoadReport> {
        let Some(first) = paths.first() else {
            return Err(Error::config("no input files"));
        };
        let table = match &self.table {
            Some(t) => t.clone(),
            None => default_table_name(first)?,
        };
        let sizes: Vec<u64> = paths
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .collect();
        self.progress
            .bytes_total
            .store(sizes.iter().sum(), Ordering::Relaxed);
        let started = Instant::now();
        let mut reports: Vec<LoadReport> = Vec::with_capacity(paths.len());
        for (i, path) in paths.iter().enumerate() {
            self.progress
                .bytes_base
                .store(sizes[..i].iter().sum(), Ordering::Relaxed);
            let name = path.display().to_string();
            let r = self
                .run(Input::File(path.clone()), &name, &table, i == 0)
                .await?;
            reports.push(r);
        }
        let mut total = reports
            .pop()
            .ok_or_else(|| Error::config("no input files"))?;
        // Counters run on over the files: the last report holds the totals. A load is
        // "already loaded" only when every file was.
        let all_done =
            total.already_loaded.is_some() && reports.iter().all(|r| r.already_loaded.is_some());
        if !all_done {
            total.already_loaded = None;
        }
        total.rows = Progress::get(&self.progress.rows_committed);
        total.chunks = Progress::get(&self.progress.chunks_committed);
        total.skipped_rows = Progress::get(&self.progress.rows_skipped);
        total.bytes = sizes.iter().sum();
        total.elapsed = started.elapsed();
        total.created |= reports.iter().any(|r| r.created);
        total.files = paths.len();
        Ok(total)
    }

    async fn run(&self, input: Input, name: &str, table: &str, first: bool) -> Result<LoadReport> {
        self.check_options()?;
        let started = Instant::now();
        let table_name = TableName::parse(table)?;
        let mut db = self.open().await?;
        let existing = db.introspect(&table_name).await?;
        let create = self.create.unwrap_or(matches!(db, Db::Sqlite { .. }));
        if existing.is_none() && !create {
            return Err(ErrorKind::TableNotFound {
                table: table_name.quoted(),
            }
            .into());
        }

        // Header (or --columns), and a sample of rows when the table must be created.
        let path = match &input {
            Input::File(p) => Some(p.clone()),
            Input::Reader(_) | Input::Rows(_) => None,
        };
        let sample_rows = existing.is_none().then_some(self.sample_rows);
        let mut opts = self.input_options(path.as_deref());
        if matches!(input, Input::Rows(_)) {
            // A value's None is NULL; a string is never NULL.
            opts.csv.null = Vec::new();
        }
        let null = opts.csv.null.clone();
        opts.known_columns = existing.as_ref().map(|t| t.column_names());
        let input_name = name.to_string();
        let compressed = self.progress.compressed_bytes_read.clone();
        let head_opts = opts.clone();
        let head =
            move || input::read_head(input, &input_name, &head_opts, sample_rows, compressed);
        let head = tokio::task::spawn_blocking(head)
            .await
            .map_err(|e| Error::internal(format!("the reader thread failed: {e}")))??;
        let Head {
            reader,
            names,
            inferred,
            header_raw,
            compression,
        } = head;
        if compression != Compression::None {
            // Progress counts the compressed bytes, which the file's size measures.
            self.progress.compressed.store(true, Ordering::Relaxed);
        }
        let (table, created) = match (existing, inferred) {
            (Some(t), _) => (t, None),
            (None, Some(inferred)) => {
                let sql = inferred.create_sql(&table_name.quoted(), db.dialect(), true);
                tracing::info!(rows = inferred.sampled_rows, "creating the table:\n{sql}");
                db.create(&sql, &table_name).await?;
                let t = db.introspect(&table_name).await?.ok_or_else(|| {
                    Error::from(ErrorKind::TableNotFound {
                        table: table_name.quoted(),
                    })
                })?;
                (t, Some(inferred.sampled_rows))
            }
            (None, None) => {
                return Err(ErrorKind::TableNotFound {
                    table: table_name.quoted(),
                }
                .into())
            }
        };
        let columns = match &names {
            // A table created from this file has its columns in the file's order.
            _ if created.is_some() => table.columns.clone(),
            Some(names) => {
                let mapping = table.map_columns(names)?;
                mapping.iter().map(|&i| table.columns[i].clone()).collect()
            }
            None => table.columns.clone(),
        };
        let format = match db {
            Db::Sqlite { .. } => WireFormat::Sqlite,
            // INSERT parameters carry other types as text, each value on its own.
            Db::Postgres { .. } if self.mode == Mode::Insert => WireFormat::Binary,
            Db::Postgres { .. } if columns.iter().any(|c| c.ty == ColumnType::Other) => {
                let odd: Vec<String> = columns
                    .iter()
                    .filter(|c| c.ty == ColumnType::Other)
                    .map(|c| format!("\"{}\" ({})", c.name, c.type_name))
                    .collect();
                tracing::warn!(
                    columns = %odd.join(", "),
                    "these column types are parsed by the server: falling back to text COPY"
                );
                WireFormat::Text
            }
            Db::Postgres { .. } => WireFormat::Binary,
        };

        let report_format = match (&db, self.mode) {
            (Db::Postgres { .. }, Mode::Insert) => "insert",
            _ => format.as_str(),
        };
        let upsert = match self.on_conflict {
            None => None,
            Some(action) => {
                let keys = db.unique_keys(&table).await?;
                Some(Upsert::resolve(
                    &table,
                    &columns,
                    &keys,
                    action,
                    self.key.as_deref(),
                    self.update_columns.as_deref(),
                )?)
            }
        };

        // Exactly once: find this load's checkpoints.
        let mapping_key = format!(
            "{}\0{}\0{}\0{}\0{}\0{}",
            table.quoted(),
            columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join("\0"),
            self.csv.delimiter,
            String::from_utf8_lossy(&self.csv.null),
            self.csv.header,
            self.encoding.map_or("utf-8", |e| e.name())
        );
        let fingerprint = match (&self.load_id, &path) {
            _ if self.atomic => None,
            _ if self.checkpoint.is_none() => None,
            // A name given by the user is the id itself: it resumes a load whose file changed
            // (a bad value fixed after a failed load), or one read from a stream.
            (Some(id), _) => Some(id.clone()),
            (None, Some(p)) => {
                Some(checkpoint::fingerprint_file(p, &mapping_key).map_err(|e| {
                    Error::new(ErrorKind::Io {
                        input: name.to_string(),
                        source: e,
                    })
                })?)
            }
            (None, None) => {
                tracing::warn!("reading a stream without --load-id: no checkpoints, so this load cannot be resumed");
                None
            }
        };
        let mut checkpoints = None;
        let mut committed = Vec::new();
        let mut atomic = self.atomic;
        let mut not_resumable = None;
        if let (Some(fp), Some(cp_table)) = (&fingerprint, &self.checkpoint) {
            let cp_name = TableName::parse(cp_table)?;
            let schema = cp_name
                .schema
                .clone()
                .unwrap_or_else(|| table.schema.clone());
            let cp_table = format!("{}.{}", quote_ident(&schema), quote_ident(&cp_name.name));
            match db.start_checkpoints(cp_table, fp, self.again).await? {
                Start::AlreadyLoaded(cp, done) => {
                    // A table emptied since (TRUNCATE) is the one case where "already loaded"
                    // surprises: say so.
                    if done.rows > 0 && db.is_empty(&table).await.unwrap_or(false) {
                        tracing::warn!(
                            "{} is empty now, though this load put {} rows there: if it was emptied on purpose, use --again",
                            table.quoted(),
                            done.rows
                        );
                    }
                    return Ok(LoadReport {
                        target: self.target.to_string(),
                        table: table.quoted(),
                        rows: 0,
                        chunks: 0,
                        skipped_rows: 0,
                        retries: Progress::get(&self.progress.retries),
                        bytes: 0,
                        elapsed: started.elapsed(),
                        format: report_format,
                        load_id: Some(cp.load_id().to_string()),
                        already_loaded: Some(AlreadyLoaded {
                            at: done.at,
                            rows: done.rows,
                        }),
                        created: false,
                        upsert: None,
                        rejected: 0,
                        rejects_file: None,
                        files: 1,
                        atomic: false,
                        not_resumable: None,
                    });
                }
                Start::Run(cp, done) => {
                    checkpoints = Some(cp);
                    committed = done;
                }
                // Exactly once without bookkeeping: every row or none, in one transaction.
                Start::Unavailable(why) => {
                    tracing::warn!(
                        "no checkpoints ({why}): loading {name} in one transaction, all or \
                         nothing: an interrupted load leaves nothing and starts over, and a \
                         second run after success loads the rows again; for resumable loads \
                         that know they are done, pass --checkpoint-table with a schema this \
                         role may create tables in (or have barge's table created for it)"
                    );
                    atomic = true;
                    not_resumable = Some(why);
                }
            }
        }

        // Resume: seek past the committed run at the start of a file; skip the rest.
        let resume_firsts: Vec<u64> = committed.iter().map(|c| c.first_byte).collect();
        let skip = SkipRanges::new(committed);
        let mut resume = Resume { skip, first_seq: 0 };
        let mut reader = reader;
        let json_fields: Vec<bool> = columns
            .iter()
            .map(|c| matches!(c.ty, ColumnType::Json | ColumnType::Jsonb))
            .collect();
        reader.set_json_fields(&json_fields);
        // (A compressed or transcoded input's positions are not the file's: it is read through.)
        let seekable = path
            .as_ref()
            .filter(|_| self.encoding.is_none() && compression == Compression::None);
        if let (Some(prefix), Some(p)) = (resume.skip.contiguous_prefix(), seekable) {
            let start = Position {
                byte: prefix.end_byte,
                line: prefix.end_line,
                record: prefix.end_record,
            };
            let keys = names.clone().unwrap_or_default();
            reader = input::reopen_at(p, name, &opts, &keys, start)?;
            reader.set_json_fields(&json_fields);
            resume.first_seq = prefix.chunk + 1;
            Progress::add(
                &self.progress.rows_skipped,
                resume.skip.rows_through(prefix.first_byte),
            );
            self.progress.bytes_read.fetch_max(
                Progress::get(&self.progress.bytes_base) + prefix.end_byte,
                Ordering::Relaxed,
            );
        }
        if resume.skip.rows() > 0 {
            tracing::info!(
                rows = resume.skip.rows(),
                "resuming: rows committed by an earlier run are skipped"
            );
        }

        // Rejects: a fresh file for a fresh load; a resumed one keeps those of committed chunks.
        let rejects = match &self.rejects {
            None => None,
            Some(path) => {
                let committed: std::collections::HashSet<u64> =
                    resume_firsts.iter().copied().collect();
                let keep = (!committed.is_empty() || !first).then_some(&committed);
                Some(Rejects::open(path, name, header_raw.as_deref(), keep)?)
            }
        };
        let opts = PipelineOptions {
            rejects: rejects.is_some(),
            max_errors: self.max_errors,
            chunk_rows: self.chunk_rows,
            chunk_bytes: self.chunk_bytes,
        };
        let load_id = checkpoints.as_ref().map(|c| c.load_id().to_string());
        let session_utc = match &db {
            Db::Postgres { client, .. } => postgres::session_is_utc(client).await?,
            Db::Sqlite { .. } => true,
        };
        let encoder = RowEncoder::new(name, columns.clone(), format, null, session_utc);
        let ran = match db {
            Db::Postgres { client, config } => {
                let method = match self.mode {
                    Mode::Copy => Method::Copy(format),
                    Mode::Insert => Method::Insert(postgres::insert::rows_per_statement(
                        columns.len(),
                        self.chunk_rows,
                    )),
                };
                let mut plan = PgPlan::new(&table, columns, method, name);
                plan.checkpoints = checkpoints.clone();
                plan.upsert = upsert.clone();
                plan.rejects = rejects.clone();
                plan.max_errors = self.max_errors;
                let sinks = self.pg_sinks(client, &config, plan, atomic).await?;
                let stats = pipeline::run(
                    reader,
                    encoder,
                    sinks,
                    opts,
                    resume,
                    self.progress.clone(),
                    self.cancel.clone(),
                )
                .await;
                if let (Ok(_), Some(cp)) = (&stats, &checkpoints) {
                    let client = self.connect(&config).await?;
                    cp.mark_done(&mut PgLedger(&client)).await?;
                }
                stats
            }
            Db::Sqlite {
                mut conn,
                target,
                memory_key,
            } => {
                if self.workers > 1 {
                    tracing::info!("SQLite takes one writer at a time: loading with 1 worker");
                }
                let mut plan = SqlitePlan::new(&table, columns, self.chunk_rows);
                plan.checkpoints = checkpoints.clone();
                plan.atomic = atomic;
                plan.upsert = upsert.clone();
                plan.rejects = rejects.clone();
                plan.max_errors = self.max_errors;
                let sink = SqliteSink::new(
                    sqlite::open(&target, memory_key)?,
                    Arc::new(plan),
                    self.progress.clone(),
                )?;
                let stats = pipeline::run(
                    reader,
                    encoder,
                    vec![sink],
                    opts,
                    resume,
                    self.progress.clone(),
                    self.cancel.clone(),
                )
                .await;
                if let (Ok(_), Some(cp)) = (&stats, &checkpoints) {
                    cp.mark_done(&mut conn).await?;
                }
                stats
            }
        };
        let stats = ran.map_err(|e| {
            let e = e.with_load_id(load_id.clone());
            // A text column takes any value the sample could have shown: a value refused
            // there (a NUL byte) is no reason to sample more.
            let typed = |column: &str| {
                table
                    .columns
                    .iter()
                    .any(|c| c.name == column && c.ty != ColumnType::Text)
            };
            match (created, e.kind()) {
                (Some(sampled), ErrorKind::Value { column, .. }) if typed(column) => {
                    e.with_hint(format!(
                    "this load created {} from the first {sampled} rows, and a later value does \
                     not fit the type it chose: drop the table and load again with a larger \
                     --sample-rows (0 reads the whole file), or create the table yourself",
                    table.quoted()
                ))
                }
                _ => e,
            }
        })?;
        Ok(LoadReport {
            target: self.target.to_string(),
            table: table.quoted(),
            rows: stats.rows,
            chunks: stats.chunks,
            skipped_rows: Progress::get(&self.progress.rows_skipped),
            retries: Progress::get(&self.progress.retries),
            bytes: stats.bytes,
            elapsed: started.elapsed(),
            format: report_format,
            load_id,
            already_loaded: None,
            created: created.is_some(),
            rejected: Progress::get(&self.progress.rows_rejected),
            rejects_file: self.rejects.as_ref().map(|p| p.display().to_string()),
            files: 1,
            atomic,
            not_resumable,
            upsert: upsert.map(|u| UpsertReport {
                on_conflict: u.on_conflict,
                key: u.key.iter().map(|c| c.name.clone()).collect(),
                counts: UpsertCounts {
                    inserted: Progress::get(&self.progress.upsert_inserted),
                    updated: Progress::get(&self.progress.upsert_updated),
                    skipped: Progress::get(&self.progress.upsert_skipped),
                },
            }),
        })
    }

    /// Opens the bookkeeping connection to the target.
    async fn open(&self) -> Result<Db> {
        match &self.target {
            Target::Postgres(target) => {
                let mut config = target.config.clone();
                if config.get_connect_timeout().is_none() {
                    config.connect_timeout(Duration::from_secs(10));
                }
                let client = self.connect(&config).await?;
                Ok(Db::Postgres {
                    client,
                    config: Box::new(config),
                })
            }
            Target::Sqlite(target) => {
                let memory_key = sqlite::memory_key();
                Ok(Db::Sqlite {
                    conn: sqlite::open(target, memory_key)?,
                    target: target.clone(),
                    memory_key,
                })
            }
        }
    }

    /// One COPY sink per worker: the first on `client`, the others on new connections (as
    /// many as the server has slots for).
    async fn pg_sinks(
        &self,
        client: tokio_postgres::Client,
        config: &tokio_postgres::Config,
        mut plan: PgPlan,
        atomic: bool,
    ) -> Result<Vec<PgSink>> {
        plan.retry = self.retry;
        plan.mode = if atomic {
            TxMode::Atomic
        } else {
            TxMode::PerChunk
        };
        let plan = Arc::new(plan);
        let sink = |c| {
            PgSink::new(
                c,
                config.clone(),
                self.target.clone(),
                plan.clone(),
                self.progress.clone(),
            )
        };
        let mut sinks = vec![sink(client)];
        // One transaction is one connection.
        let workers = if atomic { 1 } else { self.workers };
        for _ in 1..workers {
            match postgres::connect(config, &self.target).await {
                Ok(c) => sinks.push(sink(c)),
                Err(e) if e.sqlstate() == Some("53300") => {
                    tracing::warn!(
                        "the server has no connection slots left: loading with {} of {} workers",
                        sinks.len(),
                        self.workers
                    );
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(sinks)
    }
}

/// The bookkeeping connection of a load, to whichever kind of target.
enum Db {
    Postgres {
        client: tokio_postgres::Client,
        config: Box<tokio_postgres::Config>,
    },
    Sqlite {
        conn: rusqlite::Connection,
        target: SqliteTarget,
        memory_key: u64,
    },
}

impl Db {
    fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres { .. } => Dialect::Postgres,
            Db::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    async fn introspect(&self, name: &TableName) -> Result<Option<Table>> {
        match self {
            Db::Postgres { client, .. } => match postgres::introspect(client, name).await {
                Ok(t) => Ok(Some(t)),
                Err(e) if matches!(e.kind(), ErrorKind::TableNotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
            Db::Sqlite { conn, .. } => sqlite::introspect(conn, name),
        }
    }

    async fn create(&mut self, sql: &str, name: &TableName) -> Result<()> {
        let context = format!("creating table {}", name.quoted());
        match self {
            Db::Postgres { client, .. } => client
                .batch_execute(sql)
                .await
                .map_err(|e| Error::db(context, e)),
            Db::Sqlite { conn, .. } => sqlite::execute_ddl(conn, sql, &context),
        }
    }

    async fn unique_keys(&self, table: &Table) -> Result<Vec<UniqueKey>> {
        match self {
            Db::Postgres { client, .. } => postgres::upsert::unique_keys(client, table).await,
            Db::Sqlite { conn, .. } => sqlite::unique_keys(conn, table),
        }
    }

    async fn start_checkpoints(&mut self, table: String, fp: &str, again: bool) -> Result<Start> {
        match self {
            Db::Postgres { client, .. } => {
                Checkpoints::start(&mut PgLedger(client), table, fp, again).await
            }
            Db::Sqlite { conn, .. } => Checkpoints::start(conn, table, fp, again).await,
        }
    }

    async fn is_empty(&mut self, table: &Table) -> Result<bool> {
        let sql = format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM {}) THEN 0 ELSE 1 END",
            table.quoted()
        );
        let rows = match self {
            Db::Postgres { client, .. } => {
                PgLedger(client)
                    .query(&sql, &[], "reading the table")
                    .await?
            }
            Db::Sqlite { conn, .. } => conn.query(&sql, &[], "reading the table").await?,
        };
        Ok(matches!(
            rows.first().and_then(|r| r.first()),
            Some(Cell::Int(1))
        ))
    }
}

/// The table a file loads into unless told: `data/Events 2024.csv.gz` -> `"events_2024"`.
///
/// # Errors
/// A configuration error when nothing usable is left of the name.
pub fn default_table_name(path: &Path) -> Result<String> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| Error::config("cannot derive a table name from the input: use --table"))?;
    let stem = crate::ident::sanitize(file.split('.').next().unwrap_or(file));
    if stem.is_empty() {
        return Err(Error::config(
            "cannot derive a table name from the input: use --table",
        ));
    }
    // Cleaned as a column name is (`My Data.csv` -> `my_data`) and quoted, so that it is never
    // parsed as schema.table.
    Ok(quote_ident(&stem))
}
