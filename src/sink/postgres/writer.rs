//! A writer connection: each chunk in one transaction together with its checkpoint, sent by
//! COPY or by INSERT, straight into the target or through a staging table for upserts, and
//! retried whole on a new connection after a transient fault.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use tokio_postgres::{Client, Statement};

use super::conninfo::PgTarget;
use super::plan::{Method, PgPlan};
use super::refused::{self, Sorting};
use super::{copy, insert, resolve, upsert};
use crate::checkpoint::ChunkMeta;
use crate::chunk::{Chunk, RawRow, WireFormat};
use crate::encode::pg_binary;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::rejects::Reject;
use crate::retry::{row_error, transient_reason, Retrier};
use crate::sink::{seal, Committed, Outcome, Sink};
use crate::turnstile::{AskBlocking, Asked, ORDER_WAIT};

/// What a connection has set up for the load (lost with the connection).
#[derive(Default)]
pub(super) struct Session {
    stage_ready: bool,
    /// The duplicate-key path's stage of keys exists (see `refused.rs`).
    pub(super) keys_ready: bool,
    /// The stage of the columns foreign keys and checks read exists (see `refused.rs`).
    pub(super) checked_ready: bool,
    /// This connection's server process is in the plan's `writer_pids`.
    pid_known: bool,
    /// Subtransactions the transaction under way holds (savepoints released after writing):
    /// see [`refused::SUBTRANSACTIONS`].
    pub(super) subtransactions: usize,
    prepared: insert::Prepared,
    /// Statements sent for every chunk (its COPY, its checkpoint), prepared once.
    statements: HashMap<String, Statement>,
}

impl Session {
    /// `sql`, prepared on this connection once. Every chunk sends the same COPY and checkpoint
    /// INSERT: prepared each time, each cost a round trip and the server's parsing and
    /// planning. (A prepared statement outlives a rolled-back transaction; a new connection
    /// starts a new session.)
    pub(super) async fn statement(
        &mut self,
        client: &Client,
        sql: &str,
    ) -> std::result::Result<Statement, tokio_postgres::Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = client.prepare(sql).await?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// A connection that writes chunks into one table.
pub struct PgSink {
    pub(super) client: Option<Client>,
    /// In a load that is one transaction: the connection deferred values are resolved on.
    resolver: Option<Client>,
    pub(super) session: Session,
    config: tokio_postgres::Config,
    target: PgTarget,
    pub(super) plan: Arc<PgPlan>,
    pub(super) progress: Arc<Progress>,
    /// In atomic mode: whether BEGIN has been sent.
    begun: bool,
    /// In atomic mode: the indexes dropped, to build again before the commit.
    deferred: Option<super::deferred::Deferred>,
    /// Statements derived from the plan, built once.
    pub(super) copy_sql: String,
    merge: Option<upsert::Merge>,
    /// On Citus, when rows go straight to the shards: the routing and the nodes' connections.
    pub(super) direct: Option<super::citus::direct::Direct>,
}

impl PgSink {
    /// A sink on an open connection (`client`), able to reconnect with `config`.
    pub fn new(
        client: Client,
        config: tokio_postgres::Config,
        target: PgTarget,
        plan: Arc<PgPlan>,
        progress: Arc<Progress>,
    ) -> Self {
        let format = match plan.method {
            Method::Copy(f) => f,
            Method::Insert(_) => WireFormat::Binary,
        };
        let copy_sql = copy::copy_statement(&plan.destination(), &plan.columns, format);
        let merge = plan
            .upsert
            .as_ref()
            .map(|u| upsert::Merge::new(&plan.table, &plan.columns, u, plan.partitioned));
        PgSink {
            client: Some(client),
            resolver: None,
            session: Session::default(),
            config,
            target,
            plan,
            progress,
            begun: false,
            deferred: None,
            copy_sql,
            merge,
            direct: None,
        }
    }

    /// Writes rows straight into the shards of a Citus table (see [`super::citus`]).
    pub fn route_with(mut self, router: Arc<super::citus::Router>) -> Self {
        self.direct = Some(super::citus::direct::Direct::new(router));
        self
    }

    pub(super) async fn client(&mut self) -> Result<&Client> {
        if self.client.is_none() {
            self.client = Some(super::connect(&self.config, &self.target).await?);
            self.session = Session::default();
        }
        match &self.client {
            Some(c) => Ok(c),
            None => Err(Error::config("no connection")),
        }
    }

    /// The connection that resolves deferred values in a load that is one transaction: a
    /// value the server refuses there would abort the load's transaction, so they are cast
    /// on a second connection of the same settings.
    async fn resolver(&mut self) -> Result<&Client> {
        if self.resolver.is_none() {
            self.resolver = Some(super::connect(&self.config, &self.target).await?);
        }
        self.resolver
            .as_ref()
            .ok_or_else(|| Error::internal("a writer has no resolving connection"))
    }

    /// After an error: a transient one means the connection may be dead; use a new one.
    fn after_error(&mut self, e: &Error) {
        if transient_reason(e).is_some() {
            self.client = None;
        }
    }

    pub(super) fn log_retry(
        &self,
        what: &str,
        attempt: u32,
        reason: &str,
        wait: std::time::Duration,
    ) {
        Progress::add(&self.progress.retries, 1);
        tracing::warn!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            "{what} failed ({reason}); retrying on a new connection"
        );
    }

    /// Sends a COPY payload's rows into the destination (the target, or the staging table).
    /// `tx` is the connection inside the chunk's (or the atomic load's) transaction; the
    /// payload holds rows `rows` of `work`.
    pub(super) async fn send_rows(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        copy_sql: &str,
        payload: Bytes,
        work: &Work,
        rows: &copy::Rows,
    ) -> Result<()> {
        let meta = &work.meta;
        let verb = match plan.method {
            Method::Copy(_) => "COPY",
            Method::Insert(_) => "INSERT",
        };
        let what = format!("{verb} into {} ({})", plan.table, meta.describe());
        let ctx = |e: tokio_postgres::Error| {
            let line = copy::copy_line(&e, plan.relation());
            let err = Error::db(what.clone(), e).in_chunk(meta.seq);
            match line.and_then(|l| rows.at_line(l)) {
                Some(row) => meta.named(&work.raw_rows, row, err),
                None => err,
            }
        };
        match plan.method {
            Method::Copy(_) => {
                let statement = session.statement(tx, copy_sql).await.map_err(ctx)?;
                copy::send(tx, &statement, payload).await.map_err(ctx)?;
            }
            Method::Insert(per_statement) => {
                let dest = plan.destination();
                // Into the staging table of an upsert, nothing to override.
                let overriding = match plan.upsert {
                    Some(_) => "",
                    None => plan.table.overriding(&plan.columns),
                };
                insert::send(
                    tx,
                    &mut session.prepared,
                    (&dest, overriding),
                    &plan.columns,
                    per_statement,
                    &payload,
                    ctx,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Merges the staged rows into the target; returns how many rows it inserted.
    pub(super) async fn merge(
        tx: &Client,
        plan: &PgPlan,
        merge: &upsert::Merge,
        meta: &ChunkMeta,
    ) -> Result<u64> {
        let what = format!("merging into {} ({})", plan.table, meta.describe());
        let existing = match &merge.existing {
            Some(sql) => Self::merge_count(tx, sql, &what, meta).await?,
            None => 0,
        };
        let written = Self::merge_count(tx, &merge.sql, &what, meta).await?;
        Ok(written.saturating_sub(existing).max(0) as u64)
    }

    /// The one number `sql` returns (a merge's count).
    async fn merge_count(tx: &Client, sql: &str, what: &str, meta: &ChunkMeta) -> Result<i64> {
        let row = tx
            .query_one(sql, &[])
            .await
            .map_err(|e| Error::db(what.to_string(), e).in_chunk(meta.seq))?;
        super::error::get(&row, 0, "the merge's count")
    }

    /// Before COMMIT: the chunk's rejects to the rejects file (within `--max-errors`), and its
    /// checkpoint.
    pub(super) async fn seal(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        progress: &Progress,
        meta: &ChunkMeta,
        rejects: &[Reject],
    ) -> Result<()> {
        seal::set_aside(plan, meta, rejects, Progress::get(&progress.rows_rejected))?;
        if let Some(cp) = &plan.checkpoints {
            let ctx = |e| {
                seal::checkpoint_refused(Error::db(
                    format!("writing the checkpoint of chunk {}", meta.seq + 1),
                    e,
                ))
            };
            let p = cp.insert_params(meta);
            let statement = session
                .statement(tx, &cp.insert_sql::<super::PgLedger<'_>>())
                .await
                .map_err(ctx)?;
            tx.execute(
                &statement,
                &[&cp.load_id(), &p[0], &p[1], &p[2], &p[3], &p[4], &p[5]],
            )
            .await
            .map_err(ctx)?;
        }
        Ok(())
    }

    /// Creates the staging table on this connection, once.
    async fn ensure_stage(&mut self) -> Result<()> {
        if self.plan.upsert.is_none() || self.session.stage_ready {
            return Ok(());
        }
        let sql = upsert::create_stage_sql(&self.plan.table, &self.plan.columns);
        self.client()
            .await?
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db("creating the staging table", e))?;
        self.session.stage_ready = true;
        Ok(())
    }

    /// Reconnects if needed and, after a failed attempt, asks whether the chunk was committed
    /// after all (the connection can die after the server committed but before it said so).
    pub(super) async fn prepare_attempt(
        &mut self,
        meta: &ChunkMeta,
        retrying: bool,
    ) -> Result<bool> {
        let plan = self.plan.clone();
        self.client().await?;
        if retrying {
            if let (Some(cp), Some(client)) = (&plan.checkpoints, &mut self.client) {
                if cp
                    .is_committed(&mut super::PgLedger(client), meta.first_byte)
                    .await?
                {
                    tracing::info!(
                        chunk = meta.seq,
                        "the chunk was committed before the connection was lost"
                    );
                    return Ok(true);
                }
            }
        }
        self.ensure_stage().await?;
        // Chunks that wait for their turn ask whether this connection waits on them.
        if plan.rejects.is_some() && !self.session.pid_known {
            let client = connected(&mut self.client)?;
            let pid: i32 = client
                .query_one("SELECT pg_catalog.pg_backend_pid()", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| Error::db("asking for the connection's server process", e))?;
            if let Ok(mut pids) = plan.writer_pids.lock() {
                pids.push(pid);
            }
            self.session.pid_known = true;
        }
        Ok(false)
    }

    /// One attempt at a chunk: rows, merge, rejects, checkpoint and COMMIT in one transaction.
    ///
    /// With `--rejects`, chunks commit in input order, so that of two rows with the same key
    /// in different chunks the second is the one refused, as in a row-by-row load. A chunk
    /// sends its rows in parallel with the others and then waits for its turn to commit; if
    /// the wait is long (an earlier chunk may be blocked on a key this one holds), it rolls
    /// back and goes again once its turn has come (`in_turn`).
    async fn attempt(&mut self, chunk: &Work, retrying: bool, in_turn: bool) -> Result<Written> {
        let meta = &chunk.meta;
        if self.prepare_attempt(meta, retrying).await? {
            return Ok(Written::default());
        }
        let plan = self.plan.clone();
        let ordered = plan.rejects.is_some() && self.merge.is_none();
        if ordered && in_turn {
            plan.turnstile.wait(chunk.ordinal).await?;
        }
        let client = connected(&mut self.client)?;
        let what = format!("writing into {} ({})", plan.table, meta.describe());
        let ctx = |e| Error::db(what.clone(), e).in_chunk(meta.seq);
        let started = std::time::Instant::now();
        let tx = client.transaction().await.map_err(ctx)?;
        Self::send_rows(
            tx.client(),
            &mut self.session,
            &plan,
            &self.copy_sql,
            chunk.data.clone(),
            chunk,
            &copy::Rows::Range(0..meta.rows as usize),
        )
        .await?;
        let mut inserted = None;
        if let Some(merge) = &self.merge {
            plan.turnstile.wait(chunk.ordinal).await?;
            inserted = Some(Self::merge(tx.client(), &plan, merge, meta).await?);
        }
        if ordered
            && !in_turn
            && !Self::wait_turn(tx.client(), &mut self.session, &plan, chunk.ordinal).await?
        {
            tx.rollback().await.map_err(ctx)?;
            return Ok(Written {
                out_of_turn: true,
                ..Written::default()
            });
        }
        let sealing = std::time::Instant::now();
        Self::seal(
            tx.client(),
            &mut self.session,
            &plan,
            &self.progress,
            meta,
            &chunk.rejects,
        )
        .await?;
        tx.commit().await.map_err(ctx)?;
        // What this chunk's commit (with its checkpoint) cost, against the whole chunk.
        plan.tuner.observe(
            meta.rows as usize + chunk.rejects.len(),
            started.elapsed(),
            sealing.elapsed(),
        );
        Ok(Written {
            inserted,
            ..Written::default()
        })
    }

    /// A chunk the server refused some rows of, in a transaction of its own: see
    /// [`PgSink::send_bisecting`].
    async fn attempt_bisect(&mut self, chunk: &Work, retrying: bool) -> Result<Written> {
        let meta = &chunk.meta;
        if self.prepare_attempt(meta, retrying).await? {
            return Ok(Written::default());
        }
        let plan = self.plan.clone();
        let client = connected(&mut self.client)?;
        let what = format!("writing into {} ({})", plan.table, meta.describe());
        let ctx = |e| Error::db(what.clone(), e).in_chunk(meta.seq);
        let tx = client.transaction().await.map_err(ctx)?;
        self.session.subtransactions = 0;
        // In turn before anything is sent: the rows of earlier chunks are then all in the
        // table, so a duplicate found here is the second occurrence.
        plan.turnstile.wait(chunk.ordinal).await?;
        let (inserted, refused) = Self::send_bisecting(
            tx.client(),
            &mut self.session,
            &plan,
            &self.copy_sql,
            self.merge.as_ref(),
            chunk,
        )
        .await?;
        let all = seal::all_rejects(&chunk.rejects, &refused);
        Self::seal(
            tx.client(),
            &mut self.session,
            &plan,
            &self.progress,
            meta,
            &all,
        )
        .await?;
        tx.commit().await.map_err(ctx)?;
        Ok(Written {
            inserted,
            refused: refused.len() as u64,
            ..Written::default()
        })
    }

    /// A chunk of a load that is one transaction (`--atomic`, or no checkpoints could be
    /// kept). With `--rejects`, the chunk goes under a savepoint, so that rows the server
    /// refuses are found and set aside without losing the chunks before it.
    async fn write_atomic(&mut self, chunk: &Work) -> Result<Written> {
        self.client().await?;
        self.ensure_stage().await?;
        let plan = self.plan.clone();
        let meta = &chunk.meta;
        let begun = self.begun;
        let client: &Client = connected(&mut self.client)?;
        if !begun {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| Error::db("starting the load's transaction", e))?;
            self.begun = true;
            self.session.subtransactions = 0;
            if plan.replace {
                delete_all(client, &plan).await?;
            }
            if plan.build_indexes_at_end {
                self.deferred = super::deferred::drop_indexes(client, &plan.table.quoted()).await?;
                // Its savepoint, released when the indexes were dropped.
                self.session.subtransactions += usize::from(self.deferred.is_some());
            }
        }
        let rejecting = plan.rejects.is_some();
        if rejecting && self.session.subtransactions >= refused::SUBTRANSACTIONS {
            return self.write_atomic_tried(chunk).await;
        }
        let sp = |sql: &'static str| async move {
            client
                .batch_execute(sql)
                .await
                .map_err(|e| Error::db("setting a savepoint", e))
        };
        if rejecting {
            sp("SAVEPOINT barge_chunk").await?;
        }
        let mut sent = Self::send_rows(
            client,
            &mut self.session,
            &plan,
            &self.copy_sql,
            chunk.data.clone(),
            chunk,
            &copy::Rows::Range(0..meta.rows as usize),
        )
        .await;
        let mut inserted = None;
        if let (Ok(()), Some(merge)) = (&sent, &self.merge) {
            sent = match Self::merge(client, &plan, merge, meta).await {
                Ok(n) => {
                    inserted = Some(n);
                    // ON COMMIT DELETE ROWS empties the stage only at the load's one commit.
                    client
                        .batch_execute(&format!("TRUNCATE {}", upsert::STAGE))
                        .await
                        .map_err(|e| Error::db("emptying the staging table", e))
                }
                Err(e) => Err(e),
            };
        }
        let mut refused = Vec::new();
        match sent {
            Ok(()) => {}
            Err(e) if rejecting && row_error(&e) => {
                sp("ROLLBACK TO SAVEPOINT barge_chunk").await?;
                let merge = self.merge.as_ref();
                let (n, bad) = Self::send_bisecting(
                    client,
                    &mut self.session,
                    &plan,
                    &self.copy_sql,
                    merge,
                    chunk,
                )
                .await?;
                inserted = n;
                refused = bad;
            }
            Err(e) => return Err(e),
        }
        if rejecting {
            let all = seal::all_rejects(&chunk.rejects, &refused);
            Self::seal(client, &mut self.session, &plan, &self.progress, meta, &all).await?;
            sp("RELEASE SAVEPOINT barge_chunk").await?;
            self.session.subtransactions += 1;
            if self.session.subtransactions >= refused::SUBTRANSACTIONS {
                tracing::info!(
                    "the load's transaction holds {} subtransactions, one per chunk: each \
                     further chunk is tried under a savepoint that is rolled back, then sent \
                     again in the transaction itself (slower; past 64, PostgreSQL would slow \
                     down every session on the server until the load commits)",
                    self.session.subtransactions
                );
            }
        }
        Ok(Written {
            inserted,
            refused: refused.len() as u64,
            ..Written::default()
        })
    }

    /// A chunk of a load that is one transaction with `--rejects`, once the transaction holds
    /// all the subtransactions it may ([`refused::SUBTRANSACTIONS`]): the search's tries are
    /// rolled back, and the rows that went in are sent again in the transaction itself.
    async fn write_atomic_tried(&mut self, chunk: &Work) -> Result<Written> {
        let plan = self.plan.clone();
        let meta = &chunk.meta;
        let client: &Client = connected(&mut self.client)?;
        let (inserted, refused) = Self::send_bisecting(
            client,
            &mut self.session,
            &plan,
            &self.copy_sql,
            self.merge.as_ref(),
            chunk,
        )
        .await?;
        let all = seal::all_rejects(&chunk.rejects, &refused);
        Self::seal(client, &mut self.session, &plan, &self.progress, meta, &all).await?;
        Ok(Written {
            inserted,
            refused: refused.len() as u64,
            ..Written::default()
        })
    }

    fn count(&self, inserted: Option<u64>, rows: u64) {
        seal::count_upsert(&self.plan, &self.progress, inserted, rows);
    }

    async fn write_chunk(&mut self, mut chunk: Chunk) -> Result<u64> {
        let meta = ChunkMeta::of(&chunk);
        let plan = self.plan.clone();
        if !chunk.deferred.is_empty() {
            let mut retrier = Retrier::new(plan.retry);
            loop {
                let rejecting = plan.rejects.is_some();
                let client = if plan.atomic {
                    self.resolver().await
                } else {
                    self.client().await
                };
                let result = match client {
                    Ok(client) => {
                        resolve::resolve(client, &plan.input, &plan.columns, &mut chunk, rejecting)
                            .await
                            .map_err(|e| match &chunk.input {
                                Some(input) => input.locate(e),
                                None => e,
                            })
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(refused) if refused.is_empty() => break,
                    // Values the server refused: set their rows aside, resolve the rest.
                    Ok(refused) => {
                        let mut rows: Vec<usize> = Vec::new();
                        for r in refused {
                            if let Some(i) = chunk.row_of(r.position) {
                                if !rows.contains(&i) {
                                    rows.push(i);
                                    let raw = chunk.raw_row(i).map(|(_, b)| b.to_vec());
                                    chunk.rejects.push(Reject {
                                        raw: raw.unwrap_or_default(),
                                        ..r
                                    });
                                }
                            }
                        }
                        rows.sort_unstable();
                        let end = chunk.data.len().saturating_sub(pg_binary::TRAILER.len());
                        chunk.remove_rows(&rows, end);
                        chunk.rejects.sort_by_key(|r| r.position.byte);
                    }
                    Err(e) => {
                        let e = e.in_chunk(meta.seq);
                        self.after_error(&e);
                        let what = format!("resolving values of chunk {}", meta.seq + 1);
                        retrier
                            .wait(e, |n, r, w| self.log_retry(&what, n, r, w))
                            .await?;
                    }
                }
            }
        }
        // Rows set aside while resolving are no longer the chunk's.
        let meta = ChunkMeta::of(&chunk);
        let mut work = Work {
            data: Bytes::from(std::mem::take(&mut chunk.data)),
            meta: meta.clone(),
            ordinal: chunk.ordinal,
            rejects: std::mem::take(&mut chunk.rejects),
            raw: std::mem::take(&mut chunk.raw),
            raw_rows: std::mem::take(&mut chunk.raw_rows),
        };
        if plan.atomic {
            // One transaction for the whole load: a lost connection loses it all, so there is
            // nothing to retry here.
            let written = self.write_atomic(&work).await?;
            self.count(written.inserted, meta.rows - written.refused);
            plan.turnstile.done(work.ordinal);
            return Ok(meta.rows - written.refused);
        }
        if self.direct.is_some() && plan.seen_duplicate().is_none() {
            if let Some(w) = self.write_routed(&mut work).await? {
                self.count(w.inserted, meta.rows);
                plan.turnstile.done(work.ordinal);
                return Ok(meta.rows);
            }
        }
        let mut retrier = Retrier::new(plan.retry);
        let mut bisect = false;
        let mut in_turn = false;
        // Once a chunk met a duplicate key, later ones go without the keys they repeat; a
        // chunk that still meets one has its keys looked up.
        let mut dedupe = plan.dedupe_key.is_some() && plan.seen_duplicate().is_some();
        let mut probe = false;
        // Likewise for rows a foreign key or a check refuses: once a chunk met one, later
        // chunks are checked against them first.
        let mut constraints = (!plan.foreign_keys.is_empty() || !plan.checks.is_empty())
            && plan.refusals_seen.load(Ordering::Relaxed);
        loop {
            let retrying = retrier.attempt() > 0;
            let result = if bisect {
                self.attempt_bisect(&work, retrying).await
            } else if dedupe || constraints {
                let sort = Sorting {
                    repeats: dedupe,
                    probe,
                    constraints,
                };
                self.attempt_sorted(&work, retrying, in_turn, sort).await
            } else {
                self.attempt(&work, retrying, in_turn).await
            };
            match result {
                Ok(w) if w.out_of_turn => in_turn = true,
                Ok(w) if w.needs_search => bisect = true,
                Ok(w) => {
                    self.count(w.inserted, meta.rows - w.refused);
                    plan.turnstile.done(work.ordinal);
                    return Ok(meta.rows - w.refused);
                }
                // A duplicate key: take out every row whose key is there already, at once.
                Err(e)
                    if !probe
                        && !bisect
                        && plan.dedupe_key.is_some()
                        && e.sqlstate() == Some("23505") =>
                {
                    plan.saw_duplicate(&e);
                    probe = dedupe;
                    dedupe = true;
                }
                // A row whose parent is missing, or that a check refuses: take out every such
                // row, at once.
                Err(e) if !constraints && !bisect && refused::is_set_refusal(&plan, &e) => {
                    plan.refusals_seen.store(true, Ordering::Relaxed);
                    constraints = true;
                }
                // A row the server refuses: find it (and any others) and set them aside.
                Err(e) if !bisect && plan.rejects.is_some() && row_error(&e) => {
                    dedupe = false;
                    constraints = false;
                    tracing::debug!(chunk = meta.seq, error = %e, "looking for the refused rows");
                    bisect = true;
                }
                // A refused row fails the load: the error names it. (COPY's error gives its
                // line, but for a foreign key's, checked once the statement has all its rows;
                // a merge's and an INSERT's do not.)
                Err(e)
                    if plan.rejects.is_none()
                        && row_error(&e)
                        && (plan.upsert.is_some()
                            || matches!(plan.method, Method::Insert(_))
                            || !e.names_a_row()) =>
                {
                    return Err(self.named(&work, e).await);
                }
                Err(e) => {
                    self.after_error(&e);
                    let what = meta.describe();
                    retrier
                        .wait(e, |n, r, w| self.log_retry(&what, n, r, w))
                        .await?;
                }
            }
        }
    }

    /// `e`, the server's refusal of a chunk that fails the load (no `--rejects`), naming the
    /// row it refused: the chunk's rows are searched again in a transaction that is then
    /// rolled back. `e` as it is when the search cannot tell.
    async fn named(&mut self, work: &Work, e: Error) -> Error {
        let plan = self.plan.clone();
        if self.client().await.is_err() || self.ensure_stage().await.is_err() {
            return e;
        }
        let Ok(client) = connected(&mut self.client) else {
            return e;
        };
        let Ok(tx) = client.transaction().await else {
            return e;
        };
        self.session.subtransactions = 0;
        let sql = (self.copy_sql.as_str(), self.merge.as_ref());
        let found = Self::search(tx.client(), &mut self.session, &plan, sql, work, true).await;
        let _ = tx.rollback().await;
        match found.map(|(_, refused)| refused.into_iter().next()) {
            Ok(Some((row, refusal))) => work.meta.named(&work.raw_rows, row, refusal),
            _ => e,
        }
    }
}

/// The open connection (callers connect first).
pub(super) fn connected(client: &mut Option<Client>) -> Result<&mut Client> {
    client
        .as_mut()
        .ok_or_else(|| Error::internal("a writer has no connection"))
}

/// A chunk as the writer holds it while it may be retried.
pub(super) struct Work {
    pub(super) data: Bytes,
    pub(super) meta: ChunkMeta,
    pub(super) ordinal: u64,
    pub(super) rejects: Vec<Reject>,
    pub(super) raw: Vec<u8>,
    pub(super) raw_rows: Vec<RawRow>,
}

/// What one attempt committed.
#[derive(Default)]
pub(super) struct Written {
    /// Rows an upsert's merge inserted.
    pub(super) inserted: Option<u64>,
    /// Rows the server refused, set aside.
    pub(super) refused: u64,
    /// Nothing was committed: the chunk waited too long for its turn and must go again in it.
    pub(super) out_of_turn: bool,
    /// Nothing was committed: the chunk's refused rows are for the search to find.
    pub(super) needs_search: bool,
}

impl PgSink {
    /// Waits, in the chunk's transaction on `tx`, for chunk `ordinal`'s turn to commit; false
    /// when it should let go of what it holds and go again in its turn
    /// ([`crate::turnstile::Turnstile::wait_or_let_go`]): PostgreSQL tells any role which
    /// sessions block which (`pg_blocking_pids`), so the other writers' server processes are
    /// asked whether they wait on this one.
    pub(super) async fn wait_turn(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        ordinal: u64,
    ) -> Result<bool> {
        let mut asker = Blocking { tx, session, plan };
        plan.turnstile
            .wait_or_let_go(ordinal, ORDER_WAIT, &mut asker)
            .await
    }
}

/// Asks whether another writer's server process waits on this chunk's transaction.
struct Blocking<'a> {
    tx: &'a Client,
    session: &'a mut Session,
    plan: &'a PgPlan,
}

impl AskBlocking for Blocking<'_> {
    async fn ask(&mut self) -> Asked {
        let others: Vec<i32> = match self.plan.writer_pids.lock() {
            Ok(pids) => pids.clone(),
            Err(_) => Vec::new(),
        };
        let waits_on_me = self
            .session
            .statement(
                self.tx,
                "SELECT EXISTS (SELECT FROM unnest($1::int4[]) w \
                 WHERE pg_catalog.pg_backend_pid() = ANY (pg_catalog.pg_blocking_pids(w)))",
            )
            .await;
        let blocking = match waits_on_me {
            Ok(st) => self
                .tx
                .query_one(&st, &[&others])
                .await
                .and_then(|r| r.try_get(0)),
            Err(e) => Err(e),
        };
        match blocking {
            Ok(true) => Asked::Blocks,
            Ok(false) => Asked::Clear,
            // The failed query ended the transaction's use: the chunk goes again in its
            // turn, which needs no asking.
            Err(e) => {
                tracing::debug!("asking which writers wait on this one: {e}");
                Asked::Failed
            }
        }
    }
}

impl Sink for PgSink {
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
            let client = self.client().await?;
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| Error::db("starting the load's transaction", e))?;
            delete_all(client, &plan).await?;
            self.begun = true;
        }
        if self.plan.atomic && self.begun {
            let deferred = self.deferred.take();
            let dry_run = self.plan.dry_run;
            let client = self.client().await?;
            if dry_run {
                return client
                    .batch_execute("ROLLBACK")
                    .await
                    .map(|_| Committed::default())
                    .map_err(|e| Error::db("rolling back the dry run", e));
            }
            if let Some(deferred) = deferred {
                if let Err(e) = deferred.rebuild(client).await {
                    // Not left to the connection's end: the rerun waits for this lock.
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(e);
                }
            }
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| Error::db("committing the load's transaction", e))?;
        }
        Ok(Committed::default())
    }
}

/// `--replace`: the table's rows deleted in the load's transaction, before its first row.
/// (`DELETE`, not `TRUNCATE`: readers go on seeing the old rows, unblocked, until the commit.)
async fn delete_all(client: &Client, plan: &PgPlan) -> Result<()> {
    let table = plan.table.quoted();
    client
        .batch_execute(&format!("DELETE FROM {table}"))
        .await
        .map(|_| ())
        .map_err(|e| Error::db(format!("deleting the rows of {table} (--replace)"), e))
}
