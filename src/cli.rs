//! The command line: clap definitions, whose doc comments are the `--help` text.

use std::path::PathBuf;

use barge::Format;
use clap::{Args, Parser, Subcommand};

/// Move millions of rows from files into databases: fast, in constant memory.
#[derive(Debug, Parser)]
#[command(name = "barge", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands.
// Parsed once per run: the size of the load's arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load CSV, TSV or NDJSON files (plain, gzip or zstd), or Parquet files, into a table.
    Load(LoadArgs),
    /// Print the CREATE TABLE that `load --create` would run for a file.
    Schema(SchemaArgs),
}

/// How to read the CSV input: shared by `load` and `schema`.
#[derive(Debug, Args)]
pub struct CsvArgs {
    /// Names of the file's columns, in order, comma-separated: for a file without a header,
    /// or to rename the header's columns.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub columns: Option<Vec<String>>,

    /// The input's format: csv, tsv, ndjson (one JSON object per line), parquet, or text
    /// (PostgreSQL's text format, what psql's \copy ... to writes: tab-separated, \N for NULL,
    /// backslash escapes). Default: from the file name (.csv, .tsv, .ndjson, .jsonl, also under
    /// .gz or .zst; .parquet), else parquet for a file that starts as one, else csv. gzip and
    /// zstd input is recognised by its first bytes, whatever the name.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Leave out the input's columns that the table does not have (a header's or --columns'
    /// names, NDJSON keys, Parquet columns) instead of failing. A rejects file still holds
    /// whole lines.
    #[arg(long)]
    pub ignore_unknown: bool,

    /// Field delimiter: one character, or "tab" / "\t". Default: "," (a tab for TSV), or ";",
    /// a tab or "|" when the file's first lines are plainly separated by one (-v says so).
    #[arg(long, short = 'd', value_parser = barge::parse_delimiter)]
    pub delimiter: Option<u8>,

    /// Numbers are written with a decimal comma, dots grouping thousands (1.234,5), as
    /// spreadsheets in much of Europe export them: number columns read them so (and --create
    /// types them so). A number column's field with a dot elsewhere (1.5) is refused.
    #[arg(long)]
    pub decimal_comma: bool,

    /// The character between groups of three digits in numbers (1,234.5 with --thousands ,;
    /// "space" for a space), as a spreadsheet exports amounts: number columns read them
    /// without it (and --create types them so). With --decimal-comma, dots unless given.
    #[arg(long, value_name = "SEP", value_parser = barge::parse_thousands)]
    pub thousands: Option<char>,

    /// The file has no header line (use --columns, or the table's column order).
    #[arg(long)]
    pub no_header: bool,

    /// Skip the first N lines of a CSV or TSV file, before its header: a report's title, the
    /// date it was run, a blank line. Whole lines, whatever quotes they hold.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_lines: u64,

    /// The file has a header line: for --format text, whose files have none unless their
    /// writer was asked for one (CSV and TSV files have one unless --no-header).
    #[arg(long, conflicts_with = "no_header")]
    pub header: bool,

    /// Unquoted text that means NULL; give it again for each other text that does
    /// (--null NULL --null ''). Default: an unquoted empty field is NULL; a quoted empty
    /// field ("") is the empty string, as in PostgreSQL's CSV COPY.
    #[arg(long, value_name = "STR")]
    pub null: Vec<String>,

    /// The file's character encoding (latin1, windows-1252, utf-16le, shift_jis, ... any
    /// WHATWG label), transcoded to UTF-8 as it is read. Default: UTF-8.
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,

    /// Rows read to infer column types when creating a table (0: the whole file).
    #[arg(long, default_value_t = barge::DEFAULT_SAMPLE_ROWS, value_name = "N")]
    pub sample_rows: usize,
}

/// `barge schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The CSV file, or - for standard input.
    pub file: PathBuf,

    /// SQL dialect: postgres, sqlite or mysql. Default: that of --into / $DATABASE_URL, else
    /// sqlite (the default target).
    #[arg(long, value_name = "DIALECT")]
    pub dialect: Option<barge::Dialect>,

    /// Target database, only to choose the dialect.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub into: Option<String>,

    /// Table name. Default: the file name without its extension.
    #[arg(long, short = 't')]
    pub table: Option<String>,

    #[command(flatten)]
    pub csv: CsvArgs,
}

/// `barge load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The files to load (CSV, TSV or NDJSON, plain, gzip or zstd; Parquet), or - for
    /// standard input (not Parquet); none: standard input, when it is a pipe or a file
    /// (psql -c "COPY t TO STDOUT" | barge load --table t).
    /// Several files (or a quoted glob such as 'data/*.csv.gz') load as one load into one
    /// table.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Target database: sqlite://path/to/file.db, or
    /// postgres://user[:password]@host[:port]/database[?options], or a libpq
    /// "host=... dbname=..." string. The password is never printed. Default: $DATABASE_URL,
    /// else sqlite://barge.db in the current directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub into: Option<String>,

    /// Target table, optionally schema-qualified (public.events; quote mixed case: '"Events"').
    /// Default: the file name without its extension.
    #[arg(long, short = 't')]
    pub table: Option<String>,

    #[command(flatten)]
    pub csv: CsvArgs,

    /// Create the table when it does not exist, with columns named after the header and
    /// types inferred from the first --sample-rows rows (see `barge schema`). Always on for
    /// SQLite.
    #[arg(long)]
    pub create: bool,

    /// With --create on a Citus coordinator: distribute the new table by this column
    /// (create_distributed_table) before loading. A table that exists keeps its distribution.
    #[arg(long, value_name = "COLUMN", requires = "create")]
    pub distribute_by: Option<String>,

    /// Load share K of N of the input, so that N processes (here or on other machines) load
    /// it together, each row exactly once: several files are shared whole, one file by byte
    /// ranges cut where records start (a Parquet file by rows). Run the same command with
    /// 1/N .. N/N; a share that stops is resumed by running it again. --rejects FILE becomes
    /// FILE.K-of-N.
    #[arg(long, value_name = "K/N")]
    pub split: Option<barge::Split>,

    /// When a row's key is already in the table: "nothing" keeps the table's row, "update"
    /// overwrites it. Within the file the first occurrence of a key wins with "nothing", the
    /// last with "update", as if the rows were loaded one by one.
    #[arg(long, value_name = "nothing|update")]
    pub on_conflict: Option<barge::OnConflict>,

    /// The conflict key's columns (default: the primary key); must be the columns of a unique
    /// index or constraint.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "A,B",
        requires = "on_conflict"
    )]
    pub key: Option<Vec<String>>,

    /// With --on-conflict update: the columns to overwrite (default: every loaded column not
    /// in the key).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "A,B",
        requires = "on_conflict"
    )]
    pub update_columns: Option<Vec<String>>,

    /// How rows travel to PostgreSQL: "copy" (binary COPY, the fastest) or "insert" (multi-row
    /// INSERTs with binary parameters, for engines without COPY). SQLite always uses INSERTs.
    #[arg(long, value_name = "copy|insert", default_value = "copy", value_parser = barge::parse_mode)]
    pub mode: barge::Mode,

    /// Set bad rows aside instead of failing: each goes to FILE with its original bytes (after
    /// the header), so FILE can be fixed and loaded with the same command, and FILE.errors.jsonl
    /// says where each was and why. Every good row still loads; exit code 3 says some were
    /// rejected.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// With --rejects: stop the load (resumably) once more than N rows were rejected.
    #[arg(long, value_name = "N", requires = "rejects")]
    pub max_errors: Option<u64>,

    /// Rows per chunk; each commits with its checkpoint (see --commit-every). Unset: 10000, doubled while commits take
    /// half a chunk's time (slow storage, a distributed commit), or what the target needs
    /// (Citus); a number given is kept as given.
    #[arg(long, value_name = "N")]
    pub chunk_rows: Option<usize>,

    /// Largest encoded chunk, in bytes or with a unit (32MiB); a chunk ends early when its
    /// rows reach it. Unset: 8MiB, or what the target needs (Citus); a size given is kept.
    #[arg(long, value_name = "BYTES", value_parser = barge::parse_bytes)]
    pub chunk_bytes: Option<usize>,

    /// SQLite: chunks share a transaction for up to SECS while the input keeps up (a commit
    /// rewrites every index page the transaction changed); a kill loses at most that much work,
    /// which the rerun loads again. 0 commits each chunk on its own. PostgreSQL and MySQL commit
    /// each chunk on its own.
    #[arg(long, value_name = "SECS", default_value_t = barge::DEFAULT_COMMIT_EVERY.as_secs_f64())]
    pub commit_every: f64,

    /// Writer connections, each sending chunks in its own transactions. The default, 2, was
    /// fastest on a 2-core machine with the server on it (1: 2.7 s, 2: 2.3 s, 4: 2.5 s for the
    /// 1M-row bench file); more help when the server has cores of its own.
    /// (--atomic uses one.)
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<usize>,

    /// Bookkeeping table for exactly-once resume, in the target table's schema unless
    /// qualified. Each chunk commits together with its row there.
    #[arg(long, default_value = barge::DEFAULT_CHECKPOINT_TABLE, value_name = "TABLE")]
    pub checkpoint_table: String,

    /// Keep no checkpoints: an interrupted load cannot be resumed, and running it again loads
    /// every row again.
    #[arg(long, conflicts_with_all = ["again", "load_id", "atomic"])]
    pub no_checkpoint: bool,

    /// Name the load instead of fingerprinting the file (path, size, mtime, content): needed
    /// to resume a load from standard input.
    #[arg(long, value_name = "ID")]
    pub load_id: Option<String>,

    /// Load the input again even though an earlier run loaded it completely.
    #[arg(long)]
    pub again: bool,

    /// A file changed since a load of it stopped partway (a bad value fixed after the load
    /// failed on it, a download completed): go on from where that load stopped, taking the
    /// file's bytes up to there as unchanged. Without it such a run is refused, as a new load
    /// would put the rows committed before in a second time.
    #[arg(long, conflicts_with_all = ["again", "load_id"])]
    pub continue_changed: bool,

    /// All rows or none: the whole load in one transaction on one connection, no checkpoints.
    /// From a file into an empty PostgreSQL table, its indexes are built once at the end, with
    /// the table locked until the commit.
    #[arg(long, conflicts_with_all = ["again", "load_id"])]
    pub atomic: bool,

    /// Replace the table's rows with the input's, in one transaction (--atomic): the old rows
    /// are deleted at its start, other sessions go on reading them until the new ones commit,
    /// and a load that fails or is interrupted leaves them as they were. Run it again to
    /// replace them again.
    #[arg(long, conflicts_with_all = ["again", "load_id", "on_conflict", "no_checkpoint"])]
    pub replace: bool,

    /// Check the input against the table and change nothing: every row is read, validated and
    /// written in one transaction that is rolled back, so the database's own checks (keys,
    /// foreign keys, checks, triggers) run too. With --rejects, every row that would be
    /// refused goes to the rejects file; without, the first one fails the run, named. The
    /// table must exist.
    #[arg(long, conflicts_with_all = ["again", "load_id", "split", "create"])]
    pub dry_run: bool,

    /// Keep an empty PostgreSQL or MySQL table's indexes in place while it loads (slower).
    /// Without it, a resumable load leaves out the indexes that no row can fail (not unique;
    /// on PostgreSQL, on fixed-size columns) and builds them at its end (or in the next run,
    /// after a kill); an --atomic load into PostgreSQL builds all of them at its end, with the
    /// table locked until it commits.
    #[arg(long)]
    pub keep_indexes: bool,

    /// Retries of a chunk (or connection) after a transient fault: connection lost or refused,
    /// server restarting, too many connections, serialization failure, deadlock.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub retries: u32,

    /// Give up retrying after this many seconds since the first failure.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub retry_for: u64,

    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,

    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
