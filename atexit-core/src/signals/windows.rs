//! Console control events on Windows, to the documented contract of
//! `SetConsoleCtrlHandler` (run under Wine in CI, which delivers Ctrl+C
//! only: WINE-FACTS §4): the routine runs on a new thread, and for the
//! close and shutdown events the process is ended when it returns (or about
//! 5 s after the event), so the handlers must finish inside it. The logoff
//! event is left alone: only services get it, and they are not ending.

use super::config::CatchSignals;
use super::decide::{goes_to_the_watcher, note_first_signal, on_caught};
use crate::exit;
use crate::reason::Signal;
use crate::shutdown::REQUEST;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use windows_sys::core::BOOL as Bool;
use windows_sys::Win32::System::Console::{
    SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, CTRL_C_EVENT, CTRL_LOGOFF_EVENT,
    CTRL_SHUTDOWN_EVENT,
};

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Bit `1 << signal number` for each caught signal.
static CAUGHT: AtomicU32 = AtomicU32::new(0);

pub(super) fn install(config: &CatchSignals) -> io::Result<()> {
    for signal in config.get_signals() {
        CAUGHT.fetch_or(1 << signal.number(), Ordering::SeqCst);
    }
    if !INSTALLED.swap(true, Ordering::SeqCst) {
        // SAFETY: registers a routine with the signature the API expects.
        if unsafe { SetConsoleCtrlHandler(Some(routine), 1) } == 0 {
            INSTALLED.store(false, Ordering::SeqCst);
            return Err(io::Error::last_os_error());
        }
        // No `fork` here: installed in this process for good.
        REQUEST.installed_in(std::process::id() as i32);
    }
    Ok(())
}

unsafe extern "system" fn routine(event: u32) -> Bool {
    let signal = match event {
        CTRL_C_EVENT => Signal::Int,
        CTRL_BREAK_EVENT => Signal::Quit,
        CTRL_CLOSE_EVENT | CTRL_SHUTDOWN_EVENT => Signal::Hup,
        // Only services receive it, when any user logs off; the process is not
        // ending (Java's -Xrs documents the same trap). Not ours.
        CTRL_LOGOFF_EVENT => return 0,
        _ => return 0,
    };
    if CAUGHT.load(Ordering::SeqCst) & (1 << signal.number()) == 0 {
        return 0; // not ours: the next routine, or the default, handles it
    }
    // The shutdown's contract from here on (its module docs).
    let first = REQUEST.first_signal();
    let made_the_request = first && note_first_signal(signal.number());
    if !goes_to_the_watcher(first, made_the_request) {
        return 0; // a forced end: the default action ends the process
    }
    // Runs the handlers on this thread and ends the process, or (graceful-
    // shutdown mode) asks for a shutdown and returns; a panic cannot escape
    // (handlers run under `catch_unwind`, and this is caught too).
    let _ = std::panic::catch_unwind(move || on_caught(signal, made_the_request));
    if signal == Signal::Hup {
        // Close and shutdown: Windows ends the process when this returns,
        // and about 5 s after the event whatever it does. In graceful-
        // shutdown mode the program drains meanwhile; its exit, the grace or
        // Windows ends the process, whichever comes first.
        exit::park_forever();
    }
    1
}

/// Console handlers are added, never replaced: none to report.
pub(super) fn replaced() -> Vec<Signal> {
    Vec::new()
}

/// Console control events have no mask to block them: none to report.
pub(super) fn blocked() -> Vec<Signal> {
    Vec::new()
}
