//! One load shared by several processes (`--split K/N`): each loads a disjoint share of the
//! input, exactly once, with the checkpoints in the target as the only coordination.
//!
//! Several files are shared whole (file `i` goes to share `i mod N`). One file is shared by
//! bytes: share K covers the records that *start* in bytes `[size·(K-1)/N, size·K/N)`. Where a
//! record starts is decided by barge's own reader, reading from the top of the file: a quoted
//! field can hold line breaks, so no guess from a byte offset alone is exact, while the reader
//! sees records exactly as the load will. Every process computes the same boundaries, so
//! shares neither overlap nor leave gaps; each process reads the file up to the end of its
//! share to find them (parsing, not loading, costs a fraction of the load).
//!
//! Chunks are checkpointed by byte range under the same load id by every share, so a share
//! re-run skips what it committed, and a later run with another `N` skips what any share
//! committed. Each share marks itself done; the last to finish marks the whole load done.

use std::fmt;
use std::str::FromStr;

use crate::error::Result;
use crate::position::Position;
use crate::record::{Record, RecordSource};

/// Share `k` of `n` (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// This share, 1..=n.
    pub k: u32,
    /// How many shares.
    pub n: u32,
}

/// A share's done marker is `-(n·SHARES + k)`: below every byte offset and the whole load's -1.
const SHARES: i64 = 1_000_000;

impl FromStr for Split {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Split, String> {
        let bad = || format!("--split takes K/N, share K of N (1 <= K <= N), not {s:?}");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n || i64::from(n) >= SHARES {
            return Err(bad());
        }
        Ok(Split { k, n })
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Split {
    /// The bytes of a file of `size` bytes in which this share's records start.
    pub fn bytes(&self, size: u64) -> (u64, u64) {
        let at = |i: u32| ((u128::from(size) * u128::from(i)) / u128::from(self.n)) as u64;
        (at(self.k - 1), at(self.k))
    }

    /// Whether file number `i` (from 0) of several belongs to this share.
    pub fn has_file(&self, i: usize) -> bool {
        i % self.n as usize == (self.k - 1) as usize
    }

    /// This share's done marker (a checkpoint row's `first_byte`).
    pub fn marker(&self) -> i64 {
        -(i64::from(self.n) * SHARES + i64::from(self.k))
    }

    /// The range of done markers of the shares of this `n`.
    pub fn markers(&self) -> (i64, i64) {
        let base = -(i64::from(self.n) * SHARES);
        (base - i64::from(self.n), base - 1)
    }
}

/// Where this share starts (its first record, `None` when no record starts in it) and the
/// byte at which the next share's first record starts, read with `reader` (at the first
/// record of the file).
///
/// # Errors
/// A record that cannot be read before the share ends.
pub fn find(
    reader: &mut dyn RecordSource,
    share: Split,
    size: u64,
) -> Result<(Option<Position>, u64)> {
    let (lo, hi) = share.bytes(size);
    let mut rec = Record::default();
    let mut start = None;
    while reader.read_record(&mut rec)? {
        let at = rec.position();
        if at.byte >= hi {
            return Ok((start, at.byte));
        }
        if start.is_none() && at.byte >= lo {
            start = Some(at);
        }
    }
    Ok((start, u64::MAX))
}

/// A reader that ends where the next share begins.
pub struct Bounded {
    inner: Box<dyn RecordSource>,
    end: u64,
    done: bool,
}

impl Bounded {
    /// Reads `inner` up to (not including) the record that starts at byte `end`.
    pub fn new(inner: Box<dyn RecordSource>, end: u64) -> Bounded {
        Bounded {
            inner,
            end,
            done: false,
        }
    }
}

impl RecordSource for Bounded {
    fn read_record(&mut self, rec: &mut Record) -> Result<bool> {
        if self.done || !self.inner.read_record(rec)? {
            return Ok(false);
        }
        if rec.position().byte >= self.end {
            self.done = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn line(&self) -> u64 {
        self.inner.line()
    }

    fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }

    fn can_continue(&self) -> bool {
        self.inner.can_continue()
    }

    fn set_json_fields(&mut self, json: &[bool]) {
        self.inner.set_json_fields(json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_bytes_once_and_parse_strictly() {
        let s: Split = "2/3".parse().unwrap();
        assert_eq!(s.bytes(100), (33, 66));
        let all: Vec<(u64, u64)> = (1..=3).map(|k| Split { k, n: 3 }.bytes(100)).collect();
        assert_eq!(all, vec![(0, 33), (33, 66), (66, 100)]);
        assert!("0/3".parse::<Split>().is_err());
        assert!("4/3".parse::<Split>().is_err());
        assert!("x".parse::<Split>().is_err());
        assert!(s.has_file(1) && s.has_file(4) && !s.has_file(0));
        let (lo, hi) = s.markers();
        assert!(lo <= s.marker() && s.marker() <= hi && hi < -1);
    }
}
