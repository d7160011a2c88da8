use crate::hooks::lock;
use crate::registry::Ticket;
use crate::state;

/// One registration made by [`register`](crate::register()) or
/// [`register!`](crate::register!), which can cancel it.
///
/// Dropping a `Handle` keeps the registration: the handler still runs at exit.
/// For the opposite, a registration that lasts as long as a value, see
/// [`Handle::cancel_on_drop`].
/// A handle is `Copy`; every copy names the same registration, and once it has
/// run, been unregistered or been cleared, no copy affects anything else, not
/// even a later registration that reuses its storage.
///
/// ```
/// # extern crate atexit_core as atexit;
/// let handle = atexit::register(|| println!("never printed"));
/// assert!(handle.is_registered());
/// assert!(handle.unregister());
/// assert!(!handle.unregister(), "already gone");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle {
    pub(crate) ticket: Ticket,
}

impl Handle {
    /// Cancels this registration in O(1), dropping its closure. Returns
    /// whether it was still waiting to run: `false` once it has run (or is
    /// running now), was unregistered, or was cleared.
    ///
    /// From inside a handler, this may cancel handlers that have not run yet.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let first = atexit::register(|| println!("first"));
    /// let second = atexit::register(move || {
    ///     // Handlers may cancel the ones still waiting.
    ///     first.unregister();
    /// });
    /// atexit::run_exitfuncs();
    /// assert!(!first.is_registered() && !second.is_registered());
    /// ```
    pub fn unregister(self) -> bool {
        let mut state = lock();
        let mut dropped = Vec::new();
        let found = state.registry.remove(self.ticket, &mut dropped);
        state::drop_unlocked(state, dropped);
        found
    }

    /// Whether this registration is still waiting to run.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let handle = atexit::register(|| {});
    /// assert!(handle.is_registered());
    /// atexit::clear();
    /// assert!(!handle.is_registered());
    /// ```
    pub fn is_registered(&self) -> bool {
        lock().registry.contains(self.ticket)
    }

    /// Ties this registration to a [`Guard`] that cancels it when dropped:
    /// the cleanup of a value that registers its own cleanup, which must run
    /// at exit if the value is still alive then, and not at all once the
    /// value has been closed or dropped.
    ///
    /// This is opt-in: a plain `Handle` keeps its registration when dropped.
    /// [`Guard::keep`] disarms the guard and gives the `Handle` back.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// struct TempFile {
    ///     path: std::path::PathBuf,
    ///     // Removes the file at exit, unless the `TempFile` is dropped first.
    ///     _cleanup: atexit::Guard,
    /// }
    ///
    /// impl TempFile {
    ///     fn create(path: std::path::PathBuf) -> std::io::Result<TempFile> {
    ///         std::fs::write(&path, b"scratch")?;
    ///         let at_exit = path.clone();
    ///         let cleanup = atexit::register(move || {
    ///             let _ = std::fs::remove_file(&at_exit);
    ///         });
    ///         Ok(TempFile { path, _cleanup: cleanup.cancel_on_drop() })
    ///     }
    /// }
    ///
    /// impl Drop for TempFile {
    ///     fn drop(&mut self) {
    ///         let _ = std::fs::remove_file(&self.path);
    ///     }
    /// }
    ///
    /// let before = atexit::ncallbacks();
    /// let file = TempFile::create(std::env::temp_dir().join("atexit-doc-guard"))?;
    /// assert_eq!(atexit::ncallbacks(), before + 1);
    /// drop(file); // removes the file now, and cancels the exit handler
    /// assert_eq!(atexit::ncallbacks(), before);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "dropping the guard at once cancels the registration; keep it alive with the value it cleans up after"]
    pub fn cancel_on_drop(self) -> Guard {
        Guard { handle: self }
    }
}

/// A registration that is cancelled when the guard is dropped; made by
/// [`Handle::cancel_on_drop`].
///
/// Keep it in the value whose cleanup it registered: while the value lives,
/// the handler is registered and runs at exit; when the value is dropped (or
/// closed early), the guard cancels it. [`Guard::keep`] disarms it.
///
/// ```
/// # extern crate atexit_core as atexit;
/// let guard = atexit::register(|| println!("never printed")).cancel_on_drop();
/// assert!(guard.handle().is_registered());
/// let handle = guard.handle();
/// drop(guard);
/// assert!(!handle.is_registered());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard at once cancels the registration"]
pub struct Guard {
    handle: Handle,
}

impl Guard {
    /// The registration this guard cancels.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let guard = atexit::register(|| {}).cancel_on_drop();
    /// assert!(guard.handle().is_registered());
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Disarms the guard: the registration stays and runs at exit. Returns
    /// its [`Handle`].
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let guard = atexit::register(|| println!("runs at exit")).cancel_on_drop();
    /// let handle = guard.keep();
    /// assert!(handle.is_registered());
    /// # handle.unregister();
    /// ```
    pub fn keep(self) -> Handle {
        let handle = self.handle;
        std::mem::forget(self);
        handle
    }

    /// Cancels the registration now; the same as dropping the guard, with
    /// [`Handle::unregister`]'s answer: whether it was still waiting to run.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let guard = atexit::register(|| println!("never printed")).cancel_on_drop();
    /// assert!(guard.cancel());
    /// ```
    pub fn cancel(self) -> bool {
        self.keep().unregister()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.handle.unregister();
    }
}
