//! The one rayon pool of the package.
//!
//! * Its size follows `MLSENTRY_NUM_THREADS` (read each time work starts, so a change takes
//!   effect on the next call); unset or `0` means one thread per core.
//! * It is safe after `fork`: a forked child (a PyTorch DataLoader worker, a multiprocessing
//!   worker) has none of the parent's threads, so a pool built by the parent would wait for
//!   ever. The pool remembers the process id that built it and a child builds its own.

use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

use super::error::{CoreError, CoreResult};

struct PoolEntry {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<PoolEntry>> = Mutex::new(None);

/// The number of worker threads `MLSENTRY_NUM_THREADS` asks for (0 or unset: all cores).
pub fn configured_threads() -> CoreResult<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("MLSENTRY_NUM_THREADS") {
        Err(_) => Ok(cores),
        Ok(v) if v.trim().is_empty() => Ok(cores),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(0) => Ok(cores),
            Ok(n) => Ok(n.min(1024)),
            Err(_) => Err(CoreError::invalid(format!(
                "MLSENTRY_NUM_THREADS must be a non-negative integer, got {v:?}"
            ))),
        },
    }
}

/// The pool for this process, (re)built when the thread count or the process changed.
pub fn pool() -> CoreResult<Arc<ThreadPool>> {
    let threads = configured_threads()?;
    let pid = std::process::id();
    // A poisoned lock only means another thread panicked while holding it; the entry is
    // still a valid value.
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = guard.as_ref() {
        if entry.pid == pid && entry.threads == threads {
            return Ok(Arc::clone(&entry.pool));
        }
    }
    let pool = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mlsentry-{i}"))
            .build()
            .map_err(|e| CoreError::invalid(format!("cannot start worker threads: {e}")))?,
    );
    if let Some(old) = guard.replace(PoolEntry {
        pid,
        threads,
        pool: Arc::clone(&pool),
    }) {
        if old.pid != pid {
            // The parent's pool has no threads in this child: never drop it, since its
            // destructor would try to talk to them.
            std::mem::forget(old);
        }
    }
    Ok(pool)
}

/// Runs `f` inside the package pool, so every rayon call in it uses that pool.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> CoreResult<R> {
    Ok(pool()?.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn install_runs_parallel_work() {
        let s: u64 = install(|| (0..10_000u64).into_par_iter().sum()).unwrap();
        assert_eq!(s, 10_000 * 9_999 / 2);
    }
}
