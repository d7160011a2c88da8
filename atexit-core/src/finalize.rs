//! `finalize`: a cleanup that runs exactly once, when its [`Finalizer`] is
//! dropped or at exit, whichever comes first (Python's
//! `weakref.finalize(obj, func, atexit=True)`).
//!
//! Who runs it is decided under the registry's lock, by the registration
//! itself: the exit run pops it (and then runs it), or a drop, `run` or
//! `detach` removes it first (and then acts). Only the winner touches the
//! cleanup, so it runs once whatever the threads race, and the lock is never
//! held while it runs. A registration inherited through `fork` is the
//! parent's: the registry says so, and the child leaves it alone.

use crate::handle::Handle;
use crate::hooks::lock;
use crate::{report, state};
use std::any::Any;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

/// The value and what to do with it, until someone takes them.
struct Pending<T> {
    value: T,
    cleanup: Box<dyn FnOnce(T) + Send>,
}

type Slot<T> = Arc<Mutex<Option<Pending<T>>>>;

/// Runs `cleanup(value)` exactly once: when the returned [`Finalizer`] is
/// dropped, or at exit if it is still alive then, whichever comes first;
/// [`Finalizer::run`] runs it sooner and [`Finalizer::detach`] cancels it.
///
/// This is `register` and [`Handle::cancel_on_drop`] made into one value
/// that also does the work when dropped: keep the `Finalizer` in the value
/// whose resource it cleans up (a temporary directory, a lock file, a
/// spawned server), and the cleanup runs when that value goes away or when
/// the program ends with it still alive (a `static`, a leaked value, a
/// `std::process::exit` that skips destructors).
///
/// - At exit it runs in its place among the handlers, newest first, like a
///   handler registered when `finalize` was called, with the same reports
///   for a panic and the same deadline.
/// - When dropped, it runs on the dropping thread. A panic there is caught
///   and reported on stderr ("atexit: finalizer ... panicked"), as a
///   handler's is, so a drop during unwinding does not abort.
/// - In a child forked after `finalize`, the cleanup is the parent's: drop,
///   `run` and `detach` in the child do nothing (the parent's temporary
///   directory is not removed by its child), as with the parent's exit
///   handlers, until [`adopt_inherited`](crate::adopt_inherited) makes it the
///   child's own.
///
/// ```
/// # extern crate atexit_core as atexit;
/// struct Scratch {
///     path: std::path::PathBuf,
///     // Removes the directory when `Scratch` is dropped, or at exit.
///     _cleanup: atexit::Finalizer<std::path::PathBuf>,
/// }
///
/// fn scratch() -> std::io::Result<Scratch> {
///     let path = std::env::temp_dir().join(format!("atexit-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&path)?;
///     let cleanup = atexit::finalize(path.clone(), |path| {
///         let _ = std::fs::remove_dir_all(path);
///     });
///     Ok(Scratch { path, _cleanup: cleanup })
/// }
///
/// let dir = scratch()?;
/// assert!(dir.path.exists());
/// let path = dir.path.clone();
/// drop(dir); // the cleanup runs now, and not again at exit
/// assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "weakref.finalize")]
pub fn finalize<T, F>(value: T, cleanup: F) -> Finalizer<T>
where
    T: Send + 'static,
    F: FnOnce(T) + Send + 'static,
{
    let slot: Slot<T> = Arc::new(Mutex::new(Some(Pending {
        value,
        cleanup: Box::new(cleanup),
    })));
    let at_exit = Arc::clone(&slot);
    // The exit run popped the registration: this handler won the race.
    let handle = crate::register(move || {
        if let Some(pending) = take(&at_exit) {
            (pending.cleanup)(pending.value);
        }
    });
    Finalizer { slot, handle }
}

/// A cleanup that runs once, when this is dropped or at exit; made by
/// [`finalize`].
///
/// ```
/// # extern crate atexit_core as atexit;
/// let finalizer = atexit::finalize("report.tmp", |path| println!("removing {path}"));
/// assert!(finalizer.is_pending());
/// assert!(finalizer.run(), "ran now");
/// assert!(!finalizer.run(), "and only once");
/// ```
#[must_use = "dropping the Finalizer at once runs its cleanup at once"]
pub struct Finalizer<T: Send + 'static> {
    slot: Slot<T>,
    handle: Handle,
}

impl<T: Send + 'static> Finalizer<T> {
    /// Runs the cleanup now, on this thread, if it has not run and was not
    /// detached; returns whether it ran. A panic in it propagates to the
    /// caller, and the cleanup counts as done.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let finalizer = atexit::finalize(3, |n| println!("closing {n} connections"));
    /// assert!(finalizer.run());
    /// assert!(!finalizer.is_pending());
    /// ```
    pub fn run(&self) -> bool {
        match self.claim() {
            Some(pending) => {
                (pending.cleanup)(pending.value);
                true
            }
            None => false,
        }
    }

    /// Cancels the cleanup without running it and gives the value back, if
    /// it had not run yet (Python's `detach()`).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let finalizer = atexit::finalize(String::from("lock"), |_| unreachable!("detached"));
    /// assert_eq!(finalizer.detach().as_deref(), Some("lock"));
    /// assert_eq!(finalizer.detach(), None);
    /// drop(finalizer); // runs nothing
    /// ```
    pub fn detach(&self) -> Option<T> {
        self.claim().map(|pending| pending.value)
    }

    /// Whether the cleanup is still to run (Python's `alive`): `false` once
    /// it ran or is running, was detached, or, in a forked child, belongs to
    /// the parent.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let finalizer = atexit::finalize((), |()| {});
    /// assert!(finalizer.is_pending());
    /// finalizer.detach();
    /// assert!(!finalizer.is_pending());
    /// ```
    pub fn is_pending(&self) -> bool {
        lock().registry.owns(self.handle.ticket)
    }

    /// Takes the cleanup away from the exit run, if this process still owns
    /// it: the caller then does its work.
    fn claim(&self) -> Option<Pending<T>> {
        let mut state = lock();
        if !state.registry.owns(self.handle.ticket) {
            return None;
        }
        let mut dropped = Vec::new();
        state.registry.remove(self.handle.ticket, &mut dropped);
        // The registered closure holds the other `Arc`: dropped outside the
        // lock, as every closure is.
        state::drop_unlocked(state, dropped);
        take(&self.slot)
    }
}

impl<T: Send + 'static> Drop for Finalizer<T> {
    fn drop(&mut self) {
        let Some(pending) = self.claim() else {
            return;
        };
        let ran =
            std::panic::catch_unwind(AssertUnwindSafe(move || (pending.cleanup)(pending.value)));
        if let Err(payload) = ran {
            report_panic(std::any::type_name::<T>(), payload);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Finalizer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Reads nothing under a lock while writing: the formatter may block.
        let pending = self.is_pending();
        f.debug_struct("Finalizer")
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

fn take<T>(slot: &Slot<T>) -> Option<Pending<T>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// A cleanup that panicked when its `Finalizer` was dropped: reported as a
/// handler's panic is (stderr without its lock, then the loggers), and the
/// dropping thread goes on.
fn report_panic(value_type: &str, payload: Box<dyn Any + Send>) {
    let text = format!(
        "the finalizer of a `{value_type}` panicked when dropped: {}",
        report::message(&*payload)
    );
    let who = format!("the finalizer of a `{value_type}`");
    report::report_failure(&who, None, text, payload);
}
