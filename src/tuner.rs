//! Rows per chunk from measurement. A chunk's fixed cost is its commit (with its checkpoint
//! row), and that cost differs a lot between servers: a local PostgreSQL flushes its WAL in a
//! few milliseconds, a distributed commit over many nodes takes tens. Unless the user chose
//! `--chunk-rows`, chunks start at the default and double while a commit is a large share of a
//! chunk's time; `--chunk-bytes` still bounds each chunk, so memory stays bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Chunks grow while their commit takes at least this share (1/N) of their time. Half: on a
/// local PostgreSQL a commit took 10-35% of a 10k-row chunk, and growing there at 1/4 or 1/3
/// cost 3-5% and 10-16 MiB (bench-results/2026-11-25-issue14-adaptive-chunks-1m.txt).
const COMMIT_SHARE: u32 = 2;

/// The rows per chunk the reader cuts at, and what the writers learn about them.
#[derive(Debug)]
pub struct ChunkTuner {
    rows: AtomicUsize,
    max: usize,
    adaptive: bool,
}

impl ChunkTuner {
    /// Always `rows` (the user's choice).
    pub fn fixed(rows: usize) -> ChunkTuner {
        ChunkTuner {
            rows: AtomicUsize::new(rows.max(1)),
            max: rows.max(1),
            adaptive: false,
        }
    }

    /// `rows` to start with, growing up to `max` while commits are costly.
    pub fn adaptive(rows: usize, max: usize) -> ChunkTuner {
        ChunkTuner {
            rows: AtomicUsize::new(rows.max(1)),
            max: max.max(rows.max(1)),
            adaptive: true,
        }
    }

    /// Rows per chunk now.
    pub fn rows(&self) -> usize {
        self.rows.load(Ordering::Relaxed)
    }

    /// A chunk of `rows` rows was committed in `total`, `commit` of it its commit. Only full
    /// chunks count (a chunk cut short by its bytes or the input's end says nothing of size).
    pub fn observe(&self, rows: usize, total: Duration, commit: Duration) {
        let now = self.rows();
        if !self.adaptive || rows < now || now >= self.max {
            return;
        }
        if commit * COMMIT_SHARE >= total {
            let next = now.saturating_mul(2).min(self.max);
            if self
                .rows
                .compare_exchange(now, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                tracing::info!(
                    rows = next,
                    commit_ms = commit.as_millis() as u64,
                    chunk_ms = total.as_millis() as u64,
                    "commits take a large share of each chunk: chunks grow"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_grow_only_while_commits_are_costly_and_full() {
        let ms = Duration::from_millis;
        let t = ChunkTuner::adaptive(10, 35);
        t.observe(10, ms(100), ms(5));
        assert_eq!(t.rows(), 10, "a cheap commit");
        t.observe(4, ms(100), ms(90));
        assert_eq!(t.rows(), 10, "a short chunk");
        t.observe(10, ms(100), ms(30));
        assert_eq!(t.rows(), 10, "a third of the chunk's time");
        t.observe(10, ms(100), ms(60));
        assert_eq!(t.rows(), 20);
        t.observe(20, ms(100), ms(50));
        assert_eq!(t.rows(), 35, "capped");
        t.observe(35, ms(100), ms(90));
        assert_eq!(t.rows(), 35);
        let f = ChunkTuner::fixed(10);
        f.observe(10, ms(100), ms(90));
        assert_eq!(f.rows(), 10, "the user's choice stands");
    }
}
