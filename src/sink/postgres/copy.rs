//! Writing a chunk with `COPY ... FROM STDIN`, one transaction per chunk, together with the
//! chunk's checkpoint, retried whole on a new connection after a transient fault.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use super::resolve;
use crate::checkpoint::{Checkpoints, ChunkMeta};
use crate::chunk::{Chunk, WireFormat};
use crate::error::{Error, Result};
use crate::pipeline::Progress;
use crate::retry::{transient_reason, Retrier, RetryPolicy};
use crate::schema::{quote_ident, Column, Table};
use crate::sink::Sink;
use crate::target::Target;

/// How the sink uses transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    /// One transaction per chunk (with its checkpoint, when checkpoints are on).
    PerChunk,
    /// The whole load in one transaction, committed by [`Sink::finish`].
    Atomic,
}

/// Everything a writer needs besides its connection; shared by all writers of a load.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    /// The COPY statement.
    pub statement: String,
    /// The quoted target table, for messages.
    pub table: String,
    /// The input's name, for messages.
    pub input: String,
    /// The columns written, in field order.
    pub columns: Vec<Column>,
    /// Where checkpoints go; `None` for loads without them.
    pub checkpoints: Option<Checkpoints>,
    /// Transaction use.
    pub mode: TxMode,
    /// Retries of a failed chunk.
    pub retry: RetryPolicy,
}

impl CopyPlan {
    /// A plan to COPY `columns` (in field order) into `table`.
    pub fn new(table: &Table, columns: Vec<Column>, format: WireFormat, input: &str) -> Self {
        CopyPlan {
            statement: copy_statement(table, &columns, format),
            table: table.quoted(),
            input: input.to_string(),
            columns,
            checkpoints: None,
            mode: TxMode::PerChunk,
            retry: RetryPolicy::default(),
        }
    }
}

/// A connection that writes chunks into one table with COPY.
pub struct PgCopySink {
    client: Option<Client>,
    config: tokio_postgres::Config,
    target: Target,
    plan: Arc<CopyPlan>,
    progress: Arc<Progress>,
    /// In atomic mode: whether BEGIN has been sent.
    begun: bool,
}

impl PgCopySink {
    /// A sink on an open connection (`client`), able to reconnect with `config`.
    pub fn new(
        client: Client,
        config: tokio_postgres::Config,
        target: Target,
        plan: Arc<CopyPlan>,
        progress: Arc<Progress>,
    ) -> Self {
        PgCopySink {
            client: Some(client),
            config,
            target,
            plan,
            progress,
            begun: false,
        }
    }

    async fn client(&mut self) -> Result<&Client> {
        if self.client.is_none() {
            self.client = Some(super::connect(&self.config, &self.target).await?);
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

    /// One attempt at a chunk: COPY, checkpoint and COMMIT in one transaction. After a failed
    /// attempt, first asks whether the chunk was committed after all (the connection can die
    /// after the server committed but before it said so).
    async fn attempt(&mut self, data: &Bytes, meta: &ChunkMeta, retrying: bool) -> Result<()> {
        let plan = self.plan.clone();
        let what = format!("COPY into {} ({})", plan.table, describe(meta));
        let ctx = |e: tokio_postgres::Error| {
            let mut context = what.clone();
            if let Some(line) = copy_line(&e) {
                context = format!(
                    "{context}, at record {}",
                    meta.end_record + line - meta.rows
                );
            }
            Error::db(context, e).in_chunk(meta.seq)
        };
        let client = match self.client.as_mut() {
            Some(c) => c,
            None => {
                self.client = Some(super::connect(&self.config, &self.target).await?);
                self.client
                    .as_mut()
                    .ok_or_else(|| Error::config("no connection"))?
            }
        };
        if retrying {
            if let Some(cp) = &plan.checkpoints {
                if cp
                    .is_committed(&mut super::PgLedger(client), meta.first_byte)
                    .await?
                {
                    tracing::info!(
                        chunk = meta.seq,
                        "the chunk was committed before the connection was lost"
                    );
                    return Ok(());
                }
            }
        }
        let tx = client.transaction().await.map_err(ctx)?;
        let sink = tx.copy_in(&plan.statement).await.map_err(ctx)?;
        futures_util::pin_mut!(sink);
        sink.send(data.clone()).await.map_err(ctx)?;
        sink.finish().await.map_err(ctx)?;
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
        Ok(())
    }

    async fn write_atomic(&mut self, data: Bytes, meta: &ChunkMeta) -> Result<()> {
        let plan = self.plan.clone();
        let what = format!("COPY into {} ({})", plan.table, describe(meta));
        let begun = self.begun;
        let client = self.client().await?;
        if !begun {
            client
                .batch_execute("BEGIN")
                .await
                .map_err(|e| Error::db("starting the load's transaction", e))?;
        }
        let ctx = |e| Error::db(what.clone(), e).in_chunk(meta.seq);
        let sink = client.copy_in(&plan.statement).await.map_err(ctx)?;
        futures_util::pin_mut!(sink);
        sink.send(data).await.map_err(ctx)?;
        sink.finish().await.map_err(ctx)?;
        self.begun = true;
        Ok(())
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

/// `COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`: every identifier quoted.
pub fn copy_statement(table: &Table, columns: &[Column], format: WireFormat) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT {})",
        table.quoted(),
        cols.join(", "),
        format.as_str()
    )
}

impl Sink for PgCopySink {
    async fn write(&mut self, mut chunk: Chunk) -> Result<()> {
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
            return self.write_atomic(data, &meta).await;
        }
        let mut retrier = Retrier::new(plan.retry);
        loop {
            match self.attempt(&data, &meta, retrier.attempt() > 0).await {
                Ok(()) => return Ok(()),
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

/// The row number within the COPY stream that the server blames, from its error context
/// ("COPY events, line 5, column x: ...").
fn copy_line(e: &tokio_postgres::Error) -> Option<u64> {
    let where_ = e.as_db_error()?.where_()?;
    let rest = &where_[where_.find(", line ")? + 7..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
