//! Where chunks go. A [`Backend`] is what differs between databases (connecting, the catalog,
//! the bookkeeping, the wire format, its writers); each lives in a folder of its own with the
//! same file names (`mod`, `error`, `insert`, `upsert`, `writer`, and `copy`, `resolve`,
//! `conninfo`, `tls` where a backend has them), so that a reader who knows one knows them all
//! and a new database is one new folder. What every backend shares is written once here: the
//! [`plan::Plan`], the search for refused rows ([`bisect`]) and what a chunk commits with
//! ([`seal`]).

use std::future::Future;
use std::sync::Arc;

use crate::checkpoint::{Checkpoints, Ledger, Start};
use crate::chunk::{Chunk, WireFormat};
use crate::error::Result;
use crate::ident::Dialect;
use crate::progress::Progress;
use crate::schema::{Column, Table, TableName};
use crate::upsert::UniqueKey;

pub mod bisect;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub(crate) mod pending;
pub mod plan;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod seal;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use plan::{Mode, Plan};

/// Writes whole chunks, each in a transaction of its own (a writer may let several chunks share
/// one, each with its checkpoint; or, for an atomic load, all in one).
pub trait Sink: Send + 'static {
    /// Writes one chunk; on error nothing of it, nor of the chunks that wait with it in an open
    /// transaction, is committed. Says what the database refused of it and what this write made
    /// durable.
    fn write(&mut self, chunk: Chunk) -> impl Future<Output = Result<Outcome>> + Send;

    /// Commits the chunks that wait in an open transaction: called when the writer has no next
    /// chunk at hand, and when the load stops early without this writer's fault. Never commits
    /// an atomic load.
    fn flush(&mut self) -> impl Future<Output = Result<Committed>> + Send {
        async { Ok(Committed::default()) }
    }

    /// Called once after the last chunk when the load succeeded; commits what waits.
    fn finish(&mut self) -> impl Future<Output = Result<Committed>> + Send {
        async { Ok(Committed::default()) }
    }
}

/// Rows and chunks that a commit made durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Rows written (refused rows not among them).
    pub rows: u64,
    /// Chunks, each with its checkpoint.
    pub chunks: u64,
}

/// What one [`Sink::write`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The chunk's rows that the database refused and that were set aside (`--rejects`).
    pub refused: u64,
    /// What this write made durable: the chunk, or nothing while it waits in an open
    /// transaction, or it and the chunks that waited with it. (An atomic load's chunks count
    /// when written: a failed atomic load reports nothing committed.)
    pub committed: Committed,
}

impl Outcome {
    /// A chunk of `rows` rows committed in a transaction of its own, `committed` of them
    /// written and the rest refused.
    pub fn alone(rows: u64, committed: u64) -> Outcome {
        Outcome {
            refused: rows.saturating_sub(committed),
            committed: Committed {
                rows: committed,
                chunks: 1,
            },
        }
    }
}

/// Chunk size and writers for a server whose commits are costly (see
/// [`Backend::chunk_sizing`]); memory stays bounded by `bytes` x (`workers` + 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSizing {
    /// Rows per chunk, at most.
    pub rows: usize,
    /// Encoded bytes per chunk, at most.
    pub bytes: usize,
    /// Writer connections.
    pub workers: usize,
}

/// A sequence [`Backend::raise_sequences`] raised: its name, the column it serves and the
/// value it was set to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Raised {
    pub sequence: String,
    pub column: String,
    pub to: i64,
}

/// A database as a load sees it, through its bookkeeping connection: the load's phases run
/// the same on every backend, and only these steps differ.
pub trait Backend: Send {
    /// The writer a load runs per worker.
    type Sink: Sink;

    /// The SQL dialect: quoting and the types of a created table.
    fn dialect(&self) -> Dialect;

    /// Whether a missing table is created without `--create` (the embedded default does).
    fn creates_tables(&self) -> bool {
        false
    }

    /// How chunks are best sized on this server where the user did not say: `None` keeps the
    /// defaults. (A distributed commit costs a Citus coordinator far more than a commit costs
    /// a single server. SQLite, whose commit rewrites every index page its transaction
    /// changed, lets chunks share a transaction instead: `--commit-every`.)
    fn chunk_sizing(&self) -> Option<ChunkSizing> {
        None
    }

    /// The wire format for these columns in this mode, and its name in the report.
    fn wire_format(&self, columns: &[Column], mode: Mode) -> (WireFormat, &'static str);

    /// The table's columns and types; `None` when there is no such table.
    fn introspect(
        &mut self,
        name: &TableName,
    ) -> impl Future<Output = Result<Option<Table>>> + Send;

    /// Tables the user may have meant by a name that named none: of the same name but for
    /// case, in any schema (or database) the role can see. What a "does not exist" names, so
    /// that a table outside the search path, or one an ORM named in mixed case, is found
    /// by its exact name. The embedded default, whose names ignore case, has none.
    fn tables_named_like(
        &mut self,
        name: &TableName,
    ) -> impl Future<Output = Result<Vec<TableName>>> + Send {
        let _ = name;
        async { Ok(Vec::new()) }
    }

    /// Runs a `CREATE TABLE` made by inference.
    fn create_table(
        &mut self,
        sql: &str,
        name: &TableName,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Spreads a table this load just created over a cluster's nodes by `column` (Citus'
    /// `create_distributed_table`). Only a distributed database can.
    fn distribute(
        &mut self,
        _name: &TableName,
        _column: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        async {
            Err(crate::error::Error::config(
                "--distribute-by spreads a table over a Citus cluster: the target is not a Citus coordinator",
            ))
        }
    }

    /// The unique keys an upsert's conflict target can name.
    fn unique_keys(&mut self, table: &Table)
        -> impl Future<Output = Result<Vec<UniqueKey>>> + Send;

    /// The bookkeeping connection, as the ledger its statements run on.
    type Ledger<'a>: Ledger + Send
    where
        Self: 'a;

    /// The ledger: the bookkeeping connection.
    fn ledger(&mut self) -> impl Future<Output = Result<Self::Ledger<'_>>> + Send;

    /// Takes the lock of the load `key` for as long as the bookkeeping connection lasts (a
    /// crash lets go of it): false when another run of the load holds it. Two runs of one
    /// load at once (an overlapping schedule, a retried job) would each load the chunks the
    /// other has not committed yet; their chunk boundaries differ once chunks are sized from
    /// measurement, so a checkpoint's key would not tell them apart. SQLite takes one writer
    /// at a time and needs none.
    fn lock_load(&mut self, _key: &str) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(true) }
    }

    /// Finds (creating the bookkeeping table when needed) this load's checkpoints.
    fn start_checkpoints(
        &mut self,
        table: String,
        key: &crate::checkpoint::LoadKey,
        earlier: crate::checkpoint::Earlier,
        share: Option<crate::split::Split>,
    ) -> impl Future<Output = Result<Start>> + Send {
        async move {
            let mut ledger = self.ledger().await?;
            Checkpoints::start(&mut ledger, table, key, earlier, share).await
        }
    }

    /// Marks the load complete in the bookkeeping table.
    fn mark_done(&mut self, checkpoints: &Checkpoints) -> impl Future<Output = Result<()>> + Send {
        async move {
            let mut ledger = self.ledger().await?;
            checkpoints.mark_done(&mut ledger).await.map(|_| ())
        }
    }

    /// At the start of a resumable load: where `leave_out`, leaves out of an empty table,
    /// until [`Backend::build_indexes`], the indexes that no row can fail (PostgreSQL's
    /// `sink::postgres::pending_indexes`, MySQL's `sink::mysql::pending_indexes`). First builds any that another load left out (and
    /// this load's own too, unless `leave_out`). Returns whether indexes are left out for this
    /// load.
    ///
    /// `load` is the id they are recorded under: the load's own, or for the files of a load of
    /// several, the first file's.
    fn defer_indexes(
        &mut self,
        _table: &Table,
        _checkpoints: &Checkpoints,
        _load: &str,
        _leave_out: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(false) }
    }

    /// Builds the indexes [`Backend::defer_indexes`] left out, on up to `connections`
    /// connections at once; returns how many this process built.
    fn build_indexes(
        &mut self,
        _table: &Table,
        _checkpoints: &Checkpoints,
        _connections: usize,
    ) -> impl Future<Output = Result<usize>> + Send {
        async { Ok(0) }
    }

    /// After a load, raises the sequences behind `columns` (the ones it wrote) past the values
    /// loaded (PostgreSQL's `sink::postgres::sequences`); returns those it raised. MySQL's
    /// `AUTO_INCREMENT` and SQLite's rowid follow the largest value by themselves.
    fn raise_sequences(
        &mut self,
        _table: &Table,
        _columns: &[Column],
    ) -> impl Future<Output = Result<Vec<Raised>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Whether the table holds no row.
    fn is_empty(&mut self, table: &Table) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let name = table.quoted_in(self.dialect());
            let mut ledger = self.ledger().await?;
            crate::checkpoint::is_empty(&mut ledger, &name).await
        }
    }

    /// Drops `table`, which this load created, when it holds no row; returns whether it did.
    /// A load that failed before any row went in then leaves no table behind whose columns'
    /// types came from a run the next one corrects (`--encoding`, `--decimal-comma`,
    /// `--null`, a larger `--sample-rows`): that run creates it again from what it reads.
    fn drop_if_empty(&mut self, table: &Table) -> impl Future<Output = Result<bool>> + Send {
        async move {
            if !self.is_empty(table).await? {
                return Ok(false);
            }
            let name = table.quoted_in(self.dialect());
            let mut ledger = self.ledger().await?;
            ledger
                .execute(
                    &format!("DROP TABLE {name}"),
                    &[],
                    &format!("dropping {name}"),
                )
                .await?;
            Ok(true)
        }
    }

    /// Whether the session reads local timestamps as UTC (so the client may convert them).
    fn session_is_utc(&mut self) -> impl Future<Output = Result<bool>> + Send;

    /// The session time zone's offset from UTC in seconds when it is a fixed offset, `None`
    /// for a zone with daylight saving (MySQL's client converts and checks timestamps in it).
    fn session_offset(&mut self) -> impl Future<Output = Result<Option<i64>>> + Send {
        async { Ok(Some(0)) }
    }

    /// The writers of a load: `workers` of them where the database takes concurrent writers
    /// (fewer when it has fewer connection slots), one where it does not or the load is one
    /// transaction.
    fn sinks(
        &mut self,
        plan: Plan,
        workers: usize,
        progress: Arc<Progress>,
    ) -> impl Future<Output = Result<Vec<Self::Sink>>> + Send;
}
