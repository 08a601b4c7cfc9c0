//! A load's live counters ([`Progress`]), which the reader and the writers update, and the
//! snapshots of them ([`ProgressEvent`]) that progress callbacks and the CLI's bar are given.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Live counters of a load, updated by the reader and the writers and read by whoever shows
/// progress (the CLI's progress bar polls them).
#[derive(Debug, Default)]
pub struct Progress {
    /// Rows parsed and encoded.
    pub rows_read: AtomicU64,
    /// Input bytes consumed (of the file as stored: compressed bytes for a compressed input).
    pub bytes_read: AtomicU64,
    /// Compressed bytes read, counted under the decompressor.
    pub compressed_bytes_read: Arc<AtomicU64>,
    /// Whether the input is compressed: `bytes_read` then follows `compressed_bytes_read`.
    pub compressed: AtomicBool,
    /// Bytes of the files before this one, when several are loaded as one.
    pub bytes_base: AtomicU64,
    /// Total input bytes, when known (0 when not).
    pub bytes_total: AtomicU64,
    /// Rows committed to the target.
    pub rows_committed: AtomicU64,
    /// Chunks committed to the target.
    pub chunks_committed: AtomicU64,
    /// Rows skipped because an earlier run of the same load committed them.
    pub rows_skipped: AtomicU64,
    /// Retries of chunks or connections after transient faults.
    pub retries: AtomicU64,
    /// Upserts: rows that created a row.
    pub upsert_inserted: AtomicU64,
    /// Upserts: rows that updated an existing row.
    pub upsert_updated: AtomicU64,
    /// Upserts: rows skipped because their key was there (`--on-conflict nothing`).
    pub upsert_skipped: AtomicU64,
    /// Rows rejected (with `--rejects`) in chunks that committed.
    pub rows_rejected: AtomicU64,
}

/// The state of a load at one moment: what [`crate::Load::on_progress`] hands its callback.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProgressEvent {
    /// Rows parsed and encoded.
    pub rows_read: u64,
    /// Rows committed.
    pub rows_committed: u64,
    /// Chunks committed.
    pub chunks_committed: u64,
    /// Rows skipped because an earlier run committed them.
    pub rows_skipped: u64,
    /// Rows set aside as bad.
    pub rows_rejected: u64,
    /// Input bytes consumed (compressed bytes for a compressed input).
    pub bytes_read: u64,
    /// Input bytes in all, when known (0 when not).
    pub bytes_total: u64,
    /// Retries after transient faults.
    pub retries: u64,
    /// Whether the load has ended (the last event of a load).
    pub done: bool,
}

impl Progress {
    /// Sets the counters a load advances back to `to` (taken with [`Progress::snapshot`]):
    /// a load that starts its input over counts its rows again.
    pub(crate) fn rewind(&self, to: &ProgressEvent) {
        for (counter, value) in [
            (&self.rows_read, to.rows_read),
            (&self.rows_committed, to.rows_committed),
            (&self.chunks_committed, to.chunks_committed),
            (&self.rows_skipped, to.rows_skipped),
            (&self.rows_rejected, to.rows_rejected),
            (&self.bytes_read, to.bytes_read),
        ] {
            counter.store(value, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressEvent {
        ProgressEvent {
            rows_read: Progress::get(&self.rows_read),
            rows_committed: Progress::get(&self.rows_committed),
            chunks_committed: Progress::get(&self.chunks_committed),
            rows_skipped: Progress::get(&self.rows_skipped),
            rows_rejected: Progress::get(&self.rows_rejected),
            bytes_read: Progress::get(&self.bytes_read),
            bytes_total: Progress::get(&self.bytes_total),
            retries: Progress::get(&self.retries),
            done: false,
        }
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// How far into the input (as stored) the reader is, given its position in the text.
    pub(crate) fn position(&self, text_byte: u64) -> u64 {
        if self.compressed.load(Ordering::Relaxed) {
            Progress::get(&self.compressed_bytes_read)
        } else {
            Progress::get(&self.bytes_base) + text_byte
        }
    }
}
