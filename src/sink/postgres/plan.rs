//! The load's plan as PostgreSQL's writers carry it out: COPY or INSERT, and where rows go
//! (the table, or a staging table for an upsert).

use super::{insert, upsert};
use crate::chunk::WireFormat;
use crate::sink::{Mode, Plan};
use crate::turnstile::Turnstile;

/// How rows travel to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `COPY ... FROM STDIN`, binary or text.
    Copy(WireFormat),
    /// Multi-row `INSERT`s with binary parameters, this many rows per statement.
    Insert(usize),
}

/// The load's [`Plan`] as PostgreSQL's writers carry it out; shared by all of them.
#[derive(Debug)]
pub struct PgPlan {
    /// What every backend's writers share.
    pub base: Plan,
    /// COPY or INSERT.
    pub method: Method,
    /// Chunks take effect in input order where that matters (upserts, rejects).
    pub turnstile: Turnstile,
    /// The server process of each writer's connection: a chunk waiting for its turn lets go
    /// as soon as one of them waits on it (see [`super::writer::PgSink::wait_turn`]).
    pub writer_pids: std::sync::Mutex<Vec<i32>>,
    /// With `--rejects` into a table whose one unique key is all loaded: that key's columns,
    /// so that duplicate keys are found with one query, not by a search (see
    /// [`super::refused`]).
    pub dedupe_key: Option<Vec<crate::schema::Column>>,
    /// Where the key's columns are among the columns loaded.
    pub dedupe_fields: Vec<usize>,
    /// The key's constraint, once a chunk met a duplicate: from then on chunks go through the
    /// stage first, rather than fail and go again.
    pub dedupe_seen: std::sync::Mutex<Option<String>>,
    /// With `--rejects`: the table's foreign keys whose missing parents one query finds (see
    /// [`super::refused`]).
    pub foreign_keys: Vec<ForeignKey>,
    /// With `--rejects`: the table's check constraints whose failing rows one query finds.
    pub checks: Vec<Check>,
    /// Set once a chunk met a row that one of those refused: from then on chunks are checked
    /// against them first.
    pub refusals_seen: std::sync::atomic::AtomicBool,
    /// The target is a partitioned table, whose upsert cannot return `xmax` (PostgreSQL 15:
    /// "cannot retrieve a system column in this context"): its merge counts the keys already
    /// there instead (see [`super::upsert::Merge`]).
    pub partitioned: bool,
}

/// A check constraint of the table whose columns are all loaded: one query over the chunk's
/// staged columns evaluates it as the server does.
#[derive(Debug, Clone)]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// Its expression, as the server prints it (`pg_get_expr`).
    pub expr: String,
    /// Where the columns it reads are among the columns loaded.
    pub fields: Vec<usize>,
}

/// A foreign key of the table that a set operation can check for a chunk: immediate, MATCH
/// SIMPLE, every column loaded, another table as parent, readable by the loading role and
/// without row security (which the server's own check would not apply).
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// Its columns in the table.
    pub columns: Vec<String>,
    /// Where those columns are among the columns loaded.
    pub fields: Vec<usize>,
    /// The referenced table, quoted, and its bare name (as the server's message gives it).
    pub parent: String,
    pub parent_name: String,
    /// The referenced columns, in the key's order.
    pub parent_columns: Vec<String>,
}

impl std::ops::Deref for PgPlan {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.base
    }
}

impl PgPlan {
    /// PostgreSQL's way of carrying out `plan`.
    pub fn new(plan: Plan) -> Self {
        let method = match plan.mode {
            Mode::Copy => Method::Copy(plan.format),
            Mode::Insert => Method::Insert(insert::rows_per_statement(
                plan.columns.len(),
                plan.chunk_rows,
            )),
        };
        PgPlan {
            base: plan,
            method,
            turnstile: Turnstile::default(),
            writer_pids: std::sync::Mutex::new(Vec::new()),
            dedupe_key: None,
            dedupe_fields: Vec::new(),
            dedupe_seen: std::sync::Mutex::new(None),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            partitioned: false,
            refusals_seen: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The duplicate-key constraint met so far, if any.
    pub(super) fn seen_duplicate(&self) -> Option<String> {
        self.dedupe_seen
            .lock()
            .map(|g| g.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Records that a chunk met a duplicate key (`e`, SQLSTATE 23505).
    pub(super) fn saw_duplicate(&self, e: &crate::error::Error) {
        let name = match e.kind() {
            crate::error::ErrorKind::Database { source, .. } => source
                .as_db_error()
                .and_then(|d| d.constraint())
                .map(str::to_string),
            _ => None,
        };
        let mut seen = self.dedupe_seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.is_none() {
            *seen = Some(name.unwrap_or_default());
        }
    }

    /// The wire format of the chunks.
    pub(super) fn format(&self) -> WireFormat {
        match self.method {
            Method::Copy(f) => f,
            Method::Insert(_) => WireFormat::Binary,
        }
    }

    /// The bare name of the table rows are written into, as the server names it in an error's
    /// context (`COPY events, line 5`).
    pub(super) fn relation(&self) -> &str {
        match self.upsert {
            Some(_) => upsert::STAGE_NAME,
            None => &self.table.name,
        }
    }

    /// The table rows are written into: the target, or the staging table for an upsert.
    pub(super) fn destination(&self) -> String {
        match self.upsert {
            Some(_) => upsert::STAGE.to_string(),
            None => self.table.quoted(),
        }
    }
}
