//! The one piece of state a signal handler reads and writes: atomics, and
//! nothing else, since a handler may take no lock and allocate nothing. See
//! the `shutdown` module docs for the contract; this file is the
//! primitive, as `signal-hook-registry`'s `half_lock.rs` isolates its own.
//!
//! A leaf: it knows no other module of the crate but `reason`.

use crate::reason::{ShutdownCause, Signal};
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::time::Duration;

/// Everything the signal handler may touch, as one value: [`REQUEST`].
///
/// Every access is `SeqCst`: each field is read or written on its own, and
/// the orders that matter (below) hold across fields only with one total
/// order of all of them. The writers:
///
/// - the install writes the **configuration** (`grace_nanos` before `mode`,
///   so a handler that sees the mode sees its grace; `by_exit_code`), and
///   `installed_in` once the watcher is up;
/// - the **signal handler**, in this order: `received` (is this the
///   first?), then for the first in graceful-shutdown mode the request
///   (`requested`, and then `request_grace_nanos` by whichever call made
///   it), then, to tell a signal that asks from one that forces,
///   `requested`, `mode`, `exit_started` and, last, `drain_ended`: the swap
///   that ends the drain is done only when nothing before said "force";
/// - the **drain delay's timer**, the grace and the watcher (a second
///   signal): [`SignalSafe::reveal`] clears `requested`'s [`HIDDEN`] bit,
///   which the note set in the same store as the request;
/// - the **exit**: `exit_started` once, under the state's lock, before any
///   handler of the exit runs; [`SignalSafe::close_the_request`] once the
///   handlers are done;
/// - the **grace** and **`request_shutdown`**: `requested` and
///   `drain_ended`, as the handler does; `request_shutdown_because` also
///   its reason, claimed and written before its note (so that whoever
///   sees the note finds the reason), never by the handler;
/// - the `fork` child hook: forgets what was the parent's.
pub(crate) struct SignalSafe {
    /// Graceful-shutdown mode is on: the first signal asks for a shutdown.
    mode: AtomicBool,
    /// Graceful-shutdown mode's grace, in nanoseconds; `u64::MAX` for no
    /// bound.
    grace_nanos: AtomicU64,
    /// Graceful-shutdown mode's drain delay, in nanoseconds: a request
    /// made with one is noted [`HIDDEN`] from the program for that long.
    delay_nanos: AtomicU64,
    /// Caught signals end the process with `128 + n` rather than by the
    /// signal.
    by_exit_code: AtomicBool,
    /// The process whose signal watcher takes the signals (a forked child
    /// has none until it installs its own); 0 before.
    installed_in: AtomicI32,
    /// Caught signals since the watcher started: the second forces the end
    /// in the default mode.
    received: AtomicUsize,
    /// The shutdown request: the number of the signal that asked in the low
    /// byte, 0 before; [`CLOSED_WITHOUT_A_REQUEST`] once the exit's handlers
    /// were done before any request. One word, so that "the request" and
    /// "the request as the exit's end saw it" are one store.
    requested: AtomicU32,
    /// The grace in force when the request was made, the one its timer runs
    /// for, whatever the program installs after.
    request_grace_nanos: AtomicU64,
    /// The drain delay in force when the request was made, likewise.
    request_delay_nanos: AtomicU64,
    /// A signal (or the grace) has ended the request's drain: the handlers
    /// are about to run, and the next signal forces the end even before the
    /// exit has started.
    drain_ended: AtomicBool,
    /// An exit has started in this process (or in the parent it was forked
    /// from, during that exit). The state's `Phase` says how far it is; this
    /// is the one answer to "has it started", for the handler and for
    /// everyone else.
    exit_started: AtomicBool,
    /// `request_shutdown_because` was called: its first call alone writes
    /// the reason, before it notes the request.
    reason_claimed: AtomicBool,
    /// The reason of `request_shutdown_because`, a `&'static str` as its
    /// pointer and length (a handler never reads them).
    reason_ptr: AtomicPtr<u8>,
    reason_len: AtomicUsize,
}

/// The number in [`SignalSafe::requested`] that says the program asked, with
/// a reason (`request_shutdown_because`): no signal has it.
const BY_THE_PROGRAM: u32 = 0xff;

/// The bit of [`SignalSafe::requested`] set while a drain delay hides the
/// request from the program (its waiters and checks): the exit's end sees
/// the request all the same.
const HIDDEN: u32 = 0x200;

/// The bits of [`SignalSafe::requested`] that hold the signal's number.
const NUMBER: u32 = 0xff;
/// The bit of [`SignalSafe::requested`] set when the exit's handlers were
/// done with no request made: a request after that changes nothing about
/// how the process ends.
const CLOSED_WITHOUT_A_REQUEST: u32 = 0x100;

/// The process's [`SignalSafe`].
pub(crate) static REQUEST: SignalSafe = SignalSafe::new();

impl SignalSafe {
    /// The state before any install or request: no mode, no grace, no
    /// signal received, nothing requested.
    const fn new() -> Self {
        Self {
            mode: AtomicBool::new(false),
            grace_nanos: AtomicU64::new(u64::MAX),
            delay_nanos: AtomicU64::new(0),
            by_exit_code: AtomicBool::new(false),
            installed_in: AtomicI32::new(0),
            received: AtomicUsize::new(0),
            requested: AtomicU32::new(0),
            request_grace_nanos: AtomicU64::new(u64::MAX),
            request_delay_nanos: AtomicU64::new(0),
            drain_ended: AtomicBool::new(false),
            exit_started: AtomicBool::new(false),
            reason_claimed: AtomicBool::new(false),
            reason_ptr: AtomicPtr::new(std::ptr::null_mut()),
            reason_len: AtomicUsize::new(0),
        }
    }
}

/// The configuration an install found, to put back if it fails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    mode: bool,
    grace_nanos: u64,
    delay_nanos: u64,
    by_exit_code: bool,
}

/// A grace as stored: nanoseconds, 0 for an instant, `u64::MAX` for no
/// bound.
fn nanos(grace: Duration) -> u64 {
    u64::try_from(grace.as_nanos()).map_or(u64::MAX, |n| n.min(u64::MAX - 1))
}

impl SignalSafe {
    // ---- Written by the install, read by the handler.

    /// Sets what an install asked for, and only that: graceful-shutdown
    /// mode with its grace (once on, the mode stays on), its drain delay,
    /// the ending. The grace and the delay first: a signal that comes as
    /// soon as the mode is on must find them. Returns what was there before.
    pub(crate) fn configure(
        &self,
        grace: Option<Duration>,
        delay: Option<Duration>,
        by_exit_code: Option<bool>,
    ) -> Settings {
        let before = Settings {
            mode: self.mode.load(Ordering::SeqCst),
            grace_nanos: self.grace_nanos.load(Ordering::SeqCst),
            delay_nanos: self.delay_nanos.load(Ordering::SeqCst),
            by_exit_code: self.by_exit_code.load(Ordering::SeqCst),
        };
        if let Some(delay) = delay {
            self.delay_nanos.store(nanos(delay), Ordering::SeqCst);
        }
        if let Some(grace) = grace {
            self.grace_nanos.store(nanos(grace), Ordering::SeqCst);
            self.mode.store(true, Ordering::SeqCst);
        }
        if let Some(by_exit_code) = by_exit_code {
            self.by_exit_code.store(by_exit_code, Ordering::SeqCst);
        }
        before
    }

    /// Puts back what [`configure`](SignalSafe::configure) found.
    pub(crate) fn restore(&self, settings: Settings) {
        self.grace_nanos
            .store(settings.grace_nanos, Ordering::SeqCst);
        self.delay_nanos
            .store(settings.delay_nanos, Ordering::SeqCst);
        self.mode.store(settings.mode, Ordering::SeqCst);
        self.by_exit_code
            .store(settings.by_exit_code, Ordering::SeqCst);
    }

    /// Graceful-shutdown mode is on.
    pub(crate) fn in_graceful_mode(&self) -> bool {
        self.mode.load(Ordering::SeqCst)
    }

    /// Whether caught signals end the process with `128 + n` rather than by
    /// the signal.
    pub(crate) fn by_exit_code(&self) -> bool {
        self.by_exit_code.load(Ordering::SeqCst)
    }

    /// The signal handling is installed in process `pid`, whose watcher
    /// takes the signals from now on; the count of signals starts again.
    pub(crate) fn installed_in(&self, pid: i32) {
        self.received.store(0, Ordering::SeqCst);
        self.installed_in.store(pid, Ordering::SeqCst);
    }

    /// Whether the signal handling is installed in process `pid` (a forked
    /// child has not, until it installs its own).
    pub(crate) fn is_installed_in(&self, pid: i32) -> bool {
        pid != 0 && self.installed_in.load(Ordering::SeqCst) == pid
    }

    // ---- The handler's steps.

    /// Counts a caught signal: true for the first since the watcher
    /// started.
    pub(crate) fn first_signal(&self) -> bool {
        self.received.fetch_add(1, Ordering::SeqCst) == 0
    }

    /// Notes that signal `number` asked for a shutdown, unless one did
    /// already, with the grace and the drain delay in force now (read
    /// before the note: the ones its timers run for); with a delay in
    /// graceful-shutdown mode, [`HIDDEN`] from the program until it is
    /// revealed. True when this call made the request, whose maker then
    /// wakes the waiters (or starts the delay) and starts the grace.
    pub(crate) fn note(&self, number: i32) -> bool {
        let grace = self.grace_nanos.load(Ordering::SeqCst);
        let delay = if self.mode.load(Ordering::SeqCst) {
            self.delay_nanos.load(Ordering::SeqCst)
        } else {
            0
        };
        let Ok(number) = u32::try_from(number) else {
            return false;
        };
        let hidden = if delay == 0 { 0 } else { HIDDEN };
        let made = self
            .requested
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |word| {
                (word & NUMBER == 0).then_some(word | (number & NUMBER) | hidden)
            })
            .is_ok();
        if made {
            self.request_grace_nanos.store(grace, Ordering::SeqCst);
            self.request_delay_nanos.store(delay, Ordering::SeqCst);
        }
        made
    }

    /// The drain delay in force when the request was made, in
    /// nanoseconds: 0 for none.
    pub(crate) fn request_delay_nanos(&self) -> u64 {
        self.request_delay_nanos.load(Ordering::SeqCst)
    }

    /// Whether the request is noted but hidden from the program by a drain
    /// delay.
    pub(crate) fn is_hidden(&self) -> bool {
        self.requested.load(Ordering::SeqCst) & HIDDEN != 0
    }

    /// Shows the program a request that a drain delay hid: true when this
    /// call did (its caller then wakes the waiters), false when it was not
    /// hidden.
    pub(crate) fn reveal(&self) -> bool {
        self.requested.fetch_and(!HIDDEN, Ordering::SeqCst) & HIDDEN != 0
    }

    /// Notes that the program asked for a shutdown with `reason`
    /// (`request_shutdown_because`), unless one was asked for already. Not
    /// for the handler. True when this call made the request.
    pub(crate) fn note_by_the_program(&self, reason: &'static str) -> bool {
        if self.requested.load(Ordering::SeqCst) & NUMBER != 0
            || self.reason_claimed.swap(true, Ordering::SeqCst)
        {
            return false; // asked for already, or another call is asking
        }
        self.reason_ptr
            .store(reason.as_ptr().cast_mut(), Ordering::SeqCst);
        self.reason_len.store(reason.len(), Ordering::SeqCst);
        self.note(BY_THE_PROGRAM as i32)
    }

    /// The signal that asked for the shutdown, if any: how the exit ends
    /// after the request (none for the program's own request).
    pub(crate) fn signal(&self) -> Option<Signal> {
        Signal::from_number((self.requested.load(Ordering::SeqCst) & NUMBER) as i32)
    }

    /// Whether a shutdown was asked for, by a signal or by the program,
    /// hidden by a drain delay or not: what the signal handler and the
    /// exit's end go by.
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst) & NUMBER != 0
    }

    /// What asked for the shutdown, as the program sees it: `None` while a
    /// drain delay hides the request. One load.
    pub(crate) fn cause(&self) -> Option<ShutdownCause> {
        let word = self.requested.load(Ordering::SeqCst);
        if word & HIDDEN != 0 {
            return None;
        }
        self.cause_of(word)
    }

    /// What asked for the shutdown, hidden or not.
    pub(crate) fn cause_noted(&self) -> Option<ShutdownCause> {
        self.cause_of(self.requested.load(Ordering::SeqCst))
    }

    fn cause_of(&self, word: u32) -> Option<ShutdownCause> {
        match word & NUMBER {
            0 => None,
            BY_THE_PROGRAM => Some(ShutdownCause::Program(self.reason())),
            number => Signal::from_number(number as i32).map(ShutdownCause::Signal),
        }
    }

    /// The reason of `request_shutdown_because`, written before its note.
    fn reason(&self) -> &'static str {
        let ptr = self.reason_ptr.load(Ordering::SeqCst);
        let len = self.reason_len.load(Ordering::SeqCst);
        if ptr.is_null() {
            return "";
        }
        // SAFETY: the pointer and length of a `&'static str`, both written
        // (by the one call that claimed them) before the note that made the
        // request this reason is read for.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
    }

    /// The program's reason, when its own request is the one the exit's
    /// reason reads: made before the exit's handlers were done.
    pub(crate) fn program_reason_for_the_end(&self) -> Option<&'static str> {
        let word = self.requested.load(Ordering::SeqCst);
        if word & CLOSED_WITHOUT_A_REQUEST != 0 {
            return None;
        }
        match self.cause_of(word) {
            Some(ShutdownCause::Program(reason)) => Some(reason),
            _ => None,
        }
    }

    /// The grace in force when the request was made, in nanoseconds.
    pub(crate) fn request_grace_nanos(&self) -> u64 {
        self.request_grace_nanos.load(Ordering::SeqCst)
    }

    /// Notes that the drain is ended (by a signal after the request, or by
    /// the grace): true when this call ended it, false when something had
    /// already.
    pub(crate) fn end_the_drain(&self) -> bool {
        !self.drain_ended.swap(true, Ordering::SeqCst)
    }

    // ---- The exit's.

    /// An exit starts: from now on a signal forces the end.
    pub(crate) fn exit_starts(&self) {
        self.exit_started.store(true, Ordering::SeqCst);
    }

    /// Whether an exit has started.
    pub(crate) fn exit_started(&self) -> bool {
        self.exit_started.load(Ordering::SeqCst)
    }

    /// The exit's handlers are done: the request as it stands now is the
    /// one its end reads ([`signal_as_closed`](SignalSafe::signal_as_closed)).
    pub(crate) fn close_the_request(&self) {
        let _ = self
            .requested
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |word| {
                (word & NUMBER == 0).then_some(word | CLOSED_WITHOUT_A_REQUEST)
            });
    }

    /// The request as it stood when the exit's handlers were done: a
    /// request made since changes nothing.
    pub(crate) fn signal_as_closed(&self) -> Option<Signal> {
        let word = self.requested.load(Ordering::SeqCst);
        if word & CLOSED_WITHOUT_A_REQUEST != 0 {
            return None;
        }
        Signal::from_number((word & NUMBER) as i32)
    }

    // ---- `fork`.

    /// In a forked child: the request was its parent's, and so was the exit,
    /// unless `in_the_exit` (the child of a handler goes on with its copy).
    #[cfg(unix)]
    pub(crate) fn forget_in_forked_child(&self, in_the_exit: bool) {
        self.requested.store(0, Ordering::SeqCst);
        self.reason_claimed.store(false, Ordering::SeqCst);
        self.drain_ended.store(false, Ordering::SeqCst);
        if !in_the_exit {
            self.exit_started.store(false, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> SignalSafe {
        SignalSafe::new()
    }

    #[test]
    fn the_program_asks_once_with_its_reason_and_no_signal() {
        let request = fresh();
        assert!(request.note_by_the_program("admin endpoint"));
        assert!(!request.note_by_the_program("again"), "made once");
        assert!(!request.note(15), "a signal after it makes none");
        assert!(request.is_requested());
        assert_eq!(request.signal(), None, "the end sees no signal");
        assert_eq!(
            request.cause(),
            Some(ShutdownCause::Program("admin endpoint"))
        );
        assert_eq!(request.program_reason_for_the_end(), Some("admin endpoint"));
        request.close_the_request();
        assert_eq!(request.signal_as_closed(), None);
        assert_eq!(request.program_reason_for_the_end(), Some("admin endpoint"));

        let request = fresh();
        assert!(request.note(2));
        assert!(
            !request.note_by_the_program("late"),
            "the signal asked first"
        );
        assert_eq!(request.cause(), Some(ShutdownCause::Signal(Signal::Int)));
        assert_eq!(request.program_reason_for_the_end(), None);

        let request = fresh();
        request.close_the_request();
        assert!(request.note_by_the_program("after the handlers"));
        assert_eq!(
            request.program_reason_for_the_end(),
            None,
            "too late for the end"
        );
    }

    #[test]
    fn the_first_note_makes_the_request_with_the_grace_then_in_force() {
        let request = fresh();
        request.configure(Some(Duration::from_secs(2)), None, None);
        assert!(request.note(15));
        request.configure(Some(Duration::from_secs(9)), None, None);
        assert!(!request.note(2), "made once");
        assert_eq!(request.signal(), Some(Signal::Term));
        assert_eq!(request.request_grace_nanos(), 2_000_000_000);
    }

    #[test]
    fn a_request_after_the_close_changes_nothing_for_the_end() {
        let request = fresh();
        request.close_the_request();
        assert!(request.note(15), "still made, for the waiters");
        assert_eq!(request.signal(), Some(Signal::Term));
        assert_eq!(request.signal_as_closed(), None);

        let request = fresh();
        assert!(request.note(2));
        request.close_the_request();
        assert_eq!(request.signal_as_closed(), Some(Signal::Int));
    }

    #[test]
    fn a_failed_install_puts_the_settings_back() {
        let request = fresh();
        let before = request.configure(
            Some(Duration::ZERO),
            Some(Duration::from_secs(1)),
            Some(true),
        );
        assert!(request.in_graceful_mode() && request.by_exit_code());
        request.restore(before);
        assert!(!request.in_graceful_mode() && !request.by_exit_code());
    }

    #[test]
    fn a_drain_delay_hides_the_request_from_the_program_only() {
        let request = fresh();
        request.configure(None, Some(Duration::from_secs(5)), None);
        assert!(request.note(15), "without the mode no delay applies");
        assert!(!request.is_hidden());

        let request = fresh();
        request.configure(
            Some(Duration::from_secs(20)),
            Some(Duration::from_secs(5)),
            None,
        );
        assert!(request.note(15));
        assert!(request.is_hidden());
        assert_eq!(request.request_delay_nanos(), 5_000_000_000);
        assert_eq!(request.cause(), None, "the program does not see it yet");
        assert!(request.is_requested(), "the handler and the end do");
        assert_eq!(request.signal(), Some(Signal::Term));
        assert_eq!(
            request.cause_noted(),
            Some(ShutdownCause::Signal(Signal::Term))
        );
        assert!(request.reveal());
        assert!(!request.reveal(), "revealed once");
        assert_eq!(request.cause(), Some(ShutdownCause::Signal(Signal::Term)));

        let request = fresh();
        request.configure(Some(Duration::from_secs(20)), Some(Duration::ZERO), None);
        assert!(request.note(2));
        assert!(!request.is_hidden(), "a zero delay hides nothing");
    }

    #[test]
    fn the_drain_ends_once() {
        let request = fresh();
        assert!(request.end_the_drain());
        assert!(!request.end_the_drain());
    }
}
