//! Read-only memory maps of files that survive the file shrinking under them.
//!
//! Reading a page of a file mapping that lies past the file's current end raises SIGBUS,
//! and a process that does not handle it dies: a notebook's kernel, an MLflow run, a CI
//! job. A file can shrink after it was mapped (another process rewrites a checkpoint in
//! place, a download restarts), so a reader of memory maps must expect it.
//!
//! * [`GuardedMap::map`] maps a file and registers the mapping's address range in a fixed
//!   table (`SLOTS` entries of atomics, read without locks).
//! * A SIGBUS handler, installed once and chained to whatever handler was there before,
//!   looks the faulting address up in that table. Inside a registered range, it maps pages
//!   of zeros over the rest of the range, marks the map, and returns: the read that faulted
//!   goes on and sees zeros. Anything else (a fault in memory that is not ours, a SIGBUS
//!   sent by `kill`) goes to the previous handler, or to the default action (the process
//!   ends, as it would have without us).
//! * The reader asks [`GuardedMap::truncated`] once it is done and throws away what it read:
//!   it saw zeros where the file's bytes were.
//!
//! Known gap: a handler installed after ours that does not chain (or that re-raises the
//! signal instead of returning, as Python's `faulthandler` does when it is enabled after a
//! map exists) still ends the process, exactly as before this module existed.

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// Mappings registered at once. A scan maps one file per worker thread, and there are at
/// most 1,024 worker threads (`MLSENTRY_NUM_THREADS` is capped there).
const SLOTS: usize = 4096;

struct Slot {
    /// Claimed by a live map.
    busy: AtomicBool,
    /// The mapping's first address; 0 while the slot is being set up or torn down.
    start: AtomicUsize,
    /// The mapping's length in bytes (rounded up to whole pages).
    len: AtomicUsize,
    /// A page past the file's end was read: zeros were mapped in.
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    busy: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static TABLE: [Slot; SLOTS] = [FREE; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();
/// The handler that was in place before ours (`None`: not installed, or it failed).
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// A read-only, private memory map of a whole file, guarded against the file shrinking.
pub struct GuardedMap {
    map: memmap2::Mmap,
    slot: &'static Slot,
}

impl GuardedMap {
    /// Maps all of `file` (which must not be empty: a map of no bytes is an error).
    pub fn map(file: &File) -> io::Result<Self> {
        install();
        if PREVIOUS.get().is_none() {
            return Err(io::Error::other(
                "cannot install the SIGBUS handler that guards memory maps",
            ));
        }
        // SAFETY: the map is read-only; a file shrinking under it is what this type guards
        // against (see the module documentation), and nothing writes through it.
        let map = unsafe { memmap2::MmapOptions::new().map(file)? };
        let page = PAGE.load(Ordering::Relaxed);
        let len = map.len().div_ceil(page) * page;
        let slot = claim(map.as_ptr() as usize, len).ok_or_else(|| {
            io::Error::other(format!("more than {SLOTS} files are memory-mapped at once"))
        })?;
        Ok(GuardedMap { map, slot })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether a read went past the file's end (the file shrank after it was mapped): what
    /// was read from the map since then is zeros, not the file.
    pub fn truncated(&self) -> bool {
        self.slot.faulted.load(Ordering::Acquire)
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // Runs before `map` is unmapped: the range leaves the table first.
        self.slot.start.store(0, Ordering::Release);
        self.slot.len.store(0, Ordering::Release);
        self.slot.faulted.store(false, Ordering::Relaxed);
        self.slot.busy.store(false, Ordering::Release);
    }
}

fn claim(start: usize, len: usize) -> Option<&'static Slot> {
    let slot = TABLE.iter().find(|s| {
        s.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    })?;
    slot.faulted.store(false, Ordering::Relaxed);
    slot.len.store(len, Ordering::Release);
    slot.start.store(start, Ordering::Release);
    Some(slot)
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sysconf and sigaction are called with valid arguments; the new action's
        // handler is `on_sigbus`, which only touches atomics and calls mmap/sigaction.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            PAGE.store(
                if page > 0 { page as usize } else { 4096 },
                Ordering::Relaxed,
            );
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, &action, &mut old) == 0 {
                let _ = PREVIOUS.set(old);
            }
        }
    });
}

/// The registered range holding `addr`, as (slot, start, len).
fn lookup(addr: usize) -> Option<(&'static Slot, usize, usize)> {
    TABLE.iter().find_map(|s| {
        let start = s.start.load(Ordering::Acquire);
        if start == 0 || addr < start {
            return None;
        }
        let len = s.len.load(Ordering::Acquire);
        (addr - start < len).then_some((s, start, len))
    })
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for a handler installed with SA_SIGINFO.
    // A positive si_code means the kernel raised it for a fault at si_addr.
    unsafe {
        if !info.is_null() && (*info).si_code > 0 {
            let addr = (*info).si_addr() as usize;
            if let Some((slot, start, len)) = lookup(addr) {
                let page = PAGE.load(Ordering::Relaxed);
                let from = addr - addr % page;
                let p = libc::mmap(
                    from as *mut c_void,
                    start + len - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                );
                if p != libc::MAP_FAILED {
                    slot.faulted.store(true, Ordering::Release);
                    return;
                }
            }
        }
        chain(sig, info, ctx);
    }
}

/// Hands the signal to the handler that was there before ours, or to the default action.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    if let Some(old) = PREVIOUS.get() {
        let h = old.sa_sigaction;
        if h != libc::SIG_DFL && h != libc::SIG_IGN {
            if old.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                    std::mem::transmute(h);
                f(sig, info, ctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(h);
                f(sig);
            }
            return;
        }
    }
    // The default action. For a fault, returning repeats the faulting read, which the
    // default action then ends; a signal somebody sent is sent again, and it is delivered
    // once this handler returns.
    let mut dfl: libc::sigaction = std::mem::zeroed();
    dfl.sa_sigaction = libc::SIG_DFL;
    libc::sigemptyset(&mut dfl.sa_mask);
    libc::sigaction(sig, &dfl, ptr::null_mut());
    if info.is_null() || (*info).si_code <= 0 {
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn page() -> usize {
        // SAFETY: a plain sysconf query.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }

    #[test]
    fn reads_past_a_shrunken_end_see_zeros_and_are_reported() {
        let p = page();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 3 * p]).unwrap();
        let map = GuardedMap::map(&f).unwrap();
        assert_eq!(map.bytes()[2 * p + 5], 7);
        assert!(!map.truncated());
        f.set_len(p as u64).unwrap(); // the file shrinks while it is mapped
        assert_eq!(map.bytes()[p - 1], 7); // still inside the file
        assert!(!map.truncated());
        let tail: u64 = map.bytes()[p..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(tail, 0);
        assert!(map.truncated());
        drop(map);
        // The slot is free again and a new map starts clean.
        let again = GuardedMap::map(&f).unwrap();
        assert_eq!(again.bytes().len(), p);
        assert!(!again.truncated());
    }

    #[test]
    fn maps_of_many_threads_at_once() {
        let p = page();
        let files: Vec<File> = (0..32)
            .map(|i| {
                let mut f = tempfile::tempfile().unwrap();
                f.write_all(&vec![i as u8 + 1; 4 * p]).unwrap();
                f
            })
            .collect();
        std::thread::scope(|s| {
            for (i, f) in files.iter().enumerate() {
                s.spawn(move || {
                    let map = GuardedMap::map(f).unwrap();
                    if i % 2 == 0 {
                        f.set_len(p as u64).unwrap();
                        let last = map.bytes()[4 * p - 1];
                        assert_eq!(last, 0);
                        assert!(map.truncated());
                    } else {
                        assert_eq!(map.bytes()[4 * p - 1], i as u8 + 1);
                        assert!(!map.truncated());
                    }
                });
            }
        });
    }

    #[test]
    fn a_fault_outside_our_maps_is_not_swallowed() {
        // In a child process (fork): a plain memory map of a file truncated under it must
        // still end the process with SIGBUS once our handler is installed.
        let p = page();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![1u8; 2 * p]).unwrap();
        let _guarded = GuardedMap::map(&f).unwrap(); // installs the handler
        let mut g = tempfile::tempfile().unwrap();
        g.write_all(&vec![1u8; 2 * p]).unwrap();
        // SAFETY: a read-only map; the child below truncates the file on purpose.
        let plain = unsafe { memmap2::Mmap::map(&g).unwrap() };
        // SAFETY: the child makes two system calls and a read, then exits: nothing that
        // needs a lock another thread of this test process might hold.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                libc::ftruncate(std::os::fd::AsRawFd::as_raw_fd(&g), 0);
                let v = ptr::read_volatile(plain.as_ptr().add(p));
                libc::_exit(i32::from(v) + 10); // not reached
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(libc::WIFSIGNALED(status), "status {status}");
            assert_eq!(libc::WTERMSIG(status), libc::SIGBUS);
        }
    }
}
