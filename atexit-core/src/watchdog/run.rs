//! The watchdog process: reads the program's messages until the program is
//! gone, then carries out what is still registered ([`super::carry`]: the
//! tied groups and the declared cleanups) and exits. A fresh
//! single-threaded process (the program's executable, re-run, that took this
//! role before any constructor), so std is fine here; every path ends in
//! `_exit`, and a panic is caught first.
//!
//! While a terminal restore is declared, the watchdog also looks at the
//! tty's mode now and then (see [`super::carry`] for why): at every message,
//! then 10 ms, 20 ms, 40 ms ... later, at most a second apart. A look counts
//! only if the program is seen alive after it.

use super::carry::Declarations;
use super::protocol::{self, Decoded, Message, Tie};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How long a socket that reached its end waits for the program to be seen
/// dead before the watchdog concludes the program lives on without it (it
/// closed the descriptor, or `exec`ed), ends the tied children and leaves.
const CONFIRM: Duration = Duration::from_millis(500);
/// The first look at a declared tty's mode after a message, and the longest
/// wait between two looks.
const FIRST_LOOK: Duration = Duration::from_millis(10);
const LAST_LOOK: Duration = Duration::from_secs(1);

/// A tied child the program registered (the group it leads, or the process
/// alone): what `Tie` said, and the child's pidfd.
pub(super) struct Group {
    pub(super) tie: Tie,
    pub(super) pidfd: Option<OwnedFd>,
}

/// Never returns: the watchdog's whole life.
pub(super) fn run(socket: RawFd, parent: libc::pid_t) -> ! {
    let _ = std::panic::catch_unwind(|| watch(socket, parent));
    // SAFETY: ends this process at once, running nothing of the program.
    unsafe { libc::_exit(0) }
}

fn watch(socket: RawFd, parent: libc::pid_t) {
    // A session of its own: the terminal's Ctrl+C, Ctrl+Z and hang-up go to
    // the foreground group and session, never here. Signals sent to this
    // process itself keep their default action: one that ends it ends it
    // without acting (a supervisor's SIGTERM to every process of a service
    // must not be ignored).
    // SAFETY: plain system calls on this process.
    unsafe {
        libc::setsid();
        let mut limit: libc::rlimit = std::mem::zeroed();
        // One pidfd per registered group: as many as the hard limit allows.
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    let parent_fd = pidfd_of_parent(parent);
    let mut groups: HashMap<u32, Group> = HashMap::new();
    let mut declared = Declarations::default();
    let mut reader = Reader::default();
    // When to look at the declared ttys' modes next, and the wait after.
    let mut look = (Instant::now(), FIRST_LOOK);
    loop {
        let mut polled = [
            libc::pollfd {
                fd: socket,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: parent_fd.as_ref().map_or(-1, AsRawFd::as_raw_fd),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout = if declared.has_terminals() {
            let wait = look.0.saturating_duration_since(Instant::now());
            // Rounded up, so that the wait is never a busy zero.
            (wait.as_micros().div_ceil(1000)).min(i32::MAX as u128) as libc::c_int
        } else {
            -1
        };
        // SAFETY: polls two descriptors of ours (a negative one is skipped).
        let ready = unsafe { libc::poll(polled.as_mut_ptr(), 2, timeout) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if polled[1].revents != 0 {
            // The program is dead; a forked child of it may still hold its
            // end of the socket, but all it sent is in the buffer: read it.
            if reader.read(socket, false, &mut groups, &mut declared) == Step::Bye {
                return;
            }
            super::carry::carry_out(groups, declared);
            return;
        }
        if polled[0].revents != 0 {
            match reader.read(socket, true, &mut groups, &mut declared) {
                Step::More => look = (Instant::now(), FIRST_LOOK),
                Step::Bye => return,
                Step::End => {
                    if program_is_exiting(parent) || program_is_dead(parent_fd.as_ref(), parent) {
                        super::carry::carry_out(groups, declared);
                    } else {
                        // The program lives on without its end: it `exec`ed
                        // (or closed the descriptor). Its tied children end
                        // with the program they belonged to, as the
                        // parent-death signal ended them at an `exec`: the
                        // new program has no handle on them and could never
                        // stop them. Declarations are dropped (the
                        // contract on `LastWords`).
                        super::reap::stop(&groups).finish();
                    }
                    return;
                }
            }
        }
        if declared.has_terminals() && Instant::now() >= look.0 {
            declared.look_at_terminals(|| program_lives(parent_fd.as_ref(), parent));
            look = (Instant::now() + look.1, (look.1 * 2).min(LAST_LOOK));
        }
        // Answered only now, after the look the messages asked for.
        for _ in 0..std::mem::take(&mut reader.looks) {
            let answer = [protocol::LOOKED];
            // SAFETY: sends one byte of ours; a full or closed socket only
            // fails (the program waits for it with a bound).
            unsafe {
                libc::send(
                    socket,
                    answer.as_ptr().cast(),
                    1,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
        }
    }
}

/// Whether the program is still alive now (not merely not yet noticed dead):
/// its pidfd is not readable, or (without one) it is still our parent.
/// Both change in the kernel's exit before the program's own parent (its
/// shell) is woken, so a tty mode read before a `true` here is the
/// program's, never what its shell set after it.
fn program_lives(parent_fd: Option<&OwnedFd>, parent: libc::pid_t) -> bool {
    if let Some(fd) = parent_fd {
        let mut polled = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one descriptor of ours, without waiting.
        return unsafe { libc::poll(&mut polled, 1, 0) } == 0;
    }
    // SAFETY: only reads.
    (unsafe { libc::getppid() }) == parent
}

/// `PF_EXITING`, in the kernel's flags word (field 9 of `/proc/<pid>/stat`).
const PF_EXITING: u64 = 0x4;

/// On the socket's end: whether the program is already in its exit (its
/// flags say `PF_EXITING`) or a zombie. The socket's last close runs in the
/// kernel's exit before the parent is notified (CRASH-FACTS §3), while the
/// pidfd becomes readable only with that notice: this lets the watchdog act
/// on the end of file alone, ahead of the program's shell, which is woken
/// by the same notice. A program that closed its end and lives on (an
/// `exec`) is neither.
fn program_is_exiting(parent: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{parent}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|end| &stat[end + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next();
    let flags: Option<u64> = fields.nth(5).and_then(|f| f.parse().ok());
    matches!(state, Some("Z" | "X")) || flags.is_some_and(|flags| flags & PF_EXITING != 0)
}

/// A pidfd of the parent, checked to be the program's: `None` on kernels
/// before 5.3 (the end of the socket is then the only notice).
fn pidfd_of_parent(parent: libc::pid_t) -> Option<OwnedFd> {
    let fd = super::pidfd_open(parent)?;
    // SAFETY: only reads.
    (unsafe { libc::getppid() } == parent).then_some(fd)
}

/// On the socket's end: whether the program has died (rather than closed
/// its end while it lives on). With a pidfd: it becomes readable when the
/// program has exited, a moment after its descriptors are closed. Without:
/// the watchdog is re-parented once the program is gone.
fn program_is_dead(parent_fd: Option<&OwnedFd>, parent: libc::pid_t) -> bool {
    if let Some(fd) = parent_fd {
        let mut polled = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one descriptor of ours.
        return unsafe { libc::poll(&mut polled, 1, CONFIRM.as_millis() as libc::c_int) } > 0;
    }
    let until = std::time::Instant::now() + CONFIRM;
    // SAFETY: only reads.
    while unsafe { libc::getppid() } == parent {
        if std::time::Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

#[derive(PartialEq, Eq, Debug)]
enum Step {
    More,
    Bye,
    End,
}

/// The bytes and descriptors read but not used yet.
#[derive(Default)]
struct Reader {
    bytes: Vec<u8>,
    fds: VecDeque<OwnedFd>,
    /// `Look`s read and not answered yet.
    looks: usize,
}

impl Reader {
    /// Reads what is there (once, or when `block` is false until nothing is
    /// left) and applies every whole message.
    fn read(
        &mut self,
        socket: RawFd,
        block: bool,
        groups: &mut HashMap<u32, Group>,
        declared: &mut Declarations,
    ) -> Step {
        loop {
            let flags = libc::MSG_CMSG_CLOEXEC | if block { 0 } else { libc::MSG_DONTWAIT };
            match self.receive(socket, flags) {
                Ok(0) => {
                    return match self.apply(groups, declared) {
                        Step::Bye => Step::Bye,
                        _ => Step::End,
                    }
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    return self.apply(groups, declared)
                }
                // ECONNRESET and the like: the program is gone.
                Err(_) => return Step::End,
            }
            let step = self.apply(groups, declared);
            if step != Step::More || block {
                return step;
            }
        }
    }

    /// One `recvmsg`: bytes appended, descriptors queued.
    fn receive(&mut self, socket: RawFd, flags: libc::c_int) -> std::io::Result<usize> {
        let mut buffer = [0u8; 4096];
        // Room for 32 descriptors per read: `u64`s keep it aligned for cmsghdr.
        let mut control = [0u64; 40];
        let mut iov = libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        };
        // SAFETY: `msghdr` is plain data; zeroed, then pointed at our buffers.
        let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
        header.msg_iov = &mut iov;
        header.msg_iovlen = 1;
        header.msg_control = control.as_mut_ptr().cast();
        header.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: receives into the buffers `header` points at, all ours.
        let got = unsafe { libc::recvmsg(socket, &mut header, flags) };
        if got < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: walks the control messages the kernel wrote into `control`.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&header);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                    let length = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    for i in 0..length / std::mem::size_of::<RawFd>() {
                        // Each is a new descriptor of this process's.
                        self.fds
                            .push_back(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&header, cmsg);
            }
        }
        let got = got as usize;
        self.bytes.extend_from_slice(&buffer[..got]);
        Ok(got)
    }

    /// Applies every whole message read so far.
    fn apply(&mut self, groups: &mut HashMap<u32, Group>, declared: &mut Declarations) -> Step {
        let mut at = 0;
        let step = loop {
            match protocol::decode(&self.bytes[at..]) {
                Decoded::Incomplete => break Step::More,
                // Not our protocol: nothing it says can be trusted to act on.
                Decoded::Broken => break Step::Bye,
                Decoded::Message(message, fds, length) => {
                    at += length;
                    let mut taken: Vec<OwnedFd> =
                        (0..fds).filter_map(|_| self.fds.pop_front()).collect();
                    match message {
                        Message::Tie(tie) => {
                            let pidfd = taken.pop();
                            groups.insert(tie.leader, Group { tie, pidfd });
                        }
                        Message::Untie { pid } => {
                            groups.remove(&pid);
                        }
                        Message::Bye => break Step::Bye,
                        Message::Declare { id, what } => declared.add(id, what, taken.pop()),
                        Message::Cancel { id } | Message::Ran { id } => declared.forget(id),
                        Message::Look => self.looks += 1,
                        Message::Unknown => {}
                    }
                }
            }
        };
        self.bytes.drain(..at);
        step
    }
}
