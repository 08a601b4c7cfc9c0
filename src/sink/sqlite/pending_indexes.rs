//! Indexes that no row can fail, built at the end of a resumable load into an empty table:
//! SQLite's side of PostgreSQL's `sink::postgres::pending_indexes`.
//!
//! SQLite keeps every index up to date row by row, each insert a lookup in a B-tree that
//! soon outgrows its page cache: 1M bench rows into a table with three plain indexes took
//! 33 s (19 s of it in the kernel, reading and writing index pages), against 1.8 s without
//! them plus 1.8 s for `CREATE INDEX` x3 afterwards. Other connections see every committed
//! chunk, so what may wait is only what they cannot tell apart from the table with all its
//! indexes: an index made by `CREATE INDEX` (not a `PRIMARY KEY` or `UNIQUE` constraint's),
//! not unique, with no expression and no `WHERE` (either could raise an error on some row).
//!
//! SQLite's DDL is transactional, so this is PostgreSQL's scheme exactly: the definitions
//! (`sqlite_schema.sql`, the statement that made each index) are recorded in the transaction
//! that drops the indexes, and deleted in the one that builds them again. A kill at any moment
//! leaves every index in place or recorded: the same command run again resumes and builds them
//! at its end, and a load of anything else into that table builds them before it starts. The
//! indexes built again come after the others in `sqlite_schema` (what `.schema` prints in
//! order); each one's statement is the same.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ident::quote_ident;
use crate::schema::{Table, TableName};
use crate::sink::pending::{self, Pending};

/// The recording table's name: the checkpoint table's, with this added.
const SUFFIX: &str = "_indexes";

/// The one schema whose tables leave indexes out.
const MAIN: &str = "main";

/// Where the indexes a load left out of a table are recorded.
#[derive(Clone, Debug)]
pub struct PendingIndexes {
    /// The recording table, quoted.
    ledger: String,
    /// The recording table's own name.
    ledger_name: String,
    /// The schema both tables live in (`main`), quoted.
    schema: String,
    /// The loaded table's own name.
    name: String,
    /// The loaded table, quoted.
    table: String,
}

impl PendingIndexes {
    /// For `table`, recorded beside the checkpoint table `checkpoints` (quoted); `None` for a
    /// table outside the `main` schema (an index's statement names no schema, so it would be
    /// made again in `main`).
    ///
    /// # Errors
    /// A checkpoint table name that does not parse (barge built it, so a bug).
    pub fn new(checkpoints: &str, table: &Table) -> Result<Option<Self>> {
        let cp = TableName::parse(checkpoints)?;
        if table.schema != MAIN || cp.schema.as_deref().is_some_and(|s| s != MAIN) {
            return Ok(None);
        }
        let ledger_name = format!("{}{SUFFIX}", cp.name);
        let schema = quote_ident(MAIN);
        Ok(Some(PendingIndexes {
            ledger: format!("{schema}.{}", quote_ident(&ledger_name)),
            ledger_name,
            schema,
            name: table.name.clone(),
            table: table.quoted(),
        }))
    }

    /// At the start of load `load_id`: returns whether indexes of the table are left out for
    /// this load (to be built by [`PendingIndexes::build`] at its end), as
    /// [`crate::sink::pending::defer`] decides. Into an empty table, the indexes that may wait
    /// are recorded and dropped in one transaction.
    pub async fn defer(&self, conn: &mut Connection, load_id: &str, leave_out: bool) -> bool {
        pending::defer(
            &mut OnConnection {
                pending: self,
                conn,
            },
            load_id,
            leave_out,
        )
        .await
    }

    /// The indexes recorded for the table, by name, with the load that left them out; none
    /// when nothing was ever recorded here.
    fn recorded(&self, conn: &Connection) -> Result<Vec<(String, String)>> {
        let ctx = |e| Error::sqlite(format!("reading {}", self.ledger), e);
        let exists: bool = conn
            .query_row(
                &format!(
                    "SELECT count(*) > 0 FROM {}.sqlite_schema WHERE type = 'table' AND name = ?1",
                    self.schema
                ),
                [&self.ledger_name],
                |r| r.get(0),
            )
            .map_err(ctx)?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut stmt = conn
            .prepare(&format!(
                "SELECT index_name, load_id FROM {} WHERE table_name = ?1 ORDER BY position",
                self.ledger
            ))
            .map_err(ctx)?;
        let rows = stmt
            .query_map([&self.name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(ctx)?;
        rows.collect::<rusqlite::Result<_>>().map_err(ctx)
    }

    /// The indexes of the table that may wait, as (name, the statement that made it), in the
    /// order they were made.
    fn candidates(&self, conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
        let mut stmt = conn.prepare(&format!(
            "SELECT m.name, m.sql FROM {schema}.sqlite_schema m \
             JOIN pragma_index_list(?1, ?2) l ON l.name = m.name \
             WHERE m.type = 'index' AND m.tbl_name = ?1 AND m.sql IS NOT NULL \
               AND l.\"unique\" = 0 AND l.partial = 0 AND l.origin = 'c' \
               AND NOT EXISTS (SELECT 1 FROM pragma_index_xinfo(m.name, ?2) x \
                               WHERE x.key AND x.cid < 0) \
             ORDER BY m.rowid",
            schema = self.schema
        ))?;
        let rows = stmt.query_map([self.name.as_str(), MAIN], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// Whether the table holds no row.
    fn is_empty(&self, conn: &Connection) -> rusqlite::Result<bool> {
        conn.query_row(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", self.table),
            [],
            |r| r.get(0),
        )
    }

    /// Records and drops the indexes that may wait, in one transaction; how many (none when
    /// the table holds rows).
    fn drop_and_record(&self, conn: &mut Connection, load_id: &str) -> Result<usize> {
        let ctx = |e| Error::sqlite(format!("leaving the indexes of {} out", self.table), e);
        if self.candidates(conn).map_err(ctx)?.is_empty() || !self.is_empty(conn).map_err(ctx)? {
            return Ok(0);
        }
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} (\
               table_name text NOT NULL, index_name text NOT NULL, definition text NOT NULL, \
               position integer NOT NULL, load_id text NOT NULL, \
               dropped_at text NOT NULL DEFAULT CURRENT_TIMESTAMP, \
               PRIMARY KEY (table_name, index_name))",
            self.ledger
        ))
        .map_err(ctx)?;
        // IMMEDIATE: the write lock first, so that no other process of this load (`--split`)
        // fills the table or drops its indexes between the look and the drop.
        let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(ctx)?;
        if !self.is_empty(&tx).map_err(ctx)? {
            return Ok(0);
        }
        let candidates = self.candidates(&tx).map_err(ctx)?;
        let insert = format!(
            "INSERT INTO {} (table_name, index_name, definition, position, load_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            self.ledger
        );
        for (position, (name, definition)) in candidates.iter().enumerate() {
            tx.execute(
                &insert,
                rusqlite::params![self.name, name, definition, position as i64, load_id],
            )
            .map_err(ctx)?;
            tx.execute_batch(&format!("DROP INDEX {}.{}", self.schema, quote_ident(name)))
                .map_err(ctx)?;
        }
        tx.commit().map_err(ctx)?;
        Ok(candidates.len())
    }

    /// Builds every index recorded for the table, in one transaction that also deletes their
    /// records; returns how many it built. An index of the same name made in the meantime is
    /// kept (and said), its record dropped.
    ///
    /// # Errors
    /// SQLite's; what was not built stays recorded, for the next load into the table.
    pub fn build(&self, conn: &mut Connection) -> Result<usize> {
        let ctx = |e| {
            Error::sqlite(
                format!(
                    "building the indexes left out of {} while it loaded (recorded in {})",
                    self.table, self.ledger
                ),
                e,
            )
        };
        if self.recorded(conn)?.is_empty() {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let tx = rusqlite::Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(ctx)?;
        // Read again under the lock: another process of this load may have built them.
        let recorded: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT index_name, definition FROM {} WHERE table_name = ?1 ORDER BY position",
                    self.ledger
                ))
                .map_err(ctx)?;
            let rows = stmt
                .query_map([&self.name], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(ctx)?;
            rows.collect::<rusqlite::Result<_>>().map_err(ctx)?
        };
        let mut built = 0;
        for (name, definition) in &recorded {
            let present: Option<String> = tx
                .query_row(
                    &format!(
                        "SELECT sql FROM {}.sqlite_schema WHERE type = 'index' AND name = ?1 \
                         COLLATE NOCASE",
                        self.schema
                    ),
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(ctx)?;
            match present {
                Some(sql) => {
                    if sql != *definition {
                        tracing::warn!(
                            table = %self.table,
                            index = %name,
                            "an index of that name was made while the load ran: kept as it is"
                        );
                    }
                }
                None => {
                    tx.execute_batch(definition).map_err(ctx)?;
                    built += 1;
                }
            }
        }
        tx.execute(
            &format!("DELETE FROM {} WHERE table_name = ?1", self.ledger),
            [&self.name],
        )
        .map_err(ctx)?;
        tx.commit().map_err(ctx)?;
        tracing::info!(
            table = %self.table,
            indexes = built,
            ms = started.elapsed().as_millis() as u64,
            "built the indexes left out while the table loaded"
        );
        Ok(built)
    }
}

/// [`PendingIndexes`] on the bookkeeping connection, for [`pending::defer`]. (SQLite's calls
/// are synchronous; they are few and run before the rows.)
struct OnConnection<'a> {
    pending: &'a PendingIndexes,
    conn: &'a mut Connection,
}

impl Pending for OnConnection<'_> {
    fn table(&self) -> &str {
        &self.pending.table
    }

    fn ledger(&self) -> &str {
        &self.pending.ledger
    }

    async fn recorded(&mut self) -> Result<Vec<(String, String)>> {
        self.pending.recorded(self.conn)
    }

    async fn build(&mut self) -> Result<usize> {
        self.pending.build(self.conn)
    }

    async fn drop_and_record(&mut self, load_id: &str) -> Result<usize> {
        self.pending.drop_and_record(self.conn, load_id)
    }
}
