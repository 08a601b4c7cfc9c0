//! Finding the rows PostgreSQL refuses in a chunk it refused: the shared search
//! ([`crate::sink::bisect`]) driven over savepoints, with the row COPY blames read from the
//! server's error context; and, for duplicate keys, one set operation instead of a search.
//!
//! A search re-sends the pieces that hold bad rows, and with duplicates spread over a file
//! every chunk has some. When the table has one unique key and the load writes all of its
//! columns, duplicates are taken out before the COPY instead, in two steps of growing cost.
//! Once a chunk met a duplicate, later chunks go without the rows whose key repeats an earlier
//! row of the same chunk, found on the client from the chunk's own encoding. A chunk that
//! still meets one (its key is in the table, or in another chunk) has its keys, and only its
//! keys, COPYed into a temporary stage; one query picks out the rows whose key is in the table
//! already or earlier in the chunk (the first occurrence loads, as row by row). Either way the
//! rest go in by COPY, as slices of the chunk.
//!
//! Rows whose parent row is missing (a foreign key), and rows a check constraint refuses, are
//! found the same way: the columns the table's foreign keys and checks read are staged, and
//! one query per constraint picks out the rows it refuses. That works for the constraints the
//! server checks as the query does (see [`ForeignKey`], [`Check`]); any other refusal falls
//! back to the search.

use std::collections::hash_map::{Entry, HashMap};
use std::collections::BTreeMap;
use std::ops::Range;

use tokio_postgres::Client;

use super::copy;
use super::plan::{Check, ForeignKey, Method, PgPlan};
use super::upsert;
use super::writer::{connected, PgSink, Session, Work, Written};
use crate::error::{Error, ErrorKind, Result};
use crate::ident::quote_ident;
use crate::rejects::Reject;
use crate::retry::row_error;
use crate::sink::bisect::{self, Bisection};
use crate::sink::seal;

/// The duplicate-key path's stage: each row's number in its chunk and its key, emptied at
/// every commit. Made once per connection: a table made and dropped per chunk cost catalog
/// work on every chunk.
const KEYS: &str = "pg_temp.\"barge_keys\"";
/// Its row-number column.
const SEQ: &str = "\"barge.seq\"";
/// The foreign-key and check path's stage: each row's number and the columns they read.
const CHECKED: &str = "pg_temp.\"barge_checked\"";

/// Which rows a sorted attempt takes out before its COPY.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sorting {
    /// Rows whose key repeats an earlier row's in the chunk (found on the client).
    pub(super) repeats: bool,
    /// Rows whose key is in the table or earlier in the chunk (the keys staged).
    pub(super) probe: bool,
    /// Rows whose parent row is missing, or that a check refuses (their columns staged).
    pub(super) constraints: bool,
}

impl PgSink {
    /// A chunk whose refusals one set operation each finds (duplicate keys, missing parents,
    /// checks), in a transaction of its own (see the module's docs).
    ///
    /// With `probe` false, only the rows whose key repeats an earlier row's key in the chunk,
    /// byte for byte, are taken out, on the client: the cheap pass, which a duplicate of a
    /// row outside the chunk fails with 23505. With `probe` true, every key is staged and the
    /// server finds those in the table or earlier in the chunk.
    ///
    /// # Errors
    /// A database error; a row error when the server refuses a row for another reason, which
    /// the caller then searches for.
    ///
    /// With `sort.constraints`, the rows whose parent row is missing, or that a check
    /// refuses, are taken out too. A chunk with both duplicates and such rows goes to the
    /// search instead (`needs_search`): which occurrence of a key loads depends on which of
    /// them the other constraint refuses.
    pub(super) async fn attempt_sorted(
        &mut self,
        chunk: &Work,
        retrying: bool,
        in_turn: bool,
        sort: Sorting,
    ) -> Result<Written> {
        let meta = &chunk.meta;
        if self.prepare_attempt(meta, retrying).await? {
            return Ok(Written::default());
        }
        let plan = self.plan.clone();
        let key = plan
            .dedupe_key
            .as_deref()
            .filter(|_| sort.repeats || sort.probe);
        if key.is_some() && sort.probe {
            self.ensure_temp_stage(KEYS, &plan.dedupe_fields, self.session.keys_ready)
                .await?;
            self.session.keys_ready = true;
        }
        if sort.constraints {
            let fields = checked_fields(&plan);
            self.ensure_temp_stage(CHECKED, &fields, self.session.checked_ready)
                .await?;
            self.session.checked_ready = true;
        }
        let client = connected(&mut self.client)?;
        let what = format!("writing into {} ({})", plan.table, meta.describe());
        let ctx = |e| Error::db(what.clone(), e).in_chunk(meta.seq);
        let tx = client.transaction().await.map_err(ctx)?;
        if in_turn {
            plan.turnstile.wait(chunk.ordinal).await?;
        }
        let format = plan.format();
        let malformed = || Error::internal("a chunk's COPY payload is malformed");
        let ranges = copy::row_ranges(&chunk.data, format).ok_or_else(malformed)?;
        let duplicates = match key {
            Some(_) if sort.probe => probe_keys(tx.client(), &plan, chunk, &ranges).await?,
            Some(_) => repeats_in_chunk(&plan, chunk, &ranges).ok_or_else(malformed)?,
            None => Vec::new(),
        };
        let others = match sort.constraints {
            true => probe_constraints(tx.client(), &plan, chunk, &ranges).await?,
            false => Vec::new(),
        };
        if !duplicates.is_empty() && !others.is_empty() {
            tx.rollback().await.map_err(ctx)?;
            return Ok(Written {
                needs_search: true,
                ..Written::default()
            });
        }
        if !others.is_empty() {
            tracing::debug!(
                chunk = meta.seq,
                rows = others.len(),
                "rows a foreign key or check refuses, found with one query per constraint"
            );
        }
        let refused: Vec<(usize, Reject)> = duplicates.into_iter().chain(others).collect();
        // The rest go in by COPY, the fastest way in: the chunk without the duplicates.
        let skip: Vec<usize> = refused.iter().map(|(i, _)| *i).collect();
        let parts = crate::chunk::without_rows(&chunk.data, &ranges, &skip);
        copy::send_parts(tx.client(), &self.copy_sql, parts)
            .await
            .map_err(ctx)?;
        // Sorted out and sent in parallel with other chunks, committed in turn, as a clean
        // chunk is: a key of an earlier chunk not yet committed fails the COPY, and the chunk
        // goes again once its turn has come.
        if !in_turn
            && !Self::wait_turn(tx.client(), &mut self.session, &plan, chunk.ordinal).await?
        {
            // An earlier chunk may be waiting on a key this one holds: let go.
            tx.rollback().await.map_err(ctx)?;
            return Ok(Written {
                out_of_turn: true,
                ..Written::default()
            });
        }
        let refused: Vec<Reject> = refused.into_iter().map(|(_, r)| r).collect();
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
            refused: refused.len() as u64,
            ..Written::default()
        })
    }

    /// Makes `stage` on this connection unless `ready`: each row's number and the table's
    /// columns at `fields`, emptied at every commit.
    async fn ensure_temp_stage(
        &mut self,
        stage: &str,
        fields: &[usize],
        ready: bool,
    ) -> Result<()> {
        if ready {
            return Ok(());
        }
        let plan = &self.plan;
        let sql = format!(
            "CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS \
             SELECT 0::bigint AS {SEQ}, {} FROM {} WHERE false",
            staged_columns(plan, fields),
            plan.table.quoted()
        );
        connected(&mut self.client)?
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::db(format!("creating {stage}"), e))?;
        Ok(())
    }

    /// Sends a chunk known to hold rows the server refuses, on `tx` (inside a transaction):
    /// rows go in ranges, each under a savepoint, and a refused range is split (at the row
    /// COPY blames, else in halves) until each bad row stands alone and is set aside with the
    /// server's message. Returns the rows an upsert's merges inserted, and the rows refused.
    ///
    /// A range that went in keeps its savepoint's subtransaction until the transaction ends,
    /// and a transaction may hold [`SUBTRANSACTIONS`] of them (counted in `session`). Past
    /// that, each try is rolled back whether it went in or not, and resends the rows tried
    /// before it (less the refused ones), so that what went in is known to go in together;
    /// once the search is over, those rows are sent once more in the transaction itself.
    pub(super) async fn send_bisecting(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        copy_sql: &str,
        merge: Option<&super::upsert::Merge>,
        chunk: &Work,
    ) -> Result<(Option<u64>, Vec<Reject>)> {
        let (inserted, refused) =
            Self::search(tx, session, plan, (copy_sql, merge), chunk, false).await?;
        let refused = refused
            .iter()
            .map(|(row, e)| server_reject(chunk, *row, e))
            .collect();
        Ok((inserted, refused))
    }

    /// The search of [`Self::send_bisecting`]: each refused row with the server's error for
    /// it alone. With `first_only` it ends at the first refused row, and what went in is left
    /// for the caller to roll back.
    pub(super) async fn search(
        tx: &Client,
        session: &mut Session,
        plan: &PgPlan,
        (copy_sql, merge): (&str, Option<&super::upsert::Merge>),
        chunk: &Work,
        first_only: bool,
    ) -> Result<(Option<u64>, bisect::Refused)> {
        let meta = &chunk.meta;
        let format = plan.format();
        let ranges = copy::row_ranges(&chunk.data, format)
            .ok_or_else(|| Error::internal("a chunk's COPY payload is malformed"))?;
        let mut inserted = merge.map(|_| 0u64);
        let mut refused: bisect::Refused = Vec::new();
        let mut tries = Tries::new(ranges.len(), session.subtransactions);
        // Tries that resend what went before them start from the whole chunk: each costs up to
        // a chunk, and COPY's blame splits at the bad row.
        let pieces = if tries.dry() { 1 } else { bisect::PIECES };
        let mut search = Bisection::new(ranges.len(), pieces);
        // A try's savepoint is ended (released, or rolled back to and released) by the
        // statement that opens the next try's, and that goes out with the next try's COPY:
        // one round trip where the search took three (the refused rows of a chunk that only
        // the search finds cost about half as much).
        let mut end = "";
        while let Some(r) = search.next_range() {
            let rows = tries.rows(&r);
            let payload = copy::rows_payload(&chunk.data, &ranges, &rows, format);
            let begin = format!("{end}SAVEPOINT barge_rows");
            let (opened, mut result) = futures_util::future::join(
                tx.batch_execute(&begin),
                Self::send_rows(tx, session, plan, copy_sql, payload, chunk, &rows),
            )
            .await;
            opened.map_err(|e| Error::db("setting a savepoint", e))?;
            if let (Ok(()), Some(merge)) = (&result, merge) {
                result = match Self::merge(tx, plan, merge, meta).await {
                    Ok(n) => {
                        if !tries.dry() {
                            inserted = inserted.map(|i| i + n);
                        }
                        tx.batch_execute(&format!("DELETE FROM {}", upsert::STAGE))
                            .await
                            .map_err(|e| Error::db("emptying the staging table", e))
                    }
                    Err(e) => Err(e),
                };
            }
            match result {
                Ok(()) => end = tries.went_in(&r),
                Err(e) if row_error(&e) => {
                    // ROLLBACK TO keeps the savepoint, and the next SAVEPOINT of the same name
                    // would open one more inside it: released too, the refusals of a chunk
                    // nest no subtransactions (thousands of them, once written under, each
                    // took a lock and overflowed the server's lock table).
                    end = ROLLED_BACK;
                    // COPY names the row it failed on (a merge does not).
                    let blamed = match (&e.kind(), plan.method) {
                        (ErrorKind::Database { source, .. }, Method::Copy(_))
                            if merge.is_none() =>
                        {
                            copy::copy_line(source, plan.relation()).and_then(|l| rows.at_line(l))
                        }
                        _ => None,
                    };
                    if let Some(row) = search.refused(r, blamed) {
                        tries.refused(row);
                        refused.push((row, e));
                        if first_only {
                            return Ok((inserted, refused));
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !end.is_empty() {
            tx.batch_execute(end.trim_end_matches("; "))
                .await
                .map_err(|e| Error::db("ending a savepoint", e))?;
        }
        session.subtransactions = tries.released;
        // The rows whose tries were rolled back: they went in together in the last of them,
        // in this same transaction, so they go in now.
        let rest = tries.rest();
        if !rest.is_empty() {
            let payload = copy::rows_payload(&chunk.data, &ranges, &rest, format);
            Self::send_rows(tx, session, plan, copy_sql, payload, chunk, &rest).await?;
            if let Some(merge) = merge {
                let n = Self::merge(tx, plan, merge, meta).await?;
                inserted = inserted.map(|i| i + n);
                tx.batch_execute(&format!("DELETE FROM {}", upsert::STAGE))
                    .await
                    .map_err(|e| Error::db("emptying the staging table", e))?;
            }
        }
        Ok((inserted, refused))
    }
}

/// Subtransactions a transaction of the load may hold. PostgreSQL keeps the ids of a
/// transaction's subtransactions that wrote and were not rolled back in a cache of 64 per
/// session (`PGPROC_MAX_CACHED_SUBXIDS`); past that the transaction is marked overflowed, and
/// until it ends every snapshot on the server, and on its standbys, looks up in-progress ids
/// in `pg_subtrans` instead: the slowdown of the whole server that long transactions with
/// many savepoints are known for. A few are left for the caller's own savepoints.
pub(super) const SUBTRANSACTIONS: usize = 60;

/// Ends a savepoint whose try is undone.
const ROLLED_BACK: &str = "ROLLBACK TO SAVEPOINT barge_rows; RELEASE SAVEPOINT barge_rows; ";

/// Which rows each try of a search sends, within the transaction's [`SUBTRANSACTIONS`].
#[derive(Debug)]
struct Tries {
    /// The chunk's rows.
    rows: usize,
    /// The rows before this one are in the table (their tries' savepoints released) or
    /// refused.
    kept_to: usize,
    /// Refused rows, in order (the search goes in row order).
    refused: Vec<usize>,
    /// Subtransactions the transaction holds.
    released: usize,
}

impl Tries {
    fn new(rows: usize, released: usize) -> Self {
        Tries {
            rows,
            kept_to: 0,
            refused: Vec::new(),
            released,
        }
    }

    /// Whether tries are rolled back (the transaction holds all the subtransactions it may).
    fn dry(&self) -> bool {
        self.released >= SUBTRANSACTIONS
    }

    /// The rows to send to try `r` (the search's next range): `r`, and once tries are rolled
    /// back, the rows tried since the last one kept that were not refused before it.
    fn rows(&self, r: &Range<usize>) -> copy::Rows {
        let from = self.kept_to.min(r.start);
        if !self.refused.iter().any(|&i| i >= from) {
            return copy::Rows::Range(from..r.end);
        }
        let skip = self.refused.iter().copied().filter(|&i| i >= from);
        let mut skip = skip.peekable();
        let rows = (from..r.end)
            .filter(|&i| match skip.peek() {
                Some(&s) if s == i => {
                    skip.next();
                    false
                }
                _ => true,
            })
            .collect();
        copy::Rows::List(rows)
    }

    /// Try `r` went in; returns what ends its savepoint.
    fn went_in(&mut self, r: &Range<usize>) -> &'static str {
        if self.dry() {
            return ROLLED_BACK;
        }
        self.released += 1;
        self.kept_to = r.end;
        "RELEASE SAVEPOINT barge_rows; "
    }

    fn refused(&mut self, row: usize) {
        self.refused.push(row);
    }

    /// The rows still to send once the search is over: those whose tries were rolled back.
    fn rest(&self) -> copy::Rows {
        self.rows(&(self.rows..self.rows))
    }
}

/// The rows of the chunk whose key (all of its columns non-NULL) is the same, byte for byte,
/// as an earlier row's: each one is refused whatever became of the earlier row, except when
/// that row is refused for another reason, which fails the COPY and sends the chunk to the
/// search. In row order; `None` when the payload is malformed.
fn repeats_in_chunk(
    plan: &PgPlan,
    chunk: &Work,
    ranges: &[Range<usize>],
) -> Option<Vec<(usize, Reject)>> {
    let format = plan.format();
    let constraint = plan.seen_duplicate().unwrap_or_default();
    let names = key_names(plan);
    let mut first: HashMap<Vec<&[u8]>, usize> = HashMap::with_capacity(ranges.len());
    let mut at = Vec::new();
    let mut refused = Vec::new();
    for (i, range) in ranges.iter().enumerate() {
        let row = chunk.data.get(range.clone())?;
        copy::row_fields(row, format, &mut at)?;
        let mut key = Vec::with_capacity(plan.dedupe_fields.len());
        for &f in &plan.dedupe_fields {
            key.push(row.get(at.get(f)?.clone())?);
        }
        if key.iter().any(|k| copy::is_null(k, format)) {
            continue;
        }
        match first.entry(key) {
            Entry::Vacant(v) => {
                v.insert(i);
            }
            Entry::Occupied(o) => {
                let line = chunk.raw_rows.get(*o.get()).map(|r| r.position.line);
                let mut r = row_reject(chunk, i);
                r.reason = match line {
                    Some(line) => format!(
                        "duplicate key value violates unique constraint \"{constraint}\": Key \
                         ({names}) is the same as on line {line}."
                    ),
                    None => format!(
                        "duplicate key value violates unique constraint \"{constraint}\": Key \
                         ({names}) is the same as an earlier row's."
                    ),
                };
                r.sqlstate = Some("23505".into());
                refused.push((i, r));
            }
        }
    }
    Some(refused)
}

/// The rows of the chunk whose key is in the table already, or earlier in the chunk, found
/// by the server from the chunk's keys staged in [`KEYS`]. In row order.
async fn probe_keys(
    tx: &Client,
    plan: &PgPlan,
    chunk: &Work,
    ranges: &[Range<usize>],
) -> Result<Vec<(usize, Reject)>> {
    let meta = &chunk.meta;
    let key = plan.dedupe_key.as_deref().unwrap_or_default();
    let table = plan.table.quoted();
    let k: Vec<String> = key.iter().map(|c| quote_ident(&c.name)).collect();
    let key_list = k.join(", ");
    stage_rows(tx, plan, chunk, ranges, KEYS, &plan.dedupe_fields).await?;
    let each =
        |f: &dyn Fn(&String) -> String, sep: &str| k.iter().map(f).collect::<Vec<_>>().join(sep);
    let same = each(&|c| format!("x.{c} = s.{c}"), " AND ");
    let not_null = each(&|c| format!("s.{c} IS NOT NULL"), " AND ");
    let key_text = each(&|c| format!("s.{c}::text"), ", ");
    let partition = each(&|c| format!("s.{c}"), ", ");
    // NULL keys never conflict; the first occurrence of a key in the chunk loads. The keys
    // already in the table are fetched first, with the stage as a subquery (not joined row
    // by row): a distributed table (Citus) can be read that way, and joined to a local table
    // only through such an intermediate result.
    let find = format!(
        "WITH there AS MATERIALIZED (SELECT {key_list} FROM {table} \
            WHERE ({key_list}) IN (SELECT {key_list} FROM {KEYS})) \
         SELECT seq, key FROM (SELECT s.{SEQ} AS seq, concat_ws(', ', {key_text}) AS key, \
            row_number() OVER (PARTITION BY {partition} ORDER BY s.{SEQ}) AS n, \
            EXISTS (SELECT 1 FROM there x WHERE {same}) AS there \
          FROM {KEYS} s WHERE {not_null}) d \
         WHERE n > 1 OR there ORDER BY seq"
    );
    let found = tx
        .query(&find, &[])
        .await
        .map_err(|e| Error::db("finding duplicate keys", e).in_chunk(meta.seq))?;
    let constraint = plan.seen_duplicate().unwrap_or_default();
    let names = key_names(plan);
    let mut refused = Vec::with_capacity(found.len());
    for row in &found {
        let seq: i64 = super::error::get(row, 0, "a duplicate's row")?;
        let value: String = super::error::get(row, 1, "a duplicate's key")?;
        let i = (seq - 1).max(0) as usize;
        let mut r = row_reject(chunk, i);
        r.reason = format!(
            "duplicate key value violates unique constraint \"{constraint}\": Key \
             ({names})=({value}) already exists."
        );
        r.sqlstate = Some("23505".into());
        refused.push((i, r));
    }
    Ok(refused)
}

/// The table's foreign keys that [`probe_orphans`] checks as the server would: immediate,
/// MATCH SIMPLE, every column among those loaded, a parent other than the table itself (rows
/// of the same chunk could be parents), which the loading role may read and which has no row
/// security (the server's check sees every row; a query only those the role may).
///
/// # Errors
/// A database error reading the catalog.
pub(super) async fn foreign_keys(client: &Client, plan: &PgPlan) -> Result<Vec<ForeignKey>> {
    let sql = format!(
        "SELECT c.conname::text, {}, {}, n.nspname::text, r.relname::text \
         FROM pg_catalog.pg_constraint c \
         JOIN pg_catalog.pg_class r ON r.oid = c.confrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'f' \
           AND c.confmatchtype = 's' AND NOT c.condeferred AND c.confrelid <> c.conrelid \
           AND NOT r.relrowsecurity \
           AND pg_catalog.has_table_privilege(c.confrelid, 'SELECT') \
         ORDER BY c.conname",
        attnames("conkey", "conrelid"),
        attnames("confkey", "confrelid")
    );
    let rows = client
        .query(&sql, &[&plan.table.quoted()])
        .await
        .map_err(|e| Error::db("reading the table's foreign keys", e))?;
    let what = "a foreign key from the catalog";
    let mut keys = Vec::new();
    for row in &rows {
        let columns: Vec<String> = super::error::get(row, 1, what)?;
        let Some(fields) = plan.fields(&columns) else {
            continue;
        };
        let schema: String = super::error::get(row, 3, what)?;
        let parent_name: String = super::error::get(row, 4, what)?;
        keys.push(ForeignKey {
            name: super::error::get(row, 0, what)?,
            columns,
            fields,
            parent: format!("{}.{}", quote_ident(&schema), quote_ident(&parent_name)),
            parent_name,
            parent_columns: super::error::get(row, 2, what)?,
        });
    }
    Ok(keys)
}

/// The table's check constraints whose columns are all loaded, which one query evaluates as
/// the server does (a domain's checks are the input functions', already refused on the
/// client or by the search).
///
/// # Errors
/// A database error reading the catalog.
pub(super) async fn checks(client: &Client, plan: &PgPlan) -> Result<Vec<Check>> {
    let sql = format!(
        "SELECT c.conname::text, pg_catalog.pg_get_expr(c.conbin, c.conrelid), {} \
         FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'c' \
         ORDER BY c.conname",
        attnames("conkey", "conrelid")
    );
    let rows = client
        .query(&sql, &[&plan.table.quoted()])
        .await
        .map_err(|e| Error::db("reading the table's check constraints", e))?;
    let what = "a check constraint from the catalog";
    let mut checks = Vec::new();
    for row in &rows {
        let columns: Vec<String> = super::error::get(row, 2, what)?;
        let Some(fields) = plan.fields(&columns) else {
            continue;
        };
        checks.push(Check {
            name: super::error::get(row, 0, what)?,
            expr: super::error::get(row, 1, what)?,
            fields,
        });
    }
    Ok(checks)
}

/// The names of a constraint's columns (`side`: `conkey` or `confkey`, of the relation
/// `rel`), in the constraint's order, as a text array.
fn attnames(side: &str, rel: &str) -> String {
    format!(
        "ARRAY(SELECT a.attname::text FROM unnest(c.{side}) WITH ORDINALITY k(n, i) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.{rel} AND a.attnum = k.n \
         ORDER BY k.i)"
    )
}

/// Whether `e` is a refusal [`probe_constraints`] can find: one of the plan's foreign keys
/// (a missing parent) or checks (on the table itself, not a domain's).
pub(super) fn is_set_refusal(plan: &PgPlan, e: &Error) -> bool {
    let db = match e.kind() {
        ErrorKind::Database { source, .. } => source.as_db_error(),
        _ => None,
    };
    let Some(db) = db else {
        return false;
    };
    let constraint = db.constraint();
    match e.sqlstate() {
        Some("23503") => constraint.is_some_and(|c| plan.foreign_keys.iter().any(|k| k.name == c)),
        Some("23514") => {
            db.table() == Some(plan.table.name.as_str())
                && constraint.is_some_and(|c| plan.checks.iter().any(|k| k.name == c))
        }
        _ => false,
    }
}

/// Where the staged columns are among the columns loaded: every foreign key's and check's,
/// each once.
fn checked_fields(plan: &PgPlan) -> Vec<usize> {
    let mut fields = Vec::new();
    let keys = plan.foreign_keys.iter().flat_map(|k| &k.fields);
    for f in keys.chain(plan.checks.iter().flat_map(|c| &c.fields)) {
        if !fields.contains(f) {
            fields.push(*f);
        }
    }
    fields
}

/// The rows of the chunk that one of the plan's foreign keys or checks refuses, found by the
/// server from the columns they read, staged in [`CHECKED`]: a row whose parent row is
/// missing (every column of the key non-NULL, as MATCH SIMPLE checks), or for which a check
/// is false (not NULL). In row order, each row once (the first constraint's reason), with
/// the server's message (a check's without its detail, the whole row, which the rejects file
/// holds).
async fn probe_constraints(
    tx: &Client,
    plan: &PgPlan,
    chunk: &Work,
    ranges: &[Range<usize>],
) -> Result<Vec<(usize, Reject)>> {
    let meta = &chunk.meta;
    stage_rows(tx, plan, chunk, ranges, CHECKED, &checked_fields(plan)).await?;
    let mut refused: BTreeMap<usize, Reject> = BTreeMap::new();
    // Checks first: the server evaluates them before it inserts the row, foreign keys after.
    for check in &plan.checks {
        // A check refuses a row for which it is false; NULL passes. Its expression names the
        // table's columns, which the stage has under the same names and types.
        let find = format!(
            "SELECT {SEQ} FROM {CHECKED} WHERE NOT COALESCE(({}), true) ORDER BY 1",
            check.expr
        );
        let found = tx.query(&find, &[]).await.map_err(|e| {
            Error::db(format!("finding rows check {} refuses", check.name), e).in_chunk(meta.seq)
        })?;
        for row in &found {
            let seq: i64 = super::error::get(row, 0, "a row a check refuses")?;
            let i = (seq - 1).max(0) as usize;
            refused.entry(i).or_insert_with(|| {
                let mut r = row_reject(chunk, i);
                r.reason = format!(
                    "new row for relation \"{}\" violates check constraint \"{}\"",
                    plan.table.name, check.name
                );
                r.sqlstate = Some("23514".into());
                r
            });
        }
    }
    for key in &plan.foreign_keys {
        let k: Vec<String> = key.columns.iter().map(|c| quote_ident(c)).collect();
        let p: Vec<String> = key.parent_columns.iter().map(|c| quote_ident(c)).collect();
        let (k_list, p_list) = (k.join(", "), p.join(", "));
        let same = k
            .iter()
            .zip(&p)
            .map(|(c, pc)| format!("x.{pc} = s.{c}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let not_null = k
            .iter()
            .map(|c| format!("s.{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let key_text = k
            .iter()
            .map(|c| format!("s.{c}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        // The parents that are there are fetched first, with the stage as a subquery, as
        // for duplicate keys: a distributed parent (Citus) can be read that way.
        let find = format!(
            "WITH there AS MATERIALIZED (SELECT {p_list} FROM {} \
                WHERE ({p_list}) IN (SELECT {k_list} FROM {CHECKED})) \
             SELECT s.{SEQ}, concat_ws(', ', {key_text}) FROM {CHECKED} s \
             WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM there x WHERE {same}) \
             ORDER BY 1",
            key.parent
        );
        let found = tx.query(&find, &[]).await.map_err(|e| {
            Error::db(
                format!("finding rows without their parent ({})", key.name),
                e,
            )
            .in_chunk(meta.seq)
        })?;
        for row in &found {
            let seq: i64 = super::error::get(row, 0, "a row without its parent")?;
            let value: String = super::error::get(row, 1, "a missing parent's key")?;
            let i = (seq - 1).max(0) as usize;
            refused.entry(i).or_insert_with(|| {
                let mut r = row_reject(chunk, i);
                r.reason = format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\": \
                     Key ({})=({value}) is not present in table \"{}\".",
                    plan.table.name,
                    key.name,
                    key.columns.join(", "),
                    key.parent_name
                );
                r.sqlstate = Some("23503".into());
                r
            });
        }
    }
    Ok(refused.into_iter().collect())
}

/// The table's columns at `fields`, quoted and listed.
fn staged_columns(plan: &PgPlan, fields: &[usize]) -> String {
    fields
        .iter()
        .filter_map(|&f| plan.columns.get(f))
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// COPYs each row's number and its fields at `fields`, cut from the chunk's own encoding,
/// into `stage`.
async fn stage_rows(
    tx: &Client,
    plan: &PgPlan,
    chunk: &Work,
    ranges: &[Range<usize>],
    stage: &str,
    fields: &[usize],
) -> Result<()> {
    let format = plan.format();
    let rows = copy::numbered_fields(&chunk.data, ranges, fields, format)
        .ok_or_else(|| Error::internal("a chunk's COPY payload is malformed"))?;
    let sql = format!(
        "COPY {stage} ({SEQ}, {}) FROM STDIN (FORMAT {})",
        staged_columns(plan, fields),
        format.as_str()
    );
    copy::send(tx, &sql, rows).await.map_err(|e| {
        Error::db(format!("staging a chunk's rows in {stage}"), e).in_chunk(chunk.meta.seq)
    })?;
    Ok(())
}

/// The key's column names, as a message shows them.
fn key_names(plan: &PgPlan) -> String {
    let key = plan.dedupe_key.as_deref().unwrap_or_default();
    key.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Row `i` of the chunk as a reject, its reason still to be said.
fn row_reject(chunk: &Work, i: usize) -> Reject {
    seal::row_reject(&chunk.raw_rows, &chunk.raw, i)
}

/// Row `i` of the chunk, refused by the server with `e`.
fn server_reject(chunk: &Work, i: usize, e: &Error) -> Reject {
    let (reason, column) = match e.kind() {
        ErrorKind::Database { source, .. } => match source.as_db_error() {
            Some(db) => (
                match db.detail() {
                    Some(d) => format!("{}: {d}", db.message()),
                    None => db.message().to_string(),
                },
                db.column().map(str::to_string),
            ),
            None => (source.to_string(), None),
        },
        _ => (e.to_string(), None),
    };
    Reject {
        column,
        reason,
        sqlstate: e.sqlstate().map(str::to_string),
        ..row_reject(chunk, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search over `rows` rows of which `bad` are refused, by a server that blames the
    /// first bad row it meets (or none, as a merge does), starting with `held`
    /// subtransactions. Returns the refused rows, the rows in the table at the end (each time
    /// a row went in for good), and the subtransactions held.
    fn search(
        rows: usize,
        bad: &[usize],
        blames: bool,
        held: usize,
    ) -> (Vec<usize>, Vec<usize>, usize) {
        let mut tries = Tries::new(rows, held);
        let pieces = if tries.dry() { 1 } else { bisect::PIECES };
        let mut search = Bisection::new(rows, pieces);
        let mut table = Vec::new();
        let mut refused = Vec::new();
        while let Some(r) = search.next_range() {
            let sent = tries.rows(&r);
            let list: Vec<usize> = match &sent {
                copy::Rows::Range(r) => r.clone().collect(),
                copy::Rows::List(l) => l.clone(),
            };
            // What a try sends is the rows since the last kept one, less the refused ones.
            assert!(list.iter().all(|i| refused.binary_search(i).is_err()));
            assert_eq!(list.last(), Some(&(r.end - 1)));
            match list.iter().position(|i| bad.contains(i)) {
                None => {
                    if !tries.dry() {
                        table.extend(r.clone());
                    }
                    tries.went_in(&r);
                }
                Some(at) => {
                    let blamed = blames.then(|| sent.at_line(at as u64 + 1)).flatten();
                    if let Some(row) = search.refused(r, blamed) {
                        tries.refused(row);
                        refused.push(row);
                    }
                }
            }
        }
        match tries.rest() {
            copy::Rows::Range(r) => table.extend(r),
            copy::Rows::List(l) => table.extend(l),
        }
        (refused, table, tries.released)
    }

    #[test]
    fn a_search_holds_no_more_subtransactions_than_it_may_and_loses_no_row() {
        let bad: Vec<usize> = (0..3_000).filter(|i| i % 37 == 13).collect();
        let good: Vec<usize> = (0..3_000).filter(|i| i % 37 != 13).collect();
        for blames in [true, false] {
            for held in [0, 30, SUBTRANSACTIONS - 1, SUBTRANSACTIONS, 200] {
                let (refused, mut table, released) = search(3_000, &bad, blames, held);
                assert_eq!(refused, bad, "blames {blames}, held {held}");
                table.sort_unstable();
                assert_eq!(table, good, "blames {blames}, held {held}");
                assert!(released <= SUBTRANSACTIONS.max(held), "{released} held");
            }
        }
        // Few refusals under the limit: every try is kept, nothing is sent twice.
        let (refused, table, released) = search(10_000, &[5, 7000], true, 0);
        assert_eq!(refused, vec![5, 7000]);
        assert_eq!(table.len(), 9_998);
        assert!(released < SUBTRANSACTIONS);
    }
}
