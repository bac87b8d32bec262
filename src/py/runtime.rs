//! The one way into long core work from Python.
//!
//! `run` moves the work to a worker thread inside the package's rayon pool and waits for it
//! with the GIL released. Every `POLL` it takes the GIL back briefly to:
//!
//! * check for signals: a pending Ctrl-C cancels the work (`Progress::cancel`), waits for
//!   it to stop at its next check, and raises `KeyboardInterrupt`;
//! * call the optional progress callback `callback(done, total)`.
//!
//! Other Python threads run freely meanwhile.

use std::sync::{mpsc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::core::{parallel, progress::Progress, CoreResult};
use crate::error::internal_error;

const POLL: Duration = Duration::from_millis(100);

pub fn run<T, F>(py: Python<'_>, callback: Option<&Bound<'_, PyAny>>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Progress) -> CoreResult<T> + Send,
{
    let progress = Progress::new();
    let mut interrupt: Option<PyErr> = None;
    let outcome = std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<()>();
        // `Mutex` makes the receiver `Sync`, as `detach` requires of what it captures.
        let done_rx = Mutex::new(done_rx);
        let progress = &progress;
        let handle = scope.spawn(move || {
            // The sender is dropped when this closure ends, normally or by panic.
            let _done = done_tx;
            parallel::install(|| work(progress)).and_then(|r| r)
        });
        let mut last_reported = u64::MAX;
        loop {
            let rx = &done_rx;
            let finished = py.detach(move || {
                matches!(
                    rx.lock().map(|r| r.recv_timeout(POLL)),
                    Ok(Err(mpsc::RecvTimeoutError::Disconnected) | Ok(()))
                )
            });
            if interrupt.is_none() {
                if let Err(e) = py.check_signals() {
                    progress.cancel();
                    interrupt = Some(e);
                }
            }
            if let (Some(cb), None) = (callback, interrupt.as_ref()) {
                let done = progress.done();
                if done != last_reported || finished {
                    last_reported = done;
                    if let Err(e) = cb.call1((done, progress.total())) {
                        progress.cancel();
                        interrupt = Some(e);
                    }
                }
            }
            if finished {
                break;
            }
        }
        handle.join()
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    match outcome {
        Ok(result) => result.map_err(PyErr::from),
        Err(_) => Err(internal_error("a worker thread panicked")),
    }
}
