//! Exactly once: every chunk's transaction also writes a checkpoint row, so a chunk is either
//! committed together with its checkpoint or not at all. A later run of the same load reads the
//! checkpoints back and skips what is already in the table.
//!
//! The bookkeeping table (`barge_checkpoint` by default, in the target table's schema) holds one
//! row per committed chunk, keyed by load id and the chunk's first input byte, plus one row
//! with `first_byte = -1` when the whole load has completed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::chunk::Chunk;
use crate::error::{Error, ErrorClass, Result};
use crate::split::Split;

/// Tries of a done marker. Its summing upsert reads the load's checkpoint rows with locks (on
/// MySQL, next-key locks over the range), while the other shares of a `--split` load may
/// still insert theirs: InnoDB then ends one of them as a deadlock (seen in 1 of 8 three-share
/// loads on a busy machine), and the marker written again once the other commits is the same.
const MARK_TRIES: u32 = 5;

/// Default name of the bookkeeping table.
pub const DEFAULT_TABLE: &str = "barge_checkpoint";

/// One committed chunk, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Input offset of the chunk's first row.
    pub first_byte: u64,
    /// Input offset just past its last row.
    pub end_byte: u64,
    /// Rows in it.
    pub rows: u64,
    /// Record number of its last row.
    pub end_record: u64,
    /// Line on which the row after it starts.
    pub end_line: u64,
    /// Its chunk number.
    pub chunk: u64,
}

/// A completed load, as recorded.
#[derive(Clone, Debug)]
pub struct Completed {
    /// When it completed (the server's clock, as text).
    pub at: String,
    /// Rows it loaded in all, over every run.
    pub rows: u64,
}

/// The checkpoints of one load.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    table: String,
    load_id: String,
    /// The share of one file this process loads (`--split K/N`), if any.
    share: Option<Split>,
    /// The file's own fingerprint, when the load runs under another id (`--load-id`, or the
    /// stopped load of an earlier version of the file that it goes on with): marked done with
    /// it, so that the same command without that id finds the file loaded, instead of loading
    /// it a second time.
    answers_for: Option<String>,
}

/// Which load this is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadKey {
    /// The load id: the user's `--load-id`, or a file's fingerprint ([`fingerprint_file`]).
    pub id: String,
    /// For a fingerprint, the start of the id that names the file and how it maps onto the
    /// table, the same for every version of the file (`None` for an id the user gave).
    pub slot: Option<String>,
}

/// An earlier load of another version of the same file, into the same table with the same
/// mapping, that stopped before its end: its rows are in the table.
#[derive(Clone, Debug)]
pub struct Stopped {
    /// Its load id (with `--load-id`, the same command goes on from where it stopped).
    pub load_id: String,
    /// The rows it committed.
    pub rows: u64,
    /// When its last chunk committed (the server's clock, as text).
    pub at: String,
}

/// What an earlier load of the same input (its checkpoints) counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// Its rows are in the table: a completed load is not repeated, a stopped one goes on.
    Counts,
    /// `--again`: a completed load is loaded once more; a stopped one goes on.
    Again,
    /// None of its rows can be in the table, which this load created (the one it loaded
    /// into was dropped since): loaded from the first row, as a new generation. Without
    /// this, the new table was left empty as "already loaded", or a stopped load went on
    /// after rows that were no longer there.
    Gone,
}

/// What the bookkeeping says about a load before it starts.
#[derive(Debug)]
pub enum Start {
    /// Load (or resume) under this id; these chunks are already committed.
    Run(Checkpoints, Vec<Committed>),
    /// This input was loaded completely before; nothing to do.
    AlreadyLoaded(Checkpoints, Completed),
    /// The role may not create or write the bookkeeping table (the reason says which): the
    /// load can only be exactly once as one all-or-nothing transaction.
    Unavailable(String),
    /// Nothing of this version of the file is loaded, but an earlier version's load stopped
    /// partway: loaded as a new load, its rows would go in a second time.
    Changed(Stopped),
}

/// A value read from the bookkeeping table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// NULL.
    Null,
    /// A `bigint`.
    Int(i64),
    /// Text.
    Text(String),
}

/// A statement parameter: the bookkeeping only ever binds text and `bigint`s.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// Text.
    Text(&'a str),
    /// A `bigint`.
    Int(i64),
}

/// The connection the bookkeeping runs on, and the backend's dialect of its SQL. The
/// statements are written once, in SQL every target reads (`CASE`, `CAST`, `substr`), with
/// the backend's placeholders; what no common SQL can say (recording a load complete, an
/// upsert) is the backend's own, with a default that PostgreSQL and SQLite share.
pub trait Ledger {
    /// The SQL type and default of `committed_at`.
    const TIMESTAMP_COLUMN: &'static str;

    /// `committed_at` as text that says its time zone (a `timestamptz` prints its offset).
    const COMMITTED_AT_TEXT: &'static str = "CAST(committed_at AS text)";

    /// The function that counts a text's characters (MySQL's `length` counts bytes).
    const CHAR_LENGTH: &'static str = "length";

    /// The placeholder of parameter `n` (from 1): `$n` (MySQL: `?`, so a statement's
    /// parameters are bound in the order they appear).
    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    /// The `rows` column's name, quoted where the dialect reserves the word (MySQL).
    const ROWS: &'static str = "rows";

    /// The type of `load_id` (MySQL cannot key a `text` column: `varchar`; PostgreSQL's is
    /// in the "C" collation, whose bytewise order lets its key serve [`Ledger::id_prefix`]).
    const ID_TYPE: &'static str = "text";

    /// What makes a comparison of `load_id` bytewise, appended to the column's name in
    /// [`Ledger::id_prefix`]'s range (PostgreSQL: `COLLATE "C"`; SQLite's default `BINARY` is).
    const BYTEWISE: &'static str = "";

    /// The condition that `load_id` starts with `prefix`, with the texts it binds from
    /// placeholder `first` on, in a form the primary key's index serves: every file's start
    /// reads its slot, and a table with years of loads in it would otherwise be read whole for
    /// each file of a glob. It may match more than the prefix (a collation that ignores case);
    /// the caller keeps the exact matches.
    ///
    /// The default is the range `prefix <= load_id < successor`, exact where
    /// [`Ledger::BYTEWISE`] makes the comparison bytewise.
    fn id_prefix(prefix: &str, first: usize) -> (String, Vec<String>) {
        let p = Self::placeholder;
        match successor(prefix) {
            Some(next) => (
                format!(
                    "(load_id{c} >= {} AND load_id{c} < {})",
                    p(first),
                    p(first + 1),
                    c = Self::BYTEWISE
                ),
                vec![prefix.to_string(), next],
            ),
            // Not reached: barge's prefixes end with '.' or '/'.
            None => (
                format!(
                    "substr(load_id, 1, {}({})) = {}",
                    Self::CHAR_LENGTH,
                    p(first),
                    p(first + 1)
                ),
                vec![prefix.to_string(), prefix.to_string()],
            ),
        }
    }

    /// The statements that record a load complete in `table`, with the rows of all its runs,
    /// each with the number of times it binds the load id; the last returns that total (one
    /// row of one column).
    ///
    /// `marker` is the row's `first_byte`: -1 for the whole load, a share's own number
    /// (see [`Split::marker`]) for one share of it.
    fn mark_done_sql(table: &str, marker: i64) -> Vec<(String, usize)> {
        // `WHERE true` lets SQLite tell the upsert's ON CONFLICT from a join's ON.
        vec![(
            format!(
                "WITH total AS (SELECT CAST(coalesce(sum(rows), 0) AS bigint) AS n FROM {table} \
                                WHERE load_id = $1 AND first_byte >= 0) \
                 INSERT INTO {table} (load_id, first_byte, end_byte, rows, end_record, end_line, chunk) \
                 SELECT $1, {marker}, -1, n, -1, -1, -1 FROM total WHERE true \
                 ON CONFLICT (load_id, first_byte) DO UPDATE SET rows = excluded.rows \
                 RETURNING rows"
            ),
            1,
        )]
    }

    /// Runs a statement that returns no rows; `context` says what it was for.
    fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        context: &str,
    ) -> impl std::future::Future<Output = Result<()>> + Send;

    /// Runs a query; each row's cells in select-list order.
    fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        context: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Vec<Cell>>>> + Send;

    /// Whether `e` says the table exists already (two loads creating it at once).
    fn already_exists(e: &Error) -> bool;

    /// Whether `e` says the role lacks a privilege (to create in the schema, say).
    fn permission_denied(e: &Error) -> bool;

    /// Why the role cannot read and write the existing bookkeeping table `table` (quoted,
    /// qualified), or `None` when it can.
    fn cannot_write(
        &mut self,
        table: &str,
    ) -> impl std::future::Future<Output = Result<Option<String>>> + Send;
}

/// The least text above every text that starts with `prefix`: its last character, when ASCII,
/// one higher (ASCII so that the result is text, and the order bytewise whatever the encoding).
fn successor(prefix: &str) -> Option<String> {
    let last = prefix.chars().next_back()?;
    let up = char::from_u32(u32::from(last) + 1).filter(|c| last.is_ascii() && c.is_ascii())?;
    let mut next = prefix[..prefix.len() - last.len_utf8()].to_string();
    next.push(up);
    Some(next)
}

fn int(row: &[Cell], i: usize) -> Result<i64> {
    match row.get(i) {
        Some(Cell::Int(v)) => Ok(*v),
        other => Err(Error::config(format!(
            "unexpected value {other:?} in the checkpoint table: is it barge's?"
        ))),
    }
}

impl Checkpoints {
    /// Creates the bookkeeping table `table` (quoted, qualified) if needed, then finds the
    /// generation of this load to run: the latest one still incomplete, else (with `again`) a
    /// new one, else the completed one.
    ///
    /// `fingerprint` identifies the input and mapping; generations after the first are
    /// `fingerprint/2`, `fingerprint/3`, ...
    ///
    /// # Errors
    /// A database error (for example no CREATE privilege on the schema: name another table
    /// with `--checkpoint-table`).
    pub async fn start<L: Ledger>(
        db: &mut L,
        table: String,
        key: &LoadKey,
        earlier: Earlier,
        share: Option<Split>,
    ) -> Result<Start> {
        let fingerprint = key.id.as_str();
        // Done: the whole load, or this process' share of it.
        let done = match share {
            Some(s) => format!("first_byte IN (-1, {})", s.marker()),
            None => "first_byte = -1".to_string(),
        };
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
               load_id {id} NOT NULL, first_byte bigint NOT NULL, end_byte bigint NOT NULL, \
               {rows} bigint NOT NULL, end_record bigint NOT NULL, end_line bigint NOT NULL, \
               chunk bigint NOT NULL, committed_at {}, \
               PRIMARY KEY (load_id, first_byte))",
            L::TIMESTAMP_COLUMN,
            id = L::ID_TYPE,
            rows = L::ROWS,
        );
        let context = format!("checkpoint table {table}");
        match db
            .execute(&create, &[], &format!("creating the {context}"))
            .await
        {
            Ok(()) => {}
            Err(e) if L::already_exists(&e) => {}
            // Either no CREATE on the schema (PostgreSQL 15 took it from PUBLIC on `public`),
            // or another process creating the table at this very moment (several loads of
            // one `--split` start together; PostgreSQL reports the loser of that race in
            // more than one way, "type ... already exists" among them). Either way the table
            // may be there now, and then it is used.
            Err(e) => match db.cannot_write(&table).await? {
                None => {}
                Some(why) if L::permission_denied(&e) => {
                    return Ok(Start::Unavailable(format!("{e}; {why}")));
                }
                Some(_) => return Err(e),
            },
        }
        if let Some(why) = db.cannot_write(&table).await? {
            return Ok(Start::Unavailable(why));
        }
        // Generations are `fingerprint` and `fingerprint/N`; other versions of the file share
        // the fingerprint's slot. One read finds both.
        let ours = format!("{fingerprint}/");
        let prefix = key.slot.as_deref().unwrap_or(&ours);
        let p = L::placeholder;
        let (in_slot, bounds) = L::id_prefix(prefix, 2);
        let mut params = vec![Param::Text(fingerprint)];
        params.extend(bounds.iter().map(|b| Param::Text(b)));
        let rows = db
            .query(
                &format!(
                    "SELECT load_id, \
                            max(CASE WHEN {done} THEN {at} END), \
                            max(CASE WHEN {done} THEN {rows} END), \
                            max({at}), \
                            max(CASE WHEN first_byte = -1 THEN 1 ELSE 0 END) \
                     FROM {table} \
                     WHERE load_id = {} OR {in_slot} \
                     GROUP BY load_id",
                    p(1),
                    at = L::COMMITTED_AT_TEXT,
                    rows = L::ROWS,
                ),
                &params,
                &format!("reading the {context}"),
            )
            .await?;
        let rows = rows.into_iter().filter(|r| {
            matches!(r.first(), Some(Cell::Text(id)) if id == fingerprint || id.starts_with(prefix))
        });
        let (rows, others): (Vec<Vec<Cell>>, Vec<Vec<Cell>>) = rows.partition(|r| {
            matches!(r.first(), Some(Cell::Text(id)) if id == fingerprint || id.starts_with(&ours))
        });
        let generation = |id: &str| -> u64 {
            match id
                .strip_prefix(fingerprint)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(n) => n.parse().unwrap_or(0),
                None => 1,
            }
        };
        let mut latest: Option<(u64, &Vec<Cell>)> = None;
        for r in &rows {
            let Some(Cell::Text(id)) = r.first() else {
                continue;
            };
            let g = generation(id);
            if latest.as_ref().is_none_or(|(best, _)| g > *best) {
                latest = Some((g, r));
            }
        }
        let id_for = |g: u64| {
            if g <= 1 {
                fingerprint.to_string()
            } else {
                format!("{fingerprint}/{g}")
            }
        };
        let (gen, done) = match latest {
            None => (1, None),
            Some((g, r)) => {
                let done = match r.get(1) {
                    Some(Cell::Text(at)) => Some(Completed {
                        at: at.clone(),
                        rows: int(r, 2).unwrap_or(0) as u64,
                    }),
                    _ => None,
                };
                (g, done)
            }
        };
        let cp = |g| Checkpoints {
            table: table.clone(),
            load_id: id_for(g),
            share,
            answers_for: None,
        };
        match (done, earlier) {
            (Some(done), Earlier::Counts) => Ok(Start::AlreadyLoaded(cp(gen), done)),
            (Some(_), _) => Ok(Start::Run(cp(gen + 1), Vec::new())),
            // A load that stopped, into a table dropped since: from the first row again.
            (None, Earlier::Gone) if latest.is_some() => Ok(Start::Run(cp(gen + 1), Vec::new())),
            (None, _) => {
                if let (None, Earlier::Counts, Some(_)) = (latest, earlier, &key.slot) {
                    if let Some(stopped) = Self::stopped_earlier(db, &table, &others).await? {
                        return Ok(Start::Changed(stopped));
                    }
                }
                let cp = cp(gen);
                let committed = cp.committed(db).await?;
                Ok(Start::Run(cp, committed))
            }
        }
    }

    /// The latest load of another version of the file (`others`: its loads' ids, last commit
    /// and whether each completed, as [`Checkpoints::start`] read them) that stopped partway,
    /// unless a load of it completed after that one's last commit (the rows were then loaded
    /// again on purpose, or the file replaced and loaded whole).
    async fn stopped_earlier<L: Ledger>(
        db: &mut L,
        table: &str,
        others: &[Vec<Cell>],
    ) -> Result<Option<Stopped>> {
        let text = |r: &[Cell], i: usize| match r.get(i) {
            Some(Cell::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let mut completed_at: Option<String> = None;
        let mut latest: Option<(String, String)> = None;
        for r in others {
            let (Some(load_id), Some(at)) = (text(r, 0), text(r, 3)) else {
                continue;
            };
            if int(r, 4)? == 1 {
                completed_at = completed_at.max(Some(at));
            } else if latest.as_ref().is_none_or(|(_, last)| at > *last) {
                latest = Some((load_id, at));
            }
        }
        let Some((load_id, at)) =
            latest.filter(|(_, at)| completed_at.as_ref().is_none_or(|done| at > done))
        else {
            return Ok(None);
        };
        // Its rows, summed here: a sum's SQL type differs between targets.
        let earlier = Checkpoints {
            table: table.to_string(),
            load_id,
            share: None,
            answers_for: None,
        };
        let rows = earlier.committed(db).await?.iter().map(|c| c.rows).sum();
        Ok((rows > 0).then_some(Stopped {
            load_id: earlier.load_id,
            rows,
            at,
        }))
    }

    /// Marks the file's own fingerprint `id` done too when this load is (see
    /// [`Checkpoints::answers_for`]); nothing when it is this load's id.
    pub fn answering_for(mut self, id: &str) -> Self {
        self.answers_for = (id != self.load_id).then(|| id.to_string());
        self
    }

    /// The bookkeeping table, quoted.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The load id (fingerprint and generation).
    pub fn load_id(&self) -> &str {
        &self.load_id
    }

    /// This process' share's done marker ([`Split::marker`]), 0 for a whole load.
    pub fn share_marker(&self) -> i64 {
        self.share.map_or(0, |s| s.marker())
    }

    /// The chunks this load has committed, in input order.
    ///
    /// # Errors
    /// A database error.
    pub async fn committed<L: Ledger>(&self, db: &mut L) -> Result<Vec<Committed>> {
        let rows = db
            .query(
                &format!(
                    "SELECT first_byte, end_byte, {}, end_record, end_line, chunk FROM {} \
                     WHERE load_id = {} AND first_byte >= 0 ORDER BY first_byte",
                    L::ROWS,
                    self.table,
                    L::placeholder(1)
                ),
                &[Param::Text(&self.load_id)],
                &format!("reading the checkpoint table {}", self.table),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let n = |i| int(r, i).map(|v| v as u64);
                Ok(Committed {
                    first_byte: n(0)?,
                    end_byte: n(1)?,
                    rows: n(2)?,
                    end_record: n(3)?,
                    end_line: n(4)?,
                    chunk: n(5)?,
                })
            })
            .collect()
    }

    /// The statement a writer runs inside each chunk's transaction, with the placeholders of
    /// its backend's ledger `L`.
    pub fn insert_sql<L: Ledger>(&self) -> String {
        let values: Vec<String> = (1..=7).map(L::placeholder).collect();
        format!(
            "INSERT INTO {} (load_id, first_byte, end_byte, {}, end_record, end_line, chunk) \
             VALUES ({})",
            self.table,
            L::ROWS,
            values.join(", ")
        )
    }

    /// The parameters of [`Checkpoints::insert_sql`] for `chunk`, after the load id.
    pub fn insert_params(&self, chunk: &ChunkMeta) -> [i64; 6] {
        [
            chunk.first_byte as i64,
            chunk.end_byte as i64,
            chunk.rows as i64,
            chunk.end_record as i64,
            chunk.end_line as i64,
            chunk.seq as i64,
        ]
    }

    /// Whether a chunk starting at `first_byte` was committed: asked after a connection was
    /// lost during COMMIT, when the outcome is unknown.
    ///
    /// # Errors
    /// A database error.
    pub async fn is_committed<L: Ledger>(&self, db: &mut L, first_byte: u64) -> Result<bool> {
        let rows = db
            .query(
                &format!(
                    "SELECT 1 FROM {} WHERE load_id = {} AND first_byte = {}",
                    self.table,
                    L::placeholder(1),
                    L::placeholder(2)
                ),
                &[Param::Text(&self.load_id), Param::Int(first_byte as i64)],
                &format!("reading the checkpoint table {}", self.table),
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Records that the load completed, with the rows of all its runs; returns that total.
    ///
    /// # Errors
    /// A database error.
    pub async fn mark_done<L: Ledger>(&self, db: &mut L) -> Result<u64> {
        let Some(share) = self.share else {
            return self.mark_whole(db).await;
        };
        let rows = self.mark(db, share.marker()).await?;
        // The last share to finish marks the whole load done, for every later run to see.
        let (lo, hi) = share.markers();
        let p = L::placeholder;
        let found = db
            .query(
                &format!(
                    "SELECT count(*) FROM {} WHERE load_id = {} AND first_byte >= {lo} \
                     AND first_byte <= {hi}",
                    self.table,
                    p(1)
                ),
                &[Param::Text(&self.load_id)],
                &format!("reading the checkpoint table {}", self.table),
            )
            .await?;
        let shares_done = found.first().map(|r| int(r, 0)).transpose()?.unwrap_or(0);
        if shares_done >= i64::from(share.n) {
            return self.mark_whole(db).await;
        }
        Ok(rows)
    }

    /// Marks the whole load done, and the file's own fingerprint with it when this load
    /// answers for one: a marker with the same rows, written unless the file has one.
    async fn mark_whole<L: Ledger>(&self, db: &mut L) -> Result<u64> {
        let rows = self.mark(db, -1).await?;
        if let Some(file) = &self.answers_for {
            let p = L::placeholder;
            db.execute(
                &format!(
                    "INSERT INTO {t} (load_id, first_byte, end_byte, {rows}, end_record, end_line, chunk) \
                     SELECT {file}, -1, -1, {rows}, -1, -1, -1 FROM {t} \
                     WHERE load_id = {load} AND first_byte = -1 AND NOT EXISTS \
                       (SELECT 1 FROM {t} AS seen WHERE seen.load_id = {again} AND seen.first_byte = -1)",
                    t = self.table,
                    rows = L::ROWS,
                    file = p(1),
                    load = p(2),
                    again = p(3),
                ),
                &[
                    Param::Text(file),
                    Param::Text(&self.load_id),
                    Param::Text(file),
                ],
                &format!("writing to the checkpoint table {}", self.table),
            )
            .await?;
        }
        Ok(rows)
    }

    /// Writes a done marker (`first_byte` = `marker`), trying again after a deadlock or a
    /// serialization failure ([`MARK_TRIES`]).
    async fn mark<L: Ledger>(&self, db: &mut L, marker: i64) -> Result<u64> {
        let mut tries = 1;
        loop {
            match self.mark_once(db, marker).await {
                Err(e) if e.class() == ErrorClass::Transient && tries < MARK_TRIES => {
                    tracing::debug!(tries, "writing the done marker failed ({e}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(tries)))
                        .await;
                    tries += 1;
                }
                done => return done,
            }
        }
    }

    /// [`Checkpoints::mark`], once: its statements are upserts, so a second try after a
    /// failed one writes the same marker.
    async fn mark_once<L: Ledger>(&self, db: &mut L, marker: i64) -> Result<u64> {
        let context = format!("writing to the checkpoint table {}", self.table);
        let mut statements = L::mark_done_sql(&self.table, marker);
        let Some((last, last_ids)) = statements.pop() else {
            return Ok(0);
        };
        let ids = |n: usize| vec![Param::Text(&self.load_id); n];
        for (sql, n) in &statements {
            db.execute(sql, &ids(*n), &context).await?;
        }
        let rows = db.query(&last, &ids(last_ids), &context).await?;
        match rows.first() {
            Some(r) => Ok(int(r, 0)? as u64),
            None => Ok(0),
        }
    }
}

/// Whether `table` (quoted, qualified) holds no row (a table emptied since a completed load
/// surprises its user; one a failed load created is dropped again).
///
/// # Errors
/// A database error.
pub async fn is_empty<L: Ledger>(db: &mut L, table: &str) -> Result<bool> {
    let sql = format!("SELECT CASE WHEN EXISTS (SELECT 1 FROM {table}) THEN 0 ELSE 1 END");
    let rows = db.query(&sql, &[], "reading the table").await?;
    Ok(matches!(
        rows.first().and_then(|r| r.first()),
        Some(Cell::Int(1))
    ))
}

/// What a checkpoint row records of a chunk (its data may already be gone to the server).
#[derive(Clone, Debug)]
pub struct ChunkMeta {
    /// Chunk number.
    pub seq: u64,
    /// Input offset of its first row.
    pub first_byte: u64,
    /// Input offset past its last row.
    pub end_byte: u64,
    /// Rows.
    pub rows: u64,
    /// Record number of its first row.
    pub first_record: u64,
    /// Line on which its first row starts.
    pub first_line: u64,
    /// Record number of its last row.
    pub end_record: u64,
    /// Line after its last row.
    pub end_line: u64,
    /// The input file its rows come from.
    pub input: Option<std::sync::Arc<str>>,
}

impl ChunkMeta {
    /// `chunk 4, records 30001-40000 of b.csv` (without the name for standard input), for
    /// messages, which count chunks from 1 as they count records and lines (`seq` is 0-based).
    pub fn describe(&self) -> String {
        let of = match &self.input {
            Some(input) => format!(" of {input}"),
            None => String::new(),
        };
        // Rows of an input without lines (Parquet, Arrow, a program's) are rows.
        let (one, many) = match self.first_line {
            0 => ("row", "rows"),
            _ => ("record", "records"),
        };
        match self.first_record == self.end_record {
            true => format!("chunk {}, {one} {}{of}", self.seq + 1, self.first_record),
            false => format!(
                "chunk {}, {many} {}-{}{of}",
                self.seq + 1,
                self.first_record,
                self.end_record
            ),
        }
    }

    /// Where row `row` of the chunk came from, for a message: `record 4 (line 4)`, from its
    /// kept position (`raw_rows`, with `--rejects`) or counted from the chunk's first record;
    /// `record 4` alone when the chunk's lines and records do not run in step (a quoted
    /// newline). `None` when it is not known: a chunk that passed over an empty line (no row)
    /// no longer holds every record of its range.
    pub fn place(&self, raw_rows: &[crate::chunk::RawRow], row: usize) -> Option<String> {
        if let Some(kept) = raw_rows.get(row) {
            return Some(kept.position.short());
        }
        if !raw_rows.is_empty() {
            return None;
        }
        let records = (self.end_record + 1).checked_sub(self.first_record)?;
        if self.rows != records || row as u64 >= records {
            return None;
        }
        let record = self.first_record + row as u64;
        if self.first_line == 0 {
            return Some(crate::position::Position::row(record).short());
        }
        Some(match self.end_line.checked_sub(self.first_line) {
            Some(lines) if lines == records => {
                format!("record {record} (line {})", self.first_line + row as u64)
            }
            _ => format!("record {record}"),
        })
    }

    /// `e`, the database's refusal of row `row` of the chunk, naming the row when its place
    /// is known (see [`ChunkMeta::place`]).
    pub(crate) fn named(
        &self,
        raw_rows: &[crate::chunk::RawRow],
        row: usize,
        e: crate::error::Error,
    ) -> crate::error::Error {
        match self.place(raw_rows, row) {
            Some(place) => e.at_row(&place),
            None => e,
        }
    }

    /// The metadata of `chunk`.
    pub fn of(chunk: &Chunk) -> Self {
        ChunkMeta {
            seq: chunk.seq,
            first_byte: chunk.first.byte,
            end_byte: chunk.end_byte,
            rows: chunk.rows,
            first_record: chunk.first.record,
            first_line: chunk.first.line,
            end_record: chunk.last.record,
            end_line: chunk.end_line,
            input: chunk.input.as_ref().map(|i| i.name.clone()),
        }
    }
}

/// Committed input ranges, asked in increasing byte order by the reader.
#[derive(Debug, Default)]
pub struct SkipRanges {
    ranges: Vec<Committed>,
    next: usize,
}

impl SkipRanges {
    /// Ranges sorted by first byte.
    pub fn new(mut ranges: Vec<Committed>) -> Self {
        ranges.sort_by_key(|c| c.first_byte);
        SkipRanges { ranges, next: 0 }
    }

    /// The committed range holding the record that starts at `byte`, if any. Calls must come
    /// with increasing `byte`.
    pub fn find(&mut self, byte: u64) -> Option<Committed> {
        while self.next < self.ranges.len() && self.ranges[self.next].end_byte <= byte {
            self.next += 1;
        }
        let r = self.ranges.get(self.next)?;
        (r.first_byte <= byte).then_some(*r)
    }

    /// The last chunk of the committed run that starts with chunk 0 (the input's first
    /// chunk): the reader can seek past it instead of reading its way through.
    pub fn contiguous_prefix(&self) -> Option<Committed> {
        let first = self.ranges.first().filter(|r| r.chunk == 0)?;
        let mut last = *first;
        for r in &self.ranges[1..] {
            if r.first_byte != last.end_byte {
                break;
            }
            last = *r;
        }
        Some(last)
    }

    /// Rows in the committed ranges that start at or before `byte`.
    pub fn rows_through(&self, byte: u64) -> u64 {
        self.ranges
            .iter()
            .filter(|r| r.first_byte <= byte)
            .map(|r| r.rows)
            .sum()
    }

    /// Rows in all committed ranges.
    pub fn rows(&self) -> u64 {
        self.ranges.iter().map(|r| r.rows).sum()
    }
}

/// Fingerprint of a file load, `slot.version`: the slot names the file (its path) and the
/// table (`table`); the version `reading` (what decides the positions records have: the
/// encoding), the file's size, modification time and first and last 64 KiB. Another version
/// of the file is another load, and the slot finds the earlier one's checkpoints, so that
/// their rows are not loaded a second time unasked.
///
/// # Errors
/// An I/O error reading the file.
pub fn fingerprint_file(path: &Path, table: &str, reading: &str) -> std::io::Result<LoadKey> {
    const EDGE: u64 = 64 * 1024;
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let canonical = std::fs::canonicalize(path)?;
    let mut slot = Sha256::new();
    slot.update(canonical.to_string_lossy().as_bytes());
    slot.update([0]);
    slot.update(table.as_bytes());
    let slot = format!("{}.", hex(&slot.finalize()[..8]));
    let mut h = Sha256::new();
    h.update(reading.as_bytes());
    h.update([0]);
    h.update(meta.len().to_le_bytes());
    h.update(mtime.to_le_bytes());
    let mut buf = vec![0; EDGE as usize];
    let n = read_full(&mut file, &mut buf)?;
    h.update(&buf[..n]);
    if meta.len() > EDGE {
        file.seek(SeekFrom::Start(meta.len().saturating_sub(EDGE).max(EDGE)))?;
        let n = read_full(&mut file, &mut buf)?;
        h.update(&buf[..n]);
    }
    Ok(LoadKey {
        id: format!("{slot}{}", hex(&h.finalize()[..16])),
        slot: Some(slot),
    })
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_of_a_prefix_bounds_exactly_the_texts_that_start_with_it() {
        assert_eq!(successor("0a1b.").as_deref(), Some("0a1b/"));
        assert_eq!(successor("nightly/").as_deref(), Some("nightly0"));
        assert_eq!(successor("lädt/").as_deref(), Some("lädt0"));
        assert_eq!(successor("lädt"), Some("lädu".to_string()));
        assert_eq!(successor("ä"), None);
        assert_eq!(successor("\u{7f}"), None);
        assert_eq!(successor(""), None);
        let (lo, hi) = ("0a1b.", successor("0a1b.").unwrap_or_default());
        for id in ["0a1b.", "0a1b.ff", "0a1b.\u{10ffff}"] {
            assert!(lo <= id && id < hi.as_str(), "{id}");
        }
        for id in ["0a1b", "0a1b/", "0a1c.", "0a1a.ff"] {
            assert!(!(lo <= id && id < hi.as_str()), "{id}");
        }
    }

    fn c(first: u64, end: u64) -> Committed {
        Committed {
            first_byte: first,
            end_byte: end,
            rows: 1,
            end_record: 0,
            end_line: 0,
            chunk: first / 10 - 1,
        }
    }

    #[test]
    fn skip_ranges_find_and_prefix() {
        let mut s = SkipRanges::new(vec![c(30, 40), c(10, 20), c(20, 30), c(50, 60)]);
        assert_eq!(s.contiguous_prefix(), Some(c(30, 40)));
        assert_eq!(s.rows_through(30), 3);
        assert_eq!(s.find(5), None);
        assert_eq!(s.find(10), Some(c(10, 20)));
        assert_eq!(s.find(39), Some(c(30, 40)));
        assert_eq!(s.find(40), None);
        assert_eq!(s.find(55), Some(c(50, 60)));
        assert_eq!(s.find(60), None);
        assert_eq!(s.rows(), 4);
    }

    #[test]
    fn fingerprints_change_with_content_and_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "id\n1\n").unwrap();
        let a = fingerprint_file(&p, "t", "utf-8").unwrap();
        assert_eq!(a, fingerprint_file(&p, "t", "utf-8").unwrap());
        let other_table = fingerprint_file(&p, "u", "utf-8").unwrap();
        assert_ne!(a.id, other_table.id);
        assert_ne!(a.slot, other_table.slot);
        // Read in another encoding: another load, in the same slot.
        let other_reading = fingerprint_file(&p, "t", "utf-16le").unwrap();
        assert_ne!(a.id, other_reading.id);
        assert_eq!(a.slot, other_reading.slot);
        std::fs::write(&p, "id\n2\n").unwrap();
        // Another version of the file: another load, in the same slot.
        let b = fingerprint_file(&p, "t", "utf-8").unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.slot, b.slot);
        let slot = a.slot.unwrap_or_default();
        assert!(a.id.starts_with(&slot) && b.id.starts_with(&slot));
        assert_eq!((slot.len(), a.id.len()), (17, 17 + 32));
    }
}
