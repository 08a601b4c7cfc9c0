//! A chunk written straight into its shards: each node's part prepared, the decision
//! committed with the chunk's checkpoint on the coordinator, then the parts committed.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::join_all;
use tokio_postgres::Client;

use super::Router;
use crate::error::{Error, Result};
use crate::retry::{row_error, transient_reason, Retrier};
use crate::sink::postgres::writer::{PgSink, Work, Written};
use crate::sink::postgres::{copy, PgLedger};

/// A writer's connections to the nodes, beside its connection to the coordinator.
pub struct Direct {
    pub router: Arc<Router>,
    nodes: Vec<Option<Client>>,
}

impl Direct {
    pub fn new(router: Arc<Router>) -> Self {
        let nodes = router.nodes.iter().map(|_| None).collect();
        Direct { router, nodes }
    }

    /// Connects to the nodes in `which` that have no live connection.
    async fn connect(&mut self, which: &[usize]) -> Result<()> {
        for &i in which {
            if self.nodes[i].as_ref().is_none_or(Client::is_closed) {
                self.nodes[i] = Some(self.router.connect(i).await?);
            }
        }
        Ok(())
    }

    /// The live connection to node `i` (connected first by [`Direct::connect`]).
    fn node(&self, i: usize) -> Result<&Client> {
        self.nodes
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::internal("a node has no connection"))
    }
}

/// Commits or rolls back a prepared part by its global transaction id.
///
/// # Errors
/// The server's error (no such prepared transaction, a lost connection).
pub async fn finish_part(
    node: &Client,
    gid: &str,
    commit: bool,
) -> std::result::Result<(), tokio_postgres::Error> {
    let verb = if commit {
        "COMMIT PREPARED"
    } else {
        "ROLLBACK PREPARED"
    };
    // A transaction id is a literal, never a parameter; barge's are letters, digits and `_`.
    node.batch_execute(&format!("{verb} '{}'", gid.replace('\'', "''")))
        .await
}

/// How a routed chunk ended.
enum Outcome {
    Committed,
    /// A node refused some row: nothing is left of the chunk on any node, and it goes through
    /// the coordinator, whose path finds the rows.
    Refused,
}

/// One chunk's parts: the payload of each shard, and the nodes that get any.
struct Parts {
    payloads: Vec<Bytes>,
    /// For each node, its shards with rows.
    by_node: Vec<Vec<usize>>,
    /// The nodes with rows.
    involved: Vec<usize>,
    gid: String,
}

impl PgSink {
    /// Writes a chunk straight into its shards; `Ok(None)` when it must go through the
    /// coordinator instead (a row that cannot be routed, or one a node refuses).
    pub(in crate::sink::postgres) async fn write_routed(
        &mut self,
        work: &mut Work,
    ) -> Result<Option<Written>> {
        let Some(mut direct) = self.direct.take() else {
            return Ok(None);
        };
        if !direct.router.holds_locks() {
            tracing::warn!(
                "the coordinator ended the session that held off shard moves: \
                 the rest of the load goes through the coordinator"
            );
            return Ok(None);
        }
        let result = self.write_routed_with(&mut direct, work).await;
        self.direct = Some(direct);
        result
    }

    async fn write_routed_with(
        &mut self,
        direct: &mut Direct,
        work: &mut Work,
    ) -> Result<Option<Written>> {
        let router = direct.router.clone();
        let Some(payloads) = router.map.split(&work.data) else {
            return Ok(None);
        };
        // The rows now live in the shards' payloads. The chunk as encoded is needed again
        // only if it goes through the coordinator, which happens only when a node refuses a
        // row and --rejects is on: otherwise it is let go, so that a chunk is held once.
        if self.plan.rejects.is_none() {
            work.data = Bytes::new();
        }
        let work: &Work = work;
        let mut by_node: Vec<Vec<usize>> = vec![Vec::new(); router.nodes.len()];
        for (s, p) in payloads.iter().enumerate() {
            if !p.is_empty() {
                by_node[router.map.shards[s].node].push(s);
            }
        }
        let parts = Parts {
            payloads: payloads.into_iter().map(Bytes::from).collect(),
            involved: (0..by_node.len())
                .filter(|&i| !by_node[i].is_empty())
                .collect(),
            by_node,
            gid: router.gid(work.meta.first_byte),
        };
        let mut retrier = Retrier::new(self.plan.retry);
        let mut unsettled = false;
        loop {
            let started = Instant::now();
            let result = if unsettled {
                match self.settle(direct, work, &parts).await {
                    Ok(true) => Ok(Outcome::Committed),
                    Ok(false) => self.route_once(direct, work, &parts, started).await,
                    Err(e) => Err(e),
                }
            } else {
                self.route_once(direct, work, &parts, started).await
            };
            match result {
                Ok(Outcome::Committed) => return Ok(Some(Written::default())),
                Ok(Outcome::Refused) => return Ok(None),
                Err(e) => {
                    let e = e.in_chunk(work.meta.seq);
                    if transient_reason(&e).is_some() {
                        self.client = None;
                    }
                    if transient_reason(&e).is_none() {
                        // Leave nothing prepared behind (a rerun would resolve it, but until
                        // then it holds its locks).
                        if let Err(again) = self.settle(direct, work, &parts).await {
                            tracing::warn!(error = %again, "could not resolve the chunk's parts");
                        }
                        return Err(e);
                    }
                    let what = work.meta.describe();
                    retrier
                        .wait(e, |n, r, w| self.log_retry(&what, n, r, w))
                        .await?;
                    unsettled = true;
                }
            }
        }
    }

    /// One try: prepare every node's part, commit the decision with the checkpoint, commit
    /// the parts.
    async fn route_once(
        &mut self,
        direct: &mut Direct,
        work: &Work,
        parts: &Parts,
        started: Instant,
    ) -> Result<Outcome> {
        let meta = &work.meta;
        direct.connect(&parts.involved).await?;
        let router = direct.router.clone();
        let prepared = join_all(parts.involved.iter().map(|&i| {
            let node = direct.node(i);
            let shards = &parts.by_node[i];
            let router = &router;
            async move {
                let node = node?;
                let ctx = |e| {
                    Error::db(
                        format!(
                            "writing {} into shards on node {}",
                            meta.describe(),
                            router.nodes[i]
                        ),
                        e,
                    )
                };
                node.batch_execute("BEGIN").await.map_err(ctx)?;
                for &s in shards {
                    copy::send(node, &router.copy_sql[s], parts.payloads[s].clone())
                        .await
                        .map_err(ctx)?;
                }
                node.batch_execute(&format!("PREPARE TRANSACTION '{}'", parts.gid))
                    .await
                    .map_err(ctx)
            }
        }))
        .await;
        if prepared.iter().any(Result::is_err) {
            let mut first = None;
            for (&i, r) in parts.involved.iter().zip(prepared) {
                let Ok(node) = direct.node(i) else { continue };
                let undone = match r {
                    Ok(()) => finish_part(node, &parts.gid, false).await,
                    Err(e) => {
                        let closed = node.is_closed();
                        first.get_or_insert(e);
                        if closed {
                            direct.nodes[i] = None;
                            continue;
                        }
                        node.batch_execute("ROLLBACK").await
                    }
                };
                if undone.is_err() {
                    // Settled on the next try (or by a rerun) through a new connection.
                    direct.nodes[i] = None;
                }
            }
            let e = first.ok_or_else(|| Error::internal("a part failed without an error"))?;
            if self.plan.rejects.is_some() && row_error(&e) {
                tracing::debug!(chunk = meta.seq, error = %e, "a node refused rows: through the coordinator");
                return Ok(Outcome::Refused);
            }
            return Err(e);
        }

        // The decision: the chunk's checkpoint (and its client-side rejects) on the coordinator.
        let sealing = Instant::now();
        let plan = self.plan.clone();
        if plan.rejects.is_some() {
            plan.turnstile.wait(work.ordinal).await?;
        }
        self.client().await?;
        let progress = self.progress.clone();
        let client = crate::sink::postgres::writer::connected(&mut self.client)?;
        let ctx = |e| Error::db(format!("committing {}", meta.describe()), e);
        let tx = client.transaction().await.map_err(ctx)?;
        Self::seal(
            tx.client(),
            &mut self.session,
            &plan,
            &progress,
            meta,
            &work.rejects,
        )
        .await?;
        tx.commit().await.map_err(ctx)?;

        let committed = join_all(parts.involved.iter().map(|&i| {
            let node = direct.node(i);
            let router = &router;
            async move {
                finish_part(node?, &parts.gid, true).await.map_err(|e| {
                    Error::db(
                        format!(
                            "committing the part of {} on node {} (its checkpoint is committed: \
                             running the same command again commits it)",
                            meta.describe(),
                            router.nodes[i]
                        ),
                        e,
                    )
                })
            }
        }))
        .await;
        committed.into_iter().collect::<Result<Vec<()>>>()?;
        plan.tuner.observe(
            meta.rows as usize + work.rejects.len(),
            started.elapsed(),
            sealing.elapsed(),
        );
        Ok(Outcome::Committed)
    }

    /// After a failed try: whether the chunk was decided (its checkpoint is there), with its
    /// parts committed if so and rolled back if not, wherever they are still prepared.
    async fn settle(&mut self, direct: &mut Direct, work: &Work, parts: &Parts) -> Result<bool> {
        let plan = self.plan.clone();
        let Some(cp) = &plan.checkpoints else {
            return Err(Error::internal("a routed load without checkpoints"));
        };
        let client = self.client().await?;
        let committed = cp
            .is_committed(&mut PgLedger(client), work.meta.first_byte)
            .await?;
        direct.connect(&parts.involved).await?;
        for &i in &parts.involved {
            let node = direct.node(i)?;
            let ctx = |e| {
                Error::db(
                    format!("resolving {} on node {}", parts.gid, direct.router.nodes[i]),
                    e,
                )
            };
            // Whatever the connection was doing is over.
            let _ = node.batch_execute("ROLLBACK").await;
            let pending = node
                .query_opt(
                    "SELECT 1 FROM pg_prepared_xacts WHERE gid = $1 AND database = current_database()",
                    &[&parts.gid],
                )
                .await
                .map_err(ctx)?;
            if pending.is_some() {
                finish_part(node, &parts.gid, committed)
                    .await
                    .map_err(ctx)?;
            }
        }
        Ok(committed)
    }
}
