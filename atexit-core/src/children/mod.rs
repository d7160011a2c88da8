//! Child processes that end with this one: stopped (asked, given a grace,
//! killed, reaped) by an exit handler, and, where the OS allows, killed by
//! the OS when this process dies without running handlers.
//!
//! The slot's lock is held only for short steps that do no user-visible I/O
//! and call no user code (no formatter, no callback, no blocking wait): the
//! stop at exit takes it, and must never wait for a thread of the program.
//!
//! Exactness about pids: a child's pid is only ever signalled while its
//! `Child` is in a `Slot` and not yet reaped, under the slot's lock, so the
//! pid (and the process group it leads) cannot have been reused. Reaping
//! happens only through the slot.
//!
//! This module is a user of the registry like any program: it registers one
//! handler per child through `api`. Nothing in `exit/`, `hooks` or `os`
//! knows about it.
//!
//! Its files, one job each (each depends only on those listed before it):
//!
//! - `process`: the sealed `Process` trait, what the stop needs of std's
//!   and Tokio's `Child`;
//! - `sys` (`unix.rs`, `windows.rs`, `other.rs`): the system's calls
//!   (signals, process groups, pidfds, the parent-death signal, the Job
//!   Object);
//! - `slot`: the state an `ExitChild` shares with its registration, the
//!   only place a child is reaped, and the waits for it;
//! - `stop`: the stop protocol (SIGTERM to the child or its group, the
//!   grace, SIGKILL, the bound after it) and the handler each child
//!   registers (for one child, or several at once);
//! - `batch`: the runs of children registered one after another, stopped
//!   together at exit, and the handler each tied child registers;
//! - `exit_child`: the API a program holds, `stop_at_exit` and `ExitChild`;
//! - `spawner`: the long-lived thread tied children are forked from;
//! - `command`: `CommandExt::spawn_tied`, the spawn with the OS's
//!   parent-death mechanism, registered with the watchdog.

mod batch;
mod command;
mod exit_child;
mod process;
mod slot;
mod spawner;
mod stop;
#[cfg(unix)]
#[path = "unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;
#[cfg(not(any(unix, windows)))]
#[path = "other.rs"]
mod sys;

pub use command::CommandExt;
pub use exit_child::{stop_at_exit, ExitChild};
pub use process::Process;
