//! A MySQL writer connection: each chunk in one transaction together with its checkpoint,
//! sent by LOAD DATA LOCAL INFILE or by INSERT, straight into the table or through the staging
//! table for upserts; retried whole on a new connection after a transient fault; searched
//! under savepoints for the rows the server refuses.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::conninfo::MyTarget;
use super::duplicates::SoleKey;
use super::{insert, load_data, upsert, MyLedger};
use crate::checkpoint::ChunkMeta;
use crate::chunk::{Chunk, RawRow};
use crate::encode::mysql::MyType;
use crate::error::{Error, ErrorKind, Result};
use crate::ident::Dialect;
use crate::progress::Progress;
use crate::rejects::Reject;
use crate::retry::{row_error, transient_reason, Retrier};
use crate::sink::bisect::{self, Bisection};
use crate::sink::{seal, Committed, Mode, Outcome, Plan, Sink};
use crate::turnstile::Turnstile;

use super::turn::Waiters;

/// How rows travel to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `LOAD DATA LOCAL INFILE` from memory.
    LoadData,
    /// Multi-row INSERTs, this many rows per statement.
    Insert(usize),
}

/// The load's [`Plan`] as MySQL's writers carry it out; shared by all of them.
#[derive(Debug)]
pub struct MyPlan {
    /// What every backend's writers share.
    pub base: Plan,
    /// LOAD DATA or INSERT.
    pub method: Method,
    /// Each column's declared type.
    types: Vec<MyType>,
    /// Where rows go: the table, or the staging table of an upsert.
    dest: String,
    /// The LOAD DATA statement into `dest`.
    load_sql: String,
    /// Chunks take effect in input order where that matters (upserts, rejects).
    turnstile: Turnstile,
    /// With `--rejects`: the table's one unique key, when its duplicates can be found with a
    /// query (see [`super::duplicates`]).
    pub unique: Option<SoleKey>,
    /// A chunk met a duplicate key: from then on every chunk has its duplicates taken out
    /// first.
    seen_duplicate: AtomicBool,
    /// Staging a chunk's keys failed once: duplicates are left to the search.
    no_probe: AtomicBool,
    /// How this server tells a writer that another session waits on it.
    waiters: Waiters,
}

impl std::ops::Deref for MyPlan {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.base
    }
}

impl MyPlan {
    /// MySQL's way of carrying out `plan`; without `local_infile` (the server refuses it)
    /// rows go by INSERT.
    pub fn new(plan: Plan, local_infile: bool) -> Self {
        let method = match plan.mode {
            Mode::Copy if local_infile => Method::LoadData,
            _ => Method::Insert(insert::rows_per_statement(
                plan.columns.len(),
                plan.chunk_rows,
            )),
        };
        let types: Vec<MyType> = plan
            .columns
            .iter()
            .map(|c| MyType::parse(&c.type_name))
            .collect();
        let dest = match plan.upsert {
            Some(_) => upsert::STAGE.to_string(),
            None => plan.table.quoted_in(Dialect::Mysql),
        };
        let load_sql = load_data::statement(&dest, &plan.columns, &types);
        MyPlan {
            base: plan,
            method,
            types,
            dest,
            load_sql,
            turnstile: Turnstile::default(),
            unique: None,
            seen_duplicate: AtomicBool::new(false),
            no_probe: AtomicBool::new(false),
            waiters: Waiters::default(),
        }
    }

    /// Each column's declared type.
    pub fn types(&self) -> &[MyType] {
        &self.types
    }

    /// Whether chunks must take effect in input order: an upsert's last (or first)
    /// occurrence, and a duplicate's second occurrence being the one rejected.
    fn ordered(&self) -> bool {
        self.upsert.is_some() || self.rejects.is_some()
    }
}

/// A chunk as the writer holds it while it may be retried.
struct Work {
    data: Bytes,
    meta: ChunkMeta,
    ordinal: u64,
    rejects: Vec<Reject>,
    raw: Vec<u8>,
    raw_rows: Vec<RawRow>,
}

/// How an attempt sends a chunk's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// All of them at once.
    Whole,
    /// Without the rows whose key repeats an earlier row's of the chunk, byte for byte.
    Repeats,
    /// Without the rows whose key is a duplicate, found first with a query.
    Probed,
    /// Range by range under savepoints, until each refused row stands alone.
    Search,
}

/// What one attempt committed.
#[derive(Default)]
struct Written {
    inserted: Option<u64>,
    refused: Vec<Reject>,
    /// Nothing was committed: the chunk waited too long for its turn and must go again in it.
    out_of_turn: bool,
}

/// A connection that writes chunks into one table.
pub struct MySink {
    conn: Option<Conn>,
    target: MyTarget,
    plan: Arc<MyPlan>,
    progress: Arc<Progress>,
    /// Whether the upsert's staging table exists on this connection.
    stage_ready: bool,
    /// In atomic mode: whether the load's transaction is open.
    begun: bool,
}

impl MySink {
    /// A sink on an open connection, able to reconnect to `target`.
    pub fn new(conn: Conn, target: MyTarget, plan: Arc<MyPlan>, progress: Arc<Progress>) -> Self {
        MySink {
            conn: Some(conn),
            target,
            plan,
            progress,
            stage_ready: false,
            begun: false,
        }
    }

    /// The connection, opened again after one was lost, with the staging table in place.
    async fn conn(&mut self) -> Result<&mut Conn> {
        if self.conn.is_none() {
            self.conn = Some(super::connect(&self.target).await?);
            self.stage_ready = false;
        }
        let plan = self.plan.clone();
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::internal("a writer has no connection"))?;
        if plan.upsert.is_some() && !self.stage_ready {
            for sql in upsert::create_stage_sql(&plan.table, &plan.columns) {
                conn.query_drop(sql)
                    .await
                    .map_err(|e| Error::mysql("creating the staging table", e))?;
            }
            self.stage_ready = true;
        }
        Ok(conn)
    }

    /// Sends rows `rows` of `work` (their bytes `data`) into the plan's destination, merging
    /// them for an upsert; returns the rows the merge inserted.
    async fn send_rows(
        conn: &mut Conn,
        plan: &MyPlan,
        work: &Work,
        data: Bytes,
        rows: usize,
    ) -> Result<Option<u64>> {
        let meta = &work.meta;
        let what = match plan.method {
            Method::LoadData => "LOAD DATA",
            Method::Insert(_) => "INSERT",
        };
        let context = format!("{what} into {} ({})", plan.table, meta.describe());
        let sent = match plan.method {
            Method::LoadData => {
                load_data::send(conn, &plan.load_sql, data, rows as u64, &context).await
            }
            Method::Insert(per) => {
                insert::send(
                    conn,
                    &plan.dest,
                    &plan.columns,
                    &plan.types,
                    per,
                    &data,
                    &context,
                )
                .await
            }
        };
        sent.map_err(|e| e.in_chunk(meta.seq))?;
        let Some(u) = &plan.upsert else {
            return Ok(None);
        };
        let merging = |e| {
            Error::mysql(
                format!("merging into {} ({})", plan.table, meta.describe()),
                e,
            )
            .in_chunk(meta.seq)
        };
        let mut inserted = 0u64;
        for sql in upsert::count_new_sql(u, &plan.table) {
            let n: Option<u64> = conn.query_first(sql).await.map_err(merging)?;
            inserted += n.unwrap_or(0);
        }
        conn.query_drop(upsert::merge_sql(u, &plan.table, &plan.columns))
            .await
            .map_err(merging)?;
        conn.query_drop(format!("DELETE FROM {}", upsert::STAGE))
            .await
            .map_err(merging)?;
        Ok(Some(inserted))
    }

    /// The chunk's rows one range at a time, each under a savepoint, until each refused row
    /// stands alone (see [`crate::sink::bisect`]): the rows it inserted, and each refused row
    /// with the server's error for it alone. With `first_only`, up to the first refused row.
    async fn search(
        conn: &mut Conn,
        plan: &MyPlan,
        work: &Work,
        first_only: bool,
    ) -> Result<(Option<u64>, bisect::Refused)> {
        let ranges = load_data::row_ranges(&work.data);
        let mut search = Bisection::new(ranges.len(), bisect::PIECES);
        let mut inserted = plan.upsert.as_ref().map(|_| 0);
        let mut refused = Vec::new();
        // The savepoint is set before a range only when the one before went in: MySQL's
        // ROLLBACK TO keeps the savepoint it returns to, so after a refused range it is still
        // there, and a refused range costs one round trip after its rows instead of two. (A
        // savepoint is needed at all: a LOAD DATA the server refuses can leave the rows before
        // the refused one in, seen with MariaDB 10.11.) No RELEASE: the chunk's commit, or
        // its own savepoint's release, ends it.
        let mut set = false;
        while let Some(r) = search.next_range() {
            let data = slice(&work.data, &ranges, r.clone());
            if !set {
                exec(conn, "SAVEPOINT barge_rows").await?;
                set = true;
            }
            match Self::send_rows(conn, plan, work, data, r.len()).await {
                Ok(n) => {
                    set = false;
                    inserted = inserted.map(|i| i + n.unwrap_or(0));
                }
                Err(e) if row_error(&e) => {
                    exec(conn, "ROLLBACK TO SAVEPOINT barge_rows").await?;
                    if plan.upsert.is_some() {
                        // A refused merge leaves the stage full: empty it for the next range.
                        exec(conn, &format!("DELETE FROM {}", upsert::STAGE)).await?;
                    }
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

    /// `e`, the server's refusal of a chunk that fails the load (no `--rejects`), naming the
    /// row it refused: the chunk's rows are searched again in a transaction (a savepoint of
    /// an atomic load's) that is then rolled back. `e` as it is when the search cannot tell.
    async fn named(&mut self, work: &Work, e: Error) -> Error {
        let plan = self.plan.clone();
        let Ok(conn) = self.conn().await else {
            return e;
        };
        let (begin, end) = match plan.atomic {
            true => ("SAVEPOINT barge_chunk", "ROLLBACK TO SAVEPOINT barge_chunk"),
            false => ("START TRANSACTION", "ROLLBACK"),
        };
        if exec(conn, begin).await.is_err() {
            return e;
        }
        let found = Self::search(conn, &plan, work, true).await;
        let _ = conn.query_drop(end).await;
        match found.map(|(_, refused)| refused.into_iter().next()) {
            Ok(Some((row, refusal))) => work.meta.named(&work.raw_rows, row, refusal),
            _ => e,
        }
    }

    /// The chunk without the rows whose key is a duplicate (see [`super::duplicates`]): those
    /// that repeat an earlier row of the chunk, or with `probe` every one the server finds.
    async fn send_sorted(
        conn: &mut Conn,
        plan: &MyPlan,
        work: &Work,
        probe: bool,
    ) -> Result<Written> {
        let Some(unique) = &plan.unique else {
            return Err(Error::internal(
                "duplicates looked for without a unique key",
            ));
        };
        let ranges = load_data::row_ranges(&work.data);
        let found = match probe {
            true => {
                let table = plan.table.quoted_in(Dialect::Mysql);
                unique.find(conn, &table, &work.data, &ranges).await?
            }
            false => unique.repeats(&work.data, &ranges),
        };
        let skip: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        let parts = crate::chunk::without_rows(&work.data, &ranges, &skip);
        let rows = ranges.len().saturating_sub(found.len()) as u64;
        let context = format!("LOAD DATA into {} ({})", plan.table, work.meta.describe());
        load_data::send_parts(conn, &plan.load_sql, parts, rows, &context)
            .await
            .map_err(|e| e.in_chunk(work.meta.seq))?;
        if !found.is_empty() {
            tracing::debug!(
                chunk = work.meta.seq,
                rows = found.len(),
                probe,
                "duplicate keys taken out before the chunk's LOAD DATA"
            );
        }
        Ok(Written {
            refused: found
                .into_iter()
                .map(|(i, reason)| Reject {
                    reason,
                    sqlstate: Some("23000".into()),
                    ..row_reject(work, i)
                })
                .collect(),
            ..Written::default()
        })
    }

    /// One attempt at a chunk, in a transaction of its own (or, for an atomic load, under a
    /// savepoint of the load's transaction): rows, merge, rejects and checkpoint.
    async fn attempt(&mut self, work: &Work, how: How, in_turn: bool) -> Result<Written> {
        let plan = self.plan.clone();
        let atomic = plan.atomic;
        let begun = self.begun;
        let rejected = Progress::get(&self.progress.rows_rejected);
        let conn = self.conn().await?;
        // An atomic load opens its one transaction with its first chunk.
        if !atomic || !begun {
            exec(conn, "START TRANSACTION").await?;
        }
        if atomic && !begun && plan.replace {
            delete_all(conn, &plan).await?;
        }
        if atomic {
            exec(conn, "SAVEPOINT barge_chunk").await?;
        }
        let sending = std::time::Instant::now();
        let result = match how {
            How::Search => {
                Self::search(conn, &plan, work, false)
                    .await
                    .map(|(inserted, refused)| Written {
                        inserted,
                        refused: refused
                            .iter()
                            .map(|(row, e)| server_reject(work, *row, e))
                            .collect(),
                        ..Written::default()
                    })
            }
            How::Repeats => Self::send_sorted(conn, &plan, work, false).await,
            How::Probed => Self::send_sorted(conn, &plan, work, true).await,
            How::Whole => {
                let rows = work.meta.rows as usize;
                Self::send_rows(conn, &plan, work, work.data.clone(), rows)
                    .await
                    .map(|inserted| Written {
                        inserted,
                        ..Written::default()
                    })
            }
        };
        // Sent in parallel with other chunks, committed in turn: a chunk that waits long may
        // hold a key an earlier one waits for, so it lets go and goes again in its turn.
        if result.is_ok()
            && plan.ordered()
            && !in_turn
            && !plan
                .waiters
                .wait_turn(conn, &plan.turnstile, work.ordinal, sending.elapsed())
                .await?
        {
            let _ = conn.query_drop("ROLLBACK").await;
            return Ok(Written {
                out_of_turn: true,
                ..Written::default()
            });
        }
        let result = match result {
            Ok(w) => {
                let all = seal::all_rejects(&work.rejects, &w.refused);
                match seal::set_aside(&plan, &work.meta, &all, rejected) {
                    Ok(()) => Self::checkpoint(conn, &plan, &work.meta).await.map(|()| w),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match (&result, atomic) {
            (Ok(_), false) => exec(conn, "COMMIT").await?,
            (Ok(_), true) => exec(conn, "RELEASE SAVEPOINT barge_chunk").await?,
            // The connection may be gone: a failed rollback says nothing more.
            (Err(_), false) => {
                let _ = conn.query_drop("ROLLBACK").await;
            }
            (Err(_), true) => {
                let _ = conn.query_drop("ROLLBACK TO SAVEPOINT barge_chunk").await;
            }
        }
        if atomic {
            self.begun = true;
        }
        result
    }

    /// The chunk's checkpoint, in its transaction.
    async fn checkpoint(conn: &mut Conn, plan: &MyPlan, meta: &ChunkMeta) -> Result<()> {
        let Some(cp) = &plan.checkpoints else {
            return Ok(());
        };
        let p = cp.insert_params(meta);
        conn.exec_drop(
            cp.insert_sql::<MyLedger<'_>>(),
            (cp.load_id(), p[0], p[1], p[2], p[3], p[4], p[5]),
        )
        .await
        .map_err(|e| {
            crate::sink::seal::checkpoint_refused(Error::mysql(
                format!("writing the checkpoint of chunk {}", meta.seq + 1),
                e,
            ))
        })
    }

    /// After a failed attempt, whether the chunk was committed after all (the connection can
    /// die after the server committed but before it said so).
    async fn committed_before(&mut self, work: &Work, retrying: bool) -> Result<bool> {
        let plan = self.plan.clone();
        match (&plan.checkpoints, retrying && !plan.atomic) {
            (Some(cp), true) => {
                let conn = self.conn().await?;
                cp.is_committed(&mut MyLedger(conn), work.meta.first_byte)
                    .await
            }
            _ => Ok(false),
        }
    }

    async fn write_chunk(&mut self, mut chunk: Chunk) -> Result<u64> {
        let plan = self.plan.clone();
        let meta = ChunkMeta::of(&chunk);
        let work = Work {
            data: Bytes::from(std::mem::take(&mut chunk.data)),
            meta,
            ordinal: chunk.ordinal,
            rejects: std::mem::take(&mut chunk.rejects),
            raw: std::mem::take(&mut chunk.raw),
            raw_rows: std::mem::take(&mut chunk.raw_rows),
        };
        let mut retrier = Retrier::new(plan.retry);
        let mut how = match plan.seen_duplicate.load(Ordering::Relaxed) {
            true => How::Repeats,
            false => How::Whole,
        };
        let mut in_turn = false;
        loop {
            // An upsert's merge, a search for refused rows and a chunk that went out of turn
            // run in turn from the start; other ordered chunks send first and commit in turn.
            let first_in_turn = plan.upsert.is_some() || how == How::Search || in_turn;
            if plan.ordered() && first_in_turn {
                plan.turnstile.wait(work.ordinal).await?;
            }
            let retrying = retrier.attempt() > 0;
            let result = match self.committed_before(&work, retrying).await {
                Ok(true) => {
                    tracing::info!(
                        chunk = work.meta.seq,
                        "the chunk was committed before the connection was lost"
                    );
                    plan.turnstile.done(work.ordinal);
                    return Ok(work.meta.rows);
                }
                Ok(false) => self.attempt(&work, how, first_in_turn).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(w) if w.out_of_turn => in_turn = true,
                Ok(w) => {
                    let rows = work.meta.rows - w.refused.len() as u64;
                    seal::count_upsert(&plan, &self.progress, w.inserted, rows);
                    plan.turnstile.done(work.ordinal);
                    return Ok(rows);
                }
                Err(e) if how != How::Search && plan.rejects.is_some() && row_error(&e) => {
                    // A duplicate key: taken out with a query; the next chunks first take out
                    // what repeats inside them (duplicates come spread over a file). Anything
                    // else: the search.
                    let probe = plan.unique.is_some() && !plan.no_probe.load(Ordering::Relaxed);
                    how = match (how, e.mysql_code()) {
                        (How::Whole | How::Repeats, Some(1062)) if probe => {
                            plan.seen_duplicate.store(true, Ordering::Relaxed);
                            How::Probed
                        }
                        _ => How::Search,
                    };
                    tracing::debug!(chunk = work.meta.seq, error = %e, ?how, "looking for the refused rows");
                }
                // The keys could not be staged or looked up (a role without CREATE TEMPORARY
                // TABLES, say): this chunk and every later one go to the search.
                Err(e) if how == How::Probed && transient_reason(&e).is_none() => {
                    if !plan.no_probe.swap(true, Ordering::Relaxed) {
                        tracing::info!("duplicate keys are looked for by the search: {e}");
                    }
                    how = How::Search;
                }
                // A refused row fails the load: the error names it.
                Err(e) if plan.rejects.is_none() && row_error(&e) => {
                    return Err(self.named(&work, e).await);
                }
                // One transaction for the whole load: a lost connection loses it all.
                Err(e) if plan.atomic => return Err(e),
                Err(e) => {
                    if transient_reason(&e).is_some() {
                        self.conn = None;
                    }
                    let what = work.meta.describe();
                    let progress = self.progress.clone();
                    retrier
                        .wait(e, |n, reason, wait| {
                            Progress::add(&progress.retries, 1);
                            tracing::warn!(
                                attempt = n,
                                wait_ms = wait.as_millis() as u64,
                                "{what} failed ({reason}); retrying on a new connection"
                            );
                        })
                        .await?;
                }
            }
        }
    }
}

/// `--replace`: the table's rows deleted in the load's transaction, before its first row
/// (InnoDB's readers go on seeing them until the commit).
async fn delete_all(conn: &mut Conn, plan: &MyPlan) -> Result<()> {
    let table = plan.table.quoted_in(Dialect::Mysql);
    conn.query_drop(format!("DELETE FROM {table}"))
        .await
        .map_err(|e| Error::mysql(format!("deleting the rows of {table} (--replace)"), e))
}

async fn exec(conn: &mut Conn, sql: &str) -> Result<()> {
    conn.query_drop(sql)
        .await
        .map_err(|e| Error::mysql(format!("running {sql}"), e))
}

/// The bytes of rows `rows` (a range of `ranges`) of a chunk.
fn slice(data: &Bytes, ranges: &[Range<usize>], rows: Range<usize>) -> Bytes {
    match (ranges.get(rows.start), ranges.get(rows.end.wrapping_sub(1))) {
        (Some(first), Some(last)) => data.slice(first.start..last.end),
        _ => Bytes::new(),
    }
}

/// Row `i` of the chunk as a reject, its reason still to be said.
fn row_reject(work: &Work, i: usize) -> Reject {
    seal::row_reject(&work.raw_rows, &work.raw, i)
}

/// Row `i` of the chunk, refused by the server with `e`.
fn server_reject(work: &Work, i: usize, e: &Error) -> Reject {
    let (reason, sqlstate) = match e.kind() {
        ErrorKind::Mysql {
            source: mysql_async::Error::Server(s),
            ..
        } => (
            format!("{} (error {})", s.message, s.code),
            Some(s.state.clone()),
        ),
        _ => (e.to_string(), None),
    };
    Reject {
        reason,
        sqlstate,
        ..row_reject(work, i)
    }
}

impl Sink for MySink {
    async fn write(&mut self, chunk: Chunk) -> Result<Outcome> {
        let rows = chunk.rows;
        let result = self.write_chunk(chunk).await;
        if result.is_err() {
            // Chunks after this one must not take effect before it: stop them.
            self.plan.turnstile.poison();
        }
        result.map(|committed| Outcome::alone(rows, committed))
    }

    async fn finish(&mut self) -> Result<Committed> {
        if self.plan.replace && !self.begun {
            // No row came: the table is replaced by none.
            let plan = self.plan.clone();
            let conn = self.conn().await?;
            exec(conn, "START TRANSACTION").await?;
            delete_all(conn, &plan).await?;
            self.begun = true;
        }
        if self.plan.atomic && self.begun {
            let end = if self.plan.dry_run {
                "ROLLBACK"
            } else {
                "COMMIT"
            };
            let conn = self.conn().await?;
            exec(conn, end).await?;
        }
        Ok(Committed::default())
    }
}
