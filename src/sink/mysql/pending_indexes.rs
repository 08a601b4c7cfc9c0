//! Secondary indexes that no row can fail, built at the end of a resumable load into an empty
//! InnoDB table: MySQL's side of PostgreSQL's `sink::postgres::pending_indexes`.
//!
//! InnoDB keeps every secondary index up to date row by row while `LOAD DATA` inserts, which
//! costs far more than building it once from sorted rows: 1M bench rows into a table with three
//! plain `KEY`s took 15.4 s, against 4.0 s without them plus 3.1 s for one `ALTER TABLE ... ADD
//! KEY` of all three afterwards. Other sessions see every committed chunk, so what may wait is
//! only what they cannot tell apart from the table with all its indexes: a `KEY` that is no
//! constraint and refuses no row. The primary key and every `UNIQUE` key stay in place.
//!
//! A `KEY` may wait when it is a B-tree or hash index of plain columns (no generated column, no
//! expression: either could raise an error on some row) on an InnoDB base table that no foreign
//! key leaves from or points to (InnoDB wants an index behind every foreign key). Its clause is
//! the server's own, a line of `SHOW CREATE TABLE`, so that comments, prefixes, order and
//! visibility come back as they were.
//!
//! MySQL's DDL commits by itself, so the record cannot share a transaction with the drop, as on
//! PostgreSQL. The clauses are recorded (and committed) first, then dropped in one `ALTER
//! TABLE`; they are added back in one `ALTER TABLE`, then their records deleted. A kill or a
//! crash between the two steps leaves a record of an index that is in place, which the build
//! takes for built. So at any moment every index is in place or recorded, and the same command
//! run again resumes the load and builds them at its end; a load of anything else into the
//! table builds them before it starts. A named lock (`GET_LOCK`) keeps two barge processes
//! (the shares of a `--split` load) from dropping or building at once.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::error::{Error, Result};
use crate::ident::Dialect;
use crate::schema::Table;
use crate::sink::pending::{self, Pending};

/// The recording table's name: the checkpoint table's, with this added.
const SUFFIX: &str = "_indexes";

/// How long the start waits for the table's metadata lock, and for another barge process
/// deciding about the same table, before it loads with the indexes in place: a table that
/// sessions are using must not be held up by a drop waiting behind them.
const START_WAIT_SECONDS: i64 = 5;

/// How long a build waits for another barge process building the same indexes.
const BUILD_WAIT_SECONDS: i64 = 86_400;

/// Whether the table can leave indexes out at all: an InnoDB base table, with no foreign key
/// from or to it.
const TABLE_QUALIFIES: &str = "\
SELECT count(*) FROM information_schema.tables t
WHERE t.table_schema = ? AND t.table_name = ?
  AND t.table_type = 'BASE TABLE' AND t.engine = 'InnoDB'
  AND NOT EXISTS (SELECT 1 FROM information_schema.referential_constraints r
                  WHERE (r.constraint_schema = t.table_schema AND r.table_name = t.table_name)
                     OR (r.unique_constraint_schema = t.table_schema
                         AND r.referenced_table_name = t.table_name))";

/// The table's indexes that may wait: not unique, B-tree or hash, every part a column that is
/// not generated.
const CANDIDATES: &str = "\
SELECT s.index_name FROM information_schema.statistics s
LEFT JOIN information_schema.columns c
  ON c.table_schema = s.table_schema AND c.table_name = s.table_name
 AND c.column_name = s.column_name
WHERE s.table_schema = ? AND s.table_name = ?
GROUP BY s.index_name
HAVING MIN(s.non_unique) = 1 AND SUM(s.index_type NOT IN ('BTREE', 'HASH')) = 0
   AND SUM(c.column_name IS NULL) = 0
   AND SUM(COALESCE(c.generation_expression, '') <> '') = 0
ORDER BY s.index_name";

/// Where the indexes a load left out of a table are recorded.
#[derive(Clone, Debug)]
pub struct PendingIndexes {
    /// The recording table, quoted.
    ledger: String,
    /// The recording table's database (to ask whether it exists).
    ledger_schema: String,
    /// The recording table's own name.
    ledger_name: String,
    /// The loaded table's database.
    schema: String,
    /// The loaded table's own name.
    name: String,
    /// The loaded table, quoted.
    table: String,
}

impl PendingIndexes {
    /// For `table`, recorded beside the checkpoint table `checkpoints` (quoted, with its
    /// database).
    ///
    /// # Errors
    /// A checkpoint table name that is not a quoted `database`.`table` (barge built it, so a
    /// bug).
    pub fn new(checkpoints: &str, table: &Table) -> Result<Self> {
        let (ledger_schema, cp) = split_quoted(checkpoints).ok_or_else(|| {
            Error::internal(format!("checkpoint table name {checkpoints} is not quoted"))
        })?;
        let ledger_name = format!("{cp}{SUFFIX}");
        Ok(PendingIndexes {
            ledger: format!(
                "{}.{}",
                Dialect::Mysql.quote(&ledger_schema),
                Dialect::Mysql.quote(&ledger_name)
            ),
            ledger_schema,
            ledger_name,
            schema: table.schema.clone(),
            name: table.name.clone(),
            table: table.quoted_in(Dialect::Mysql),
        })
    }

    /// At the start of load `load_id`: returns whether indexes of the table are left out for
    /// this load (to be built by [`PendingIndexes::build`] at its end), as
    /// [`crate::sink::pending::defer`] decides, under the named lock. Into an empty table, the
    /// indexes that may wait are recorded, then dropped.
    pub async fn defer(&self, conn: &mut Conn, load_id: &str, leave_out: bool) -> bool {
        match self.lock(conn, START_WAIT_SECONDS).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(table = %self.table, "the table keeps its indexes while it loads: another barge process is deciding about them");
                return false;
            }
            Err(e) => {
                tracing::info!(table = %self.table, "the table keeps its indexes while it loads: {e}");
                return false;
            }
        }
        let deferred = pending::defer(
            &mut OnConn {
                pending: self,
                conn: &mut *conn,
            },
            load_id,
            leave_out,
        )
        .await;
        self.unlock(conn).await;
        deferred
    }

    /// Takes the named lock for this table, waiting up to `seconds`; `false` when another
    /// session held it all that time.
    async fn lock(&self, conn: &mut Conn, seconds: i64) -> Result<bool> {
        let got: Option<Option<i64>> = conn
            .exec_first(
                "SELECT GET_LOCK(CONCAT('barge:', SHA1(?)), ?)",
                (self.table.as_str(), seconds),
            )
            .await
            .map_err(|e| Error::mysql(format!("locking the indexes of {}", self.table), e))?;
        Ok(got.flatten() == Some(1))
    }

    /// Lets go of the named lock; a failure only means the connection is gone, and the lock
    /// with it.
    async fn unlock(&self, conn: &mut Conn) {
        let released: std::result::Result<Option<Option<i64>>, _> = conn
            .exec_first(
                "SELECT RELEASE_LOCK(CONCAT('barge:', SHA1(?)))",
                (self.table.as_str(),),
            )
            .await;
        if let Err(e) = released {
            tracing::debug!(table = %self.table, "releasing the index lock: {e}");
        }
    }

    /// The indexes recorded for the table, in their order; none when nothing was ever recorded
    /// here.
    async fn recorded(&self, conn: &mut Conn) -> Result<Vec<Recorded>> {
        let ctx = |e| Error::mysql(format!("reading {}", self.ledger), e);
        let exists: Option<i64> = conn
            .exec_first(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = ? AND table_name = ?",
                (self.ledger_schema.as_str(), self.ledger_name.as_str()),
            )
            .await
            .map_err(ctx)?;
        if exists.unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, String)> = conn
            .exec(
                format!(
                    "SELECT index_name, clause, load_id FROM {} \
                     WHERE table_schema = ? AND table_name = ? ORDER BY position",
                    self.ledger
                ),
                (self.schema.as_str(), self.name.as_str()),
            )
            .await
            .map_err(ctx)?;
        Ok(rows
            .into_iter()
            .map(|(name, clause, load_id)| Recorded {
                name,
                clause,
                load_id,
            })
            .collect())
    }

    /// The table's keys listed in the order they were made ([`made_in_order`]).
    async fn clauses(&self, conn: &mut Conn) -> Result<Vec<Option<(String, String)>>> {
        let shown: Option<(String, String)> = conn
            .query_first(format!("SHOW CREATE TABLE {}", self.table))
            .await
            .map_err(|e| Error::mysql(format!("reading the definition of {}", self.table), e))?;
        Ok(shown
            .map(|(_, create)| made_in_order(&create))
            .unwrap_or_default())
    }

    /// Records and drops the indexes that may wait; how many (none when the table holds rows).
    ///
    /// # Errors
    /// What stood in the way; nothing is left recorded for an index still in place.
    async fn drop_and_record(&self, conn: &mut Conn, load_id: &str) -> Result<usize> {
        let ctx = |what: &str| {
            let what = format!("{what} {}", self.table);
            move |e| Error::mysql(what, e)
        };
        let qualifies: Option<i64> = conn
            .exec_first(TABLE_QUALIFIES, (self.schema.as_str(), self.name.as_str()))
            .await
            .map_err(ctx("reading the keys of"))?;
        if qualifies.unwrap_or(0) == 0 {
            return Ok(0);
        }
        let names: Vec<String> = conn
            .exec(CANDIDATES, (self.schema.as_str(), self.name.as_str()))
            .await
            .map_err(ctx("reading the indexes of"))?;
        if names.is_empty() {
            return Ok(0);
        }
        // A table that holds rows (a load into a busy table) keeps its indexes: dropping them
        // would slow every session using it, and building them costs more than it saves.
        let empty: Option<i64> = conn
            .query_first(format!("SELECT NOT EXISTS (SELECT 1 FROM {})", self.table))
            .await
            .map_err(ctx("reading"))?;
        if empty != Some(1) {
            return Ok(0);
        }
        let keys = self.clauses(conn).await?;
        let waiting = waiting(&keys, &names);
        if waiting.is_empty() {
            return Ok(0);
        }
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (\
               table_schema varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
               table_name varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
               index_name varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
               clause text CHARACTER SET utf8mb4 NOT NULL, \
               position int NOT NULL, \
               load_id varchar(255) NOT NULL, \
               dropped_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
               PRIMARY KEY (table_schema, table_name, index_name)) ENGINE=InnoDB",
            self.ledger
        ))
        .await
        .map_err(|e| Error::mysql(format!("creating {}", self.ledger), e))?;
        // In the order the table had them (`SHOW CREATE TABLE` lists them as they were made),
        // so that they are made again in it.
        let placeholders = vec!["(?, ?, ?, ?, ?, ?)"; waiting.len()].join(", ");
        let mut params = Vec::with_capacity(waiting.len() * 6);
        for (position, (name, clause)) in waiting.iter().enumerate() {
            params.extend([
                self.schema.clone(),
                self.name.clone(),
                name.clone(),
                clause.clone(),
                position.to_string(),
                load_id.to_string(),
            ]);
        }
        conn.exec_drop(
            format!(
                "INSERT INTO {} (table_schema, table_name, index_name, clause, position, load_id) \
                 VALUES {placeholders}",
                self.ledger
            ),
            params,
        )
        .await
        .map_err(|e| Error::mysql(format!("recording the indexes of {}", self.table), e))?;
        let drops: Vec<String> = waiting
            .iter()
            .map(|(name, _)| format!("DROP INDEX {}", Dialect::Mysql.quote(name)))
            .collect();
        let dropped = self
            .alter_waiting(
                conn,
                &format!("ALTER TABLE {} {}", self.table, drops.join(", ")),
            )
            .await;
        if let Err(e) = dropped {
            // The indexes are in place: their records must go, or a later load would take
            // them for its own to build.
            let names: Vec<&str> = waiting.iter().map(|(n, _)| n.as_str()).collect();
            self.forget(conn, &names).await?;
            return Err(e);
        }
        Ok(waiting.len())
    }

    /// Runs `alter` waiting at most [`START_WAIT_SECONDS`] for the table's metadata lock, then
    /// puts the session's wait back (the connection goes on to load).
    async fn alter_waiting(&self, conn: &mut Conn, alter: &str) -> Result<()> {
        let ctx = |e| Error::mysql(format!("leaving the indexes of {} out", self.table), e);
        let wait: Option<i64> = conn
            .query_first("SELECT @@SESSION.lock_wait_timeout")
            .await
            .map_err(ctx)?;
        conn.exec_drop("SET SESSION lock_wait_timeout = ?", (START_WAIT_SECONDS,))
            .await
            .map_err(ctx)?;
        let altered = conn.query_drop(alter).await.map_err(ctx);
        if let Some(wait) = wait {
            conn.exec_drop("SET SESSION lock_wait_timeout = ?", (wait,))
                .await
                .map_err(ctx)?;
        }
        altered
    }

    /// Deletes the records of `names`.
    async fn forget(&self, conn: &mut Conn, names: &[&str]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; names.len()].join(", ");
        let mut params = vec![self.schema.as_str(), self.name.as_str()];
        params.extend(names);
        conn.exec_drop(
            format!(
                "DELETE FROM {} WHERE table_schema = ? AND table_name = ? \
                 AND index_name IN ({placeholders})",
                self.ledger
            ),
            params,
        )
        .await
        .map_err(|e| Error::mysql(format!("deleting the records in {}", self.ledger), e))
    }

    /// Builds every index recorded for the table in one `ALTER TABLE` (InnoDB reads the rows
    /// once for all of them), then deletes their records; returns how many it added. An index
    /// of the same name already in place is kept: it is the recorded one when a kill came
    /// between the record and the drop, else one made while the load ran (said).
    ///
    /// # Errors
    /// The server's; what was not built stays recorded, for the next load into the table.
    pub async fn build(&self, conn: &mut Conn) -> Result<usize> {
        if !self.lock(conn, BUILD_WAIT_SECONDS).await? {
            return Err(Error::config(format!(
                "another session held barge's lock on the indexes of {} for a day: run the \
                 load again once it lets go, and the indexes recorded in {} are built",
                self.table, self.ledger
            )));
        }
        let built = self.build_locked(conn).await;
        self.unlock(conn).await;
        built
    }

    /// [`PendingIndexes::build`], under the named lock.
    async fn build_locked(&self, conn: &mut Conn) -> Result<usize> {
        let recorded = self.recorded(conn).await?;
        if recorded.is_empty() {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let present = self.clauses(conn).await?;
        let mut adds = Vec::new();
        for r in &recorded {
            // MySQL's index names compare without case.
            match present
                .iter()
                .flatten()
                .find(|(name, _)| name.eq_ignore_ascii_case(&r.name))
            {
                Some((_, clause)) if *clause == r.clause => {}
                Some(_) => tracing::warn!(
                    table = %self.table,
                    index = %r.name,
                    "an index of that name was made while the load ran: kept as it is"
                ),
                None => adds.push(format!("ADD {}", r.clause)),
            }
        }
        if !adds.is_empty() {
            let mariadb: Option<i64> = conn
                .query_first("SELECT VERSION() LIKE '%MariaDB%'")
                .await
                .map_err(|e| Error::mysql("reading the server's version", e))?;
            // A user's max_statement_time bounds their own statements; this one puts back
            // what barge took away, and must finish however long the table has grown.
            // (MySQL's max_execution_time bounds SELECTs only.)
            let unbounded = if mariadb == Some(1) {
                "SET STATEMENT max_statement_time = 0 FOR "
            } else {
                ""
            };
            conn.query_drop(format!(
                "{unbounded}ALTER TABLE {} {}",
                self.table,
                adds.join(", ")
            ))
            .await
            .map_err(|e| {
                Error::mysql(
                    format!(
                        "building the indexes left out of {} while it loaded (recorded in {})",
                        self.table, self.ledger
                    ),
                    e,
                )
            })?;
        }
        let names: Vec<&str> = recorded.iter().map(|r| r.name.as_str()).collect();
        self.forget(conn, &names).await?;
        tracing::info!(
            table = %self.table,
            indexes = adds.len(),
            ms = started.elapsed().as_millis() as u64,
            "built the indexes left out while the table loaded"
        );
        Ok(adds.len())
    }
}

/// [`PendingIndexes`] on one connection holding the named lock, for [`pending::defer`].
struct OnConn<'a> {
    pending: &'a PendingIndexes,
    conn: &'a mut Conn,
}

impl Pending for OnConn<'_> {
    fn table(&self) -> &str {
        &self.pending.table
    }

    fn ledger(&self) -> &str {
        &self.pending.ledger
    }

    async fn recorded(&mut self) -> Result<Vec<(String, String)>> {
        let recorded = self.pending.recorded(self.conn).await?;
        Ok(recorded.into_iter().map(|r| (r.name, r.load_id)).collect())
    }

    async fn build(&mut self) -> Result<usize> {
        self.pending.build_locked(self.conn).await
    }

    async fn drop_and_record(&mut self, load_id: &str) -> Result<usize> {
        self.pending.drop_and_record(self.conn, load_id).await
    }
}

/// One recorded index.
#[derive(Debug)]
struct Recorded {
    name: String,
    clause: String,
    load_id: String,
}

/// `` `db`.`name` `` -> (db, name); `None` for anything else.
fn split_quoted(quoted: &str) -> Option<(String, String)> {
    let (schema, rest) = unquote(quoted)?;
    let (name, rest) = unquote(rest.strip_prefix('.')?)?;
    rest.is_empty().then_some((schema, name))
}

/// A backquoted identifier at the start of `text` (`` ` `` doubled inside), and what follows.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut rest = text.strip_prefix('`')?;
    let mut name = String::new();
    loop {
        let end = rest.find('`')?;
        name.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix('`') {
            Some(after) => {
                name.push('`');
                rest = after;
            }
            None => return Some((name, rest)),
        }
    }
}

/// The keys of a `SHOW CREATE TABLE` that the server lists in the order they were made (plain
/// and spatial; primary and unique keys come before them, full-text ones after), in that order:
/// (index name, clause without its comma) for a plain `KEY`, `None` for any other or a name
/// that does not read back.
fn made_in_order(create: &str) -> Vec<Option<(String, String)>> {
    create
        .lines()
        .filter_map(|line| {
            let clause = line.trim().trim_end_matches(',');
            if clause.starts_with("SPATIAL KEY ") {
                return Some(None);
            }
            let quoted = clause.strip_prefix("KEY ")?;
            Some(
                unquote(quoted)
                    .filter(|(_, rest)| rest.starts_with(" ("))
                    .map(|(name, _)| (name, clause.to_string())),
            )
        })
        .collect()
}

/// Of `keys` ([`made_in_order`]), the plain ones at the end of the list that are all among
/// `candidates`. Only those may wait: a key added again goes to the end of the list, so
/// leaving out one that a kept key follows would change the table's definition (the order
/// `SHOW CREATE TABLE` prints, which schema tools compare).
fn waiting<'a>(
    keys: &'a [Option<(String, String)>],
    candidates: &[String],
) -> Vec<&'a (String, String)> {
    let mut tail: Vec<&(String, String)> = keys
        .iter()
        .rev()
        .map_while(|k| k.as_ref().filter(|(name, _)| candidates.contains(name)))
        .collect();
    tail.reverse();
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_the_server_prints_them_and_only_a_tail_waits() {
        let create = "CREATE TABLE `t` (\n  `id` bigint(20) NOT NULL,\n  `a``b` int,\n  \
            PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`a``b`),\n  KEY `k` (`id`),\n  \
            SPATIAL KEY `s` (`g`),\n  KEY `x` (`a``b`,`id`) COMMENT 'KEY `y` (',\n  \
            KEY `we``ird, name` (`tag`(5)) USING BTREE,\n  FULLTEXT KEY `f` (`note`),\n  \
            CONSTRAINT `fk` FOREIGN KEY (`id`) REFERENCES `p` (`id`)\n) ENGINE=InnoDB";
        let x = (
            "x".to_string(),
            "KEY `x` (`a``b`,`id`) COMMENT 'KEY `y` ('".to_string(),
        );
        let weird = (
            "we`ird, name".to_string(),
            "KEY `we``ird, name` (`tag`(5)) USING BTREE".to_string(),
        );
        let keys = made_in_order(create);
        assert_eq!(
            keys,
            vec![
                Some(("k".to_string(), "KEY `k` (`id`)".to_string())),
                None,
                Some(x.clone()),
                Some(weird.clone()),
            ]
        );
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            waiting(&keys, &names(&["k", "x", "we`ird, name"])),
            vec![&x, &weird]
        );
        // A kept key at the end keeps every key before it.
        assert!(waiting(&keys, &names(&["k", "x"])).is_empty());
        assert_eq!(
            made_in_order("  KEY `a\n  KEY `b` (`b`)"),
            vec![None, Some(("b".to_string(), "KEY `b` (`b`)".to_string()))]
        );
    }

    #[test]
    fn checkpoint_table_names_split_into_database_and_table() {
        assert_eq!(
            split_quoted("`my``db`.`barge_checkpoint`"),
            Some(("my`db".to_string(), "barge_checkpoint".to_string()))
        );
        for bad in ["`db`", "db.t", "`db`.`t", "`db`.`t`x", "`db`.t"] {
            assert_eq!(split_quoted(bad), None, "{bad}");
        }
    }
}
