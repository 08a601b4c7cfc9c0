//! What a chunk commits with, besides its rows, on every backend: its rejects (within
//! `--max-errors`) to the rejects file, and the upsert counts. (Its checkpoint row is written
//! on the chunk's own connection, with the ledger's statement.)

use crate::checkpoint::ChunkMeta;
use crate::chunk::RawRow;
use crate::error::{Error, ErrorClass, ErrorKind, Result};
use crate::progress::Progress;
use crate::rejects::Reject;
use crate::upsert::UpsertCounts;

use super::plan::Plan;

/// Before COMMIT: fails when the chunk's rejects take the load past `--max-errors`
/// (`rejected_before` counts those of chunks already committed), else writes them to the
/// rejects file, tagged with the chunk.
///
/// # Errors
/// [`ErrorKind::TooManyRejects`], or the rejects file's I/O error.
pub fn set_aside(
    plan: &Plan,
    meta: &ChunkMeta,
    rejects: &[Reject],
    rejected_before: u64,
) -> Result<()> {
    if let Some(max) = plan.max_errors {
        if rejected_before + rejects.len() as u64 > max {
            return Err(ErrorKind::TooManyRejects { limit: max }.into());
        }
    }
    if let Some(file) = &plan.rejects {
        file.write(meta.first_byte, rejects)?;
    }
    Ok(())
}

/// The chunk's client-side rejects and the rows the database refused, in input order.
pub fn all_rejects(client: &[Reject], refused: &[Reject]) -> Vec<Reject> {
    let mut all = client.to_vec();
    all.extend(refused.iter().cloned());
    all.sort_by_key(|r| r.position.byte);
    all
}

/// After COMMIT: counts an upsert chunk's rows as inserted, updated or skipped.
pub fn count_upsert(plan: &Plan, progress: &Progress, inserted: Option<u64>, rows: u64) {
    if let (Some(u), Some(inserted)) = (&plan.upsert, inserted) {
        let c = UpsertCounts::of_chunk(u.on_conflict, rows, inserted);
        Progress::add(&progress.upsert_inserted, c.inserted);
        Progress::add(&progress.upsert_updated, c.updated);
        Progress::add(&progress.upsert_skipped, c.skipped);
    }
}

/// Row `i` of a chunk (its kept input `raw`, at `raw_rows`) as a reject whose reason is still
/// to be said: what every backend sets aside for a row the server refused.
pub fn row_reject(raw_rows: &[RawRow], raw: &[u8], i: usize) -> Reject {
    let (position, raw) = match raw_rows.get(i) {
        Some(row) => (
            row.position,
            raw.get(row.raw.clone()).unwrap_or_default().to_vec(),
        ),
        None => (Default::default(), Vec::new()),
    };
    Reject {
        position,
        raw,
        column: None,
        value: None,
        reason: String::new(),
        sqlstate: None,
    }
}

/// The error of writing a chunk's checkpoint, `what` (`writing the checkpoint of chunk 3`)
/// said. A checkpoint can only be refused as a row is when its key is there already: another
/// run of the same load (a retried job, an overlapping schedule) committed that chunk first,
/// its rows with it. This run's chunk rolls back, so nothing is loaded twice; the user is told
/// that, not that a row of theirs repeats a key.
pub fn checkpoint_refused(e: Error) -> Error {
    match e.class() {
        ErrorClass::Row => e.with_hint(
            "another run of this same load (the same input into the same table) committed \
             this chunk first: two were running at once, as an overlapping schedule or a \
             retried job starts them. This one stops, its chunk rolled back: nothing was \
             loaded twice. Run the same command again once the other has ended: it loads what \
             is left, or says the input is loaded",
        ),
        _ => e,
    }
}
