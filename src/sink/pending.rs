//! What a resumable load decides at its start about the indexes an empty table may leave out
//! until its end, the same on every backend (PostgreSQL's, MySQL's and SQLite's
//! `pending_indexes`, which say which indexes may wait and how they are recorded, dropped and
//! built again).
//!
//! Indexes an earlier run of this same load left out stay out: it is resuming. Those another
//! load left out are built before any row goes in. Then an empty table's indexes that may
//! wait are recorded and dropped. Nothing here fails the load: what stands in the way leaves
//! the table's indexes as they are, and is said at `-v` (a warning for indexes still missing).

use std::future::Future;

use crate::error::Result;

/// One table's recorded indexes, on one connection.
pub(crate) trait Pending: Send {
    /// The loaded table, quoted (for messages).
    fn table(&self) -> &str;

    /// The recording table, quoted (for messages).
    fn ledger(&self) -> &str;

    /// The indexes recorded for the table, as (index name, the load that left it out); none
    /// when nothing was ever recorded.
    fn recorded(&mut self) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;

    /// Builds every index recorded for the table and deletes their records; how many it
    /// built.
    fn build(&mut self) -> impl Future<Output = Result<usize>> + Send;

    /// Records and drops the indexes that may wait, if the table is empty; how many.
    fn drop_and_record(&mut self, load_id: &str) -> impl Future<Output = Result<usize>> + Send;
}

/// At the start of load `load_id`: whether indexes of the table are left out for this load
/// (to be built at its end), where `leave_out` (not `--keep-indexes`) allows it.
pub(crate) async fn defer(pending: &mut impl Pending, load_id: &str, leave_out: bool) -> bool {
    let recorded = match pending.recorded().await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(table = %pending.table(), "the table keeps its indexes while it loads: {e}");
            return false;
        }
    };
    if leave_out && recorded.iter().any(|(_, id)| id == load_id) {
        tracing::info!(
            table = %pending.table(),
            indexes = recorded.len(),
            "indexes left out by an earlier run of this load are built at its end"
        );
        return true;
    }
    if !recorded.is_empty() {
        tracing::info!(
            table = %pending.table(),
            "building the indexes an earlier load left out of the table before loading"
        );
        if let Err(e) = pending.build().await {
            let names: Vec<&str> = recorded.iter().map(|(n, _)| n.as_str()).collect();
            tracing::warn!(
                table = %pending.table(),
                "indexes an earlier load left out ({}) could not be built: {e}; they are \
                 recorded in {}, and any load into the table by a role that may build them \
                 does",
                names.join(", "),
                pending.ledger()
            );
            return false;
        }
    }
    if !leave_out {
        return false;
    }
    match pending.drop_and_record(load_id).await {
        Ok(0) => false,
        Ok(dropped) => {
            tracing::info!(
                table = %pending.table(),
                indexes = dropped,
                "the table is empty: its indexes that no row can fail are built at the end of the load"
            );
            true
        }
        Err(e) => {
            tracing::info!(table = %pending.table(), "the table keeps its indexes while it loads: {e}");
            false
        }
    }
}
