//! The program's side: starting the watchdog once, when the first tied child
//! is spawned or the first cleanup is declared, and sending it messages.
//!
//! Lock-free but for the start, so the fork hook can reset it all in a child
//! without taking a lock that a thread which does not exist there may hold.
//! The program's end of the socket is never closed while the process may
//! have other threads (only in a forked child, which has one): a thread that
//! loaded the descriptor just before would otherwise send to whatever
//! reused the number. A watchdog that went away leaves its end open (one
//! descriptor) and the next `Tie` starts another.

use super::protocol::{self, Declared, Kind, Tie};
use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

/// The program's end of the socket; -1 while there is no watchdog.
static SOCKET: AtomicI32 = AtomicI32::new(-1);
/// A start is under way (a spin lock: see the module docs).
static STARTING: AtomicBool = AtomicBool::new(false);
/// Nothing more is started in this process: a start failed, or the exit
/// said `Bye`.
static NO_MORE: AtomicBool = AtomicBool::new(false);

/// The tied children not untied yet, with their start times: the ones a
/// successor watchdog is told of.
static LIVE: Live = Live {
    busy: AtomicBool::new(false),
    children: UnsafeCell::new(BTreeMap::new()),
};

/// A map behind a spin lock that a forked child can reset without taking
/// it (a thread that held it does not exist there).
struct Live {
    busy: AtomicBool,
    children: UnsafeCell<BTreeMap<u32, u64>>,
}

// SAFETY: the map is only reached through `with`, which holds `busy`, or in
// a forked child, which has one thread.
unsafe impl Sync for Live {}

impl Live {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<u32, u64>) -> R) -> R {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
        // Released even if `f` panics (an allocation failure).
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _release = Release(&self.busy);
        // SAFETY: `busy` is ours until `_release` drops: no other reference
        // to the map exists meanwhile.
        f(unsafe { &mut *self.children.get() })
    }

    /// In a forked child: the parent's tied children are not this
    /// process's. The old map is left as it is (leaked: a thread of the
    /// parent may have been changing it), a new empty one put in its place.
    fn forget_in_forked_child(&self) {
        // SAFETY: the child has one thread, so nothing else reaches the map;
        // writing over it without dropping it reads nothing of it.
        unsafe { self.children.get().write(BTreeMap::new()) };
        self.busy.store(false, Ordering::Release);
    }
}

/// Watchdogs started in this process, and how many at most: one that keeps
/// going away at once (the program run through the dynamic loader, whose
/// `/proc/self/exe` is `ld.so`: measured, a dead "watchdog" and a zombie
/// per tied spawn) is not started again and again.
static STARTS: AtomicU32 = AtomicU32::new(0);
const MOST_STARTS: u32 = 8;

/// How long a message waits for room in a full socket (a watchdog that is
/// stopped, say) before the watchdog is given up.
const SEND_PATIENCE: Duration = Duration::from_millis(100);

/// Registers the tied child `pid` (the group it leads, if it leads one; the
/// process alone otherwise), starting the watchdog first if there is none
/// yet. It is also kept in [`LIVE`] until it is untied, so that a watchdog
/// started after this one was lost is told of it too.
pub(super) fn tie(pid: u32) {
    let Some(start) = super::start_time(pid) else {
        // Gone from `/proc` already (or no `/proc`): nothing to name it by
        // safely later. Its pidfd still names it now.
        send_tie(pid, 0);
        return;
    };
    LIVE.with(|live| live.insert(pid, start));
    send_tie(pid, start);
}

/// Sends the `Tie` of the unreaped child `pid`, started at `start`.
fn send_tie(pid: u32, start: u64) {
    let Some(socket) = socket() else { return };
    if !send_tie_to(socket, pid, start, false) {
        // The watchdog went away (killed on its own): a successor is
        // started, and told of every live tied child, this one included.
        lost(socket);
        let _ = self::socket();
    }
}

/// The `Tie` of `pid` on `socket`: whether it went (a child that is gone
/// counts as sent: there is nothing to tie). `check`: whether `pid` may
/// have been reaped since (a re-send); a child just spawned cannot have been.
fn send_tie_to(socket: RawFd, pid: u32, start: u64, check: bool) -> bool {
    let Ok(leader) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // Opened now, while the child is unreaped: it names that very process
    // (and so its group) whatever happens to the number later; checked
    // against the start time after it was opened, for a child re-sent to a
    // successor (it may have been detached and reaped since).
    let pidfd = super::pidfd_open(leader);
    if start != 0 && check && super::start_time(pid) != Some(start) {
        return true;
    }
    // SAFETY: only reads; `pid` is an unreaped child of ours.
    let leads = unsafe { libc::getpgid(leader) } == leader;
    let tie = Tie {
        pgid: if leads { pid } else { 0 },
        leader: pid,
        leader_start: start,
    };
    let fds: &[RawFd] = match &pidfd {
        Some(fd) => &[fd.as_raw_fd()],
        None => &[],
    };
    send(socket, &protocol::tie(tie, fds.len() as u8), fds)
}

/// Hands declaration `id` to the watchdog (started if need be).
pub(super) fn declare(id: u64, what: super::Carried<'_>) {
    let Some(socket) = socket() else { return };
    let mut pidfd = None;
    let (declared, fd) = match what {
        super::Carried::Terminal { tty, saved, escape } => (
            Declared::Terminal {
                termios: super::termios_bytes(saved),
                escape: escape.to_vec(),
            },
            Some(tty.as_raw_fd()),
        ),
        super::Carried::Remove {
            path,
            dev,
            ino,
            recursive,
            pin,
        } => (
            Declared::Remove {
                recursive,
                dev,
                ino,
                path: path.to_vec(),
            },
            pin.map(|pin| pin.as_raw_fd()),
        ),
        super::Carried::KillGroup { pgid } => {
            // The leader, if the process with the group's number still leads
            // it: its pidfd names the group exactly, its start time names it
            // on kernels without pidfds (the same rule as a `Tie`).
            let leader = libc::pid_t::try_from(pgid)
                .ok()
                // SAFETY: only reads.
                .filter(|&pid| unsafe { libc::getpgid(pid) } == pid);
            let leader_start = leader.and_then(|_| super::start_time(pgid)).unwrap_or(0);
            pidfd = leader.and_then(super::pidfd_open);
            (
                Declared::KillGroup { pgid, leader_start },
                pidfd.as_ref().map(|fd| fd.as_raw_fd()),
            )
        }
    };
    let fds: &[RawFd] = match &fd {
        Some(fd) => std::slice::from_ref(fd),
        None => &[],
    };
    let message = protocol::declare(id, &declared, fds.len() as u8);
    if !send(socket, &message, fds) {
        // The watchdog went away (killed on its own): a new one gets this
        // declaration (it knows nothing of the earlier ones: the contract
        // says so).
        lost(socket);
        if let Some(socket) = self::socket() {
            if !send(socket, &message, fds) {
                lost(socket);
            }
        }
    }
    drop(pidfd);
}

/// How long [`look`] waits for the watchdog's answer.
const LOOK_PATIENCE: Duration = Duration::from_millis(200);

/// Asks the watchdog to look at the declared ttys' modes now, and waits (at
/// most [`LOOK_PATIENCE`]) until it has. Whether it answered.
pub(super) fn look() -> bool {
    // One look at a time: an answer is a byte, and two waiting threads could
    // take each other's.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let socket = SOCKET.load(Ordering::Acquire);
    if socket < 0 {
        return false;
    }
    let mut answer = [0u8; 16];
    let receive = |answer: &mut [u8; 16]| {
        // SAFETY: receives into a buffer we own, without waiting.
        unsafe {
            libc::recv(
                socket,
                answer.as_mut_ptr().cast(),
                answer.len(),
                libc::MSG_DONTWAIT,
            )
        }
    };
    // An answer that came after an earlier look gave up is not this one's.
    while receive(&mut answer) > 0 {}
    if !send(socket, &protocol::look(), &[]) {
        lost(socket);
        return false;
    }
    let give_up = std::time::Instant::now() + LOOK_PATIENCE;
    loop {
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        let mut polled = libc::pollfd {
            fd: socket,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one descriptor of ours, with a bound.
        let ready = unsafe { libc::poll(&mut polled, 1, left.as_millis() as libc::c_int) };
        if ready > 0 {
            return receive(&mut answer) > 0;
        }
        if ready == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// `Cancel{id}` or `Ran{id}`, if a watchdog runs.
pub(super) fn about(kind: Kind, id: u64) {
    let socket = SOCKET.load(Ordering::Acquire);
    if socket >= 0 && !send(socket, &protocol::about(kind, id), &[]) {
        lost(socket);
    }
}

/// `Ran{id}` from the crash handler: one non-blocking `send` of a buffer on
/// the stack (async-signal-safe). If the socket is full, the watchdog will
/// look again at a cleanup that ran, and find it done: each is checked
/// before it acts (the path's inode, the tty's mode, the group's leader).
pub(super) fn ran_in_crash(id: u64) {
    let socket = SOCKET.load(Ordering::Acquire);
    if socket < 0 {
        return;
    }
    let bytes = protocol::about(Kind::Ran, id);
    // SAFETY: sends from a buffer on our stack; no SIGPIPE, no waiting.
    unsafe {
        libc::send(
            socket,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
}

/// The program detached `pid`: no successor is told of it.
pub(super) fn detached(pid: u32) {
    LIVE.with(|live| live.remove(&pid));
}

/// The program reaped `pid` (or lost it to another reaper): forget it.
pub(super) fn untie(pid: u32) {
    LIVE.with(|live| live.remove(&pid));
    let socket = SOCKET.load(Ordering::Acquire);
    if socket >= 0 && !send(socket, &protocol::untie(pid), &[]) {
        lost(socket);
    }
}

/// The exit is done: the watchdog leaves without acting, and none is
/// started again in this process.
pub(super) fn bye() {
    NO_MORE.store(true, Ordering::Release);
    let socket = SOCKET.load(Ordering::Acquire);
    if socket >= 0 {
        send(socket, &protocol::bye(), &[]);
    }
}

/// In a child just forked (one thread, async-signal-safe calls only): its
/// copy of the program's end is closed, or the watchdog's notice would wait
/// for the child's end too; the child starts its own watchdog if it ties
/// children of its own.
pub(super) fn forget_in_forked_child() {
    let socket = SOCKET.swap(-1, Ordering::AcqRel);
    if socket >= 0 {
        // SAFETY: our own descriptor; no other thread exists in the child.
        unsafe { libc::close(socket) };
    }
    STARTING.store(false, Ordering::Release);
    NO_MORE.store(false, Ordering::Release);
    STARTS.store(0, Ordering::Relaxed);
    LIVE.forget_in_forked_child();
}

/// The watchdog went away (a send failed): the next message starts another.
fn lost(socket: RawFd) {
    // Left open: see the module docs.
    let _ = SOCKET.compare_exchange(socket, -1, Ordering::AcqRel, Ordering::Acquire);
}

/// The socket to the watchdog, started if need be.
fn socket() -> Option<RawFd> {
    loop {
        let socket = SOCKET.load(Ordering::Acquire);
        if socket >= 0 {
            return Some(socket);
        }
        if NO_MORE.load(Ordering::Acquire) || !super::preinit::ran() {
            return None;
        }
        if STARTING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let started = match (STARTS.fetch_add(1, Ordering::Relaxed) < MOST_STARTS)
                .then(start)
                .unwrap_or_else(|| {
                    Err(std::io::Error::other(format!(
                        "{MOST_STARTS} watchdogs went away already"
                    )))
                }) {
                Ok(socket) => {
                    // A successor of a watchdog that went away is told of
                    // the children tied before (the first one, of none).
                    let live = LIVE.with(|live| live.clone());
                    for (&pid, &start) in &live {
                        send_tie_to(socket, pid, start, true);
                    }
                    SOCKET.store(socket, Ordering::Release);
                    Some(socket)
                }
                Err(error) => {
                    NO_MORE.store(true, Ordering::Release);
                    crate::os::write_stderr(
                        format!("atexit: cannot start the watchdog process: {error}; declared cleanups and tied children's own children are not carried out if this process is killed\n").as_bytes(),
                        Duration::from_millis(100),
                    );
                    None
                }
            };
            STARTING.store(false, Ordering::Release);
            return started;
        }
        std::thread::yield_now();
    }
}

/// Starts the watchdog: this executable again, through `posix_spawn` (std
/// uses it for a command with no `pre_exec`), its end of the socket as its
/// stdin, `/dev/null` for its stdout and stderr (a reader of the program's
/// output must see its end when the program dies), in `/`.
fn start() -> std::io::Result<RawFd> {
    use std::os::unix::process::CommandExt as _;
    let (ours, theirs) = socket_pair()?;
    // The token first, so that the watchdog finds it before any message.
    let token = super::preinit::token()?;
    // SAFETY: writes 16 bytes of ours into a new, empty socket's buffer.
    if unsafe {
        libc::send(
            ours.as_raw_fd(),
            token.as_ptr().cast(),
            16,
            libc::MSG_NOSIGNAL,
        )
    } != 16
    {
        return Err(std::io::Error::last_os_error());
    }
    let child = std::process::Command::new("/proc/self/exe")
        .arg0("atexit-watchdog")
        .env(super::preinit::VARIABLE, super::preinit::value(0, &token))
        .stdin(std::process::Stdio::from(theirs))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir("/")
        .spawn()?;
    // Never reaped: it outlives this process's use of it (a zombie only if
    // it ends first, which a `Bye` makes it do at the very end).
    drop(child);
    Ok(ours.into_raw_fd())
}

/// An `AF_UNIX` stream pair, both ends close-on-exec (the watchdog gets its
/// end as stdin, which the spawn's `dup2` leaves open).
fn socket_pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fills two new descriptors, which we then own.
    let made = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if made != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: new descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends one whole message (with `fds` on its first byte) in one `sendmsg`,
/// so that messages from several threads never interleave; waits at most
/// [`SEND_PATIENCE`] for room. Returns whether it went.
fn send(socket: RawFd, bytes: &[u8], fds: &[RawFd]) -> bool {
    // Room for one descriptor's control message, aligned.
    let mut control = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: `msghdr` is plain data; zeroed, then pointed at our buffers.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    if let [fd] = fds {
        // SAFETY: builds one SCM_RIGHTS message in `control`, which has room
        // for it (CMSG_SPACE of one int is 24 bytes).
        unsafe {
            let length = std::mem::size_of::<RawFd>() as libc::c_uint;
            header.msg_control = control.as_mut_ptr().cast();
            header.msg_controllen = libc::CMSG_SPACE(length) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&header);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(length) as _;
            libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(*fd);
        }
    }
    let give_up = std::time::Instant::now() + SEND_PATIENCE;
    loop {
        // SAFETY: sends from buffers we own; no SIGPIPE on a closed peer.
        let sent =
            unsafe { libc::sendmsg(socket, &header, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if sent >= 0 {
            // A message of a few bytes goes whole or not at all.
            return sent as usize == bytes.len();
        }
        let error = std::io::Error::last_os_error();
        match error.kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock if std::time::Instant::now() < give_up => {
                std::thread::sleep(Duration::from_millis(1));
            }
            _ => return false,
        }
    }
}
