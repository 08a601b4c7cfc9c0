//! The one error type of the library.
//!
//! Like `tokio_postgres::Error` and `csv::Error`, [`Error`] is a small box around an
//! [`ErrorKind`] so that `Result<T>` stays one pointer wide on the hot path. Every kind that is
//! about a row carries its [`Position`] and column, so the message alone tells the user where to
//! look.

use std::borrow::Cow;
use std::fmt;
use std::io;

use crate::position::Position;

/// `Result<T, barge::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// A failed load, with enough context (file, line, column, table, chunk) to act on.
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
    /// Rows committed to the target before the failure (set by the pipeline).
    committed: Option<u64>,
    /// The id under which those rows were checkpointed, to resume with `--load-id`.
    load_id: Option<String>,
    /// What to do about it, when the library knows better than the kind alone says.
    hint: Option<String>,
    /// What the load did on its way out, which the user should know (a table it created
    /// dropped again).
    note: Option<String>,
    /// The load's id was the user's (`--load-id`), not a file's fingerprint.
    named: bool,
    /// A database's refusal says which row of its chunk it refused ([`Error::at_row`]).
    at_row: bool,
}

/// What kind of failure an error is: retries, rejects and the CLI's exit code act on this
/// alone. Each backend classifies its own driver's errors (in its `error.rs`); every other
/// kind of error has a fixed class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// May pass if tried again: a connection lost or refused, a server restarting, a full
    /// connection table, a serialization failure or deadlock.
    Transient,
    /// About the data of one row (a bad value, a constraint): with `--rejects` the row is
    /// found and set aside.
    Row,
    /// The command or the database's set-up must change: a bad option, no such table,
    /// schema or database, a privilege or password missing, TLS settings (exit code 2).
    Config,
    /// A fault of barge itself (exit code 1, "please report").
    Internal,
    /// Anything else: the load failed (exit code 1).
    Other,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading the input failed.
    Io {
        /// The input's name (a path, or `-` for stdin).
        input: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The input is not valid CSV (unterminated quote, wrong number of fields, bad UTF-8...).
    Csv {
        /// The input's name.
        input: String,
        /// Where the bad record starts.
        position: Position,
        /// What is wrong with it.
        message: String,
    },
    /// One field could not be converted to its column's type.
    Value {
        /// The input's name.
        input: String,
        /// Where the record starts.
        position: Position,
        /// The target column.
        column: String,
        /// The offending value, cut to 80 characters.
        value: String,
        /// What was expected instead, or why the value does not fit.
        reason: String,
    },
    /// A bad option or connection string: the user must change the command.
    Config(String),
    /// The target table does not exist.
    TableNotFound {
        /// The table as the user named it.
        table: String,
    },
    /// The input names columns the table does not have.
    UnknownColumns {
        /// The table, schema-qualified.
        table: String,
        /// The input's columns the table lacks.
        unknown: Vec<String>,
        /// The table's real columns.
        columns: Vec<String>,
        /// Those of `unknown` that are the table's generated columns, whose values the
        /// database computes (an export of the table holds them).
        generated: Vec<String>,
    },
    /// Connecting to the database failed.
    #[cfg(feature = "postgres")]
    Connect {
        /// The target, with any password removed.
        target: String,
        /// The driver's error.
        source: tokio_postgres::Error,
        /// What kind of failure it is, as the backend classified it.
        class: ErrorClass,
    },
    /// The database refused a statement.
    #[cfg(feature = "postgres")]
    Database {
        /// What barge was doing ("COPY into \"public\".\"events\"", "introspecting ...").
        context: String,
        /// The chunk being written, when the failure belongs to one.
        chunk: Option<u64>,
        /// The driver's error.
        source: tokio_postgres::Error,
        /// What kind of failure it is, as the backend classified it.
        class: ErrorClass,
    },
    /// SQLite refused a statement, or the database file could not be opened.
    #[cfg(feature = "sqlite")]
    Sqlite {
        /// What barge was doing.
        context: String,
        /// The chunk being written, when the failure belongs to one.
        chunk: Option<u64>,
        /// The driver's error.
        source: rusqlite::Error,
        /// What kind of failure it is, as the backend classified it.
        class: ErrorClass,
    },
    /// MySQL or MariaDB refused a statement, or the connection failed.
    #[cfg(feature = "mysql")]
    Mysql {
        /// What barge was doing.
        context: String,
        /// The chunk being written, when the failure belongs to one.
        chunk: Option<u64>,
        /// The driver's error.
        source: mysql_async::Error,
        /// What kind of failure it is, as the backend classified it.
        class: ErrorClass,
    },
    /// More rows were rejected than `--max-errors` allows.
    TooManyRejects {
        /// The limit.
        limit: u64,
    },
    /// The load was interrupted (Ctrl-C) before it finished.
    Interrupted,
    /// A chunk was not applied because another writer failed first: that writer's error is
    /// the load's, this one only its consequence.
    Stopped,
    /// Another run of the same load (the same input into the same table) holds its lock: two
    /// at once would race for its chunks.
    LoadRunning {
        /// The input's name.
        input: String,
        /// The table, quoted.
        table: String,
    },
    /// A fault of barge itself (a broken invariant, a task that died): not the user's to
    /// fix.
    Internal(String),
}

impl Error {
    /// Wraps a kind.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind: Box::new(kind),
            committed: None,
            load_id: None,
            hint: None,
            note: None,
            named: false,
            at_row: false,
        }
    }

    /// An internal fault: a bug in barge.
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal(msg.into()))
    }

    /// A configuration error: the user must change the command.
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config(msg.into()))
    }

    /// What to do about this error, when the load knows (for example: how to re-run a load
    /// whose table it created from too small a sample).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Whether the value this error is about is one a reading option reads (`--null 'NULL'`,
    /// `--decimal-comma`), which [`Error::advice`] names: run again with it, a load goes on
    /// from where it stopped (such options are not part of its identity), the file unedited.
    /// So is a value in another encoding (`--encoding`): a load that read the file as UTF-8
    /// and stopped at its first byte that is not ASCII goes on too (positions of ASCII are
    /// the same in either).
    pub fn read_by_an_option(&self) -> bool {
        match self.kind() {
            ErrorKind::Value { value, reason, .. } => {
                null_spelling_hint(value, reason).is_some()
                    || (has_comma_number(value) && names_a_number_type(reason))
                    || is_not_utf8(reason)
            }
            _ => false,
        }
    }

    /// What to do about this error: its own [`Error::hint`], else the usual advice for its
    /// kind. The CLI and the Python package show it under the message.
    pub fn advice(&self) -> Option<Cow<'_, str>> {
        if let Some(h) = self.hint() {
            return Some(Cow::Borrowed(h));
        }
        // A bad value after rows were committed: edited, a file is another version of itself,
        // which goes on with --continue-changed; a stream goes on under its id.
        let bad_input = matches!(self.kind(), ErrorKind::Value { .. } | ErrorKind::Csv { .. });
        if let (true, Some(id), false) = (
            bad_input && self.committed.unwrap_or(0) > 0,
            &self.load_id,
            self.read_by_an_option(),
        ) {
            return Some(Cow::Owned(if self.named {
                format!(
                    "fix the value in the input (or the table's column type), then run the same \
                     command with --load-id {id} to load the rest"
                )
            } else {
                "fix the value in the file (or the table's column type), then run the same \
                 command with --continue-changed to load the rest (it goes on from where this \
                 load stopped)"
                    .to_string()
            }));
        }
        // A missing value spelled out, which only the text it is (`--null`) makes NULL.
        if let ErrorKind::Value { value, reason, .. } = self.kind() {
            if let Some(h) = null_spelling_hint(value, reason) {
                return Some(Cow::Owned(h));
            }
        }
        Some(Cow::Borrowed(match self.kind() {
            #[cfg(feature = "postgres")]
            ErrorKind::Database { .. } if self.sqlstate() == Some("3F000") => {
                "create the schema first (CREATE SCHEMA ...), or check --table (schema.table; quote mixed case)"
            }
            #[cfg(feature = "postgres")]
            ErrorKind::Database { source, .. } if is_citus_node_failure(source) => {
                "a Citus worker node cannot be reached: check that every worker is up (SELECT * FROM citus_check_cluster_node_health() on the coordinator), then run the same command again: it resumes"
            }
            #[cfg(feature = "postgres")]
            ErrorKind::Database { .. } if self.sqlstate() == Some("42501") => {
                "the role lacks a privilege for this: grant it, or load as a role that has it"
            }
            ErrorKind::LoadRunning { .. } => {
                "two runs of one load at once would race for its chunks (an overlapping \
                 schedule or a retried job starts them): run the same command again once the \
                 other has ended, and it loads what is left, or says the input is loaded"
            }
            ErrorKind::TableNotFound { .. } => {
                "create the table first (or pass --create), or check --table (schema.table; quote mixed case) and the search_path"
            }
            ErrorKind::UnknownColumns { generated, .. } if !generated.is_empty() => {
                "pass --ignore-unknown to leave out the columns the database computes (and any \
                 the table lacks), or remove them from the file"
            }
            // One "column" of words: a report's title where the header should be.
            ErrorKind::UnknownColumns { unknown, .. }
                if unknown.len() == 1 && unknown[0].trim().contains(' ') =>
            {
                "if the file's first line is a title above its header, skip the lines before \
                 the header with --skip-lines N; else rename the file's header to match the \
                 table, name the file's columns with --columns, or pass --ignore-unknown to leave \
                 out the columns the table lacks"
            }
            ErrorKind::UnknownColumns { .. } => {
                "rename the file's header to match the table, name the file's columns with \
                 --columns, or pass --ignore-unknown to leave out the columns the table lacks"
            }
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { .. } => {
                "check the host, port, user, password and database in --into / DATABASE_URL"
            }
            ErrorKind::Io { .. } => {
                "check that the file is complete and readable (a compressed file may have been cut short)"
            }
            // What PostgreSQL's and MySQL's text exports write for NULL, read as CSV or TSV.
            ErrorKind::Value { value, .. } if value == "\\\\N" => {
                "\\N is NULL in PostgreSQL's text format (what psql's \\copy ... to and MySQL's \
                 INTO OUTFILE write), which escapes tabs and newlines with backslashes too: load \
                 such a file with --format text"
            }
            // A file in another encoding: the reason shows the value read as Windows-1252.
            ErrorKind::Value { reason, .. } if is_not_utf8(reason) => {
                "the file is not in UTF-8: name its encoding with --encoding (windows-1252 is what \
                 Excel writes on Western Windows; latin1, shift_jis, gbk, utf-16le, any WHATWG \
                 label) and run the same command again: a load that stopped at the file's first \
                 byte that is not ASCII goes on from where it stopped; or convert the file \
                 (iconv -f WINDOWS-1252 -t UTF-8)"
            }
            // `""`, or an empty field read with `--null` naming another text: no NULL.
            ErrorKind::Value { value, reason, .. }
                if value.is_empty() && !reason.starts_with("NULL in column") =>
            {
                "the field is an empty string, which this column's type does not read: an empty \
                 field is NULL only unquoted (\"\" is an empty string), and with --null only \
                 when '' is one of its texts (--null 'NULL' --null ''); or pass --rejects FILE \
                 to set such rows aside and load the rest"
            }
            // A header line in the middle: files that each have one, joined (`cat a.csv
            // b.csv`). The value is its column's own name.
            ErrorKind::Value { value, column, .. }
                if !value.is_empty()
                    && (value.eq_ignore_ascii_case(column)
                        || crate::ident::sanitize(value) == *column) =>
            {
                "the value is its column's own name: most likely a header line in the middle of \
                 the file, as joining files that each have one leaves it (cat a.csv b.csv): load \
                 the files as they were, which barge loads as one (barge load a.csv b.csv, or a \
                 quoted glob), or pass --rejects FILE to set such lines aside and load the rest"
            }
            // pandas writes an integer column that has a missing value as floats.
            ErrorKind::Value { value, reason, .. }
                if is_whole_with_point(value) && names_an_integer_type(reason) =>
            {
                "a whole number written with a decimal point, which an integer column does not \
                 read (pandas writes an integer column that has missing values as floats: 3.0): \
                 write it as integers (in pandas, .astype(\"Int64\") before to_csv), or make \
                 the column numeric; or pass --rejects FILE to set such rows aside and load the \
                 rest"
            }
            // What spreadsheets in much of Europe export, often with `;` between fields; and
            // amounts with thousands commas, what a cell formatted as one exports.
            ErrorKind::Value { value, reason, .. }
                if has_comma_number(value) && names_a_number_type(reason) =>
            {
                match comma_number(value) {
                    (true, false) => {
                        "the value has a decimal comma, which no database reads as a number: run \
                         the same command with --decimal-comma to read the file's numbers so \
                         (1.234,5 is 1234.5), or export it with a decimal point; or pass \
                         --rejects FILE to set such rows aside and load the rest"
                    }
                    (false, _) => {
                        "the value groups its digits with commas, which no database reads as a \
                         number: run the same command with --thousands , to read the file's \
                         numbers so (1,234.5 is 1234.5), or export them without separators; or \
                         pass --rejects FILE to set such rows aside and load the rest"
                    }
                    (true, true) => {
                        "the value holds a comma, which no database reads in a number: if the \
                         file's commas group thousands (1,234 for 1234), run the same command \
                         with --thousands ,; if the comma is its decimal mark (1,5 for 1.5), with \
                         --decimal-comma; or pass --rejects FILE to set such rows aside and load \
                         the rest"
                    }
                }
            }
            ErrorKind::Csv { message, .. } if message.ends_with(LINE_ENDS_WITH_DELIMITER) => {
                "the file's lines end with a delimiter that its header line lacks: remove it at \
                 each line's end (for a comma: sed -i 's/,$//' FILE), or add a name for the \
                 empty last field to the header and pass --ignore-unknown to leave it out"
            }
            // A report's title above the header: the "header" has fewer fields than the rows
            // under it, or a quote in the title opens a field that never closes.
            ErrorKind::Csv { message, position, .. }
                if (position.record <= 3 && more_fields_than_expected(message))
                    || (position.record == 1 && message.starts_with("unterminated quoted")) =>
            {
                "if the file starts with lines above its header (a report's title, the date it \
                 was run), skip them with --skip-lines N: the header is the first line with as \
                 many fields as the rows under it; else fix the line, or pass --rejects FILE to \
                 set bad rows aside and load the rest"
            }
            ErrorKind::Value { .. } | ErrorKind::Csv { .. } => {
                "fix the value in the file (or the table's column type) and run the load again, \
                 or pass --rejects FILE to set bad rows aside and load the rest"
            }
            // A row the database refused: the load need not stop for it.
            _ if self.class() == ErrorClass::Row && self.is_duplicate_key() => {
                "a row's key is already in the table (or comes twice in the file): \
                 --on-conflict nothing keeps the row that is there, --on-conflict update \
                 overwrites it, and --rejects FILE sets such rows aside and loads the rest"
            }
            _ if self.class() == ErrorClass::Row && self.is_database() => {
                "the database refused a row: fix it in the file and run the load again, or \
                 pass --rejects FILE to set such rows aside (with the database's reason) and \
                 load the rest"
            }
            _ => return None,
        }))
    }

    /// Whether the database raised this error (as opposed to barge, the input or the
    /// connection).
    pub(crate) fn is_database(&self) -> bool {
        match self.kind() {
            #[cfg(feature = "postgres")]
            ErrorKind::Database { .. } => true,
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { .. } => true,
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { .. } => true,
            _ => false,
        }
    }

    /// Whether the database refused a row because its key is already there: each backend's
    /// `error.rs` knows its own codes for that.
    fn is_duplicate_key(&self) -> bool {
        match self.kind() {
            #[cfg(feature = "postgres")]
            ErrorKind::Database { .. } => self.sqlstate() == Some("23505"),
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { source, .. } => {
                crate::sink::sqlite::error::is_duplicate_key(source)
            }
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { .. } => crate::sink::mysql::error::is_duplicate_key(self),
            _ => false,
        }
    }

    /// Attaches a hint.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// What the load did on its way out, which its user should know: a table it created and
    /// no row went into, dropped again.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Attaches a note.
    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// For a load of several files, one after another: an error whose message names no input
    /// (a column the table lacks, a refused statement) says which file it came from, and that
    /// the files before it are loaded (with checkpoints, a run again skips them). One about a
    /// row names its file already.
    pub(crate) fn in_file(self, name: &str, index: usize, files: usize, skipped: bool) -> Self {
        if matches!(
            *self.kind,
            ErrorKind::Io { .. } | ErrorKind::Csv { .. } | ErrorKind::Value { .. }
        ) {
            return self;
        }
        let mut note = format!("in {name}, file {} of {files}", index + 1);
        if index > 0 {
            let (before, them) = match index {
                1 => ("the file before it is loaded".to_string(), "it"),
                n => (format!("the {n} files before it are loaded"), "them"),
            };
            note.push_str(&format!(": {before}"));
            note.push_str(&if skipped {
                format!(", and a run again skips {them}")
            } else {
                format!(" (without checkpoints, a run again loads {them} again)")
            });
        }
        let note = match &self.note {
            Some(old) => format!("{note}; {old}"),
            None => note,
        };
        self.with_note(note)
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Rows already committed to the target when this error stopped the load, if known.
    pub fn committed_rows(&self) -> Option<u64> {
        self.committed
    }

    /// Records how many rows were committed before the failure.
    pub(crate) fn with_committed(mut self, rows: u64) -> Self {
        self.committed = Some(rows);
        self
    }

    /// The load id whose checkpoints hold the committed rows, if the load kept checkpoints.
    pub fn load_id(&self) -> Option<&str> {
        self.load_id.as_deref()
    }

    /// Records the load id of the failed load.
    pub(crate) fn with_load_id(mut self, id: Option<String>) -> Self {
        self.load_id = id;
        self
    }

    /// Records that the load's id was the user's (`--load-id`).
    pub(crate) fn named(mut self, yes: bool) -> Self {
        self.named = yes;
        self
    }

    /// Whether running again with what [`Error::advice`] names goes on from where this load
    /// stopped, its committed rows skipped: a value a reading option reads (see
    /// [`Error::read_by_an_option`]), in a load that keeps checkpoints and committed rows.
    pub fn goes_on_when_run_again(&self) -> bool {
        self.read_by_an_option() && self.load_id.is_some() && self.committed.unwrap_or(0) > 0
    }

    /// An error about a record of `input`, whose positions were counted from `base` bytes
    /// before its start (see [`crate::record::RecordSource::locate`]).
    pub(crate) fn located(mut self, name: &str, base: u64) -> Self {
        match &mut *self.kind {
            ErrorKind::Csv {
                input, position, ..
            }
            | ErrorKind::Value {
                input, position, ..
            } => {
                *input = name.to_string();
                position.byte = position.byte.saturating_sub(base);
            }
            _ => {}
        }
        self
    }

    /// Says which row of its chunk a database refused (`record 5 (line 5)`): the server's
    /// error names a constraint and values, the user needs the line to fix.
    pub(crate) fn at_row(mut self, place: &str) -> Self {
        self.at_row = true;
        match &mut *self.kind {
            #[cfg(feature = "postgres")]
            ErrorKind::Database { context, .. } => context.push_str(&format!(", at {place}")),
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { context, .. } => context.push_str(&format!(", at {place}")),
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { context, .. } => context.push_str(&format!(", at {place}")),
            _ => {}
        }
        self
    }

    /// Whether a database's refusal names the row of its chunk it refused (see
    /// [`Error::at_row`]): a foreign key's, checked once a statement has all its rows, does
    /// not.
    pub(crate) fn names_a_row(&self) -> bool {
        self.at_row
    }

    /// Names the chunk a database error belongs to.
    pub(crate) fn in_chunk(mut self, seq: u64) -> Self {
        match &mut *self.kind {
            #[cfg(feature = "postgres")]
            ErrorKind::Database { chunk, .. } => *chunk = Some(seq),
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { chunk, .. } => *chunk = Some(seq),
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { chunk, .. } => *chunk = Some(seq),
            _ => {}
        }
        self
    }

    /// Where in the input the row lies, for an error about one row (a bad value, a record
    /// that cannot be read).
    pub fn position(&self) -> Option<Position> {
        match &*self.kind {
            ErrorKind::Csv { position, .. } | ErrorKind::Value { position, .. } => Some(*position),
            _ => None,
        }
    }

    /// What kind of failure this is.
    pub fn class(&self) -> ErrorClass {
        match &*self.kind {
            ErrorKind::Config(_)
            | ErrorKind::TableNotFound { .. }
            | ErrorKind::UnknownColumns { .. } => ErrorClass::Config,
            ErrorKind::Csv { .. } | ErrorKind::Value { .. } => ErrorClass::Row,
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { class, .. } | ErrorKind::Database { class, .. } => *class,
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { class, .. } => *class,
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { class, .. } => *class,
            ErrorKind::Internal(_) => ErrorClass::Internal,
            ErrorKind::Io { .. }
            | ErrorKind::TooManyRejects { .. }
            | ErrorKind::Interrupted
            | ErrorKind::Stopped
            | ErrorKind::LoadRunning { .. } => ErrorClass::Other,
        }
    }

    /// True when the user must change the command or its configuration (exit code 2), as
    /// opposed to a load that failed on its data or on the database (exit code 1).
    pub fn is_config(&self) -> bool {
        self.class() == ErrorClass::Config
    }

    /// The driver's own words for a database error, shortly (for a retry's log line): the
    /// server's message and SQLSTATE, or the I/O error under a lost connection.
    pub fn cause(&self) -> String {
        match &*self.kind {
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { source, .. } | ErrorKind::Database { source, .. } => {
                if let Some(db) = source.as_db_error() {
                    return format!("{} (SQLSTATE {})", db.message(), db.code().code());
                }
                let mut s = std::error::Error::source(source);
                while let Some(c) = s {
                    if let Some(io) = c.downcast_ref::<io::Error>() {
                        return io.to_string();
                    }
                    s = c.source();
                }
                source.to_string()
            }
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { source, .. } => source.to_string(),
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { source, .. } => source.to_string(),
            _ => self.to_string(),
        }
    }

    /// The SQLSTATE code of a database error, if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match &*self.kind {
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { source, .. } | ErrorKind::Database { source, .. } => source
                .as_db_error()
                .map(crate::sink::postgres::error::sqlstate),
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql {
                source: mysql_async::Error::Server(e),
                ..
            } => Some(e.state.as_str()),
            _ => None,
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

/// Writes a driver error the way psql would: the server's message, detail and hint, and the
/// SQLSTATE, rather than tokio-postgres' terse "db error".
#[cfg(feature = "postgres")]
pub(crate) fn fmt_pg_error(e: &tokio_postgres::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match e.as_db_error() {
        Some(db) => {
            write!(f, "{} (SQLSTATE {})", db.message(), db.code().code())?;
            if let Some(detail) = db.detail() {
                write!(f, "; detail: {detail}")?;
            }
            if let Some(hint) = db.hint() {
                write!(f, "; hint: {hint}")?;
            }
            Ok(())
        }
        None => {
            write!(f, "{e}")?;
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                write!(f, ": {s}")?;
                source = s.source();
            }
            Ok(())
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Io { input, source } => write!(f, "{input}: read failed: {source}"),
            ErrorKind::Csv {
                input,
                position,
                message,
            } => write!(f, "{input}: {position}: {message}"),
            ErrorKind::Value {
                input,
                position,
                column,
                value,
                reason,
            } => write!(
                f,
                "{input}: {position}, column \"{column}\": invalid value \"{value}\": {reason}"
            ),
            ErrorKind::Config(msg) => f.write_str(msg),
            ErrorKind::TableNotFound { table } => write!(f, "table {table} does not exist"),
            ErrorKind::UnknownColumns {
                table,
                unknown,
                columns,
                generated,
            } => {
                let plural = |n: usize| if n == 1 { "" } else { "s" };
                if !generated.is_empty() {
                    write!(
                        f,
                        "table {table} computes column{} {} itself (generated): a load cannot \
                         give {} values; ",
                        plural(generated.len()),
                        quote_list(generated),
                        if generated.len() == 1 { "it" } else { "them" }
                    )?;
                }
                let lacking: Vec<String> = unknown
                    .iter()
                    .filter(|u| !generated.contains(u))
                    .cloned()
                    .collect();
                let (unnamed, named): (Vec<String>, Vec<String>) =
                    lacking.into_iter().partition(|u| u.trim().is_empty());
                if !named.is_empty() {
                    write!(
                        f,
                        "table {table} has no column{} {}; ",
                        plural(named.len()),
                        quote_list(&named)
                    )?;
                }
                // An export whose lines end with a delimiter (or a DataFrame's unnamed index)
                // has a header field with no name: say so, rather than name a column "".
                if !unnamed.is_empty() {
                    write!(
                        f,
                        "the input has {} with no name (a header that starts or ends with a \
                         delimiter, as pandas' to_csv writes its row index unless index=False, \
                         or has two in a row) and table {table} has no such column; ",
                        if unnamed.len() == 1 {
                            "a column".to_string()
                        } else {
                            format!("{} columns", unnamed.len())
                        }
                    )?;
                }
                write!(f, "its columns are: {}", quote_list(columns))
            }
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { target, source, .. } => {
                write!(f, "could not connect to {target}: ")?;
                fmt_pg_error(source, f)
            }
            #[cfg(feature = "postgres")]
            ErrorKind::Database {
                context, source, ..
            } => {
                write!(f, "{context}: ")?;
                fmt_pg_error(source, f)
            }
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite {
                context,
                chunk,
                source,
                ..
            } => {
                write!(f, "{context}")?;
                // Most contexts name the chunk already, with its records.
                match chunk {
                    Some(c) if !context.contains("(chunk ") => write!(f, " (chunk {})", c + 1)?,
                    _ => {}
                }
                write!(f, ": {source}")
            }
            // The context names the chunk, with its records.
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql {
                context, source, ..
            } => write!(f, "{context}: {}", MysqlMessage(source)),
            ErrorKind::TooManyRejects { limit } => write!(
                f,
                "more than {limit} rows rejected (--max-errors {limit}): the load stopped"
            ),
            ErrorKind::Interrupted => f.write_str("interrupted"),
            ErrorKind::Stopped => {
                f.write_str("another writer failed, so this chunk was not applied")
            }
            ErrorKind::LoadRunning { input, table } => write!(
                f,
                "another run of this load is loading {input} into {table} now: this one \
                 stopped before loading anything"
            ),
            ErrorKind::Internal(msg) => write!(
                f,
                "internal error: {msg} (this is a bug in barge: please report it with the command \
                 that ran into it)"
            ),
        }
    }
}

/// A MySQL error the way the mysql client prints it: `ERROR 1062 (23000): Duplicate entry...`,
/// without the driver's "Server error:" wrapping.
#[cfg(feature = "mysql")]
struct MysqlMessage<'a>(&'a mysql_async::Error);

#[cfg(feature = "mysql")]
impl fmt::Display for MysqlMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            mysql_async::Error::Server(s) => {
                write!(f, "ERROR {} ({}): {}", s.code, s.state, s.message)
            }
            other => write!(f, "{other}"),
        }
    }
}

/// Which of the options that read numbers as spreadsheets export them reads `value`:
/// `--decimal-comma` (`1,5`, `-0,25`, `1.234,5`), `--thousands ,` (`1,234.5`), or both
/// (`1,234`).
fn comma_number(value: &str) -> (bool, bool) {
    use crate::encode::number_format::{NumberFormat, Read};
    let reads =
        |f: NumberFormat| value.contains(',') && matches!(f.read(value.as_bytes()), Read::Point(_));
    (
        reads(NumberFormat::DECIMAL_COMMA),
        reads(NumberFormat::THOUSANDS_COMMA),
    )
}

/// A number with a comma that `--decimal-comma` or `--thousands ,` reads.
fn has_comma_number(value: &str) -> bool {
    comma_number(value) != (false, false)
}

/// The hint for a value that is how some exports write a missing value
/// ([`crate::infer::NULL_SPELLINGS`]), which is not NULL unless `--null` says so; not for one
/// that `--null` made NULL, into a NOT NULL column.
fn null_spelling_hint(value: &str, reason: &str) -> Option<String> {
    if reason.starts_with("NULL in column") {
        return None;
    }
    let s = crate::infer::spelled_null(value.as_bytes())?;
    Some(format!(
        "the file seems to write {s} for a missing value: run the same command with --null '{s}' \
         --null '' to read unquoted {s} fields as NULL, and unquoted empty fields as NULL as \
         now (--null '{s}' alone reads an empty field as an empty string, as COPY's NULL \
         option does); or pass --rejects FILE to set such rows aside and load the rest"
    ))
}

/// Whether a value error's reason is that the value is not UTF-8
/// ([`crate::encode::not_utf8`]).
fn is_not_utf8(reason: &str) -> bool {
    reason.contains("not UTF-8 (byte")
}

/// The end of a field-count error's message when the fields beyond the expected ones are empty
/// ([`crate::encode::row`]): the line ends with a delimiter.
pub(crate) const LINE_ENDS_WITH_DELIMITER: &str = "the line ends with a delimiter";

/// A CSV error that a line has more fields than expected (`expected 1 fields, found 2`).
fn more_fields_than_expected(message: &str) -> bool {
    let count = |s: &str| -> Option<usize> {
        s.split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
    };
    let Some((expected, found)) = message
        .strip_prefix("expected ")
        .and_then(|m| m.split_once(" fields, found "))
    else {
        return false;
    };
    matches!((count(expected), count(found)), (Some(e), Some(f)) if f > e)
}

/// `3.0`, `-12.00`: an integer written as a float.
fn is_whole_with_point(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    match digits.split_once('.') {
        Some((whole, zeros)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && !zeros.is_empty()
                && zeros.bytes().all(|b| b == b'0')
        }
        None => false,
    }
}

/// The type a value error's reason names, its first word in lower case: `integer` of
/// `expected integer: ...`, `double` of `expected double precision: ...`, `numeric` of
/// `expected numeric(10,2): ...`, `int` of MySQL's `expected int(11) unsigned: ...`, SQLite's
/// `INTEGER`.
fn reason_type(reason: &str) -> String {
    let ty = reason.strip_prefix("expected ").unwrap_or(reason);
    let ty = ty.split(':').next().unwrap_or_default();
    let word = ty.split(['(', ' ']).next().unwrap_or_default();
    word.to_ascii_lowercase()
}

const INTEGER_TYPES: [&str; 9] = [
    "integer",
    "bigint",
    "smallint",
    "int",
    "int2",
    "int4",
    "int8",
    "tinyint",
    "mediumint",
];

/// Whether a value error's reason is about an integer column.
fn names_an_integer_type(reason: &str) -> bool {
    INTEGER_TYPES.contains(&reason_type(reason).as_str())
}

/// Whether a value error's reason is about a numeric column (integers, `numeric(10,2)`,
/// `double precision`, MySQL's `decimal(10,2)`, SQLite's `REAL`).
fn names_a_number_type(reason: &str) -> bool {
    let ty = reason_type(reason);
    INTEGER_TYPES.contains(&ty.as_str())
        || [
            "numeric", "decimal", "double", "real", "float", "float4", "float8",
        ]
        .contains(&ty.as_str())
}

fn quote_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            #[cfg(feature = "postgres")]
            ErrorKind::Connect { source, .. } | ErrorKind::Database { source, .. } => Some(source),
            #[cfg(feature = "sqlite")]
            ErrorKind::Sqlite { source, .. } => Some(source),
            #[cfg(feature = "mysql")]
            ErrorKind::Mysql { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Cuts a value for display: at most 80 characters, never inside a UTF-8 sequence, with
/// invalid bytes shown as U+FFFD.
pub(crate) fn cut_value(raw: &[u8]) -> String {
    const MAX: usize = 80;
    let text = String::from_utf8_lossy(raw);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// Whether a coordinator's error says one of its Citus workers could not be reached.
#[cfg(feature = "postgres")]
fn is_citus_node_failure(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let m = db.message();
        m.contains("connection marked as essential")
            || m.contains("connection to the remote node")
            || m.contains("failed to COPY to shard")
            || m.contains("SSL SYSCALL error")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_above_the_header_is_told_by_rows_wider_than_it() {
        assert!(more_fields_than_expected("expected 1 fields, found 2"));
        assert!(more_fields_than_expected(
            "expected 3 fields, found 4, the last empty: the line ends with a delimiter"
        ));
        // A row short of fields is a row's problem, not a title's.
        assert!(!more_fields_than_expected("expected 6 fields, found 5"));
        assert!(!more_fields_than_expected("unterminated quoted field"));
    }

    #[test]
    fn hints_tell_types_by_their_name_not_its_start() {
        assert!(names_an_integer_type("expected integer: invalid input"));
        assert!(names_an_integer_type("expected int(11) unsigned: x"));
        assert!(names_an_integer_type("expected INTEGER: not an integer"));
        assert!(names_a_number_type("expected double precision: x"));
        assert!(names_a_number_type("expected numeric(10,2): x"));
        assert!(names_a_number_type("expected REAL: x"));
        // `interval` and `inet` start as `int` and `in` do.
        assert!(!names_an_integer_type("expected interval: x"));
        assert!(!names_a_number_type("expected interval: x"));
        assert!(!names_a_number_type("expected inet: x"));
        assert!(!names_a_number_type("expected date: x"));
    }

    #[test]
    fn whole_numbers_with_a_point_are_told_from_fractions() {
        for v in ["3.0", "-12.00", "0.0"] {
            assert!(is_whole_with_point(v), "{v}");
        }
        for v in ["3", "3.5", "3.", ".0", "-.0", "1e3", "3.0x", "", "-"] {
            assert!(!is_whole_with_point(v), "{v}");
        }
    }

    #[test]
    fn a_spelled_null_is_named_unless_it_was_read_as_null() {
        let hint = |v: &str, reason: &str| null_spelling_hint(v, reason);
        assert!(hint("NULL", "expected date: invalid input syntax")
            .is_some_and(|h| h.contains("--null 'NULL'")));
        assert!(hint("#N/A", "expected bigint: x").is_some_and(|h| h.contains("--null '#N/A'")));
        assert_eq!(hint("NULLS", "expected date: x"), None);
        assert_eq!(
            hint(
                "NULL",
                "NULL in column \"id\", which is NOT NULL (quote the field)"
            ),
            None
        );
    }
}
