//! systemd's notify protocol for the stop: when the program asked for it
//! ([`CatchSignals::notify_systemd`](crate::CatchSignals::notify_systemd))
//! and `NOTIFY_SOCKET` is set, `STOPPING=1` when the shutdown starts (the
//! request, or the exit, whichever comes first), and
//! `EXTEND_TIMEOUT_USEC=...` with the time the process still needs, while
//! its end is bounded: at the request, the drain timeout plus the exit
//! deadline plus the end's last second; when the exit starts, the deadline
//! plus that second again (the bound has advanced). Without a bound
//! (an unbounded drain, no deadline) nothing is promised, and systemd's
//! `TimeoutStopSec` applies.
//!
//! Each message is one datagram on a Unix datagram socket (a path, or an
//! abstract name written `@name`, on Linux), opened non-blocking when the
//! program opts in: a send never waits, and a failed one (no listener, a
//! full queue, an address it cannot use) is ignored, as `sd_notify` does.
//! Only the process that opted in sends (systemd takes its notifications
//! from the main process by default).

use std::time::Duration;

/// The end's last second (`exit::ending::END_GRACE`), counted in the time
/// promised to systemd: this module comes before `exit` in the graph.
const END_GRACE: Duration = Duration::from_secs(1);

#[cfg(unix)]
mod imp {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::OnceLock;

    /// The socket and its address, opened once when the program opts in.
    static SOCKET: OnceLock<Option<(UnixDatagram, SocketAddr)>> = OnceLock::new();
    /// The process that opted in (a forked child does not send); 0 for none.
    static ENABLED_IN: AtomicU32 = AtomicU32::new(0);
    /// `STOPPING=1` was sent in this process's shutdown.
    static STOPPING_SENT: AtomicBool = AtomicBool::new(false);

    pub(super) fn enable(on: bool) {
        if !on {
            ENABLED_IN.store(0, Ordering::SeqCst);
            return;
        }
        if SOCKET.get_or_init(open).is_some() {
            ENABLED_IN.store(std::process::id(), Ordering::SeqCst);
        }
    }

    /// The socket `NOTIFY_SOCKET` names, non-blocking; `None` when it is not
    /// set or cannot be used.
    fn open() -> Option<(UnixDatagram, SocketAddr)> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let address = address(path.as_encoded_bytes())?;
        let socket = UnixDatagram::unbound().ok()?;
        socket.set_nonblocking(true).ok()?;
        Some((socket, address))
    }

    fn address(path: &[u8]) -> Option<SocketAddr> {
        match path.split_first() {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some((b'@', name)) => {
                #[cfg(target_os = "android")]
                use std::os::android::net::SocketAddrExt;
                #[cfg(target_os = "linux")]
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name).ok()
            }
            Some((b'/', _)) => {
                use std::os::unix::ffi::OsStrExt;
                SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path)).ok()
            }
            _ => None, // relative paths and `vsock:` are not for a service's stop
        }
    }

    /// Sends `message` if the program opted in, in this process; never
    /// waits, and ignores a failure.
    pub(super) fn send(message: &str) {
        if ENABLED_IN.load(Ordering::SeqCst) != std::process::id() {
            return;
        }
        if let Some(Some((socket, address))) = SOCKET.get() {
            let _ = socket.send_to_addr(message.as_bytes(), address);
        }
    }

    /// True the first time in this process's shutdown.
    pub(super) fn first_stopping() -> bool {
        ENABLED_IN.load(Ordering::SeqCst) == std::process::id()
            && !STOPPING_SENT.swap(true, Ordering::SeqCst)
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn enable(_: bool) {}
    pub(super) fn send(_: &str) {}
    pub(super) fn first_stopping() -> bool {
        false
    }
}

/// Turns the notifications on (`NOTIFY_SOCKET` is read and its socket
/// opened now) or off.
pub(crate) fn enable(on: bool) {
    imp::enable(on)
}

/// `EXTEND_TIMEOUT_USEC=`, for `needed` from now, with `STOPPING=1` first
/// the first time: one datagram.
fn notify(needed: Option<Duration>) {
    let stopping = if imp::first_stopping() {
        "STOPPING=1\n"
    } else {
        ""
    };
    let extend = needed.map_or_else(String::new, |needed| {
        let micros = u64::try_from(needed.as_micros()).unwrap_or(u64::MAX);
        format!("EXTEND_TIMEOUT_USEC={micros}\n")
    });
    if !stopping.is_empty() || !extend.is_empty() {
        imp::send(&format!("{stopping}{extend}"));
    }
}

/// The shutdown was requested: `STOPPING=1`, and the time the rest needs
/// when the drain (`grace`) and the exit (`deadline_nanos`, `u64::MAX` for
/// none) are both bounded.
pub(crate) fn stopping(deadline_nanos: u64, grace: Option<Duration>) {
    let deadline = (deadline_nanos != u64::MAX).then(|| Duration::from_nanos(deadline_nanos));
    let needed = grace
        .zip(deadline)
        .and_then(|(grace, deadline)| grace.checked_add(deadline)?.checked_add(END_GRACE));
    notify(needed)
}

/// The exit starts, held to `deadline`: `STOPPING=1` if not sent yet, and
/// the time it needs, if bounded.
pub(crate) fn exit_starts(deadline: Option<Duration>) {
    notify(deadline.and_then(|deadline| deadline.checked_add(END_GRACE)))
}
