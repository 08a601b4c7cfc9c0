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
use tokio_postgres::Client;

use crate::chunk::Chunk;
use crate::error::{get, Error, Result};
use crate::schema::quote_ident;

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
}

/// What the bookkeeping says about a load before it starts.
#[derive(Debug)]
pub enum Start {
    /// Load (or resume) under this id; these chunks are already committed.
    Run(Checkpoints, Vec<Committed>),
    /// This input was loaded completely before; nothing to do.
    AlreadyLoaded(Checkpoints, Completed),
}

fn db<'a>(ctx: &str, table: &'a str) -> impl Fn(tokio_postgres::Error) -> Error + 'a {
    let ctx = ctx.to_string();
    move |e| Error::db(format!("{ctx} checkpoint table {table}"), e)
}

impl Checkpoints {
    /// Creates the bookkeeping table if needed, then finds the generation of this load to run:
    /// the latest one still incomplete, else (with `again`) a new one, else the completed one.
    ///
    /// `fingerprint` identifies the input and mapping; generations after the first are
    /// `fingerprint/2`, `fingerprint/3`, ...
    ///
    /// # Errors
    /// A database error (for example no CREATE privilege on the schema: name another table
    /// with `--checkpoint-table`).
    pub async fn start(
        client: &Client,
        schema: &str,
        name: &str,
        fingerprint: &str,
        again: bool,
    ) -> Result<Start> {
        let table = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
               load_id text NOT NULL, first_byte bigint NOT NULL, end_byte bigint NOT NULL, \
               rows bigint NOT NULL, end_record bigint NOT NULL, end_line bigint NOT NULL, \
               chunk bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), \
               PRIMARY KEY (load_id, first_byte))"
        );
        if let Err(e) = client.batch_execute(&create).await {
            // Two loads creating the table at once: one wins, the other sees it exist.
            let code = e.as_db_error().map(|d| d.code().code().to_string());
            if !matches!(code.as_deref(), Some("23505" | "42P07")) {
                return Err(db("creating the", &table)(e));
            }
        }
        let rows = client
            .query(
                &format!(
                    "SELECT load_id, \
                            max(committed_at::text) FILTER (WHERE first_byte = -1), \
                            max(rows) FILTER (WHERE first_byte = -1) \
                     FROM {table} WHERE load_id = $1 OR load_id LIKE $2 GROUP BY load_id"
                ),
                &[&fingerprint, &format!("{}/%", like_escape(fingerprint))],
            )
            .await
            .map_err(db("reading the", &table))?;
        let generation = |id: &str| -> u64 {
            match id
                .strip_prefix(fingerprint)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(n) => n.parse().unwrap_or(0),
                None => 1,
            }
        };
        let what = "the checkpoint table";
        let mut latest = None;
        for r in &rows {
            let g = generation(get::<&str>(r, 0, what)?);
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
                let at: Option<String> = get(r, 1, what)?;
                let total: Option<i64> = get(r, 2, what)?;
                (
                    g,
                    at.map(|at| Completed {
                        at,
                        rows: total.unwrap_or(0) as u64,
                    }),
                )
            }
        };
        match done {
            Some(done) if !again => Ok(Start::AlreadyLoaded(
                Checkpoints {
                    table,
                    load_id: id_for(gen),
                },
                done,
            )),
            Some(_) => Ok(Start::Run(
                Checkpoints {
                    table,
                    load_id: id_for(gen + 1),
                },
                Vec::new(),
            )),
            None => {
                let cp = Checkpoints {
                    table,
                    load_id: id_for(gen),
                };
                let committed = cp.committed(client).await?;
                Ok(Start::Run(cp, committed))
            }
        }
    }

    /// The load id (fingerprint and generation).
    pub fn load_id(&self) -> &str {
        &self.load_id
    }

    /// The quoted bookkeeping table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The chunks this load has committed, in input order.
    ///
    /// # Errors
    /// A database error.
    pub async fn committed(&self, client: &Client) -> Result<Vec<Committed>> {
        let rows = client
            .query(
                &format!(
                    "SELECT first_byte, end_byte, rows, end_record, end_line, chunk FROM {} \
                     WHERE load_id = $1 AND first_byte >= 0 ORDER BY first_byte",
                    self.table
                ),
                &[&self.load_id],
            )
            .await
            .map_err(db("reading the", &self.table))?;
        let what = "the checkpoint table";
        rows.iter()
            .map(|r| {
                let n = |i| get::<i64>(r, i, what).map(|v| v as u64);
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

    /// The statement a writer runs inside each chunk's transaction.
    pub fn insert_sql(&self) -> String {
        format!(
            "INSERT INTO {} (load_id, first_byte, end_byte, rows, end_record, end_line, chunk) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.table
        )
    }

    /// The parameters of [`Checkpoints::insert_sql`] for `chunk`.
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
    pub async fn is_committed(&self, client: &Client, first_byte: u64) -> Result<bool> {
        let row = client
            .query_opt(
                &format!(
                    "SELECT 1 FROM {} WHERE load_id = $1 AND first_byte = $2",
                    self.table
                ),
                &[&self.load_id, &(first_byte as i64)],
            )
            .await
            .map_err(db("reading the", &self.table))?;
        Ok(row.is_some())
    }

    /// Records that the load completed with `rows` rows in all.
    ///
    /// # Errors
    /// A database error.
    pub async fn mark_done(&self, client: &Client) -> Result<u64> {
        let row = client
            .query_one(
                &format!(
                    "WITH total AS (SELECT coalesce(sum(rows), 0)::bigint AS n FROM {t} \
                                    WHERE load_id = $1 AND first_byte >= 0) \
                     INSERT INTO {t} (load_id, first_byte, end_byte, rows, end_record, end_line, chunk) \
                     SELECT $1, -1, -1, n, -1, -1, -1 FROM total \
                     ON CONFLICT (load_id, first_byte) DO UPDATE SET rows = EXCLUDED.rows \
                     RETURNING rows",
                    t = self.table
                ),
                &[&self.load_id],
            )
            .await
            .map_err(db("writing to the", &self.table))?;
        Ok(get::<i64>(&row, 0, "the checkpoint table")? as u64)
    }
}

/// What a checkpoint row records of a chunk (its data may already be gone to the server).
#[derive(Clone, Copy, Debug)]
pub struct ChunkMeta {
    /// Chunk number.
    pub seq: u64,
    /// Input offset of its first row.
    pub first_byte: u64,
    /// Input offset past its last row.
    pub end_byte: u64,
    /// Rows.
    pub rows: u64,
    /// Record number of its last row.
    pub end_record: u64,
    /// Line after its last row.
    pub end_line: u64,
}

impl ChunkMeta {
    /// The metadata of `chunk`.
    pub fn of(chunk: &Chunk) -> Self {
        ChunkMeta {
            seq: chunk.seq,
            first_byte: chunk.first.byte,
            end_byte: chunk.end_byte,
            rows: chunk.rows,
            end_record: chunk.last.record,
            end_line: chunk.end_line,
        }
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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

/// Fingerprint of a file load: path, size, modification time, the first and last 64 KiB, and
/// everything that decides which rows go where (`extra`: table, columns, CSV options).
///
/// # Errors
/// An I/O error reading the file.
pub fn fingerprint_file(path: &Path, extra: &str) -> std::io::Result<String> {
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
    let mut h = Sha256::new();
    h.update(canonical.to_string_lossy().as_bytes());
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
    h.update([0]);
    h.update(extra.as_bytes());
    Ok(hex(&h.finalize()[..16]))
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
        let a = fingerprint_file(&p, "t").unwrap();
        assert_eq!(a, fingerprint_file(&p, "t").unwrap());
        assert_ne!(a, fingerprint_file(&p, "u").unwrap());
        std::fs::write(&p, "id\n2\n").unwrap();
        assert_ne!(a, fingerprint_file(&p, "t").unwrap());
        assert_eq!(a.len(), 32);
    }
}
