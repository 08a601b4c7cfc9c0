//! A chunk: the unit of work, of transaction and of progress.

use crate::position::Position;

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
}

impl WireFormat {
    /// `binary`, `text` (as in `COPY ... (FORMAT ...)`) or `insert` (SQLite).
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::Binary => "binary",
            WireFormat::Text => "text",
            WireFormat::Sqlite => "insert",
        }
    }
}

/// A value the client left for the server to read (see [`crate::encode::Outcome::Defer`]):
/// the writer resolves it with one round trip per chunk and splices it in at `offset`.
#[derive(Clone, Debug)]
pub struct Deferred {
    /// Where in [`Chunk::data`] the encoded value (length and bytes) belongs.
    pub offset: usize,
    /// Index of the target column in the load's column list.
    pub column: usize,
    /// The value's text.
    pub text: String,
    /// The record it came from.
    pub position: Position,
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
        }
    }
}
