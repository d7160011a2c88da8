//! Who is running the handlers: a key for each thread, the thread-local
//! context of the thread running handlers, and helper threads that act for it.
//!
//! The exit path cannot ask std who it is: `std::thread::current()` panics
//! once the thread's handle is gone, which happens at exit on some platforms
//! and toolchains, and a thread's name says nothing (any thread may be named
//! "main"). So each thread gets a number of its own the first time it asks,
//! kept in a thread-local with no destructor: such a thread-local still
//! works after the thread's other thread-locals are destroyed, which glibc
//! does before the C runtime's exit callbacks run.
//!
//! A helper thread can *act for* another: an async handler's thread, or the
//! thread that runs the exit for a thread that is panicking (where any second
//! panic aborts). Acting for it, the helper has its key and its handler
//! depth, so the registry treats the two as one: `atexit::exit`,
//! `run_exitfuncs` and registrations inside the helper behave as they do on
//! the thread it acts for.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// A thread, as the registry tells threads apart. Never 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ThreadKey(u64);

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// The thread that loaded this crate: the main thread, for a program (its
/// load-time constructors run there). 0 until recorded.
static MAIN: AtomicU64 = AtomicU64::new(0);

/// The runner context of one thread. `Cell`s of `Copy` values with `const`
/// initializers: no destructor, so it outlives the thread's other
/// thread-locals.
struct Context {
    /// This thread's own key, 0 until first asked.
    own: Cell<u64>,
    /// The thread this one acts for, 0 for none.
    acting_for: Cell<u64>,
    /// How many handlers this thread is inside (nested runs make it more).
    depth: Cell<u32>,
}

thread_local! {
    // It is `const`: clippy 1.96 says otherwise when std is built from
    // source (`-Zbuild-std`, scripts/targets.sh), where `thread_local!`
    // no longer counts as a foreign macro.
    #[allow(unknown_lints, clippy::missing_const_for_thread_local)]
    static CONTEXT: Context = const {
        Context {
            own: Cell::new(0),
            acting_for: Cell::new(0),
            depth: Cell::new(0),
        }
    };
}

fn with<R>(f: impl FnOnce(&Context) -> R) -> R {
    CONTEXT.with(f)
}

fn own_key(context: &Context) -> u64 {
    if context.own.get() == 0 {
        context.own.set(NEXT_KEY.fetch_add(1, Ordering::Relaxed));
    }
    context.own.get()
}

/// The thread the registry should take this one for: the thread it acts for,
/// or itself.
pub(crate) fn current() -> ThreadKey {
    with(|context| match context.acting_for.get() {
        0 => ThreadKey(own_key(context)),
        other => ThreadKey(other),
    })
}

/// Records the calling thread as the main thread; called once, from the
/// load-time constructor.
pub(crate) fn record_main_thread() {
    let key = with(own_key);
    let _ = MAIN.compare_exchange(0, key, Ordering::SeqCst, Ordering::SeqCst);
}

/// Whether the calling thread is the one that loaded this crate.
pub(crate) fn is_main_thread() -> bool {
    let main = MAIN.load(Ordering::SeqCst);
    main != 0 && with(own_key) == main
}

/// How many handlers this thread (or the one it acts for) is inside.
pub(crate) fn depth() -> u32 {
    with(|context| context.depth.get())
}

/// Runs `handler` one level deeper.
pub(crate) fn inside_handler<R>(handler: impl FnOnce() -> R) -> R {
    with(|context| context.depth.set(context.depth.get() + 1));
    let result = handler();
    with(|context| context.depth.set(context.depth.get() - 1));
    result
}

/// Runs `work` on a new thread that acts for this one, and waits for it.
/// `Err(work)` gives `work` back if no thread could be started. A panic in
/// `work` comes back as `Ok(Err(payload))`.
///
/// A plain `spawn` and `join`, not `thread::scope`: a scope asks std for the
/// current thread's handle, which the exiting thread may no longer have.
pub(crate) fn on_helper_thread<W, R>(name: &str, work: W) -> Result<thread::Result<R>, W>
where
    W: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let me = current();
    let depth = depth();
    // `work` comes back through the slot if the thread cannot start.
    let slot = Arc::new(Mutex::new(Some(work)));
    let for_helper = Arc::clone(&slot);
    let spawned = thread::Builder::new().name(name.into()).spawn(move || {
        with(|context| {
            context.acting_for.set(me.0);
            context.depth.set(depth);
        });
        let work = take(&for_helper);
        work()
    });
    match spawned {
        Ok(helper) => Ok(helper.join()),
        Err(_) => Err(take(&slot)),
    }
}

fn take<W>(slot: &Mutex<Option<W>>) -> W {
    slot.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .expect("a helper's work is taken once")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_have_distinct_stable_keys() {
        let here = current();
        assert_eq!(current(), here);
        let there = thread::spawn(current).join().unwrap();
        assert_ne!(there, here);
    }

    #[test]
    fn a_helper_acts_for_its_caller() {
        let here = current();
        let seen = inside_handler(|| {
            on_helper_thread("test-helper", || (current(), depth()))
                .ok()
                .unwrap()
                .unwrap()
        });
        assert_eq!(seen, (here, 1));
        assert_eq!(depth(), 0);
    }

    #[test]
    fn a_thread_named_main_is_not_the_main_thread() {
        let named_main = thread::Builder::new()
            .name("main".into())
            .spawn(is_main_thread)
            .unwrap()
            .join()
            .unwrap();
        assert!(!named_main);
    }
}
