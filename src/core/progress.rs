//! Progress and cancellation shared between long core work and whoever waits for it.
//!
//! The core only counts (`advance`) and asks whether to stop (`check`). The binding layer
//! polls the counters from the waiting thread to drive a progress bar and sets `cancel`
//! on Ctrl-C. Counting is relaxed atomics: cheap enough to call per chunk.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error::{CoreError, CoreResult};

#[derive(Debug, Default)]
pub struct Progress {
    cancelled: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds to the amount of work expected (bytes, rows, queries: the caller's unit).
    pub fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once `cancel` was called: long loops call this between chunks.
    pub fn check(&self) -> CoreResult<()> {
        if self.is_cancelled() {
            Err(CoreError::Cancelled)
        } else {
            Ok(())
        }
    }
}
