//! Letting chunks take effect in input order while several writers work at once.
//!
//! An upsert's outcome depends on order (the last occurrence of a key wins, or the first), so
//! each writer stages its chunk in parallel with the others but waits for its turn before the
//! step that touches the target, and passes the turn on when its chunk has committed. Writers
//! take chunks from the channel in order and hold at most one each, so the chunks being held are
//! always the oldest uncommitted ones, and a turn never waits for a chunk that no writer holds.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};

/// How long a chunk that has sent its rows waits for its turn to commit before it lets go of
/// its locks (an earlier chunk may be waiting on one of them), at most.
pub const ORDER_WAIT: Duration = Duration::from_secs(1);

/// How often a chunk waiting for its turn asks whether another writer waits on it.
const BLOCKING_EVERY: Duration = Duration::from_millis(20);

/// What a chunk waiting for its turn learnt when it asked the server whether another session
/// waits on a lock its transaction holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// One does: the chunk lets go now.
    Blocks,
    /// None does (yet).
    Clear,
    /// The server does not tell this session: the chunk waits for its turn as long as the
    /// caller's `untold` says, without asking again.
    Untold,
    /// Asking ended the transaction's use: the chunk lets go now.
    Failed,
}

/// A chunk's way of asking the server whether another session waits on a lock its
/// transaction holds (each backend has its own).
pub trait AskBlocking {
    /// Asks once.
    fn ask(&mut self) -> impl std::future::Future<Output = Asked> + Send;
}

/// Hands turns out by chunk ordinal (0, 1, 2, ... in the order the reader sent them).
#[derive(Debug)]
pub struct Turnstile {
    next: watch::Sender<u64>,
}

/// Raised in place of the next turn when a writer failed: waiting writers give up.
const POISONED: u64 = u64::MAX;

impl Default for Turnstile {
    fn default() -> Self {
        Turnstile {
            next: watch::Sender::new(0),
        }
    }
}

impl Turnstile {
    /// Waits until chunk `ordinal` may take effect.
    ///
    /// # Errors
    /// When another writer failed for good: the load is ending, and this chunk must not be
    /// applied out of order.
    pub async fn wait(&self, ordinal: u64) -> Result<()> {
        let mut rx = self.next.subscribe();
        let turn = rx
            .wait_for(|&n| n >= ordinal)
            .await
            .map(|n| *n)
            .map_err(|_| Error::config("the load's turnstile was dropped"))?;
        if turn == POISONED {
            return Err(ErrorKind::Stopped.into());
        }
        Ok(())
    }

    /// Waits for chunk `ordinal`'s turn while its sent rows hold their locks; `false` when it
    /// must let go of them instead and go again in its turn.
    ///
    /// A chunk sent out of turn can hold a key that an earlier chunk, still sending, inserts
    /// too (a duplicate a few rows apart, across a chunk boundary): the earlier one waits on
    /// this one's lock and this one on the earlier one's commit. Waiting that out for
    /// [`ORDER_WAIT`] cost a second per such pair (0.05% duplicates 500 rows apart made a
    /// load 5x slower), so `asker` is asked every [`BLOCKING_EVERY`] to learn whether another
    /// session waits on this one. Where the server does not tell ([`Asked::Untold`]) the chunk
    /// waits `untold` in all, then lets go.
    ///
    /// # Errors
    /// [`Turnstile::wait`]'s: an earlier chunk failed.
    pub async fn wait_or_let_go(
        &self,
        ordinal: u64,
        untold: Duration,
        asker: &mut impl AskBlocking,
    ) -> Result<bool> {
        let started = Instant::now();
        let turn = self.wait(ordinal);
        tokio::pin!(turn);
        let (mut wait, mut every) = (ORDER_WAIT, BLOCKING_EVERY);
        loop {
            let left = wait.saturating_sub(started.elapsed());
            match tokio::time::timeout(left.min(every), &mut turn).await {
                Ok(r) => return r.map(|()| true),
                Err(_) if started.elapsed() >= wait => return Ok(false),
                Err(_) => {}
            }
            match asker.ask().await {
                Asked::Clear => {}
                Asked::Untold => (wait, every) = (untold, Duration::MAX),
                Asked::Blocks => {
                    tracing::debug!(
                        chunk = ordinal,
                        "another session waits on a key this chunk holds: it lets go and goes again in its turn"
                    );
                    return Ok(false);
                }
                Asked::Failed => return Ok(false),
            }
        }
    }

    /// Chunk `ordinal` has committed: the next one may go.
    pub fn done(&self, ordinal: u64) {
        self.next.send_modify(|n| {
            if *n != POISONED {
                *n = (*n).max(ordinal + 1);
            }
        });
    }

    /// A writer failed for good: every waiting and future turn fails.
    pub fn poison(&self) {
        self.next.send_replace(POISONED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn turns_come_in_order() {
        let t = Arc::new(Turnstile::default());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for k in (0..5u64).rev() {
            let (t, order) = (t.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                t.wait(k).await.unwrap();
                order.lock().unwrap().push(k);
                t.done(k);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn poison_releases_waiters_with_an_error() {
        let t = Arc::new(Turnstile::default());
        let waiter = {
            let t = t.clone();
            tokio::spawn(async move { t.wait(3).await })
        };
        tokio::task::yield_now().await;
        t.poison();
        assert!(waiter.await.unwrap().is_err());
        assert!(t.wait(0).await.is_err());
    }

    /// Answers as told, counting the questions.
    struct Answers(Asked, u32);

    impl AskBlocking for Answers {
        async fn ask(&mut self) -> Asked {
            self.1 += 1;
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_chunk_lets_go_when_told_or_when_its_wait_is_over() {
        let t = Turnstile::default();
        // Its turn: it goes, without asking.
        let mut asker = Answers(Asked::Blocks, 0);
        assert!(matches!(
            t.wait_or_let_go(0, ORDER_WAIT, &mut asker).await,
            Ok(true)
        ));
        assert_eq!(asker.1, 0);
        // Chunk 0 has not committed, so chunk 1 waits.
        for (answer, untold, waited, questions) in [
            // Another session waits on it: it lets go at the first answer.
            (Asked::Blocks, ORDER_WAIT, BLOCKING_EVERY, 1),
            (Asked::Failed, ORDER_WAIT, BLOCKING_EVERY, 1),
            // Nobody does: it asks every BLOCKING_EVERY until ORDER_WAIT is over.
            (Asked::Clear, ORDER_WAIT, ORDER_WAIT, 49),
            // The server does not tell: it waits `untold` in all, asking once.
            (
                Asked::Untold,
                Duration::from_millis(300),
                Duration::from_millis(300),
                1,
            ),
        ] {
            let mut asker = Answers(answer, 0);
            let start = tokio::time::Instant::now();
            assert!(matches!(
                t.wait_or_let_go(1, untold, &mut asker).await,
                Ok(false)
            ));
            assert_eq!(start.elapsed(), waited, "{answer:?}");
            assert_eq!(asker.1, questions, "{answer:?}");
        }
        // Its turn comes while it waits.
        t.done(0);
        let mut asker = Answers(Asked::Clear, 0);
        assert!(matches!(
            t.wait_or_let_go(1, ORDER_WAIT, &mut asker).await,
            Ok(true)
        ));
    }
}
