//! Citus: loading a hash-distributed table straight into its shards on the worker nodes.
//!
//! Through the coordinator, every row is parsed, routed and re-sent by the coordinator's one
//! backend process, which on a small cluster is the bottleneck (measured in
//! `docs/scaling.md`). barge can do that routing itself: it computes the distribution
//! column's hash as the server does ([`hash`]), sorts each chunk's rows into one COPY payload
//! per shard ([`route`]) and sends each node its shards' rows on its own connection.
//!
//! A chunk then spans several servers, so it commits in two phases ([`direct`]): each node's
//! part is `PREPARE`d, the chunk's checkpoint commits on the coordinator (the decision), and
//! the parts are committed. A rerun finds the parts a crash left prepared by their global
//! transaction ids and commits those whose checkpoint is there, rolls back the others.
//!
//! Routing is used when it can be exact, else the load goes through the coordinator as
//! before (said in the log): a hash-distributed table with one placement per shard, a
//! distribution column of a type hashed here, every column written (the coordinator would
//! fill defaults from its own sequences), binary COPY of plain appends with checkpoints, the
//! workers reachable from the client, and the role allowed to hold off shard moves for the
//! load (`lock_shard_metadata`, which needs the table's owner). A chunk a worker refuses rows
//! of (with `--rejects`) is rolled back on every node and goes through the coordinator, whose
//! path finds the rows.

use std::collections::HashMap;

use tokio_postgres::Client;

use super::conninfo::PgTarget;
use super::error::get;
use super::plan::{Method, PgPlan};
use crate::chunk::WireFormat;
use crate::error::{Error, Result};
use crate::ident::quote_ident;

pub mod direct;
pub mod hash;
pub mod route;

use hash::HashKind;
use route::{Shard, ShardMap};

/// What routing needs for a load: the shard map, a way to reach each node, and the
/// coordinator session that keeps the map true while the load runs.
pub struct Router {
    pub map: ShardMap,
    /// Each node's connection settings (the coordinator's, with the node's host and port).
    pub nodes: Vec<PgTarget>,
    /// Each shard's COPY statement.
    pub copy_sql: Vec<String>,
    /// Global transaction ids of this load's parts start with this.
    gid_prefix: String,
    /// Holds an advisory lock (one process per load and share routes, so that one never
    /// resolves another's parts) and, in an open transaction, a share lock on the shards'
    /// metadata (a shard move waits for the load rather than moving a shard under it).
    _guard: Client,
}

/// `COPY` into a shard is refused unless the session says it means to write to shards.
const SHARD_WRITES: &str = "SET citus.enable_manual_changes_to_shards = on";

impl Router {
    /// The global transaction id of a chunk's part on each node.
    pub fn gid(&self, first_byte: u64) -> String {
        format!("{}{first_byte}", self.gid_prefix)
    }

    /// Whether the guard session still holds its locks. A coordinator that ends it (a
    /// restart, `pg_terminate_backend`; it is exempt from `idle_in_transaction_session_timeout`)
    /// lets shard moves run: the rest of the load then goes through the coordinator.
    pub fn holds_locks(&self) -> bool {
        !self._guard.is_closed()
    }

    /// Opens a connection to node `i`, ready to write into shards.
    ///
    /// # Errors
    /// The connection error, naming the node.
    pub async fn connect(&self, i: usize) -> Result<Client> {
        let target = self
            .nodes
            .get(i)
            .ok_or_else(|| Error::internal("a shard on an unknown node"))?;
        let client = super::connect(&target.config, target).await?;
        client
            .batch_execute(SHARD_WRITES)
            .await
            .map_err(|e| Error::db(format!("setting up the session on node {target}"), e))?;
        Ok(client)
    }

    /// Sets up routing for a load into a Citus table, or says (in the log) why the load goes
    /// through the coordinator instead (`Ok(None)`).
    ///
    /// `client` is the load's bookkeeping connection to the coordinator; `coordinator` its
    /// settings.
    ///
    /// # Errors
    /// A database error while resolving the parts an earlier run left prepared.
    pub async fn open(
        client: &Client,
        coordinator: &PgTarget,
        plan: &PgPlan,
    ) -> Result<Option<Router>> {
        let why_not = if plan.method != Method::Copy(WireFormat::Binary) {
            Some("only binary COPY is routed")
        } else if plan.upsert.is_some() {
            Some("upserts merge through the coordinator")
        } else if plan.atomic || plan.checkpoints.is_none() {
            Some("routing needs checkpoints, one transaction per chunk")
        } else if plan.columns.len() != plan.table.columns.len() {
            Some("columns not written would take defaults on the workers, not the coordinator")
        } else {
            None
        };
        if let Some(why) = why_not {
            tracing::info!("loading through the Citus coordinator: {why}");
            return Ok(None);
        }
        match Self::try_open(coordinator, plan).await {
            Ok(Ok(router)) => {
                tracing::info!(
                    shards = router.map.shards.len(),
                    nodes = router.nodes.len(),
                    "rows go straight to the shards on the worker nodes"
                );
                router.recover(client, plan).await?;
                Ok(Some(router))
            }
            Ok(Err(why)) => {
                tracing::info!("loading through the Citus coordinator: {why}");
                Ok(None)
            }
            Err(e) => {
                tracing::info!("loading through the Citus coordinator: {e}");
                Ok(None)
            }
        }
    }

    /// The checks and set-up of [`Router::open`]: `Ok(Err(reason))` when routing does not
    /// apply, `Err` when a step failed (which also means: through the coordinator).
    async fn try_open(
        coordinator: &PgTarget,
        plan: &PgPlan,
    ) -> Result<std::result::Result<Router, String>> {
        let table = plan.table.quoted();
        let Some(cp) = &plan.checkpoints else {
            return Ok(Err("no checkpoints".into()));
        };
        let gid_prefix = format!(
            "barge_{:016x}_",
            fnv1a(format!("{}\0{}", cp.load_id(), cp.share_marker()).as_bytes())
        );
        let guard = super::connect(&coordinator.config, coordinator).await?;
        let ctx = |what: &str| format!("{what} of {table} on the Citus coordinator");
        let locked: bool = get(
            &guard
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                    &[&gid_prefix],
                )
                .await
                .map_err(|e| Error::db(ctx("locking the load"), e))?,
            0,
            "the load's lock",
        )?;
        if !locked {
            return Ok(Err(
                "another barge process is routing this load (or this share of it)".into(),
            ));
        }
        // The guard waits in an open transaction for the whole load: a timeout for sessions
        // idle in one (set for the role, the database or the server) would end it, and shard
        // moves could then run under the load. This session is exempt.
        guard
            .batch_execute("SET idle_in_transaction_session_timeout = 0; BEGIN")
            .await
            .map_err(|e| Error::db(ctx("reading the shards"), e))?;
        let Some(meta) = guard
            .query_opt(
                "SELECT p.partmethod::text, a.atttypid, \
                        COALESCE(co.collisdeterministic, true), a.attname::text \
                 FROM pg_dist_partition p \
                 JOIN pg_attribute a ON a.attrelid = p.logicalrelid \
                  AND a.attname = column_to_column_name(p.logicalrelid, p.partkey) \
                 LEFT JOIN pg_collation co ON co.oid = a.attcollation \
                 WHERE p.logicalrelid = to_regclass($1)",
                &[&table],
            )
            .await
            .map_err(|e| Error::db(ctx("reading the distribution"), e))?
        else {
            return Ok(Err("the table is not distributed (a local table)".into()));
        };
        let what = "the table's distribution";
        let method: String = get(&meta, 0, what)?;
        let type_oid: u32 = get(&meta, 1, what)?;
        let deterministic: bool = get(&meta, 2, what)?;
        let column: String = get(&meta, 3, what)?;
        if method != "h" {
            return Ok(Err(format!(
                "only hash-distributed tables are routed (this one's method is {method:?})"
            )));
        }
        let kind = match type_oid {
            21 => HashKind::Int2,
            23 => HashKind::Int4,
            20 => HashKind::Int8,
            25 | 1043 if deterministic => HashKind::Bytes,
            2950 => HashKind::Uuid,
            _ => {
                return Ok(Err(format!(
                "the distribution column {column:?} is of a type whose hash barge does not compute"
            )))
            }
        };
        let Some(field) = plan.columns.iter().position(|c| c.name == column) else {
            return Ok(Err(format!(
                "the distribution column {column:?} is not written"
            )));
        };
        // Shard moves take the shards' metadata lock exclusively: they wait for this one.
        let ids: Vec<i64> = guard
            .query(
                "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = to_regclass($1) \
                 ORDER BY shardid",
                &[&table],
            )
            .await
            .map_err(|e| Error::db(ctx("reading the shards"), e))?
            .iter()
            .map(|r| get(r, 0, "a shard id"))
            .collect::<Result<_>>()?;
        if let Err(e) = guard
            .execute("SELECT lock_shard_metadata(5, $1::bigint[])", &[&ids])
            .await
        {
            return Ok(Err(format!(
                "holding off shard moves during the load needs the table's owner ({e})"
            )));
        }
        let rows = guard
            .query(
                "SELECT s.shardid, s.shardminvalue::int4, s.shardmaxvalue::int4, \
                        (parse_ident(shard_name(s.logicalrelid, s.shardid)))[array_upper(parse_ident(shard_name(s.logicalrelid, s.shardid)), 1)], \
                        n.nodename::text, n.nodeport, n.isactive, \
                        (SELECT count(*) FROM pg_dist_placement pp WHERE pp.shardid = s.shardid) \
                 FROM pg_dist_shard s \
                 JOIN pg_dist_placement pl ON pl.shardid = s.shardid \
                 JOIN pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary' \
                 WHERE s.logicalrelid = to_regclass($1) \
                 ORDER BY 2",
                &[&table],
            )
            .await
            .map_err(|e| Error::db(ctx("reading the shards"), e))?;
        let mut nodes: Vec<PgTarget> = Vec::new();
        let mut node_of: HashMap<(String, i32), usize> = HashMap::new();
        let mut shards = Vec::with_capacity(rows.len());
        for r in &rows {
            let what = "a shard's placement";
            let placements: i64 = get(r, 7, what)?;
            let active: bool = get(r, 6, what)?;
            if placements != 1 || !active {
                return Ok(Err(
                    "shards with several placements, or on an inactive node, are written by the coordinator"
                        .into(),
                ));
            }
            let host: String = get(r, 4, what)?;
            let port: i32 = get(r, 5, what)?;
            let next = nodes.len();
            let node = *node_of.entry((host.clone(), port)).or_insert(next);
            if node == next {
                let Ok(port) = u16::try_from(port) else {
                    return Ok(Err(format!("node port {port} is out of range")));
                };
                nodes.push(node_target(coordinator, &host, port));
            }
            let name: String = get(r, 3, what)?;
            shards.push(Shard {
                id: get(r, 0, what)?,
                min: get(r, 1, what)?,
                max: get(r, 2, what)?,
                name: format!("{}.{}", quote_ident(&plan.table.schema), quote_ident(&name)),
                node,
            });
        }
        let map = ShardMap {
            field,
            kind,
            shards,
        };
        if !map.covers_all_hashes() {
            return Ok(Err("the shards do not cover every hash value".into()));
        }
        if let Some(why) = check_routing(&guard, &table, &map).await? {
            tracing::warn!("{why}");
            return Ok(Err(why));
        }
        let copy_sql = map
            .shards
            .iter()
            .map(|s| super::copy::copy_statement(&s.name, &plan.columns, WireFormat::Binary))
            .collect();
        let router = Router {
            map,
            nodes,
            copy_sql,
            gid_prefix,
            _guard: guard,
        };
        // Every node must be reachable from here, or none is written directly.
        for i in 0..router.nodes.len() {
            router.connect(i).await?;
        }
        Ok(Ok(router))
    }

    /// Resolves the parts an earlier run of this load left prepared: committed where the
    /// chunk's checkpoint is there (the decision was made), rolled back where it is not.
    async fn recover(&self, coordinator: &Client, plan: &PgPlan) -> Result<()> {
        let Some(cp) = &plan.checkpoints else {
            return Ok(());
        };
        for i in 0..self.nodes.len() {
            let node = self.connect(i).await?;
            let gids: Vec<String> = node
                .query(
                    "SELECT gid FROM pg_prepared_xacts \
                     WHERE database = current_database() AND starts_with(gid, $1)",
                    &[&self.gid_prefix],
                )
                .await
                .map_err(|e| Error::db(format!("listing prepared parts on {}", self.nodes[i]), e))?
                .iter()
                .map(|r| get(r, 0, "a prepared transaction"))
                .collect::<Result<_>>()?;
            for gid in gids {
                let Some(first_byte) = gid
                    .strip_prefix(&self.gid_prefix)
                    .and_then(|b| b.parse::<u64>().ok())
                else {
                    continue;
                };
                let committed = cp
                    .is_committed(&mut super::PgLedger(coordinator), first_byte)
                    .await?;
                direct::finish_part(&node, &gid, committed)
                    .await
                    .map_err(|e| Error::db(format!("resolving {gid} on {}", self.nodes[i]), e))?;
                tracing::info!(
                    gid,
                    committed,
                    "resolved a part an earlier run left prepared"
                );
            }
        }
        Ok(())
    }
}

/// The coordinator's connection settings, for another node.
fn node_target(coordinator: &PgTarget, host: &str, port: u16) -> PgTarget {
    let base = &coordinator.config;
    let mut c = tokio_postgres::Config::new();
    c.host(host).port(port);
    if let Some(u) = base.get_user() {
        c.user(u);
    }
    if let Some(p) = base.get_password() {
        c.password(p);
    }
    if let Some(d) = base.get_dbname() {
        c.dbname(d);
    }
    if let Some(o) = base.get_options() {
        c.options(o);
    }
    if let Some(a) = base.get_application_name() {
        c.application_name(a);
    }
    if let Some(t) = base.get_connect_timeout() {
        c.connect_timeout(*t);
    }
    c.ssl_mode(base.get_ssl_mode())
        .keepalives(base.get_keepalives())
        .keepalives_idle(base.get_keepalives_idle());
    PgTarget {
        config: c,
        ssl_mode: coordinator.ssl_mode,
        tls: coordinator.tls.clone(),
    }
}

/// Asks the coordinator where sample values of the distribution column's type go and compares
/// with the client's routing; a reason when they differ (then nothing is routed).
async fn check_routing(guard: &Client, table: &str, map: &ShardMap) -> Result<Option<String>> {
    let samples = samples(map.kind);
    let texts: Vec<&str> = samples.iter().map(|(t, _)| t.as_str()).collect();
    let rows = guard
        .query(
            "SELECT get_shard_id_for_distribution_column(to_regclass($1), v) \
             FROM unnest($2::text[]) WITH ORDINALITY AS s(v, i) ORDER BY i",
            &[&table, &texts],
        )
        .await
        .map_err(|e| Error::db("checking the routing with the coordinator", e))?;
    for ((text, field), row) in samples.iter().zip(&rows) {
        let server: i64 = get(row, 0, "a sample's shard")?;
        let ours = map.shard_of_field(Some(field)).map(|i| map.shards[i].id);
        if ours != Some(server) {
            return Ok(Some(format!(
                "the client's routing differs from the coordinator's for {text:?} \
                 (shard {ours:?}, the coordinator says {server}): loading through the coordinator"
            )));
        }
    }
    Ok(None)
}

/// Sample values of a type, as text (for the server) and as binary COPY fields (for the
/// client), spread over the type's range.
fn samples(kind: HashKind) -> Vec<(String, Vec<u8>)> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..64)
        .map(|i| match kind {
            HashKind::Int2 => {
                let v = (next() as i16).wrapping_add(i);
                (v.to_string(), v.to_be_bytes().to_vec())
            }
            HashKind::Int4 => {
                let v = next() as i32;
                (v.to_string(), v.to_be_bytes().to_vec())
            }
            HashKind::Int8 => {
                let v = if i % 2 == 0 {
                    next() as i64
                } else {
                    i64::from(next() as i32)
                };
                (v.to_string(), v.to_be_bytes().to_vec())
            }
            HashKind::Bytes => {
                let v = format!("key {}-{}", i, next() % 100_000);
                let text = "é".repeat(i as usize % 5) + &v;
                (text.clone(), text.into_bytes())
            }
            HashKind::Uuid => {
                let bytes: Vec<u8> = [next().to_be_bytes(), next().to_be_bytes()].concat();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                (hex, bytes)
            }
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable short name for a load in its transaction ids (std's hasher may
/// change between Rust releases, and a rerun must find its parts).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
