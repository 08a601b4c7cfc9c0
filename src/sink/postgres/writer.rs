//! A writer connection: each chunk in one transaction together with its checkpoint, sent by
//! COPY or by INSERT, straight into the target or through a staging table for upserts, and
//! retried whole on a new connection after a transient fault.

use std::sync::Arc;

use bytes::Bytes;
use tokio_postgres::Client;

use super::{copy, insert, resolve, upsert};
use crate::checkpoint::{Checkpoints, ChunkMeta};
use crate::chunk::{Chunk, WireFormat};
use crate::error::{Error, Result};
use crate::pipeline::Progress;
use crate::retry::{transient_reason, Retrier, RetryPolicy};
use crate::schema::{Column, Table};
use crate::sink::Sink;
use crate::target::Target;
use crate::turnstile::Turnstile;
use crate::upsert::{Upsert, UpsertCounts};

/// How the sink uses transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// One transaction per chunk (with its checkpoint, when checkpoints are on).
    PerChunk,
    /// The whole load in one transaction, committed by [`Sink::finish`].
    Atomic,
}

/// How rows travel to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `COPY ... FROM STDIN`, binary or text.
    Copy(WireFormat),
    /// Multi-row `INSERT`s with binary parameters, this many rows per statement.
    Insert(usize),
}

/// Everything a writer needs besides its connection; shared by all writers of a load.
#[derive(Debug)]
pub struct PgPlan {
    /// The target table.
    pub table: Table,
    /// The input's name, for messages.
    pub input: String,
    /// The columns written, in field order.
    pub columns: Vec<Column>,
    /// COPY or INSERT.
    pub method: Method,
    /// Set for upserts: rows are staged, then merged.
    pub upsert: Option<Upsert>,
    /// Where checkpoints go; `None` for loads without them.
    pub checkpoints: Option<Checkpoints>,
    /// Transaction use.
    pub mode: TxMode,
    /// Retries of a failed chunk.
    pub retry: RetryPolicy,
    /// Upserts take effect in input order.
    pub turnstile: Turnstile,
}

impl PgPlan {
    /// A plan to write `columns` (in field order) into `table` by `method`.
    pub fn new(table: &Table, columns: Vec<Column>, method: Method, input: &str) -> Self {
        PgPlan {
            table: table.clone(),
            input: input.to_string(),
            columns,
            method,
            upsert: None,
            checkpoints: None,
            mode: TxMode::PerChunk,
            retry: RetryPolicy::default(),
            turnstile: Turnstile::default(),
        }
    }

    /// The table rows are written into: the target, or the staging table for an upsert.
    fn destination(&self) -> String {
        match self.upsert {
            Some(_) => upsert::STAGE.to_string(),
            None => self.table.quoted(),
        }
    }
}

/// What a connection has set up for the load (lost with the connection).
#[derive(Default)]
struct Session {
    stage_ready: bool,
    prepared: insert::Prepared,
}

/// A connection that writes chunks into one table.
pub struct PgSink {
    client: Option<Client>,
    session: Session,
    config: tokio_postgres::Config,
    target: Target,
    plan: Arc<PgPlan>,
    progress: Arc<Progress>,
    /// In atomic mode: whether BEGIN has been sent.
    begun: bool,
    /// Statements derived from the plan, built once.
    copy_sql: String,
    merge_sql: Option<String>,
}

impl PgSink {
    /// A sink on an open connection (`client`), able to reconnect with `config`.
    pub fn new(
        client: Client,
        config: tokio_postgres::Config,
        target: Target,
        plan: Arc<PgPlan>,
        progress: Arc<Progress>,
    ) -> Self {
        let format = match plan.method {
            Method::Copy(f) => f,
            Method::Insert(_) => WireFormat::Binary,
        };
        let copy_sql = copy::copy_statement(&plan.destination(), &plan.columns, format);
        let merge_sql = plan
            .upsert
            .as_ref()
            .map(|u| upsert::merge_sql(&plan.table, &plan.columns, u));
        PgSink {
            client: Some(client),
            session: Session::default(),
            config,
            target,
            plan,
            progress,
            begun: false,
            copy_sql,
            merge_sql,
        }
    }

    async fn client(&mut self) -> Result<&Client> {
        if self.client.is_none() {
            self.client = Some(super::connect(&self.config, &self.target).await?);
            self.session = Session::default();
        }
        match &self.client {
            Some(c) => Ok(c),
            None => Err(Error::config("no connection")),
        }
    }

    /// After an error: a transient one means the connection may be dead; use a new one.
    fn after_error(&mut self, e: &Error) {
        if transient_reason(e).is_some() {
            self.client = None;
        }
    }

    fn log_retry(&self, what: &str, attempt: u32, reason: &str, wait: std::time::Duration) {
        Progress::add(&self.progress.retries, 1);
        tracing::warn!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            "{what} failed ({reason}); retrying on a new connection"
        );
    }

    /// Writes the chunk's rows into the destination and, for an upsert, waits for the chunk's
    /// turn and merges them into the target; returns how many rows the merge inserted.
    ///
    /// `tx` is the connection inside the chunk's (or the atomic load's) transaction.
    async fn write_rows(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        statements: (&str, Option<&str>),
        data: &Bytes,
        meta: &ChunkMeta,
        ordinal: u64,
    ) -> Result<Option<u64>> {
        let (copy_sql, merge_sql) = statements;
        let verb = match plan.method {
            Method::Copy(_) => "COPY",
            Method::Insert(_) => "INSERT",
        };
        let what = format!("{verb} into {} ({})", plan.table, describe(meta));
        let ctx = |e: tokio_postgres::Error| {
            let mut context = what.clone();
            if let Some(line) = copy::copy_line(&e) {
                context = format!(
                    "{context}, at record {}",
                    meta.end_record + line - meta.rows
                );
            }
            Error::db(context, e).in_chunk(meta.seq)
        };
        match plan.method {
            Method::Copy(_) => {
                copy::send(tx, copy_sql, data.clone()).await.map_err(ctx)?;
            }
            Method::Insert(per_statement) => {
                let dest = plan.destination();
                insert::send(
                    tx,
                    &mut session.prepared,
                    &dest,
                    &plan.columns,
                    per_statement,
                    data,
                    ctx,
                )
                .await?;
            }
        }
        let Some(merge_sql) = merge_sql else {
            return Ok(None);
        };
        plan.turnstile.wait(ordinal).await?;
        let what = format!("merging into {} ({})", plan.table, describe(meta));
        let row = tx
            .query_one(merge_sql, &[])
            .await
            .map_err(|e| Error::db(what.clone(), e).in_chunk(meta.seq))?;
        let inserted: i64 = crate::error::get(&row, 0, "the merge's count")?;
        Ok(Some(inserted as u64))
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

    /// One attempt at a chunk: rows, merge, checkpoint and COMMIT in one transaction. After a
    /// failed attempt, first asks whether the chunk was committed after all (the connection can
    /// die after the server committed but before it said so).
    async fn attempt(
        &mut self,
        data: &Bytes,
        meta: &ChunkMeta,
        ordinal: u64,
        retrying: bool,
    ) -> Result<Option<u64>> {
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
                    return Ok(None);
                }
            }
        }
        self.ensure_stage().await?;
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Error::config("no connection"))?;
        let what = format!("writing into {} ({})", plan.table, describe(meta));
        let ctx = |e| Error::db(what.clone(), e).in_chunk(meta.seq);
        let tx = client.transaction().await.map_err(ctx)?;
        let inserted = Self::write_rows(
            tx.client(),
            &mut self.session,
            &plan,
            (&self.copy_sql, self.merge_sql.as_deref()),
            data,
            meta,
            ordinal,
        )
        .await?;
        if let Some(cp) = &plan.checkpoints {
            let p = cp.insert_params(meta);
            tx.execute(
                &cp.insert_sql(),
                &[&cp.load_id(), &p[0], &p[1], &p[2], &p[3], &p[4], &p[5]],
            )
            .await
            .map_err(|e| Error::db(format!("writing the checkpoint of chunk {}", meta.seq), e))?;
        }
        tx.commit().await.map_err(ctx)?;
        Ok(inserted)
    }

    async fn write_atomic(&mut self, data: Bytes, meta: &ChunkMeta, ordinal: u64) -> Result<()> {
        self.ensure_stage().await?;
        let plan = self.plan.clone();
        let begun = self.begun;
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Error::config("no connection"))?;
        if !begun {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| Error::db("starting the load's transaction", e))?;
            self.begun = true;
        }
        let inserted = Self::write_rows(
            client,
            &mut self.session,
            &plan,
            (&self.copy_sql, self.merge_sql.as_deref()),
            &data,
            meta,
            ordinal,
        )
        .await?;
        if plan.upsert.is_some() {
            // ON COMMIT DELETE ROWS empties the stage only at the load's one commit.
            client
                .batch_execute(&format!("TRUNCATE {}", upsert::STAGE))
                .await
                .map_err(|e| Error::db("emptying the staging table", e))?;
        }
        self.count(inserted, meta.rows);
        plan.turnstile.done(ordinal);
        Ok(())
    }

    fn count(&self, inserted: Option<u64>, rows: u64) {
        if let (Some(u), Some(inserted)) = (&self.plan.upsert, inserted) {
            let c = UpsertCounts::of_chunk(u.on_conflict, rows, inserted);
            Progress::add(&self.progress.upsert_inserted, c.inserted);
            Progress::add(&self.progress.upsert_updated, c.updated);
            Progress::add(&self.progress.upsert_skipped, c.skipped);
        }
    }

    async fn write_chunk(&mut self, mut chunk: Chunk) -> Result<()> {
        let meta = ChunkMeta::of(&chunk);
        let plan = self.plan.clone();
        if !chunk.deferred.is_empty() {
            let mut retrier = Retrier::new(plan.retry);
            loop {
                let result = match self.client().await {
                    Ok(client) => {
                        resolve::resolve(client, &plan.input, &plan.columns, &mut chunk).await
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => break,
                    Err(e) => {
                        let e = e.in_chunk(meta.seq);
                        self.after_error(&e);
                        let what = format!("resolving values of chunk {}", meta.seq);
                        retrier
                            .wait(e, |n, r, w| self.log_retry(&what, n, r, w))
                            .await?;
                    }
                }
            }
        }
        let data = Bytes::from(std::mem::take(&mut chunk.data));
        if plan.mode == TxMode::Atomic {
            // One transaction for the whole load: a lost connection loses it all, so there is
            // nothing to retry here.
            return self.write_atomic(data, &meta, chunk.ordinal).await;
        }
        let mut retrier = Retrier::new(plan.retry);
        loop {
            match self
                .attempt(&data, &meta, chunk.ordinal, retrier.attempt() > 0)
                .await
            {
                Ok(inserted) => {
                    self.count(inserted, meta.rows);
                    plan.turnstile.done(chunk.ordinal);
                    return Ok(());
                }
                Err(e) => {
                    self.after_error(&e);
                    let what = format!("chunk {} ({})", meta.seq, describe(&meta));
                    retrier
                        .wait(e, |n, r, w| self.log_retry(&what, n, r, w))
                        .await?;
                }
            }
        }
    }
}

fn describe(meta: &ChunkMeta) -> String {
    format!(
        "chunk {}, records {}-{}",
        meta.seq,
        meta.end_record + 1 - meta.rows,
        meta.end_record
    )
}

impl Sink for PgSink {
    async fn write(&mut self, chunk: Chunk) -> Result<()> {
        let result = self.write_chunk(chunk).await;
        if result.is_err() {
            // Chunks after this one must not take effect before it: stop them.
            self.plan.turnstile.poison();
        }
        result
    }

    async fn finish(&mut self) -> Result<()> {
        if self.plan.mode == TxMode::Atomic && self.begun {
            let client = self.client().await?;
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| Error::db("committing the load's transaction", e))?;
        }
        Ok(())
    }
}
