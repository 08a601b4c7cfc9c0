//! What a load reports when it ends: rows, chunks, rejects, upsert counts, and how it ran.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::table::Destination;
use super::Load;
use crate::pipeline::PipelineStats;
use crate::progress::Progress;
use crate::upsert::{OnConflict, UpsertCounts};

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
    /// Whether the rows replaced the table's earlier rows (`--replace`).
    pub replaced: bool,
    /// Whether the load was rolled back at its end (`--dry-run`): `rows` would have loaded,
    /// `rejected` would have been refused, and nothing changed.
    pub dry_run: bool,
    /// Why this load kept no checkpoints, when it wanted to and could not (the role may not
    /// create or write the checkpoint table): it was loaded as one transaction instead, and an
    /// interrupted run starts over rather than resuming.
    pub not_resumable: Option<String>,
    /// Indexes left out while the empty table loaded, built at the end by this run.
    pub indexes_built: Option<IndexesBuilt>,
    /// Sequences behind the loaded columns (PostgreSQL's `serial` and identity columns),
    /// raised past the largest value loaded.
    pub sequences_raised: Vec<crate::sink::Raised>,
}

/// Indexes built once at the end of a load instead of row by row (PostgreSQL, into an empty
/// table).
#[derive(Clone, Debug, Serialize)]
pub struct IndexesBuilt {
    /// How many.
    pub count: usize,
    /// How long building them took (part of the load's time).
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
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

impl LoadReport {
    /// The report with its wall time measured from `started`.
    pub(super) fn timed(mut self, started: std::time::Instant) -> Self {
        self.elapsed = started.elapsed();
        self
    }
}

impl Load {
    /// The report of a load that ran: the pipeline's counts and the load's counters, and
    /// whether it was one transaction (and why, when it had to be).
    pub(super) fn report(
        &self,
        dest: &Destination,
        stats: PipelineStats,
        load_id: Option<String>,
        (atomic, not_resumable): (bool, Option<String>),
        started: Instant,
    ) -> LoadReport {
        let count = |c: &std::sync::atomic::AtomicU64| Progress::get(c);
        LoadReport {
            target: self.target.to_string(),
            table: dest.table.quoted(),
            rows: stats.rows,
            chunks: stats.chunks,
            skipped_rows: count(&self.progress.rows_skipped),
            retries: count(&self.progress.retries),
            bytes: stats.bytes,
            elapsed: started.elapsed(),
            format: dest.report_format,
            load_id,
            already_loaded: None,
            created: dest.created.is_some(),
            rejected: count(&self.progress.rows_rejected),
            rejects_file: self.rejects.as_ref().map(|p| p.display().to_string()),
            files: 1,
            atomic,
            replaced: self.replace,
            dry_run: self.dry_run,
            not_resumable,
            indexes_built: None,
            sequences_raised: Vec::new(),
            upsert: dest.upsert.as_ref().map(|u| UpsertReport {
                on_conflict: u.on_conflict,
                key: u.key.iter().map(|c| c.name.clone()).collect(),
                counts: UpsertCounts {
                    inserted: count(&self.progress.upsert_inserted),
                    updated: count(&self.progress.upsert_updated),
                    skipped: count(&self.progress.upsert_skipped),
                },
            }),
        }
    }
}

/// `n` as barge writes counts: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
