//! Indexes that no row can fail, built at the end of a resumable load into an empty table.
//!
//! A resumable load commits chunk by chunk from several connections, so unlike an `--atomic`
//! load ([`super::deferred`]) it cannot hide the table while its indexes are gone: other
//! sessions see every committed chunk. What it can leave out while it loads is what those
//! sessions cannot tell apart from the table with all its indexes: an index that is no
//! constraint and can refuse no row. Those are kept up to date row by row at great cost (the
//! bench table with three such indexes beside its primary key: 7.1 s for 1M rows with them in
//! place, 1.9 s without them plus 1.1 s to build them at the end), so an empty table's are
//! dropped when the load starts and built once when it ends. The primary key, unique and
//! exclusion constraints stay in place throughout, so the table never holds a row that they
//! would refuse.
//!
//! An index may wait only if building it cannot fail on rows the table accepted: not unique,
//! no expression, no predicate (either could raise an error on some row), every key column of
//! a fixed-size type (a long text value can exceed a B-tree entry's limit), and an access
//! method among btree, hash and brin. Nothing else may hang on it: no constraint, no comment,
//! no statistics settings, no tablespace of its own, no CLUSTER.
//!
//! The definitions (`pg_get_indexdef`, the server's own) are recorded in a table beside the
//! checkpoints, in the transaction that drops the indexes, and each is deleted in the
//! transaction that builds its index again. So a kill or a crash at any moment leaves every
//! index either in place or recorded: the same command run again resumes the load and builds
//! them at its end, and a load of anything else into that table builds them before it starts.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_postgres::{Client, GenericClient};

use crate::error::{Error, Result};
use crate::schema::TableName;
use crate::sink::pending::{self, Pending};

/// The recording table's name: the checkpoint table's, with this added.
const SUFFIX: &str = "_indexes";

/// The indexes of the table (`$1`, a quoted name) that may wait, with their definitions; none
/// when the table itself does not qualify (not a plain table of this role, on Citus, a
/// partition).
const CANDIDATES: &str = "\
SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname), pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
WHERE c.oid = pg_catalog.to_regclass($1)
  AND c.relkind = 'r' AND NOT c.relispartition
  AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus')
  AND ic.relkind = 'i' AND am.amname IN ('btree', 'hash', 'brin')
  AND NOT i.indisunique AND NOT i.indisexclusion AND NOT i.indisprimary
  AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisclustered
  AND NOT i.indisreplident AND ic.reltablespace = 0
  AND i.indexprs IS NULL AND i.indpred IS NULL
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                  WHERE a.attrelid = i.indexrelid AND (t.typlen < 0 OR a.attstattarget > 0))
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_description d
                  WHERE d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::regclass)
ORDER BY 1";

/// Where the indexes a load left out of a table are recorded.
#[derive(Clone, Debug)]
pub struct PendingIndexes {
    /// The recording table, quoted.
    ledger: String,
    /// The loaded table, quoted.
    table: String,
}

impl PendingIndexes {
    /// For `table` (quoted), recorded beside the checkpoint table `checkpoints` (quoted).
    ///
    /// # Errors
    /// A checkpoint table name that does not parse (it was built by barge, so a bug).
    pub fn new(checkpoints: &str, table: &str) -> Result<Self> {
        let cp = TableName::parse(checkpoints)?;
        let ledger = TableName {
            schema: cp.schema,
            name: format!("{}{SUFFIX}", cp.name),
        };
        Ok(PendingIndexes {
            ledger: ledger.quoted(),
            table: table.to_string(),
        })
    }

    /// The indexes recorded for the table, by name, with the load that left them out; none
    /// when nothing was ever recorded here.
    async fn recorded(&self, client: &Client) -> Result<Vec<(String, String)>> {
        let ctx = |e| Error::db(format!("reading {}", self.ledger), e);
        let exists = client
            .query_one(
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                &[&self.ledger],
            )
            .await
            .and_then(|r| r.try_get::<_, bool>(0))
            .map_err(ctx)?;
        if !exists {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT index_name, load_id FROM {} \
             WHERE table_oid = pg_catalog.to_regclass($1)::oid ORDER BY 1",
            self.ledger
        );
        let rows = client.query(&sql, &[&self.table]).await.map_err(ctx)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(ctx)?, r.try_get(1).map_err(ctx)?)))
            .collect()
    }

    /// At the start of load `load_id`: returns whether indexes of the table are left out for
    /// this load (to be built by [`PendingIndexes::build`] at its end), as
    /// [`crate::sink::pending::defer`] decides. Into an empty table, the indexes that may wait
    /// are dropped and recorded in one transaction under an exclusive lock.
    pub async fn defer(&self, client: &mut Client, load_id: &str, leave_out: bool) -> bool {
        let mut on = OnClient {
            pending: self,
            client,
        };
        pending::defer(&mut on, load_id, leave_out).await
    }

    /// Whether the table holds no row, asked on `db` (a connection or a transaction on it).
    async fn is_empty(
        &self,
        db: &impl GenericClient,
    ) -> std::result::Result<bool, tokio_postgres::Error> {
        let sql = format!("SELECT NOT EXISTS (SELECT FROM {})", self.table);
        db.query_one(&sql, &[]).await?.try_get(0)
    }

    /// Drops the indexes that may wait and records them; how many (none when the table holds
    /// rows).
    ///
    /// # Errors
    /// What stood in the way.
    async fn drop_and_record(&self, client: &mut Client, load_id: &str) -> Result<usize> {
        let text = |e: tokio_postgres::Error| Error::db("leaving indexes out", e);
        let candidates = client
            .query(CANDIDATES, &[&self.table])
            .await
            .map_err(text)?;
        if candidates.is_empty() {
            return Ok(0);
        }
        // Looked at before locking: a table that holds rows (a load into a busy table) must
        // not wait for, nor hold up, the sessions using it.
        if !self.is_empty(&*client).await.map_err(text)? {
            return Ok(0);
        }
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (\
                   table_oid oid NOT NULL, table_name text NOT NULL, index_name text NOT NULL, \
                   definition text NOT NULL, load_id text NOT NULL, \
                   dropped_at timestamptz NOT NULL DEFAULT now(), \
                   PRIMARY KEY (table_oid, index_name))",
                self.ledger
            ))
            .await
            .map_err(text)?;
        let tx = client.transaction().await.map_err(text)?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '5s'; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            self.table
        ))
        .await
        .map_err(text)?;
        // Under the lock, again: another process of this load (`--split`) may have been first.
        if !self.is_empty(&tx).await.map_err(text)? {
            return Ok(0);
        }
        let candidates = tx.query(CANDIDATES, &[&self.table]).await.map_err(text)?;
        let insert = format!(
            "INSERT INTO {} (table_oid, table_name, index_name, definition, load_id) \
             VALUES (pg_catalog.to_regclass($1)::oid, $1, $2, $3, $4)",
            self.ledger
        );
        for row in &candidates {
            let name: String = row.try_get(0).map_err(text)?;
            let definition: String = row.try_get(1).map_err(text)?;
            tx.execute(&insert, &[&self.table, &name, &definition, &load_id])
                .await
                .map_err(text)?;
            // `name` is schema-qualified and quoted by the server (`format('%I.%I')`), so
            // that it means the same index whatever a later run's search_path.
            tx.batch_execute(&format!("DROP INDEX {name}"))
                .await
                .map_err(text)?;
        }
        tx.commit().await.map_err(text)?;
        Ok(candidates.len())
    }

    /// Builds every index recorded for the table, spread over `clients`, each in a
    /// transaction that also deletes its record. An index of the same name made in the
    /// meantime is kept, and its record dropped. Several processes may build at once (the
    /// shares of a `--split` load): the record's row lock lets one of them build each index.
    ///
    /// # Errors
    /// The server's; what was not built stays recorded, for the next load into the table.
    pub async fn build(&self, clients: &mut [Client]) -> Result<usize> {
        let names: Vec<String> = match clients.first() {
            Some(c) => self
                .recorded(c)
                .await?
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            None => return Ok(0),
        };
        if names.is_empty() {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let queue = Arc::new(Mutex::new(names));
        let builders = clients
            .iter_mut()
            .map(|c| self.build_from(c, queue.clone()));
        let count = futures_util::future::try_join_all(builders)
            .await?
            .into_iter()
            .sum();
        tracing::info!(
            table = %self.table,
            indexes = count,
            ms = started.elapsed().as_millis() as u64,
            "built the indexes left out while the table loaded"
        );
        Ok(count)
    }

    /// One connection's share of [`PendingIndexes::build`]: takes names until none is left;
    /// returns how many it built.
    async fn build_from(
        &self,
        client: &mut Client,
        queue: Arc<Mutex<Vec<String>>>,
    ) -> Result<usize> {
        let mut built = 0;
        let take = format!(
            "DELETE FROM {} WHERE table_oid = pg_catalog.to_regclass($1)::oid AND index_name = $2 \
             RETURNING definition, pg_catalog.to_regclass(index_name) IS NOT NULL",
            self.ledger
        );
        loop {
            let Some(name) = queue.lock().await.pop() else {
                return Ok(built);
            };
            let ctx = |e| Error::db(format!("building index {name} of {}", self.table), e);
            let tx = client.transaction().await.map_err(ctx)?;
            let Some(row) = tx
                .query_opt(&take, &[&self.table, &name])
                .await
                .map_err(ctx)?
            else {
                // Another process built it.
                continue;
            };
            let definition: String = row.try_get(0).map_err(ctx)?;
            let exists: bool = row.try_get(1).map_err(ctx)?;
            if exists {
                tracing::warn!(
                    table = %self.table,
                    index = %name,
                    "an index of that name was made while the load ran: kept as it is"
                );
            } else {
                // A role's statement_timeout bounds its own statements; this one puts back what
                // barge took away, and must finish however long the table has grown.
                tx.batch_execute("SET LOCAL statement_timeout = 0")
                    .await
                    .map_err(ctx)?;
                tx.batch_execute(&definition).await.map_err(ctx)?;
                built += 1;
            }
            tx.commit().await.map_err(ctx)?;
        }
    }
}

/// [`PendingIndexes`] on one connection, for [`pending::defer`].
struct OnClient<'a> {
    pending: &'a PendingIndexes,
    client: &'a mut Client,
}

impl Pending for OnClient<'_> {
    fn table(&self) -> &str {
        &self.pending.table
    }

    fn ledger(&self) -> &str {
        &self.pending.ledger
    }

    async fn recorded(&mut self) -> Result<Vec<(String, String)>> {
        self.pending.recorded(self.client).await
    }

    async fn build(&mut self) -> Result<usize> {
        self.pending.build(std::slice::from_mut(self.client)).await
    }

    async fn drop_and_record(&mut self, load_id: &str) -> Result<usize> {
        self.pending.drop_and_record(self.client, load_id).await
    }
}
