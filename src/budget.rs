//! A bound on the bytes of the chunks in flight (queued for a writer or being written), so
//! that memory follows bytes, not rows: with wide rows or big fields a count of chunks is no
//! bound at all.
//!
//! The reader takes a chunk's bytes from the budget before handing it on, and waits while the
//! budget is spent; the [`Grant`] travels with the chunk and gives the bytes back when the
//! writer is done with it (it drops). A chunk larger than the whole budget (one huge row) takes
//! all of it and goes alone.
//!
//! Written by hand: tokio's semaphore is async, and the reader is a blocking thread; this is a
//! counter under a mutex and a condition variable.

use std::sync::{Arc, Condvar, Mutex};

/// Bytes that may be in flight at once.
#[derive(Debug)]
pub struct Budget {
    total: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

/// Bytes taken from a [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Grant {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Arc<Budget> {
        Arc::new(Budget {
            total: total.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Takes `bytes` (at most the whole budget), waiting until they are free or `stop()`
    /// says to give up (checked every 100 ms); `None` when it gave up.
    pub fn take(self: &Arc<Self>, bytes: usize, stop: impl Fn() -> bool) -> Option<Grant> {
        let bytes = bytes.min(self.total);
        // A poisoned lock only means another thread panicked holding it; the count is intact.
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + bytes > self.total {
            if stop() {
                return None;
            }
            used = self
                .freed
                .wait_timeout(used, std::time::Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *used += bytes;
        Some(Grant {
            budget: self.clone(),
            bytes,
        })
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_waits_for_bytes_given_back() {
        let b = Budget::new(100);
        let a = b.take(60, || false).unwrap();
        let big = b.take(1000, || true);
        assert!(
            big.is_none(),
            "the budget was spent and stop() said to give up"
        );
        let waiter = {
            let b = b.clone();
            std::thread::spawn(move || b.take(70, || false).map(|g| g.bytes))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(a);
        assert_eq!(waiter.join().unwrap(), Some(70));
        // A chunk larger than the budget takes all of it.
        assert_eq!(b.take(1000, || false).map(|g| g.bytes), Some(100));
    }
}
