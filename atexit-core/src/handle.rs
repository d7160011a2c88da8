use crate::hooks::lock;
use crate::registry::Ticket;
use crate::state;

/// One registration made by [`register`](crate::register()) or
/// [`register!`](crate::register!), which can cancel it.
///
/// Dropping a `Handle` keeps the registration: the handler still runs at exit.
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
}
