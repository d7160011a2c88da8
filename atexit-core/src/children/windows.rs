//! The Windows calls of `children`: a Job Object that kills its processes
//! when this process ends, a suspended spawn so that no process escapes it,
//! and `TerminateProcess` for the stop. Bindings from `windows-sys`.
//!
//! Run under Wine 8 in CI (`tests/windows_children.rs`); WINE-FACTS §1-2
//! measured that Wine implements kill-on-close jobs, `CREATE_SUSPENDED`,
//! `AssignProcessToJobObject` and job inheritance by grandchildren as
//! Windows does.
//!
//! Why suspended: a child that runs before it is assigned to the job can
//! start a grandchild outside it (or outlive this process, if this process
//! dies in between). Started with `CREATE_SUSPENDED`, the child runs no
//! instruction until it is in the job; then its one thread is resumed. std
//! closes the thread handle `CreateProcessW` returns, so the thread is found
//! again by the process id (a ToolHelp snapshot).

use std::io;
use std::os::windows::process::CommandExt as _;
use std::sync::{Mutex, PoisonError};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

/// This process's job, made on first use and never closed: the system
/// closes it when the process ends, however it ends, and then kills every
/// process in it. Its handle is not inheritable, so no child keeps it open.
/// Stored as an address: a raw handle is not `Send`.
static JOB: Mutex<usize> = Mutex::new(0);

fn job() -> io::Result<HANDLE> {
    let mut job = JOB.lock().unwrap_or_else(PoisonError::into_inner);
    if *job == 0 {
        // SAFETY: creates an unnamed job with default (non-inheritable)
        // security attributes.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a plain C structure, valid when zeroed (no limits).
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: sets the job's limits from a structure we own, of the size
        // given, of the class the size belongs to.
        let set = unsafe {
            SetInformationJobObject(
                handle,
                JobObjectExtendedLimitInformation,
                (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if set == 0 {
            let error = io::Error::last_os_error();
            // SAFETY: the handle was just made and is owned here.
            unsafe { CloseHandle(handle) };
            return Err(error);
        }
        *job = handle as usize;
    }
    Ok(*job as HANDLE)
}

/// Nothing to set for a parent's death: the job does it, joined after the
/// spawn (and the spawn is suspended: [`start_suspended`]).
pub(super) fn die_with_parent(_: &mut std::process::Command) {}

/// Starts the child suspended, with the caller's own creation flags: it is
/// resumed once it is in the job ([`after_spawn`]). std cannot read back
/// flags set before, so `spawn_tied` passes 0 and
/// `spawn_tied_with_creation_flags` the caller's.
pub(super) fn start_suspended(command: &mut std::process::Command, flags: u32) {
    command.creation_flags(flags | CREATE_SUSPENDED);
}

/// Puts the suspended child in this process's kill-on-close job, then lets
/// it run; kills and reaps it if either fails, so a child that would
/// outlive us (or never run) is never returned.
pub(super) fn after_spawn<C: super::Process>(mut child: C) -> io::Result<C> {
    let joined = job().and_then(|job| {
        // SAFETY: both handles are open: the job's is never closed, and the
        // child's belongs to `child`, not yet reaped.
        match unsafe { AssignProcessToJobObject(job, child.raw_handle() as HANDLE) } {
            0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    });
    let resumed = joined.and_then(|()| match child.pid() {
        Some(pid) => resume(pid),
        None => Err(io::Error::other("the child was reaped before it ran")),
    });
    match resumed {
        Ok(()) => Ok(child),
        Err(error) => {
            let _ = child.kill_now();
            let _ = child.try_reap();
            Err(error)
        }
    }
}

/// Resumes every thread of the suspended process `pid` (a process made with
/// `CREATE_SUSPENDED` has exactly one, which nothing else can resume or
/// suspend before we do: no one else has its handle).
fn resume(pid: u32) -> io::Result<()> {
    // SAFETY: a snapshot of every thread in the system; the handle is
    // closed by `Snapshot`'s drop.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    let snapshot = Owned(snapshot);
    // SAFETY: a plain C structure, valid when zeroed; dwSize set as the API
    // requires.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `entry` is ours and sized; the snapshot handle is open.
    let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: opens a thread by id for resuming; closed by `Owned`.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if thread.is_null() {
                return Err(io::Error::last_os_error());
            }
            let thread = Owned(thread);
            // SAFETY: the handle was opened with THREAD_SUSPEND_RESUME.
            if unsafe { ResumeThread(thread.0) } == u32::MAX {
                return Err(io::Error::last_os_error());
            }
            resumed += 1;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snapshot.0, &mut entry) } != 0;
    }
    if resumed == 0 {
        return Err(io::Error::other(
            "the suspended child's thread was not found to resume it",
        ));
    }
    Ok(())
}

/// A handle closed on drop.
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this module and is closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Windows has no process groups of this kind.
/// Nothing is held besides the child itself.
pub(super) type Hold = ();

pub(super) fn hold(_: Option<u32>) -> Hold {}

/// A child here is only reaped through its `ExitChild`.
pub(super) fn reaped_elsewhere(_: u32, _: &Hold) -> bool {
    false
}

pub(super) fn leads_group(_: u32) -> bool {
    false
}

/// There is no SIGTERM to ask with, so the stop kills at once (see the
/// children page, "Windows": why no Ctrl+Break).
pub(super) fn ask_to_stop(_: u32, _: bool, _: &Hold) -> bool {
    false
}

pub(super) fn kill_group(_: u32) {}

/// Runs `look`: nothing to share between the looks at several children.
pub(super) fn look_round<R>(look: impl FnOnce() -> R) -> R {
    look()
}

/// Never asked: `leads_group` is false.
pub(super) fn has_ended(_: u32) -> io::Result<bool> {
    Ok(true)
}

/// Waits a moment; the caller looks again (`try_wait`).
pub(super) fn wait_until_ended(_: u32) -> io::Result<()> {
    std::thread::sleep(std::time::Duration::from_millis(10));
    Ok(())
}
