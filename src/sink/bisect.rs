//! Finding the rows a database refuses in a chunk it refused: the search is the same for every
//! backend, so it is written once, as a plan of row ranges that each backend's writer sends
//! (each under a savepoint) and reports back on.
//!
//! The chunk is first cut into [`PIECES`] ranges, so that a refusal costs re-sending one piece,
//! not the whole chunk. A refused range is split at the row the database blamed, when it named
//! one, else in halves, until each bad row stands alone. A blamed row is sent alone before it
//! is set aside: a database can name a row that was merely buffered with the bad one, and a
//! good row is never set aside.

use std::ops::Range;

use crate::error::Error;

/// The rows of a chunk a database refused, each (its index in the chunk) with the database's
/// error for it alone, in row order.
pub type Refused = Vec<(usize, Error)>;

/// Ranges a chunk with bad rows is first sent in. Measured on PostgreSQL with 500 duplicate
/// keys spread over the 1M-row bench file (every chunk bisects): whole chunk 9.5-11.2 s,
/// 8 pieces 8.7-9.4 s, 16 pieces 7.4 s, 64 pieces 7.8-8.4 s (the round trips start to cost
/// more than they save).
pub const PIECES: usize = 16;

/// The ranges of a chunk's rows still to send, the next one on top.
#[derive(Debug)]
pub struct Bisection {
    work: Vec<Range<usize>>,
}

impl Bisection {
    /// A search over `rows` rows, cut into `pieces` ranges.
    pub fn new(rows: usize, pieces: usize) -> Self {
        let piece = (rows / pieces.max(1)).max(1);
        let work = (0..rows)
            .step_by(piece)
            .map(|start| start..(start + piece).min(rows))
            .rev()
            .collect();
        Bisection { work }
    }

    /// The next range to send, in row order.
    pub fn next_range(&mut self) -> Option<Range<usize>> {
        while let Some(r) = self.work.pop() {
            if !r.is_empty() {
                return Some(r);
            }
        }
        None
    }

    /// `r` was refused; `blamed` is the row (of the chunk) the database named, if any. Returns
    /// the row to set aside when `r` was that one row alone; otherwise plans its parts.
    pub fn refused(&mut self, r: Range<usize>, blamed: Option<usize>) -> Option<usize> {
        if r.len() == 1 {
            return Some(r.start);
        }
        match blamed.filter(|b| r.contains(b)) {
            Some(bad) => {
                self.work.push(bad + 1..r.end);
                self.work.push(bad..bad + 1);
                self.work.push(r.start..bad);
            }
            None => {
                let mid = r.start + r.len() / 2;
                self.work.push(mid..r.end);
                self.work.push(r.start..mid);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a set of bad rows, the database blaming `blame(range)`.
    fn search(
        rows: usize,
        bad: &[usize],
        blame: impl Fn(&Range<usize>) -> Option<usize>,
    ) -> Vec<usize> {
        let mut b = Bisection::new(rows, PIECES);
        let mut found = Vec::new();
        let mut sent = Vec::new();
        while let Some(r) = b.next_range() {
            sent.push(r.clone());
            if bad.iter().any(|x| r.contains(x)) {
                if let Some(row) = b.refused(r.clone(), blame(&r)) {
                    found.push(row);
                }
            }
        }
        // Every good row was sent in a range that went through.
        for row in 0..rows {
            if !bad.contains(&row) {
                assert!(
                    sent.iter()
                        .any(|r| r.contains(&row) && !bad.iter().any(|x| r.contains(x))),
                    "good row {row} never went through"
                );
            }
        }
        found
    }

    #[test]
    fn finds_exactly_the_bad_rows_with_and_without_blame() {
        let bad = [0, 7, 8, 99, 500, 999];
        assert_eq!(search(1000, &bad, |_| None), bad);
        let first_bad = |r: &Range<usize>| bad.iter().copied().find(|x| r.contains(x));
        assert_eq!(search(1000, &bad, first_bad), bad);
        // A database that blames a good row (one buffered with the bad one) never gets it set
        // aside, and a blame outside the range is ignored.
        assert_eq!(search(1000, &bad, |r| Some(r.start)), bad);
        assert_eq!(search(1000, &bad, |r| Some(r.end + 5)), bad);
        assert_eq!(search(3, &[1], |_| None), [1]);
        assert_eq!(search(1, &[0], |_| None), [0]);
    }
}
