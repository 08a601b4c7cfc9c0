//! Where a record sits in its input.

use std::fmt;

/// The place of one record in the input, as `csv` reports it: byte offset, line and record
/// number. Every row error carries one, so a user can open the file at the right line.
///
/// `line` and `record` are 1-based (the header, when present, is record 1); `byte` is the
/// 0-based offset of the record's first byte. They differ as soon as a quoted field holds a
/// newline, which is why all three are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Offset of the record's first byte in the (decompressed) input.
    pub byte: u64,
    /// Line on which the record starts, counting from 1.
    pub line: u64,
    /// Record number, counting from 1 (the header is record 1 when there is one).
    pub record: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} (line {}, byte {})",
            self.record, self.line, self.byte
        )
    }
}
