//! Where a record sits in its input.

use std::fmt;

/// The place of one record in the input, as `csv` reports it: byte offset, line and record
/// number. Every row error carries one, so a user can open the file at the right line.
///
/// `line` and `record` are 1-based (the header, when present, is record 1); `byte` is the
/// 0-based offset of the record's first byte. They differ as soon as a quoted field holds a
/// newline, which is why all three are kept.
///
/// Rows that come from no text (Parquet, Arrow, a program's rows) have a number and nothing
/// else: [`Position::row`], line 0, shown as `row N` rather than as a line and byte of a file
/// they never had.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Offset of the record's first byte in the (decompressed) input.
    pub byte: u64,
    /// Line on which the record starts, counting from 1.
    pub line: u64,
    /// Record number, counting from 1 (the header is record 1 when there is one).
    pub record: u64,
}

impl Position {
    /// Row `n` (from 1) of an input without lines; `byte` holds the number too, so that
    /// positions still order and skip by it.
    pub fn row(n: u64) -> Position {
        Position {
            byte: n,
            line: 0,
            record: n,
        }
    }

    /// Whether the record is on a line of a text (not a [`Position::row`]).
    pub fn has_lines(&self) -> bool {
        self.line != 0
    }

    /// `record 4 (line 5)`, or `row 4`: where a record is, without its byte offset.
    pub fn short(&self) -> String {
        if self.has_lines() {
            format!("record {} (line {})", self.record, self.line)
        } else {
            format!("row {}", self.record)
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.has_lines() {
            return write!(f, "row {}", self.record);
        }
        write!(
            f,
            "record {} (line {}, byte {})",
            self.record, self.line, self.byte
        )
    }
}
