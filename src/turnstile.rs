//! Letting chunks take effect in input order while several writers work at once.
//!
//! An upsert's outcome depends on order (the last occurrence of a key wins, or the first), so
//! each writer stages its chunk in parallel with the others but waits for its turn before the
//! step that touches the target, and passes the turn on when its chunk has committed. Writers
//! take chunks from the channel in order and hold at most one each, so the chunks being held are
//! always the oldest uncommitted ones, and a turn never waits for a chunk that no writer holds.

use tokio::sync::watch;

use crate::error::{Error, Result};

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
            return Err(Error::config(
                "another writer failed, so this chunk was not applied",
            ));
        }
        Ok(())
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
}
