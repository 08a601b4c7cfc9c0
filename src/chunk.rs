//! A chunk: the unit of work, of transaction and of progress.

use std::ops::Range;

use bytes::Bytes;

use crate::position::Position;
use crate::rejects::Reject;

/// How a chunk's rows are encoded in [`Chunk::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    /// PostgreSQL binary COPY: barge parses and encodes every value (the default).
    Binary,
    /// PostgreSQL text COPY: the server parses values; used when a column has a type barge
    /// does not encode.
    Text,
    /// SQLite values (see [`crate::encode::sqlite`]), bound to prepared multi-row INSERTs.
    Sqlite,
    /// MySQL's `LOAD DATA` text (see [`crate::encode::mysql`]): streamed as a file, or split
    /// into the parameters of multi-row INSERTs.
    Mysql,
}

impl WireFormat {
    /// `binary`, `text` (as in `COPY ... (FORMAT ...)`) or `insert` (SQLite).
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::Binary => "binary",
            WireFormat::Text => "text",
            WireFormat::Sqlite => "insert",
            WireFormat::Mysql => "load data",
        }
    }
}

/// A value the client left for the server to read (see [`crate::encode::Outcome::Defer`]):
/// the writer resolves it with one round trip per chunk and splices it in at `offset`.
///
/// Until then its text stands in [`Chunk::data`] where the value belongs, written as a value
/// is (length, then bytes): kept there, such values cost no allocation each (a file of `1e5`
/// numbers into a numeric column defers every one), and no more memory than their text.
#[derive(Clone, Debug)]
pub struct Deferred {
    /// Where in [`Chunk::data`] the value's text stands (its 4-byte length first).
    pub offset: usize,
    /// The text's length in bytes.
    pub len: usize,
    /// Index of the target column in the load's column list.
    pub column: usize,
    /// The record it came from.
    pub position: Position,
}

impl Deferred {
    /// The bytes of [`Chunk::data`] that the value's text takes (with its length).
    pub fn span(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + 4 + self.len
    }
}

/// Consecutive rows of the input, encoded and ready to send as one `COPY` in one
/// transaction.
///
/// Chunks are numbered from 0 in input order and cut only by row count and input bytes, so
/// chunk `k` holds the same rows on every run of the same load.
#[derive(Debug)]
pub struct Chunk {
    /// Chunk number, from 0.
    pub seq: u64,
    /// Position among the chunks this run sends (0, 1, 2, ... without gaps, unlike `seq`,
    /// which skips the chunks an earlier run committed).
    pub ordinal: u64,
    /// The complete COPY payload (binary header and trailer included).
    pub data: Vec<u8>,
    /// Rows in the chunk.
    pub rows: u64,
    /// Where the first row starts.
    pub first: Position,
    /// Where the last row starts.
    pub last: Position,
    /// Input byte offset just past the last row.
    pub end_byte: u64,
    /// The line on which the row after the last one starts.
    pub end_line: u64,
    /// Values waiting for the server to resolve them, in `offset` order.
    pub deferred: Vec<Deferred>,
    /// Rows of the chunk's input range that the client rejected (with `--rejects`): they are
    /// written to the rejects file when the chunk commits.
    pub rejects: Vec<Reject>,
    /// With `--rejects`: the input bytes of the rows in `data`, so that a row the server
    /// refuses can be set aside as it was.
    pub raw: Vec<u8>,
    /// With `--rejects`: each row of `data`, in order.
    pub raw_rows: Vec<RawRow>,
    /// The in-flight bytes this chunk holds, given back when it is dropped.
    pub grant: Option<crate::budget::Grant>,
    /// The input file its rows come from (one of several read one after another, or in one
    /// transaction: [`crate::source::chain`]): its messages name it.
    pub input: Option<crate::record::InputOf>,
}

/// Where one row of a chunk came from (kept with `--rejects`).
#[derive(Clone, Debug)]
pub struct RawRow {
    /// Its position in the input.
    pub position: Position,
    /// Its input bytes, in [`Chunk::raw`].
    pub raw: std::ops::Range<usize>,
    /// Where its encoding starts in [`Chunk::data`] (until deferred values are spliced in).
    pub data_start: usize,
}

impl Chunk {
    /// The text of deferred value `d`, as the encoder left it (valid UTF-8 without NUL).
    pub fn deferred_text(&self, d: &Deferred) -> &str {
        let bytes = self
            .data
            .get(d.offset + 4..d.span().end)
            .unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Row `i`'s input position and bytes (with `--rejects`).
    pub fn raw_row(&self, i: usize) -> Option<(Position, &[u8])> {
        let row = self.raw_rows.get(i)?;
        Some((row.position, self.raw.get(row.raw.clone())?))
    }

    /// The row (index into [`Chunk::raw_rows`]) of the record at `position`.
    pub fn row_of(&self, position: Position) -> Option<usize> {
        self.raw_rows
            .binary_search_by_key(&position.byte, |r| r.position.byte)
            .ok()
    }

    /// Takes rows (indexes into [`Chunk::raw_rows`], sorted) out of the chunk, with their
    /// deferred values: used when the server refuses a value of theirs and they are set aside.
    /// `rows_end` is where the last row ends in `data` (before a binary trailer).
    pub fn remove_rows(&mut self, rows: &[usize], rows_end: usize) {
        if rows.is_empty() {
            return;
        }
        let end_of =
            |i: usize, rows: &[RawRow], len: usize| rows.get(i + 1).map_or(len, |r| r.data_start);
        let cuts: Vec<std::ops::Range<usize>> = rows
            .iter()
            .map(|&i| self.raw_rows[i].data_start..end_of(i, &self.raw_rows, rows_end))
            .collect();
        let removed_before = |offset: usize| -> usize {
            cuts.iter()
                .filter(|c| c.end <= offset)
                .map(|c| c.end - c.start)
                .sum()
        };
        // By position: the rows' own values go with them.
        let gone: Vec<u64> = rows
            .iter()
            .map(|&i| self.raw_rows[i].position.byte)
            .collect();
        self.deferred.retain(|d| !gone.contains(&d.position.byte));
        for d in &mut self.deferred {
            d.offset -= removed_before(d.offset);
        }
        let mut data = Vec::with_capacity(self.data.len());
        let mut from = 0;
        for c in &cuts {
            data.extend_from_slice(&self.data[from..c.start]);
            from = c.end;
        }
        data.extend_from_slice(&self.data[from..]);
        self.data = data;
        let mut k = 0;
        self.raw_rows.retain(|_| {
            k += 1;
            !rows.contains(&(k - 1))
        });
        for r in &mut self.raw_rows {
            r.data_start -= removed_before(r.data_start);
        }
        self.rows -= rows.len() as u64;
    }
}

impl Chunk {
    /// An empty chunk with room for `capacity` bytes.
    pub fn new(seq: u64, capacity: usize) -> Self {
        Chunk {
            seq,
            ordinal: 0,
            data: Vec::with_capacity(capacity),
            rows: 0,
            first: Position::default(),
            last: Position::default(),
            end_byte: 0,
            end_line: 0,
            deferred: Vec::new(),
            rejects: Vec::new(),
            raw: Vec::new(),
            raw_rows: Vec::new(),
            grant: None,
            input: None,
        }
    }

    /// The bytes the chunk holds in memory.
    pub fn bytes(&self) -> usize {
        self.data.capacity()
            + self.raw.capacity()
            + self.deferred.capacity() * std::mem::size_of::<Deferred>()
    }

    /// The bytes its rows take so far (which a chunk is cut by): their payload, their input
    /// (with `--rejects`) and their deferred values' records (one a value, up to a few a row).
    pub fn filled(&self) -> usize {
        self.data.len() + self.raw.len() + self.deferred.len() * std::mem::size_of::<Deferred>()
    }
}

/// An encoded chunk's payload `data` without the rows `skip` (sorted indexes into `ranges`,
/// where each row lies), as slices of it: a chunk is not copied to leave a few rows out.
pub fn without_rows(data: &Bytes, ranges: &[Range<usize>], skip: &[usize]) -> Vec<Bytes> {
    let mut parts = Vec::with_capacity(skip.len() + 1);
    let mut from = 0;
    for r in skip.iter().filter_map(|&i| ranges.get(i)) {
        if r.start > from {
            parts.push(data.slice(from..r.start));
        }
        from = r.end;
    }
    if from < data.len() {
        parts.push(data.slice(from..));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(byte: u64) -> Position {
        Position {
            byte,
            line: byte,
            record: byte,
        }
    }

    #[test]
    fn removing_rows_keeps_the_others_and_their_deferred_values() {
        // Rows "aa", "bbb", "c", each ending with a deferred value's text standing in ("x",
        // "y", "z"), after a 2-byte header.
        let mut c = Chunk::new(0, 0);
        c.data = b"HHaa\0\0\0\x01xbbb\0\0\0\x01yc\0\0\0\x01z".to_vec();
        c.raw = b"r0\nr1\nr2\n".to_vec();
        for (i, start) in [2usize, 9, 17].into_iter().enumerate() {
            c.raw_rows.push(RawRow {
                position: pos(i as u64 * 3),
                raw: i * 3..i * 3 + 3,
                data_start: start,
            });
            let offset = [4, 12, 18][i];
            c.deferred.push(Deferred {
                offset,
                len: 1,
                column: 0,
                position: pos(i as u64 * 3),
            });
        }
        c.rows = 3;
        c.remove_rows(&[1], c.data.len());
        assert_eq!(c.data, b"HHaa\0\0\0\x01xc\0\0\0\x01z");
        assert_eq!(c.rows, 2);
        let texts: Vec<(usize, &str)> = c
            .deferred
            .iter()
            .map(|d| (d.offset, c.deferred_text(d)))
            .collect();
        assert_eq!(texts, [(4, "x"), (10, "z")]);
        assert_eq!(c.raw_row(1).map(|r| r.1), Some(&b"r2\n"[..]));
        assert_eq!(c.row_of(pos(6)), Some(1));
        assert_eq!(c.raw_rows[1].data_start, 9);
    }
}
