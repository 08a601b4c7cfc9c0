//! The load as a library call: a builder that reads like the command line, and a load's
//! phases, the same on every database: the table (introspected or created, the input mapped to
//! its columns), the resume (checkpoints, what to skip, the rejects file), the rows (reader ->
//! encoder -> the backend's writers), and the report.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::checkpoint;
use crate::encode::row::RowEncoder;
use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::infer;
use crate::null::NullTexts;
use crate::pipeline::{self, PipelineOptions};
use crate::progress::{Progress, ProgressEvent};
use crate::retry::RetryPolicy;
#[cfg(feature = "mysql")]
use crate::sink::mysql::MyBackend;
#[cfg(feature = "postgres")]
use crate::sink::postgres::PgBackend;
#[cfg(feature = "sqlite")]
use crate::sink::sqlite::SqliteBackend;
use crate::sink::{Backend, Plan};
use crate::source::batch::{BatchSource, RowBatch};
use crate::source::csv::CsvOptions;
use crate::source::format::Format;
use crate::source::input::{input_size, Input, InputOptions};
use crate::target::Target;
use crate::upsert::OnConflict;

mod options;
mod report;
mod resume;
mod table;

pub use crate::sink::Mode;
pub use options::{
    has_header, parse_bytes, parse_delimiter, parse_mode, parse_thousands, LoadOptions,
};
pub use report::{thousands, AlreadyLoaded, IndexesBuilt, LoadReport, UpsertReport};

/// Rows per chunk unless told otherwise. Measured on the 1M-row `events` bench file with two
/// workers (3 alternating runs each): 5k, 10k and 20k rows per chunk all took 2.2-2.6 s, within
/// noise of each other, while peak memory was 17, 28 and 48 MiB; 50k and 100k were no faster and
/// took 110-120 MiB. 10k keeps memory low without making commits frequent on a server whose
/// commit is slower than this one's.
pub const DEFAULT_CHUNK_ROWS: usize = 10_000;
/// Rows per chunk that chunks may grow to while commits are costly (see [`crate::tuner`]);
/// `--chunk-bytes` bounds them first for all but the narrowest rows.
const ADAPTIVE_MAX_ROWS: usize = 1_000_000;

/// Bytes per chunk, at most (encoded, plus the input kept for `--rejects`): with the chunks in
/// flight bounded to one per writer and one queued, this is what keeps memory bounded when
/// rows are wide or fields big (see [`crate::budget`]). 8 MiB holds 10,000 rows of the bench
/// file several times over, so it cuts only wide rows' chunks.
pub const DEFAULT_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// How long chunks may share a transaction while the input keeps up (`--commit-every`), where
/// a backend lets them (SQLite, whose commit rewrites every page its transaction changed: most
/// of every index of a table that keeps them). 1M bench rows into a SQLite table that keeps
/// three indexes, 27 chunks of 8 MiB: a commit per chunk 20.6 s, one per ~2 s of chunks
/// 16.3 s, per ~5 s 14.0-14.5 s, one transaction (`--atomic`) 14.3 s (the `sqlite3` shell's
/// `.import`: 13.6-14.9 s). A kill loses at most this much work (the rerun does it again).
pub const DEFAULT_COMMIT_EVERY: Duration = Duration::from_secs(5);

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
    commit_every: Duration,
    workers: usize,
    checkpoint: Option<String>,
    load_id: Option<String>,
    again: bool,
    continue_changed: bool,
    atomic: bool,
    replace: bool,
    dry_run: bool,
    keep_indexes: bool,
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
    values_null: Option<NullTexts>,
    distribute_by: Option<String>,
    split: Option<crate::split::Split>,
    /// Which of chunk rows, chunk bytes and workers the caller chose (the rest the backend
    /// may choose: see [`crate::sink::Backend::chunk_sizing`]).
    given: [bool; 3],
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
            commit_every: DEFAULT_COMMIT_EVERY,
            workers: 1,
            checkpoint: Some(checkpoint::DEFAULT_TABLE.to_string()),
            load_id: None,
            again: false,
            continue_changed: false,
            atomic: false,
            replace: false,
            dry_run: false,
            keep_indexes: false,
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
            values_null: None,
            distribute_by: None,
            split: None,
            given: [false; 3],
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

    /// Rows per chunk (each commits with its checkpoint; see [`Load::commit_every`]).
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self.given[0] = true;
        self
    }

    /// Upper bound on a chunk's encoded size, in bytes.
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self.given[1] = true;
        self
    }

    /// How long chunks may share a transaction while the input keeps up, at most (SQLite; the
    /// other backends commit each chunk on its own). Zero commits each chunk on its own.
    pub fn commit_every(mut self, every: Duration) -> Self {
        self.commit_every = every;
        self
    }

    /// Writer tasks, each on its own connection.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self.given[2] = true;
        self
    }

    /// Writers unless told otherwise (the CLI's default is 2), leaving the backend free to
    /// choose (see [`Load::workers`]).
    pub(crate) fn default_workers(mut self, n: usize) -> Self {
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

    /// A file changed since a load of it stopped partway (a bad value fixed after the load
    /// failed on it, a download completed): go on from where that load stopped, taking the
    /// file's bytes up to there as unchanged, instead of refusing. Without it such a run is
    /// refused: loaded as a new load, the rows that load committed would go in a second time.
    pub fn continue_changed(mut self, yes: bool) -> Self {
        self.continue_changed = yes;
        self
    }

    /// The whole load in one transaction on one connection: all rows or none, no checkpoints.
    ///
    /// From a file into an empty PostgreSQL table, the table's indexes are dropped inside that
    /// transaction and built once at its end, under a lock that keeps other sessions out
    /// until the commit (see [`Load::keep_indexes`]).
    pub fn atomic(mut self, yes: bool) -> Self {
        self.atomic = yes;
        self
    }

    /// Replace the table's rows with the input's, in one transaction (so this makes the load
    /// [`Load::atomic`]): its rows are deleted at the start of that transaction, so other
    /// sessions go on reading the old rows, unblocked, until the new ones commit, and a load
    /// that fails or is interrupted leaves the old rows as they were. The table keeps its
    /// indexes in place (building them at the end would lock readers out).
    ///
    /// A `DELETE`, not a `TRUNCATE` (which would lock readers out for the whole load): the old
    /// rows' space is reclaimed by the database's own vacuum (PostgreSQL, SQLite's freelist),
    /// not at once.
    pub fn replace(mut self, yes: bool) -> Self {
        self.replace = yes;
        if yes {
            self.atomic = true;
        }
        self
    }

    /// Check the input against the table without changing it: every row is read, validated
    /// and written in one transaction (so [`Load::atomic`], over one connection) that is
    /// rolled back at the end. The database's own checks (keys, foreign keys, checks,
    /// triggers) run on every row, so the report says what a real load would do: the rows it
    /// would load, and the rows it would refuse (set aside into the rejects file with
    /// [`Load::rejects`], else the load fails on the first, naming it). The table must exist;
    /// sequences the rows draw from advance, as they do in any rolled-back transaction.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        if yes {
            self.atomic = true;
            self.workers = 1;
        }
        self
    }

    /// Keep an empty table's indexes in place while it loads, rather than build them at the
    /// end. With [`Load::atomic`] they are all built at the end otherwise, which is faster
    /// (1M bench rows: 2.98 -> 2.88 s with one index, 13.5 -> 4.2 s with four; medians of 3)
    /// but locks the table against readers too until the load commits, and a file with
    /// duplicate keys is read twice (the second time with the indexes in place, to find the
    /// rows). A resumable load otherwise leaves out only the indexes that no row can fail
    /// (see PostgreSQL's `pending_indexes`), recorded beside its checkpoints until they are
    /// built at its end.
    pub fn keep_indexes(mut self, yes: bool) -> Self {
        self.keep_indexes = yes;
        self
    }

    /// Whether to create the table when it does not exist, from the input's header and the
    /// types of a sample of its rows (see [`crate::infer`]), or the schema of a typed input
    /// (Arrow, Parquet). Default: yes for SQLite, no for PostgreSQL.
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

    /// Loads share `K` of `N` of the input, so that `N` processes (on one machine or several)
    /// load it together, exactly once: see [`crate::split`]. Needs checkpoints; refuses
    /// upserts (which occurrence of a key wins would depend on timing across processes) and
    /// SQLite (one writer at a time: the processes would only take turns).
    pub fn split(mut self, share: crate::split::Split) -> Self {
        self.split = Some(share);
        self
    }

    /// With [`Load::create`] on a Citus coordinator: the new table is distributed by
    /// `column` (`create_distributed_table`) before any row is loaded.
    pub fn distribute_by(mut self, column: impl Into<String>) -> Self {
        self.distribute_by = Some(column.into());
        self
    }

    /// Rows a program builds ([`Load::load_batches`], [`Load::load_arrow`]): a string equal to
    /// one of `texts` is NULL, as an unquoted field equal to `--null` is in a file. Without it
    /// a string is never NULL. (The dicts of `csv.DictReader` hold `""` where the file had
    /// NULL.)
    pub fn null_strings(mut self, texts: NullTexts) -> Self {
        self.values_null = Some(texts);
        self
    }

    /// How an input (at `path`, if a file) is read.
    fn input_options(&self, path: Option<&Path>) -> InputOptions {
        let mut csv = self.csv.clone();
        csv.keep_raw = self.rejects.is_some();
        let mut format = self.format.unwrap_or_else(|| Format::of_input(path));
        // A file whose name says no format, read as CSV unless it is plainly PostgreSQL's
        // text format (not when a delimiter was given: that is CSV talk).
        if let (None, Format::Csv, true, 0, Some(p)) = (
            self.format,
            format,
            self.csv.detect_delimiter,
            self.csv.skip_lines,
            path,
        ) {
            if let (None, Some(header)) = (Format::from_path(p), Format::text_format_of(p)) {
                format = Format::Text;
                if !csv.header_given {
                    csv.header = header;
                }
            }
        }
        if format == Format::Ndjson {
            // Missing keys and null are NULL; a string is never NULL.
            csv.null = NullTexts::default();
        }
        InputOptions {
            format,
            csv,
            columns: self.columns.clone(),
            encoding: self.encoding,
            ignore_unknown: self.ignore_unknown,
            known_columns: None,
            sniff_text: self.format.is_none()
                && self.csv.detect_delimiter
                && self.csv.skip_lines == 0
                && path.is_none(),
        }
    }

    /// The table [`Load::create`] would make of `input` (named `name`, a file's name giving
    /// the table's unless [`Load::table`] names it), as `barge schema` prints it: the `CREATE
    /// TABLE` in `dialect`, then where its types come from and what the sample showed (a
    /// delimiter read from the file, columns made text by a spelled-out NULL). Reads a sample,
    /// as the load would; connects to nothing and writes nothing.
    ///
    /// # Errors
    /// An input that cannot be read or is empty; standard input without [`Load::table`].
    pub fn schema(
        &self,
        input: Input,
        name: &str,
        dialect: crate::ident::Dialect,
    ) -> Result<String> {
        self.script(input, name, dialect, None)
    }

    /// [`Load::schema`] of Arrow data (a DataFrame's), from its schema: the table
    /// [`Load::load_arrow`] would make of it.
    ///
    /// # Errors
    /// A schema no table can be made of (a column of a type no database holds), and a
    /// missing [`Load::table`].
    #[cfg(feature = "arrow")]
    pub fn arrow_schema(
        &self,
        reader: Box<dyn arrow_array::RecordBatchReader + Send>,
        dialect: crate::ident::Dialect,
    ) -> Result<String> {
        let (mut source, mut columns) =
            crate::source::arrow::ArrowSource::new(reader, "arrow", false, None)?;
        if let Some(given) = &self.columns {
            columns = source.rename(given)?;
        }
        let input = Input::Records(Box::new(source), columns);
        self.script(input, "arrow", dialect, Some("the Arrow schema"))
    }

    fn script(
        &self,
        input: Input,
        name: &str,
        dialect: crate::ident::Dialect,
        from: Option<&str>,
    ) -> Result<String> {
        let path = match &input {
            Input::File(p) => Some(p.clone()),
            _ => None,
        };
        let table = match (&self.table, &path, &input) {
            (Some(t), _, _) => t.clone(),
            (None, Some(p), _) => default_table_name(p)?,
            (None, None, Input::Reader(_)) => {
                return Err(Error::config("reading standard input needs --table"))
            }
            (None, None, _) => self.named_table()?,
        };
        let table = crate::schema::TableName::parse(&table)?.quoted_in(dialect);
        // A directory's table is made from its first file, as its load makes it.
        let (input, path) = match path {
            Some(p) if p.is_dir() => {
                let first = crate::source::input::files_in(&p)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::internal("a directory without files"))?;
                (Input::File(first.clone()), Some(first))
            }
            _ => (input, path),
        };
        let opts = self.input_options(path.as_deref());
        let t = crate::source::input::infer_input(input, name, &opts, self.sample_rows)?;
        // Told from the file before it was opened, or from standard input's first lines.
        let text = match t.read_as_text {
            Some(header) => Some(header),
            None => {
                (opts.format == Format::Text && self.format.is_none()).then_some(opts.csv.header)
            }
        };
        let rows = t.sampled_rows;
        let rows = format!(
            "{} row{}",
            thousands(rows),
            if rows == 1 { "" } else { "s" }
        );
        let from = match (from, opts.format) {
            (Some(from), _) => from.to_string(),
            (None, Format::Parquet) => "the Parquet schema".to_string(),
            (None, Format::Ndjson) => format!("the keys and {rows}"),
            (None, _) if text.unwrap_or(opts.csv.header) => format!("the header and {rows}"),
            (None, _) => rows,
        };
        // Said, as the file's name did not say it.
        let from = match text {
            Some(_) => format!(
                "{from}, read as PostgreSQL's text format (tab-separated, \\N for NULL; \
                 --format csv reads it as CSV)"
            ),
            None => from,
        };
        Ok(t.script(&table, dialect, &from))
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

    /// Loads a file; a directory is its files (see [`crate::source::input::files_in`]), as
    /// [`Load::load_paths`] loads several, into the table named after the directory.
    ///
    /// # Errors
    /// See [`Load::load_reader`]; also when the file cannot be opened.
    pub async fn load_path(&self, path: impl AsRef<Path>) -> Result<LoadReport> {
        let path = path.as_ref();
        if path.is_dir() {
            return self.load_paths(&[path.to_path_buf()]).await;
        }
        let name = path.display().to_string();
        let size = input_size(path)?;
        self.progress.bytes_total.store(size, Ordering::Relaxed);
        let table = match &self.table {
            Some(t) => t.clone(),
            None => default_table_name(path)?,
        };
        self.observed(self.run(Input::File(path.to_path_buf()), &name, &table, Among::ALONE))
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
        let table = self.named_table()?;
        self.observed(self.run(Input::Reader(Box::new(reader)), name, &table, Among::ALONE))
            .await
    }

    /// The table named with [`Load::table`]: an input without a file name needs one.
    fn named_table(&self) -> Result<String> {
        self.table
            .clone()
            .ok_or_else(|| Error::config("no table given: name the target table"))
    }

    fn check_options(&self) -> Result<()> {
        if self.replace && !self.atomic {
            return Err(Error::config(
                "--replace loads in one transaction: it cannot go with atomic turned off",
            ));
        }
        if self.replace && self.on_conflict.is_some() {
            return Err(Error::config(
                "--replace deletes the table's rows first, so no row can conflict with them: \
                 drop --on-conflict",
            ));
        }
        if self.dry_run && (self.again || self.load_id.is_some() || self.split.is_some()) {
            return Err(Error::config(
                "--dry-run writes nothing and keeps no checkpoints: --again, --load-id and \
                 --split do not apply",
            ));
        }
        if self.atomic && self.workers > 1 {
            return Err(Error::config(format!(
                "{} loads over one connection: drop --workers",
                if self.dry_run {
                    "--dry-run"
                } else {
                    "--atomic"
                }
            )));
        }
        if self.atomic && (self.again || self.load_id.is_some() || self.continue_changed) {
            return Err(Error::config(
                "--atomic keeps no checkpoints, so --again, --load-id and --continue-changed do \
                 not apply",
            ));
        }
        if self.continue_changed && (self.again || self.load_id.is_some()) {
            return Err(Error::config(
                "--continue-changed goes on with the load that stopped, --again starts another \
                 and --load-id names one: give one of them",
            ));
        }
        if self.on_conflict.is_none() && (self.key.is_some() || self.update_columns.is_some()) {
            return Err(Error::config(
                "--key and --update-columns go with --on-conflict nothing|update",
            ));
        }
        if self.atomic && self.rejects.is_some() && !self.dry_run {
            return Err(Error::config(
                "--atomic loads every row or none, so it does not take --rejects",
            ));
        }
        if self.max_errors.is_some() && self.rejects.is_none() {
            return Err(Error::config(
                "--max-errors counts rejected rows: it goes with --rejects FILE",
            ));
        }
        if let Some(s) = self.split {
            // Measured: of two shares of 1M rows into a table keeping three indexes, the second
            // waited out the first's 11.6 s, then loaded (29.7 s in all); a first share longer
            // than the lock timeout (30 s) fails the others.
            #[cfg(feature = "sqlite")]
            if matches!(self.target, Target::Sqlite(_)) {
                return Err(Error::config(format!(
                    "--split {s} into SQLite: SQLite takes one writer at a time, so the processes \
                     would only take turns (and one kept waiting over 30 s fails with \"database \
                     is locked\"); load the input with one process, which is as fast"
                )));
            }
            if self.on_conflict.is_some() {
                return Err(Error::config(format!(
                    "--split {s} with --on-conflict: which occurrence of a key wins would depend on which process gets there first; upsert in one process"
                )));
            }
            if self.atomic || self.checkpoint.is_none() {
                return Err(Error::config(format!(
                    "--split {s} shares the load through its checkpoints: drop --atomic / --no-checkpoint"
                )));
            }
        }
        if self.checkpoint.is_none()
            && (self.again || self.load_id.is_some() || self.continue_changed)
        {
            return Err(Error::config(
                "--again, --load-id and --continue-changed need checkpoints: drop --no-checkpoint",
            ));
        }
        Ok(())
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
    /// the table's columns by name, as [`crate::source::rows`] describes. A missing table is
    /// created as a file's is ([`Load::create`]), from a sample of the first values, kept and
    /// loaded with the rest: typed values say their types, strings are read as fields. Without
    /// [`Load::load_id`] such a load keeps no checkpoints; with one, a re-run of the same stream
    /// resumes after the values already committed.
    ///
    /// # Errors
    /// As [`Load::load_reader`]; also when a value is not a struct or map.
    pub async fn load_rows<S, T>(&self, rows: S) -> Result<LoadReport>
    where
        S: futures_util::Stream<Item = T> + Send + 'static,
        T: serde::Serialize + Send + 'static,
    {
        use futures_util::StreamExt;
        let table = self.named_table()?;
        let boxed: crate::source::rows::BoxedRows = Box::pin(
            rows.map(|v| Box::new(v) as Box<dyn crate::source::rows::erased::ErasedSerialize>),
        );
        self.observed(self.run(Input::Rows(boxed), "rows", &table, Among::ALONE))
            .await
    }

    /// Loads rows that the program builds (see [`RowBatch`]), their values in the order of
    /// `columns`. A missing table is created as [`Load::load_rows`]' is. The batches are
    /// pulled on the load's reader thread, so an iterator that blocks (on a channel fed by
    /// another thread) is fine. Without
    /// [`Load::load_id`] such a load keeps no checkpoints; with one, a re-run with the same rows
    /// resumes after the rows already committed. With [`Load::rejects`], a bad row is written
    /// to the rejects file as a CSV line under a header of `columns`.
    ///
    /// # Errors
    /// As [`Load::load_reader`]; an error the iterator yields ends the load with that error.
    pub async fn load_batches<I>(&self, columns: Vec<String>, batches: I) -> Result<LoadReport>
    where
        I: Iterator<Item = Result<RowBatch>> + Send + 'static,
    {
        let source = BatchSource::new(batches, self.rejects.is_some(), self.values_null.clone());
        self.load_records(Box::new(source), columns, "rows").await
    }

    /// Loads Arrow record batches (a DataFrame's, a Parquet file's, another library's through
    /// the C stream interface), their columns mapped to the table's by name (the names of
    /// [`Load::columns`], in order, when given). A missing table
    /// is created as a file's is (with [`Load::create`], or into the embedded default), its
    /// columns' types from the Arrow schema's. Values are read from Arrow's buffers and keep
    /// their types (see [`crate::source::arrow`]).
    ///
    /// # Errors
    /// As [`Load::load_batches`]; also for a column of an Arrow type that has no text form.
    #[cfg(feature = "arrow")]
    pub async fn load_arrow(
        &self,
        reader: Box<dyn arrow_array::RecordBatchReader + Send>,
    ) -> Result<LoadReport> {
        let (mut source, mut columns) = crate::source::arrow::ArrowSource::new(
            reader,
            "arrow",
            self.rejects.is_some(),
            self.values_null.clone(),
        )?;
        // Named as a file's columns are with `--columns`: in order, whatever the schema says.
        if let Some(given) = &self.columns {
            columns = source.rename(given)?;
        }
        self.load_records(Box::new(source), columns, "arrow").await
    }

    /// Loads records from a source the library built (batches, Arrow).
    async fn load_records(
        &self,
        source: Box<dyn crate::record::RecordSource>,
        columns: Vec<String>,
        name: &str,
    ) -> Result<LoadReport> {
        let table = self.named_table()?;
        self.observed(self.run(Input::Records(source, columns), name, &table, Among::ALONE))
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
        // A directory named alone is its files, in name order (among files, a directory is
        // refused, as it may hold them).
        let files = match paths {
            [dir] if dir.is_dir() => crate::source::input::files_in(dir)?,
            _ => paths.to_vec(),
        };
        let paths = files.as_slice();
        // One id for several files would make each file's checkpoints another's: the second
        // file found "already loaded", or read with the first one's committed byte ranges.
        if paths.len() > 1 && self.load_id.is_some() {
            return Err(Error::config(format!(
                "--load-id names the load of one input, and these are {} files, each its own \
                 load (named by its fingerprint): leave --load-id out; a file changed since its \
                 load stopped goes on with --continue-changed",
                paths.len()
            )));
        }
        let sizes = paths
            .iter()
            .map(|p| input_size(p))
            .collect::<Result<Vec<u64>>>()?;
        self.progress
            .bytes_total
            .store(sizes.iter().sum(), Ordering::Relaxed);
        let started = Instant::now();
        // Several files are shared whole: this process loads its own, each as a plain load.
        let (paths, sizes, whole) = match self.split {
            Some(share) if paths.len() > 1 => {
                let mine: Vec<usize> = (0..paths.len()).filter(|&i| share.has_file(i)).collect();
                (
                    mine.iter().map(|&i| paths[i].clone()).collect::<Vec<_>>(),
                    mine.iter().map(|&i| sizes[i]).collect::<Vec<_>>(),
                    Some(Load {
                        split: None,
                        ..self.clone()
                    }),
                )
            }
            _ => (paths.to_vec(), sizes, None),
        };
        let this = whole.as_ref().unwrap_or(self);
        if paths.is_empty() {
            return Err(Error::config(format!(
                "--split: share {} has no file of these {}: give at least as many files as shares",
                self.split.map(|s| s.to_string()).unwrap_or_default(),
                sizes.len()
            )));
        }
        // Each file is a run of its own, which commits on its own; the files of one transaction
        // (--atomic, --replace) are one run, read one after another.
        let runs: Vec<(usize, Vec<PathBuf>)> = if this.atomic {
            vec![(0, paths[1..].to_vec())]
        } else {
            (0..paths.len()).map(|i| (i, Vec::new())).collect()
        };
        let mut reports: Vec<LoadReport> = Vec::with_capacity(paths.len());
        for (i, then) in runs {
            let path = &paths[i];
            self.progress
                .bytes_base
                .store(sizes[..i].iter().sum(), Ordering::Relaxed);
            let name = path.display().to_string();
            let among = Among {
                first: i == 0,
                last: i + 1 + then.len() == paths.len(),
                group: reports.first().and_then(|r| r.load_id.clone()),
                then,
                created: reports.iter().any(|r| r.created),
            };
            let alone = among.then.is_empty();
            let r = this
                .run(Input::File(path.clone()), &name, &table, among)
                .await
                .map_err(|e| match (alone, paths.len()) {
                    (true, files) if files > 1 => {
                        e.in_file(&name, i, files, this.checkpoint.is_some())
                    }
                    _ => e,
                })?;
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
        // Every file loaded before: the rows of them all, when the last of them completed.
        if let Some(done) = &mut total.already_loaded {
            for r in reports.iter().filter_map(|r| r.already_loaded.as_ref()) {
                done.rows += r.rows;
                if r.at > done.at {
                    done.at.clone_from(&r.at);
                }
            }
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

    async fn run(&self, input: Input, name: &str, table: &str, among: Among) -> Result<LoadReport> {
        let path = match &input {
            Input::File(path) => Some(path.clone()),
            _ => None,
        };
        let before = self.progress.snapshot();
        match (self.run_once(input, name, table, among.clone()).await, path) {
            // Rows that a unique index refused when it was built at the end: everything was
            // rolled back; the file goes again with the indexes in place, which finds them.
            (Err(e), Some(path)) if is_refused_rebuild(&e) => {
                tracing::warn!(
                    "{e}; loading the file again with the indexes in place, to find those rows"
                );
                self.progress.rewind(&before);
                let again = Load {
                    keep_indexes: true,
                    ..self.clone()
                };
                Box::pin(again.run_once(Input::File(path), name, table, among)).await
            }
            (result, _) => result,
        }
    }

    async fn run_once(
        &self,
        input: Input,
        name: &str,
        table: &str,
        among: Among,
    ) -> Result<LoadReport> {
        self.check_options()?;
        // The one place that knows which databases there are.
        match &self.target {
            #[cfg(feature = "postgres")]
            Target::Postgres(pg) => {
                let db = PgBackend::open(pg, self.retry, &self.progress).await?;
                self.run_on(db, input, name, table, among).await
            }
            #[cfg(feature = "sqlite")]
            Target::Sqlite(t) => {
                let db = SqliteBackend::open(t)?;
                self.run_on(db, input, name, table, among).await
            }
            #[cfg(feature = "mysql")]
            Target::Mysql(t) => {
                let db = MyBackend::open(t, self.retry, &self.progress).await?;
                self.run_on(db, input, name, table, among).await
            }
        }
    }

    /// The phase that sends the rows: the encoder, chunk sizes and writers for this backend,
    /// then the pipeline. Returns the pipeline's outcome and how many writers it ran; an error
    /// setting it up is returned as such.
    async fn send<B: Backend>(
        &self,
        db: &mut B,
        dest: &table::Destination,
        name: &str,
        from_file: bool,
        rows: resume::Rows,
        run: &resume::Run,
    ) -> Result<(Result<pipeline::PipelineStats>, usize)> {
        let session_utc = db.session_is_utc().await?;
        let encoder = RowEncoder::new(
            name,
            dest.columns.clone(),
            dest.format,
            dest.null.clone(),
            session_utc,
        )
        .with_session_offset(db.session_offset().await?)
        .with_number_format(self.csv.numbers);
        // What the caller did not choose, the backend may (a Citus coordinator wants fewer,
        // larger chunks); the memory bound holds either way.
        let sizing = db.chunk_sizing();
        let pick = |given: bool, own: usize, theirs: Option<usize>| match theirs {
            Some(v) if !given => v,
            _ => own,
        };
        let chunk_rows = pick(self.given[0], self.chunk_rows, sizing.map(|s| s.rows));
        let chunk_bytes = pick(self.given[1], self.chunk_bytes, sizing.map(|s| s.bytes));
        let workers = if run.atomic {
            1
        } else {
            pick(self.given[2], self.workers, sizing.map(|s| s.workers))
        };
        // Rows per chunk grow while commits are costly, unless chosen (by the user, or by the
        // backend for a server it knows).
        let tuner = Arc::new(if self.given[0] || sizing.is_some() {
            crate::tuner::ChunkTuner::fixed(chunk_rows)
        } else {
            crate::tuner::ChunkTuner::adaptive(chunk_rows, ADAPTIVE_MAX_ROWS)
        });
        let plan = Plan {
            table: dest.table.clone(),
            input: name.to_string(),
            columns: dest.columns.clone(),
            format: dest.format,
            mode: self.mode,
            chunk_rows,
            upsert: dest.upsert.clone(),
            checkpoints: run.checkpoints.clone(),
            atomic: run.atomic,
            replace: self.replace,
            dry_run: self.dry_run,
            // Only where a refused row can be found by reading the input again, and not while
            // other sessions read the rows a replace deletes (nor in a dry run, whose refused
            // rows are all to be named).
            build_indexes_at_end: self.atomic
                && !self.replace
                && !self.dry_run
                && !self.keep_indexes
                && from_file
                && dest.upsert.is_none()
                && run.rejects.is_none(),
            retry: self.retry,
            rejects: run.rejects.clone(),
            max_errors: self.max_errors,
            tuner: tuner.clone(),
            commit_every: self.commit_every,
        };
        let sinks = db.sinks(plan, workers, self.progress.clone()).await?;
        let opts = PipelineOptions {
            rejects: run.rejects.is_some(),
            max_errors: self.max_errors,
            chunk_rows: tuner,
            chunk_bytes,
            // A chunk for each writer and one queued: more would only wait.
            in_flight_bytes: chunk_bytes.saturating_mul(workers + 1),
            // A file's chunks name it in their messages (standard input's have no name).
            input: from_file.then(|| crate::record::InputOf {
                name: name.into(),
                base: 0,
            }),
        };
        let stats = pipeline::run(
            rows.reader,
            encoder,
            sinks,
            opts,
            rows.resume,
            self.progress.clone(),
            self.cancel.clone(),
        )
        .await;
        Ok((stats, workers))
    }

    /// A load's phases, on any backend.
    async fn run_on<B: Backend>(
        &self,
        mut db: B,
        input: Input,
        name: &str,
        table: &str,
        among: Among,
    ) -> Result<LoadReport> {
        let started = Instant::now();
        let from_file = matches!(input, Input::File(_));
        let (reader, dest) = self
            .destination(&mut db, input, name, table, &among.then)
            .await?;
        let (rows, run) = match self.resume(&mut db, &dest, reader, name, &among).await? {
            resume::Begin::AlreadyLoaded(report) => return Ok(report.timed(started)),
            resume::Begin::Run(rows, run) => (rows, run),
        };
        // A resumable load into an empty table leaves out, until its end, the indexes that no
        // row can fail; indexes an earlier load left out are built first where they cannot.
        // The files of a load of several keep them out under the first file's id, until the
        // last file's end.
        let deferred = match &run.checkpoints {
            Some(cp) if !run.atomic => {
                let load = among.group.as_deref().unwrap_or(cp.load_id());
                db.defer_indexes(&dest.table, cp, load, !self.keep_indexes)
                    .await?
            }
            _ => false,
        };
        let (stats, workers) = self
            .send(&mut db, &dest, name, from_file, rows, &run)
            .await
            .unwrap_or_else(|e| (Err(e), 1));
        let resume::Run {
            checkpoints,
            atomic,
            not_resumable,
            ..
        } = run;
        let mut indexes_built = None;
        if let (true, Some(cp)) = (deferred, &checkpoints) {
            // Whether the load went through or stopped: a table is left with its indexes
            // whenever the server lets barge build them (a kill leaves them recorded). A file
            // of several that is not the last leaves them to the next.
            if among.last || stats.is_err() {
                let building = Instant::now();
                let built = db.build_indexes(&dest.table, cp, workers).await;
                match (&stats, built) {
                    (Ok(_), Err(e)) => {
                        return Err(e.with_load_id(Some(cp.load_id().to_string())))
                    }
                    (Err(_), Err(e)) => tracing::warn!(
                        "the indexes left out while {} loaded are not built ({e}): the next load into it builds them",
                        dest.table.quoted()
                    ),
                    (_, Ok(count)) => {
                        indexes_built = (count > 0).then(|| IndexesBuilt {
                            count,
                            elapsed: building.elapsed(),
                        })
                    }
                }
            }
        }
        let load_id = checkpoints.as_ref().map(|c| c.load_id().to_string());
        if let (Ok(_), Some(cp)) = (&stats, &checkpoints) {
            db.mark_done(cp).await?;
        }
        // The rows are in: a sequence that failed to follow them is a warning, not a failure.
        let mut sequences_raised = Vec::new();
        if stats.is_ok() && !self.dry_run && among.last {
            match db.raise_sequences(&dest.table, &dest.columns).await {
                Ok(raised) => sequences_raised = raised,
                Err(e) => tracing::warn!(
                    "the sequences of {}'s loaded columns were not raised past the values \
                     loaded ({e}): an INSERT that takes a column's default may get a value \
                     already there; raise it with SELECT setval(pg_get_serial_sequence(...), \
                     (SELECT max(...) FROM ...))",
                    dest.table.quoted()
                ),
            }
        }
        let stats = match stats {
            Ok(stats) => stats,
            Err(e) => {
                // One transaction: whatever its chunks wrote was rolled back with it.
                let e = if atomic { e.with_committed(0) } else { e };
                // A table this load created, which no row went into, goes again (not while
                // other processes of a --split load may be loading into it).
                let mut dropped = false;
                if dest.created.is_some()
                    && self.split.is_none()
                    && e.committed_rows().unwrap_or(0) == 0
                {
                    match db.drop_if_empty(&dest.table).await {
                        Ok(d) => dropped = d,
                        Err(why) => tracing::warn!(
                            "{} was created by this load, which put no row in it, and is left \
                             ({why})",
                            dest.table.quoted()
                        ),
                    }
                }
                let e = e.with_load_id(load_id).named(self.load_id.is_some());
                return Err(dest.explain(e, dropped));
            }
        };
        let mut report = self.report(&dest, stats, load_id, (atomic, not_resumable), started);
        report.indexes_built = indexes_built;
        report.sequences_raised = sequences_raised;
        Ok(report)
    }
}

/// Where a run stands in a load of several files (a file alone, standard input and a stream
/// of rows are a load of one).
#[derive(Clone, Debug)]
struct Among {
    /// The first file (the others resume among its checkpoints' neighbours).
    first: bool,
    /// The last: the indexes left out while the files loaded are built at its end.
    last: bool,
    /// The first file's load id: the indexes left out are recorded under it, so that every
    /// file of the load, and a rerun of any of them, keeps them out.
    group: Option<String>,
    /// The files this run reads after its own, in the same transaction (an atomic load of
    /// several files).
    then: Vec<PathBuf>,
    /// An earlier file of this load created the table: no earlier load's rows are in it.
    created: bool,
}

impl Among {
    const ALONE: Among = Among {
        first: true,
        last: true,
        group: None,
        then: Vec::new(),
        created: false,
    };
}

/// Whether `e` is an index built at the end of an atomic load refusing rows (PostgreSQL's
/// [`crate::sink::postgres::deferred`]).
fn is_refused_rebuild(e: &Error) -> bool {
    #[cfg(feature = "postgres")]
    {
        crate::sink::postgres::deferred::is_refused_rebuild(e)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = e;
        false
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
