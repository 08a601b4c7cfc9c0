//! A SQLite writer: chunks with their checkpoints in transactions that a few chunks may share
//! (or, for an atomic load, all in one), rows a constraint refuses set aside (statement by
//! statement; an upsert's, refused by its chunk's merge, searched for under savepoints).
//!
//! A commit writes every page its transaction changed, and the rollback journal first copies
//! each of them: into a table that keeps indexes, whose keys come in no order, that is most of
//! every index, again at every commit. So while the next chunk is already waiting, the
//! transaction stays open for it, up to `--commit-every`; each chunk's checkpoint is written in
//! it, so that a crash loses the group's chunks and their checkpoints together and the rerun
//! loads them again. When no chunk waits (the input is slower than the database), each chunk
//! commits on its own as before.

use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;

use super::insert::{insert_rows, insert_statement, MAX_PARAMS, MAX_ROWS_PER_STATEMENT};
use super::upsert::STAGE;
use crate::checkpoint::ChunkMeta;
use crate::chunk::Chunk;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::rejects::Reject;
use crate::retry::row_error;
use crate::sink::bisect::{self, Bisection};
use crate::sink::{seal, Committed, Outcome, Plan, Sink};

/// The load's [`Plan`] as SQLite's writer carries it out.
#[derive(Debug)]
pub struct SqlitePlan {
    /// What every backend's writers share.
    pub base: Plan,
    /// Rows per INSERT statement.
    pub rows_per_statement: usize,
}

impl std::ops::Deref for SqlitePlan {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.base
    }
}

impl SqlitePlan {
    /// SQLite's way of carrying out `plan`: statements of as many rows as the parameter limit
    /// allows, up to the chunk; one row each into a table that `keeps_indexes` (an upsert's
    /// rows go to its staging table, which has none, so they keep their long statements).
    ///
    /// A statement that writes several rows and may fail partway (a constraint, or a value for
    /// an `INTEGER PRIMARY KEY` that must be an integer: nearly every table) makes SQLite keep a
    /// statement journal, a copy of every page the statement changes, to undo the statement's
    /// earlier rows; past 64 KiB it goes to a temporary file. Appending to a table, that is a
    /// few pages; into indexes whose keys come in no order, every statement changes pages all
    /// over them: 1.3M `pwrite`s for 200k bench rows into a table with three indexes, against
    /// 0.46M for the `sqlite3` shell's `.import`, which inserts a row at a time. One row per
    /// statement needs no such journal: 1M bench rows kept with three indexes in one
    /// transaction (`--atomic --keep-indexes`) 29.3-30.3 s -> 22.2 s.
    pub fn new(plan: Plan, keeps_indexes: bool) -> Self {
        let per_row = plan.columns.len().max(1);
        let most = if keeps_indexes && plan.upsert.is_none() {
            1
        } else {
            MAX_ROWS_PER_STATEMENT
        };
        SqlitePlan {
            rows_per_statement: (MAX_PARAMS / per_row).min(most).min(plan.chunk_rows).max(1),
            base: plan,
        }
    }
}

/// A connection that writes chunks into one table.
pub struct SqliteSink {
    conn: Option<Connection>,
    plan: Arc<SqlitePlan>,
    progress: Arc<Progress>,
    /// The open transaction and the chunks written in it, when there is one.
    open: Option<Group>,
}

/// Chunks written in the open transaction, not yet committed.
#[derive(Clone, Copy, Debug)]
struct Group {
    /// When it began.
    since: Instant,
    /// Rows written (not those refused).
    rows: u64,
    /// Chunks written.
    chunks: u64,
    /// Rows an upsert's merges inserted.
    inserted: Option<u64>,
}

impl Group {
    fn new() -> Group {
        Group {
            since: Instant::now(),
            rows: 0,
            chunks: 0,
            inserted: None,
        }
    }
}

impl SqliteSink {
    /// A sink writing with `plan` on `conn`, counting upserts in `progress`.
    ///
    /// # Errors
    /// A SQLite error creating an upsert's staging table.
    pub fn new(conn: Connection, plan: Arc<SqlitePlan>, progress: Arc<Progress>) -> Result<Self> {
        if plan.upsert.is_some() {
            super::execute_ddl(
                &conn,
                &plan.create_stage_sql(),
                "creating the staging table",
            )?;
        }
        Ok(SqliteSink {
            conn: Some(conn),
            plan,
            progress,
            open: None,
        })
    }

    /// Runs `f` on the connection on a blocking thread: SQLite calls block on the disk.
    async fn with_conn<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Connection, &SqlitePlan, &mut Option<Group>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::config("the SQLite connection was lost after an error"))?;
        let plan = self.plan.clone();
        let mut open = self.open;
        let (conn, open, result) = tokio::task::spawn_blocking(move || {
            let r = f(&conn, &plan, &mut open);
            (conn, open, r)
        })
        .await
        .map_err(|e| Error::config(format!("a SQLite writer failed: {e}")))?;
        self.conn = Some(conn);
        self.open = open;
        result
    }

    /// Commits the open transaction, if any, and counts what it held.
    async fn commit(&mut self) -> Result<Committed> {
        let group = self
            .with_conn(|conn, plan, open| {
                let Some(group) = open.take() else {
                    return Ok(None);
                };
                commit(conn, plan, &group)?;
                Ok(Some(group))
            })
            .await?;
        Ok(match group {
            Some(g) => {
                seal::count_upsert(&self.plan, &self.progress, g.inserted, g.rows);
                Committed {
                    rows: g.rows,
                    chunks: g.chunks,
                }
            }
            None => Committed::default(),
        })
    }
}

/// Opens a transaction (the group of chunks to come); a `--replace` load's one transaction
/// deletes the table's rows first. A deferred transaction would take the write lock at its
/// first statement; `IMMEDIATE` takes it now, so that a busy database is waited for here.
fn begin(conn: &Connection, plan: &SqlitePlan, open: &mut Option<Group>) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| Error::sqlite(format!("starting a transaction on {}", plan.table), e))?;
    if plan.replace {
        let delete = format!("DELETE FROM {}", plan.table.quoted());
        if let Err(e) = conn.execute_batch(&delete) {
            rollback(conn);
            return Err(Error::sqlite(
                format!("deleting the rows of {} (--replace)", plan.table),
                e,
            ));
        }
    }
    *open = Some(Group::new());
    Ok(())
}

/// COMMIT, told to the tuner: where a sync is slow, small chunks spend most of their time on it,
/// and grow. On error the transaction is rolled back.
fn commit(conn: &Connection, plan: &SqlitePlan, group: &Group) -> Result<()> {
    if plan.dry_run {
        return conn
            .execute_batch("ROLLBACK")
            .map_err(|e| Error::sqlite("rolling back the dry run", e));
    }
    let committing = Instant::now();
    if let Err(e) = conn.execute_batch("COMMIT") {
        rollback(conn);
        return Err(Error::sqlite(
            format!("committing {} chunk(s) into {}", group.chunks, plan.table),
            e,
        ));
    }
    tracing::debug!(
        chunks = group.chunks,
        rows = group.rows,
        open_s = group.since.elapsed().as_secs_f64(),
        commit_s = committing.elapsed().as_secs_f64(),
        "committed"
    );
    plan.tuner.observe(
        usize::try_from(group.rows).unwrap_or(usize::MAX),
        group.since.elapsed(),
        committing.elapsed(),
    );
    Ok(())
}

/// Rolls the open transaction back (what is said of a failure is the error that led here).
fn rollback(conn: &Connection) {
    if let Err(rb) = conn.execute_batch("ROLLBACK") {
        tracing::debug!(error = %rb, "ROLLBACK failed");
    }
}

/// What one chunk's transaction did.
#[derive(Default)]
struct Written {
    /// Rows an upsert's merge inserted.
    inserted: Option<u64>,
    /// Rows SQLite refused, set aside.
    refused: u64,
}

/// Inserts `rows` rows (the values in `data`) and, for an upsert, merges them; returns how many
/// the merge inserted.
fn apply_rows(
    conn: &Connection,
    plan: &SqlitePlan,
    data: &[u8],
    rows: usize,
    meta: &ChunkMeta,
) -> Result<Option<u64>> {
    let what = format!("INSERT into {} ({})", plan.table, meta.describe());
    insert_rows(conn, plan, data, rows).map_err(|e| Error::sqlite(what, e).in_chunk(meta.seq))?;
    let Some(u) = &plan.upsert else {
        return Ok(None);
    };
    let merging = |e| {
        Error::sqlite(
            format!("merging into {} ({})", plan.table, meta.describe()),
            e,
        )
        .in_chunk(meta.seq)
    };
    let n: i64 = conn
        .query_row(
            &SqlitePlan::count_new_sql(u, &plan.table.quoted()),
            [],
            |r| r.get(0),
        )
        .map_err(merging)?;
    conn.execute(&plan.merge_sql(u), []).map_err(merging)?;
    conn.execute(&format!("DELETE FROM {STAGE}"), [])
        .map_err(merging)?;
    Ok(Some(n as u64))
}

/// Inserts a chunk's rows into the target and returns those SQLite refuses (row, error), with
/// no search and no savepoint: SQLite undoes only the statement that failed (a constraint's
/// default `ABORT`), so a refused one-row statement is the refused row, and the rows of a
/// refused statement of several go again one at a time. With `first_only` it stops at the
/// first refused row, which a load without `--rejects` names in its error. (An upsert's rows
/// are refused by its merge, a statement for the whole chunk: those are searched for,
/// [`bisect`].)
fn insert_setting_aside(
    conn: &Connection,
    plan: &SqlitePlan,
    chunk: &Chunk,
    meta: &ChunkMeta,
    first_only: bool,
) -> Result<bisect::Refused> {
    let data = &chunk.data[..];
    let rows = chunk.rows as usize;
    let mut refused = Vec::new();
    // Sends `n` rows from `pos`; a refusal of this row's data is `Ok(Some)`.
    let send = |pos: &mut usize, n: usize| -> Result<Option<Error>> {
        match insert_statement(conn, plan, data, pos, n) {
            Ok(()) => Ok(None),
            Err(e) => {
                let what = format!("INSERT into {} ({})", plan.table, meta.describe());
                let e = Error::sqlite(what, e).in_chunk(meta.seq);
                // A refusal that undid more than its statement (the table's own `ON CONFLICT
                // ROLLBACK`) took the chunks before it with it: that fails the load.
                if row_error(&e) && !conn.is_autocommit() {
                    Ok(Some(e))
                } else {
                    Err(e)
                }
            }
        }
    };
    let (mut pos, mut row) = (0, 0);
    while row < rows {
        let n = (rows - row).min(plan.rows_per_statement);
        let start = pos;
        if let Some(e) = send(&mut pos, n)? {
            if n == 1 {
                refused.push((row, e));
            } else {
                let mut again = start;
                for i in row..row + n {
                    if let Some(e) = send(&mut again, 1)? {
                        refused.push((i, e));
                        if first_only {
                            break;
                        }
                    }
                }
            }
            if first_only {
                break;
            }
        }
        row += n;
    }
    Ok(refused)
}

/// Row `row` of `chunk` set aside for `e`, SQLite's refusal of it.
fn refusal(chunk: &Chunk, row: usize, e: &Error) -> Reject {
    let (position, raw) = chunk.raw_row(row).unwrap_or_default();
    let reason = match e.kind() {
        crate::error::ErrorKind::Sqlite { source, .. } => source.to_string(),
        _ => e.to_string(),
    };
    Reject {
        position,
        raw: raw.to_vec(),
        column: None,
        value: None,
        reason,
        sqlstate: None,
    }
}

/// The rows SQLite refuses (row, error), found by inserting the chunk in ranges under
/// savepoints and splitting each refused range in halves until every bad row stands alone;
/// with `first_only`, up to the first of them.
fn bisect(
    conn: &Connection,
    plan: &SqlitePlan,
    chunk: &Chunk,
    meta: &ChunkMeta,
    first_only: bool,
) -> Result<(Option<u64>, bisect::Refused)> {
    let ranges = crate::encode::sqlite::row_ranges(&chunk.data, plan.columns.len())
        .ok_or_else(|| Error::internal("a chunk is malformed"))?;
    let sp = |sql: &str| {
        conn.execute_batch(sql)
            .map_err(|e| Error::sqlite("setting a savepoint", e))
    };
    let mut inserted = plan.upsert.as_ref().map(|_| 0u64);
    let mut refused = Vec::new();
    let mut search = Bisection::new(ranges.len(), bisect::PIECES);
    while let Some(r) = search.next_range() {
        let (Some(first), Some(last)) = (ranges.get(r.start), ranges.get(r.end.wrapping_sub(1)))
        else {
            continue;
        };
        sp("SAVEPOINT barge_rows")?;
        match apply_rows(
            conn,
            plan,
            &chunk.data[first.start..last.end],
            r.len(),
            meta,
        ) {
            Ok(n) => {
                sp("RELEASE barge_rows")?;
                inserted = inserted.map(|i| i + n.unwrap_or(0));
            }
            Err(e) if row_error(&e) => {
                sp("ROLLBACK TO barge_rows; RELEASE barge_rows")?;
                // SQLite does not say which row of a statement it refused.
                if let Some(row) = search.refused(r, None) {
                    refused.push((row, e));
                    if first_only {
                        break;
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok((inserted, refused))
}

/// Before COMMIT: the chunk's rejects to the rejects file (within `--max-errors`), and its
/// checkpoint.
fn seal(
    conn: &Connection,
    plan: &SqlitePlan,
    meta: &ChunkMeta,
    rejects: &[Reject],
    rejected_before: u64,
) -> Result<()> {
    seal::set_aside(plan, meta, rejects, rejected_before)?;
    if let Some(cp) = &plan.checkpoints {
        let p = cp.insert_params(meta);
        conn.execute(
            &cp.insert_sql::<&mut Connection>(),
            rusqlite::params![cp.load_id(), p[0], p[1], p[2], p[3], p[4], p[5]],
        )
        .map_err(|e| {
            crate::sink::seal::checkpoint_refused(Error::sqlite(
                format!("writing the checkpoint of chunk {}", meta.seq + 1),
                e,
            ))
        })?;
    }
    Ok(())
}

/// Writes `chunk` in the open transaction (beginning one when there is none) with its
/// checkpoint, setting aside with `--rejects` the rows SQLite refuses without undoing the
/// chunks before it in the transaction.
fn write_chunk(
    conn: &Connection,
    plan: &SqlitePlan,
    chunk: &Chunk,
    open: &mut Option<Group>,
    rejected_before: u64,
) -> Result<Written> {
    let meta = ChunkMeta::of(chunk);
    let what = format!("INSERT into {} ({})", plan.table, meta.describe());
    let ctx = |e| Error::sqlite(what.clone(), e).in_chunk(meta.seq);
    if open.is_none() {
        begin(conn, plan, open)?;
    }
    let rejecting = plan.rejects.is_some();
    // An upsert's merge is searched under a savepoint, which leaves the chunks before it alone.
    let searching = rejecting && plan.upsert.is_some();
    if searching {
        conn.execute_batch("SAVEPOINT barge_chunk").map_err(ctx)?;
    }
    let rejects = |refused: bisect::Refused| -> Vec<Reject> {
        refused
            .iter()
            .map(|(row, e)| refusal(chunk, *row, e))
            .collect()
    };
    let mut result = if rejecting && !searching {
        insert_setting_aside(conn, plan, chunk, &meta, false)
            .map(|refused| (None, rejects(refused)))
    } else if plan.upsert.is_none() {
        // Statement by statement as with --rejects, so that a refused row is named in the
        // error; a chunk that goes in costs the same statements.
        insert_setting_aside(conn, plan, chunk, &meta, true).and_then(|refused| {
            match refused.into_iter().next() {
                Some((row, e)) => Err(meta.named(&chunk.raw_rows, row, e)),
                None => Ok((None, Vec::new())),
            }
        })
    } else {
        apply_rows(conn, plan, &chunk.data, chunk.rows as usize, &meta)
            .map(|inserted| (inserted, Vec::new()))
    };
    if let Err(e) = &result {
        if searching && row_error(e) {
            // Earlier statements of the chunk went in: start the chunk over, row by range.
            conn.execute_batch("ROLLBACK TO barge_chunk").map_err(ctx)?;
            result = bisect(conn, plan, chunk, &meta, false)
                .map(|(inserted, refused)| (inserted, rejects(refused)));
        } else if plan.upsert.is_some() && row_error(e) {
            // The merge refused a row, which fails the load: the search names it. The chunk's
            // rows are still staged, and its transaction goes when the load fails.
            conn.execute(&format!("DELETE FROM {STAGE}"), [])
                .map_err(ctx)?;
            if let Ok((_, refused)) = bisect(conn, plan, chunk, &meta, true) {
                if let Some((row, e)) = refused.into_iter().next() {
                    result = Err(meta.named(&chunk.raw_rows, row, e));
                }
            }
        }
    }
    let result = result.and_then(|(inserted, refused)| {
        let all = seal::all_rejects(&chunk.rejects, &refused);
        seal(conn, plan, &meta, &all, rejected_before)?;
        if searching {
            conn.execute_batch("RELEASE barge_chunk").map_err(ctx)?;
        }
        Ok(Written {
            inserted,
            refused: refused.len() as u64,
        })
    });
    match result {
        Ok(w) => {
            if let Some(group) = open {
                group.rows += chunk.rows - w.refused;
                group.chunks += 1;
                if let Some(n) = w.inserted {
                    group.inserted = Some(group.inserted.unwrap_or(0) + n);
                }
            }
            Ok(w)
        }
        // An atomic load's transaction is rolled back with the connection when the load fails.
        Err(e) if plan.atomic => Err(e),
        Err(e) => {
            rollback(conn);
            *open = None;
            Err(e)
        }
    }
}

impl Sink for SqliteSink {
    async fn write(&mut self, chunk: Chunk) -> Result<Outcome> {
        let rows = chunk.rows;
        let before = Progress::get(&self.progress.rows_rejected);
        let written = self
            .with_conn(move |conn, plan, open| write_chunk(conn, plan, &chunk, open, before))
            .await?;
        if self.plan.atomic {
            return Ok(Outcome::alone(rows, rows - written.refused));
        }
        let due = self
            .open
            .is_some_and(|g| g.since.elapsed() >= self.plan.commit_every);
        Ok(Outcome {
            refused: written.refused,
            committed: if due {
                self.commit().await?
            } else {
                Committed::default()
            },
        })
    }

    async fn flush(&mut self) -> Result<Committed> {
        if self.plan.atomic {
            return Ok(Committed::default());
        }
        self.commit().await
    }

    async fn finish(&mut self) -> Result<Committed> {
        if self.plan.replace {
            // No row came: the table is replaced by none.
            self.with_conn(|conn, plan, open| match open {
                Some(_) => Ok(()),
                None => begin(conn, plan, open),
            })
            .await?;
        }
        let committed = self.commit().await?;
        // An atomic load's rows counted as they were written.
        Ok(if self.plan.atomic {
            Committed::default()
        } else {
            committed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnType, Table};

    #[test]
    fn statements_stay_under_the_parameter_limit() {
        let cols = |n: usize| {
            (0..n)
                .map(|i| Column {
                    name: format!("c{i}"),
                    ty: ColumnType::Text,
                    type_name: "TEXT".into(),
                    not_null: false,
                })
                .collect::<Vec<_>>()
        };
        let table = Table {
            schema: "main".into(),
            name: "t".into(),
            columns: cols(2000),
            required: Vec::new(),
            generated: Vec::new(),
            identity_always: Vec::new(),
        };
        let plan = SqlitePlan::new(Plan::for_test(&table, cols(2000), 10_000), false);
        assert_eq!(plan.rows_per_statement, 16);
        assert!(plan.rows_per_statement * 2000 <= MAX_PARAMS);
        let indexed = SqlitePlan::new(Plan::for_test(&table, cols(2000), 10_000), true);
        assert_eq!(indexed.rows_per_statement, 1);
        let plan = SqlitePlan::new(Plan::for_test(&table, cols(2), 100), false);
        assert_eq!(plan.rows_per_statement, 100);
        assert_eq!(
            plan.insert_sql(2),
            "INSERT INTO \"main\".\"t\" (\"c0\", \"c1\") VALUES (?, ?), (?, ?)"
        );
    }
}
