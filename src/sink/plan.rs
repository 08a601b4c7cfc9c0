//! What every writer of a load needs besides its connection, whatever the database: decided
//! once by the load's phases, shared by all its writers. A backend's writer plan wraps it and
//! adds what only that backend needs (its statements, its transaction mode).

use crate::checkpoint::Checkpoints;
use crate::chunk::WireFormat;
use crate::rejects::Rejects;
use crate::retry::RetryPolicy;
use crate::schema::{Column, Table};
use crate::upsert::Upsert;

/// How rows travel to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The database's bulk path: `COPY ... FROM STDIN` for PostgreSQL (SQLite has none and
    /// always inserts).
    Copy,
    /// Multi-row `INSERT ... VALUES` with bound parameters.
    Insert,
}

/// A load's writing, as decided before the first row is read.
#[derive(Debug)]
pub struct Plan {
    /// The target table.
    pub table: Table,
    /// The input's name, for messages.
    pub input: String,
    /// The columns written, in field order.
    pub columns: Vec<Column>,
    /// How the chunks are encoded.
    pub format: WireFormat,
    /// COPY or INSERT.
    pub mode: Mode,
    /// Rows per chunk at most (statements are sized to it).
    pub chunk_rows: usize,
    /// Set for upserts: rows are staged, then merged.
    pub upsert: Option<Upsert>,
    /// Where checkpoints go; `None` for loads without them.
    pub checkpoints: Option<Checkpoints>,
    /// The whole load in one transaction (`--atomic`, or no checkpoints could be kept).
    pub atomic: bool,
    /// The table's rows are deleted at the start of that one transaction (`--replace`): other
    /// sessions see the old rows until the new ones commit, and a failed load leaves them.
    pub replace: bool,
    /// The one transaction is rolled back at the end (`--dry-run`): the load only tells what
    /// it would do.
    pub dry_run: bool,
    /// An atomic load from a file may drop an empty table's indexes and build them at the
    /// end of its transaction, where the backend can do that safely (PostgreSQL).
    pub build_indexes_at_end: bool,
    /// Retries of a failed chunk.
    pub retry: RetryPolicy,
    /// Where rows the database refuses go (`--rejects`); without it such a row fails the load.
    pub rejects: Option<Rejects>,
    /// Fail once more rows than this were rejected.
    pub max_errors: Option<u64>,
    /// Rows per chunk as the reader cuts them: writers tell it what a commit costs.
    pub tuner: std::sync::Arc<crate::tuner::ChunkTuner>,
    /// How long chunks may share a transaction while the reader keeps up, where the backend
    /// lets them (SQLite's writer; the others commit each chunk on its own).
    pub commit_every: std::time::Duration,
}

impl Plan {
    /// Where the columns named `names` are among the columns loaded; `None` when one of them
    /// is not loaded.
    pub(crate) fn fields(&self, names: &[String]) -> Option<Vec<usize>> {
        names
            .iter()
            .map(|n| self.columns.iter().position(|c| &c.name == n))
            .collect()
    }
}

#[cfg(test)]
impl Plan {
    /// A plan with every option at its default, for unit tests of a backend's statements.
    pub(crate) fn for_test(table: &Table, columns: Vec<Column>, chunk_rows: usize) -> Plan {
        Plan {
            table: table.clone(),
            input: "test".into(),
            columns,
            format: WireFormat::Binary,
            mode: Mode::Copy,
            chunk_rows,
            upsert: None,
            checkpoints: None,
            atomic: false,
            replace: false,
            dry_run: false,
            build_indexes_at_end: false,
            retry: RetryPolicy::default(),
            rejects: None,
            max_errors: None,
            tuner: std::sync::Arc::new(crate::tuner::ChunkTuner::fixed(chunk_rows)),
            commit_every: std::time::Duration::ZERO,
        }
    }
}
