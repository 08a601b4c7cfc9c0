//! Indexes built at the end of an atomic load into an empty table.
//!
//! Keeping an index up to date row by row costs the server far more than building it once
//! from the finished table: into the bench table with its primary key and three more indexes,
//! an `--atomic` load of 1M rows took 13.5 s with the indexes in place and 4.2 s loaded bare
//! with the four built at the end (one index: 2.98 s against 2.88 s; medians of 3,
//! `bench/indexes.sh`).
//!
//! It is done only where it is safe, inside the load's one transaction: the table is locked
//! (ACCESS EXCLUSIVE) before anything is dropped, so no other session sees it without its
//! constraints, or at all, until the load commits with every index built again; a kill, a
//! crash or a failure rolls the whole transaction back, indexes included. The definitions are
//! the server's own (`pg_get_indexdef`, `pg_get_constraintdef`, as pg_dump takes them), and
//! a table whose indexes carry anything those do not restore (a tablespace, a comment,
//! statistics settings, CLUSTER, a replica identity, other tables' foreign keys, a parent
//! table's indexes they are attached to) keeps them.
//! Rows that a unique index refuses when it is built cannot be told apart there: the load is
//! rolled back and runs again with the indexes in place, which finds them with their lines.

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::ident::quote_ident;

/// What was dropped, as the statements that build it again.
#[derive(Debug)]
pub struct Deferred {
    /// `ALTER TABLE ... ADD CONSTRAINT ...` and `CREATE INDEX ...`, in that order.
    rebuild: Vec<String>,
}

/// The context of the error raised when a rebuilt index refuses rows (see
/// [`is_refused_rebuild`]).
const REBUILD: &str = "building the table's indexes at the end of the load";

/// Why a table keeps its indexes, or `NULL`: checked in one query, before anything is locked.
const WHY_NOT: &str = "\
SELECT CASE
  WHEN EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus')
    THEN 'the server is a Citus coordinator'
  WHEN c.relkind <> 'r' THEN 'it is not a plain table'
  WHEN c.relispartition THEN 'it is a partition (its indexes belong to its parent''s)'
  WHEN NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN 'the role does not own it'
  WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid)
    THEN 'it has no index'
  WHEN c.relreplident = 'i' THEN 'an index is its replica identity'
  WHEN EXISTS (SELECT FROM pg_catalog.pg_constraint f WHERE f.confrelid = c.oid)
    THEN 'foreign keys of other tables reference it'
  WHEN EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
               WHERE i.indrelid = c.oid
                 AND (NOT i.indisvalid OR NOT i.indisready OR i.indisclustered OR ic.reltablespace <> 0))
    THEN 'an index is not valid, is clustered on, or has a tablespace of its own'
  WHEN EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indexrelid
               WHERE i.indrelid = c.oid AND a.attstattarget > 0)
    THEN 'an index has statistics settings'
  WHEN EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_description d
                 ON d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::regclass
               WHERE i.indrelid = c.oid)
    OR EXISTS (SELECT FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_description d
                 ON d.objoid = k.oid AND d.classoid = 'pg_catalog.pg_constraint'::regclass
               WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x'))
    THEN 'an index or constraint has a comment'
  WHEN EXISTS (SELECT FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class ic ON ic.oid = k.conindid
               WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x') AND ic.relname <> k.conname)
    THEN 'a constraint''s index has a name of its own'
  END
FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)";

/// The constraints backed by an index (primary key first), then the other indexes.
const DEFINITIONS: &str = "\
SELECT 'c', k.conname::text, pg_catalog.pg_get_constraintdef(k.oid)
FROM pg_catalog.pg_constraint k
WHERE k.conrelid = pg_catalog.to_regclass($1) AND k.contype IN ('p', 'u', 'x')
UNION ALL
SELECT 'i', i.indexrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
WHERE i.indrelid = pg_catalog.to_regclass($1)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k
                  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
ORDER BY 1, 2";

/// Inside the load's open transaction on `client`: if `table` (quoted) is empty and its
/// indexes can be built again exactly, locks it, drops them and returns what builds them
/// again; otherwise leaves it as it was (lock included) and says why at `-v`.
///
/// # Errors
/// The server's, for a catalog query or a statement that fails.
pub async fn drop_indexes(client: &Client, table: &str) -> Result<Option<Deferred>> {
    let ctx = |e| {
        Error::db(
            format!("preparing to build the indexes of {table} at the end"),
            e,
        )
    };
    let why: Option<String> = client
        .query_opt(WHY_NOT, &[&table])
        .await
        .map_err(ctx)?
        .and_then(|row| row.try_get::<_, Option<String>>(0).ok().flatten());
    if let Some(why) = why {
        tracing::info!(table, "the table keeps its indexes while it loads: {why}");
        return Ok(None);
    }
    let is_empty = || async {
        client
            .query_one(&format!("SELECT NOT EXISTS (SELECT FROM {table})"), &[])
            .await
            .and_then(|row| row.try_get::<_, bool>(0))
            .map_err(ctx)
    };
    // Looked at before locking: a table that holds rows (the common case of a load into a
    // busy table) must not wait for, and hold up, the sessions reading it.
    if !is_empty().await? {
        tracing::info!(
            table,
            "the table keeps its indexes while it loads: it holds rows"
        );
        return Ok(None);
    }
    // Locks taken under a savepoint that is rolled back are released: a table that gained
    // rows before the lock was granted is loaded as it would have been, without the lock.
    client
        .batch_execute(&format!(
            "SAVEPOINT barge_indexes; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        ))
        .await
        .map_err(ctx)?;
    if !is_empty().await? {
        return keep(client, table, "it holds rows").await;
    }
    let mut drop = Vec::new();
    let mut rebuild = Vec::new();
    for row in client.query(DEFINITIONS, &[&table]).await.map_err(ctx)? {
        let kind: String = row.try_get(0).map_err(ctx)?;
        let name: String = row.try_get(1).map_err(ctx)?;
        let definition: String = row.try_get(2).map_err(ctx)?;
        if kind == "c" {
            let name = quote_ident(&name);
            drop.push(format!("ALTER TABLE {table} DROP CONSTRAINT {name}"));
            rebuild.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
            ));
        } else {
            // `name` is the server's own rendering of the index as a regclass: quoted where
            // it needs to be, and schema-qualified unless the schema is on the search path.
            drop.push(format!("DROP INDEX {name}"));
            rebuild.push(definition);
        }
    }
    drop.push("RELEASE SAVEPOINT barge_indexes".into());
    if let Err(e) = client.batch_execute(&drop.join("; ")).await {
        // Something the checks above did not foresee (an event trigger, a dependency): the
        // table loads with its indexes, as it would have without this.
        let why = format!("dropping them failed: {}", Error::db("dropping them", e));
        return keep(client, table, &why).await;
    }
    tracing::info!(
        table,
        indexes = rebuild.len(),
        "the table is empty: its indexes are built at the end of the load, in its transaction"
    );
    Ok(Some(Deferred { rebuild }))
}

/// Undoes what was done under the savepoint (the lock included) and says why the table keeps
/// its indexes.
async fn keep(client: &Client, table: &str, why: &str) -> Result<Option<Deferred>> {
    client
        .batch_execute("ROLLBACK TO SAVEPOINT barge_indexes; RELEASE SAVEPOINT barge_indexes")
        .await
        .map_err(|e| Error::db(format!("keeping the indexes of {table}"), e))?;
    tracing::info!(table, "the table keeps its indexes while it loads: {why}");
    Ok(None)
}

impl Deferred {
    /// Builds the indexes again, before the load's transaction commits.
    ///
    /// # Errors
    /// An error [`is_refused_rebuild`] recognises when an index refuses rows (duplicate keys,
    /// an exclusion conflict); the server's otherwise.
    pub async fn rebuild(self, client: &Client) -> Result<()> {
        for sql in &self.rebuild {
            client
                .batch_execute(sql)
                .await
                .map_err(|e| Error::db(REBUILD, e))?;
        }
        Ok(())
    }
}

/// Whether `e` is a rebuilt index refusing rows the load wrote: the load is then run again
/// with the indexes in place, to find those rows.
pub fn is_refused_rebuild(e: &Error) -> bool {
    matches!(e.kind(), crate::ErrorKind::Database { context, .. } if context == REBUILD)
        && matches!(e.sqlstate(), Some("23505" | "23P01"))
}
