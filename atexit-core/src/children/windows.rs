//! The Windows calls of `children`: a Job Object that kills its processes
//! when this process ends, and `TerminateProcess` for the stop.
//!
//! Written against the Win32 documentation and type-checked for
//! `x86_64-pc-windows-gnu`, but not run: there is no Windows (or Wine) test
//! run yet.

use std::ffi::c_void;
use std::io;
use std::sync::{Mutex, PoisonError};

type Handle = *mut c_void;

const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: u32 = 0x2000;
/// `JobObjectExtendedLimitInformation`.
const EXTENDED_LIMIT_INFORMATION: i32 = 9;

#[repr(C)]
#[derive(Default)]
struct BasicLimitInformation {
    per_process_user_time_limit: i64,
    per_job_user_time_limit: i64,
    limit_flags: u32,
    minimum_working_set_size: usize,
    maximum_working_set_size: usize,
    active_process_limit: u32,
    affinity: usize,
    priority_class: u32,
    scheduling_class: u32,
}

#[repr(C)]
#[derive(Default)]
struct IoCounters {
    counts: [u64; 6],
}

#[repr(C)]
#[derive(Default)]
struct ExtendedLimitInformation {
    basic: BasicLimitInformation,
    io: IoCounters,
    process_memory_limit: usize,
    job_memory_limit: usize,
    peak_process_memory_used: usize,
    peak_job_memory_used: usize,
}

extern "system" {
    fn CreateJobObjectW(attributes: *mut c_void, name: *const u16) -> Handle;
    fn SetInformationJobObject(job: Handle, class: i32, info: *mut c_void, length: u32) -> i32;
    fn AssignProcessToJobObject(job: Handle, process: Handle) -> i32;
}

/// This process's job, made on first use and never closed: the system
/// closes it when the process ends, however it ends, and then kills every
/// process in it. Its handle is not inheritable, so no child keeps it open.
static JOB: Mutex<usize> = Mutex::new(0);

fn job() -> io::Result<Handle> {
    let mut job = JOB.lock().unwrap_or_else(PoisonError::into_inner);
    if *job == 0 {
        // SAFETY: creates an unnamed job with default (non-inheritable)
        // security attributes.
        let handle = unsafe { CreateJobObjectW(std::ptr::null_mut(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        let mut info = ExtendedLimitInformation::default();
        info.basic.limit_flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: sets the job's limits from a structure we own, of the size
        // given.
        let set = unsafe {
            SetInformationJobObject(
                handle,
                EXTENDED_LIMIT_INFORMATION,
                (&mut info as *mut ExtendedLimitInformation).cast(),
                std::mem::size_of::<ExtendedLimitInformation>() as u32,
            )
        };
        if set == 0 {
            return Err(io::Error::last_os_error());
        }
        *job = handle as usize;
    }
    Ok(*job as Handle)
}

/// Nothing to set on the command: the job is joined after the spawn.
pub(super) fn die_with_parent(_: &mut std::process::Command) {}

/// Puts the child in this process's kill-on-close job; kills and reaps it
/// if that fails, so a child that would outlive us is never returned.
pub(super) fn after_spawn<C: super::Process>(mut child: C) -> io::Result<C> {
    let joined = job().and_then(|job| {
        // SAFETY: both handles are open: the job's is never closed, and the
        // child's belongs to `child`, not yet reaped.
        match unsafe { AssignProcessToJobObject(job, child.raw_handle()) } {
            0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    });
    match joined {
        Ok(()) => Ok(child),
        Err(error) => {
            let _ = child.kill_now();
            let _ = child.try_reap();
            Err(error)
        }
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

/// There is no SIGTERM to ask with: false, so the stop kills at once.
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
