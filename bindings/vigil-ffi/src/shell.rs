//! Calls from the library into the shell (its log and vault listeners), and a way to
//! stop them for good when the shell exits.
//!
//! Listeners are called from the library's own threads. A shell that exits while one
//! is under way can be torn apart by it: Python, once it finalizes, ends any foreign
//! thread that asks for the interpreter with `pthread_exit`, whose unwinding cannot
//! cross Rust frames, and the process aborts ("FATAL: exception not rethrown").
//! Letting go of a shell's object is such a call too (the shell frees its side), so
//! listeners are held as [`Foreign`], which lets go through the same gate.
//! [`stop_callbacks`] closes the gate and waits for the calls already through it;
//! the Python package calls it at interpreter exit, before finalization begins.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static OPEN: AtomicBool = AtomicBool::new(true);
static UNDER_WAY: AtomicUsize = AtomicUsize::new(0);

/// How long [`stop_callbacks`] waits for calls under way: a listener should return
/// quickly, and an exiting shell must not hang on one that does not.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs `call` into the shell unless callbacks are stopped.
pub(crate) fn call<T>(call: impl FnOnce() -> T) -> Option<T> {
    if !OPEN.load(Ordering::SeqCst) {
        return None;
    }
    UNDER_WAY.fetch_add(1, Ordering::SeqCst);
    // Checked again once counted: `stop_callbacks` either sees this call under way or
    // has closed the gate before it.
    let result = OPEN.load(Ordering::SeqCst).then(call);
    UNDER_WAY.fetch_sub(1, Ordering::SeqCst);
    result
}

/// Stops every call from the library into the shell (log and vault listeners) for the
/// rest of the process, and waits up to two seconds for the calls under way to
/// return. For a shell that is exiting; the library itself keeps working. The Python
/// package calls it at interpreter exit.
#[uniffi::export]
pub fn stop_callbacks() {
    OPEN.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + DRAIN;
    while UNDER_WAY.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// An object of the shell (a listener) held by the library. Dropped while callbacks
/// run, it is let go as usual; once they are stopped, it is leaked instead: the
/// process is exiting, and the shell could not take it back.
pub(crate) struct Foreign<T: ?Sized>(Option<Arc<T>>);

impl<T: ?Sized> Foreign<T> {
    pub(crate) fn new(object: Arc<T>) -> Self {
        Self(Some(object))
    }

    /// The object (always there until dropped).
    pub(crate) fn get(&self) -> Option<&T> {
        self.0.as_deref()
    }
}

impl<T: ?Sized> Clone for Foreign<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: ?Sized> Drop for Foreign<T> {
    fn drop(&mut self) {
        let mut object = self.0.take();
        if call(|| drop(object.take())).is_none() {
            std::mem::forget(object);
        }
    }
}
