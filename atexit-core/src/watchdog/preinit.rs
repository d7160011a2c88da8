//! Where a process takes the watchdog's role: a `.preinit_array` entry.
//!
//! The dynamic loader (glibc's `_dl_init`) calls an executable's
//! `.preinit_array` functions with `(argc, argv, envp)` before any
//! `.init_array` constructor of any object, so before std's own start-up
//! code and before every `#[ctor]` of the program: a watchdog started from
//! the program's own executable runs none of the program's code. Measured:
//! an rlib's `#[used] #[link_section = ".preinit_array"]` static runs in the
//! executable it is linked into. In a shared object (a `cdylib` a host
//! `dlopen`s) the section is present and glibc's `dlopen` *does* run it
//! (its `_dl_init` runs the preinit array of the object it initializes;
//! measured: a plugin started a "watchdog" that was the host program run a
//! second time). So the function first checks that it is the executable's
//! own (the object holding it is the one holding the entry point,
//! `AT_ENTRY`), and does nothing at all otherwise: [`ran`] stays false and
//! no watchdog is started, the host's executable is not ours to re-run.

use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that gives a process the watchdog's role:
/// `<version>:<socket fd>:<parent pid>:<token>`. The token is random, and
/// the parent writes it into the socket first: a variable a user left in
/// the environment (with a socket as stdin, from a parent of the pid it
/// names) is not enough to turn the program into a watchdog.
pub(super) const VARIABLE: &str = "ATEXIT_WATCHDOG";

/// Set by the preinit function of a process that is not a watchdog: the
/// executable running is the one this copy of the crate is linked into, so
/// re-running it runs [`preinit`] first.
static RAN: AtomicBool = AtomicBool::new(false);

/// Whether this process's executable runs the preinit function (see [`RAN`]).
pub(super) fn ran() -> bool {
    // Keep the entry in the link wherever the program side is linked.
    std::hint::black_box(&PREINIT);
    RAN.load(Ordering::Relaxed)
}

type Preinit = extern "C" fn(c_int, *const *const c_char, *const *const c_char);

#[used]
#[link_section = ".preinit_array"]
static PREINIT: Preinit = preinit;

/// Runs the watchdog (never returns) when the environment says so and the
/// checks pass; otherwise notes that it ran. Nothing unwinds out of it.
extern "C" fn preinit(_: c_int, _: *const *const c_char, envp: *const *const c_char) {
    if !in_the_executable() {
        return;
    }
    // SAFETY: `envp` is the loader's environment array, null-terminated, of
    // NUL-terminated strings, valid for the whole process's start-up.
    let role = std::panic::catch_unwind(|| unsafe { role(envp) });
    match role {
        Ok(Some((socket, parent))) => super::run::run(socket, parent),
        _ => RAN.store(true, Ordering::Relaxed),
    }
}

/// Whether this copy of the crate is linked into the executable (rather than
/// into a shared object the loader or `dlopen` runs the preinit array of):
/// the object that holds [`preinit`] is the one that holds the program's
/// entry point.
fn in_the_executable() -> bool {
    // SAFETY: `getauxval` only reads the auxiliary vector; `dladdr` fills a
    // `Dl_info` we own and takes the loader's lock, which is recursive (a
    // `dlopen` on this thread that runs us holds it already).
    unsafe {
        let entry = libc::getauxval(libc::AT_ENTRY) as *const libc::c_void;
        let mut executable: libc::Dl_info = std::mem::zeroed();
        let mut ours: libc::Dl_info = std::mem::zeroed();
        let here = preinit as Preinit as *const libc::c_void;
        !entry.is_null()
            && libc::dladdr(entry, &mut executable) != 0
            && libc::dladdr(here, &mut ours) != 0
            && !ours.dli_fbase.is_null()
            && ours.dli_fbase == executable.dli_fbase
    }
}

/// The socket and the parent's pid, when this process is to be a watchdog:
/// the variable is there, of this version, names a socket, and the parent
/// is the process it names. A variable that fails any check (inherited from
/// somewhere by mistake) is ignored: the program runs as itself.
///
/// # Safety
///
/// `envp` is null or a null-terminated array of NUL-terminated strings.
unsafe fn role(envp: *const *const c_char) -> Option<(c_int, libc::pid_t)> {
    if envp.is_null() {
        return None;
    }
    let prefix = format!("{VARIABLE}=");
    let mut at = envp;
    // SAFETY: walks the array up to its null terminator (see above).
    let value = loop {
        let entry = unsafe { *at };
        if entry.is_null() {
            return None;
        }
        // SAFETY: each entry is a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
        if let Some(value) = bytes.strip_prefix(prefix.as_bytes()) {
            break std::str::from_utf8(value).ok()?;
        }
        // SAFETY: not past the terminator yet.
        at = unsafe { at.add(1) };
    };
    let (socket, parent, token) = parse(value)?;
    // SAFETY: `fstat` fills a `stat` we own; `getppid` only reads.
    let checked = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        libc::fstat(socket, &mut stat) == 0
            && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK
            && libc::getppid() == parent
            && takes(socket, &token)
    };
    checked.then_some((socket, parent))
}

/// Whether the socket's first bytes, there already, are the token: peeked
/// first, so that a socket that is not ours loses nothing; taken if so.
///
/// # Safety
///
/// None beyond `socket` being a descriptor (any value is safe to try).
unsafe fn takes(socket: c_int, token: &[u8; 16]) -> bool {
    let mut first = [0u8; 16];
    // SAFETY: receives at most 16 bytes into our buffer, without waiting.
    let peeked = unsafe {
        libc::recv(
            socket,
            first.as_mut_ptr().cast(),
            16,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if peeked != 16 || &first != token {
        return false;
    }
    // SAFETY: as above; the 16 bytes are there.
    (unsafe { libc::recv(socket, first.as_mut_ptr().cast(), 16, libc::MSG_DONTWAIT) }) == 16
}

/// Parses the variable's value (see [`VARIABLE`]).
pub(super) fn parse(value: &str) -> Option<(c_int, libc::pid_t, [u8; 16])> {
    let mut parts = value.split(':');
    let version: u8 = parts.next()?.parse().ok()?;
    let socket = parts.next()?.parse().ok()?;
    let parent = parts.next()?.parse().ok()?;
    let token = parts.next()?;
    let token = (token.len() == 32)
        .then(|| u128::from_str_radix(token, 16).ok())
        .flatten()?
        .to_be_bytes();
    (version == super::protocol::VERSION && parts.next().is_none() && parent > 1)
        .then_some((socket, parent, token))
}

/// A new random token (`getrandom`; a watchdog is Linux with glibc only).
pub(super) fn token() -> std::io::Result<[u8; 16]> {
    let mut token = [0u8; 16];
    // SAFETY: fills our 16-byte buffer.
    let got = unsafe { libc::getrandom(token.as_mut_ptr().cast(), 16, 0) };
    if got != 16 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(token)
}

/// The variable's value for a watchdog of this process reading `socket`,
/// which will find `token` first in it.
pub(super) fn value(socket: c_int, token: &[u8; 16]) -> String {
    format!(
        "{}:{socket}:{}:{:032x}",
        super::protocol::VERSION,
        std::process::id(),
        u128::from_be_bytes(*token)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_variable_round_trips_and_other_values_are_refused() {
        let token = super::token().unwrap();
        let value = super::value(0, &token);
        assert_eq!(
            super::parse(&value),
            Some((0, std::process::id() as libc::pid_t, token))
        );
        let no_token = format!("1:0:{}", std::process::id());
        for wrong in [
            "", "1", "1:0", "9:0:1234", "1:x:1234", "1:0:1", "1:0:12:3", &no_token,
        ] {
            assert_eq!(super::parse(wrong), None, "{wrong}");
        }
    }

    /// This test binary is an executable linked with the crate: its preinit
    /// function ran (the role check found no variable).
    #[test]
    fn the_preinit_function_ran_in_this_executable() {
        assert!(super::ran());
    }
}
