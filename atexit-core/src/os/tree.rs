//! Emptying a directory tree from a crash handler: no allocation, no
//! recursion (the handler runs on std's 8 KiB alternate stack, about 2.5 KiB
//! of which the kernel's frame already took: CRASH-FACTS §1-2), never
//! following a symlink.
//!
//! On Linux the entries are read with the `getdents64` system call into a
//! buffer on the stack (`readdir` may allocate). The walk goes down one
//! directory at a time (`openat(O_NOFOLLOW)`) and back up through `..`,
//! rescanning a directory after each descent, with a bounded number of steps
//! so that a directory it cannot empty does not loop for ever. It never
//! leaves the declared directory's file system: a directory inside that is
//! on another device (a mount point, a bind mount of `$HOME`) is left with
//! its contents, as `rm -r --one-file-system` does. Elsewhere
//! there is no signal-safe way to read a directory: the crash path removes
//! the declared directory only if it is empty, and a normal exit uses
//! `std::fs::remove_dir_all`.
//!
//! Used by the crash handler and a normal exit (`last_words`) and by the
//! watchdog after a `kill -9`, hence its place here, below both.

use std::ffi::CStr;
use std::os::fd::BorrowedFd;

/// Removes everything inside `dir` (the pinned, verified declared
/// directory); async-signal-safe and panic-free.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn empty_dir(dir: BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    /// Deeper trees are left in part (the final `rmdir` then fails).
    const MAX_DEPTH: u32 = 256;
    /// Bounds the work for a tree that cannot be emptied (permissions).
    const MAX_STEPS: u32 = 1 << 16;
    let root = dir.as_raw_fd();
    // The device the walk stays on.
    let Some(device) = device_of(root) else {
        return;
    };
    let mut fd = root;
    let mut depth = 0u32;
    let mut steps = 0u32;
    // `u64`s, for the alignment of `linux_dirent64`.
    let mut buffer = [0u64; 64];
    'scan: while steps < MAX_STEPS {
        // SAFETY: lseek on a directory we hold open.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
        loop {
            steps += 1;
            // SAFETY: the kernel writes at most `len` bytes into the buffer.
            let read = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd,
                    buffer.as_mut_ptr(),
                    std::mem::size_of_val(&buffer),
                )
            };
            if read <= 0 || steps >= MAX_STEPS {
                break;
            }
            // SAFETY: the first `read` bytes of the buffer were written by
            // the kernel; viewing `u64`s as bytes is always valid.
            let bytes: &[u8] =
                unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), read as usize) };
            let mut at = 0usize;
            while let Some(entry) = bytes.get(at..) {
                // linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2),
                // d_type (1), then the NUL-terminated name.
                let (Some(&lo), Some(&hi)) = (entry.get(16), entry.get(17)) else {
                    break;
                };
                let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
                if reclen == 0 {
                    break;
                }
                at += reclen;
                let Some(kind) = entry.get(18).copied() else {
                    break;
                };
                let Some(name) = entry
                    .get(19..reclen)
                    .and_then(|n| CStr::from_bytes_until_nul(n).ok())
                else {
                    continue;
                };
                let bytes_of_name = name.to_bytes();
                if bytes_of_name == b"." || bytes_of_name == b".." {
                    continue;
                }
                if !is_dir(fd, name, kind) {
                    // SAFETY: async-signal-safe; `name` is NUL-terminated.
                    unsafe { libc::unlinkat(fd, name.as_ptr(), 0) };
                    continue;
                }
                // SAFETY: as above; succeeds only for an empty directory.
                if unsafe { libc::unlinkat(fd, name.as_ptr(), libc::AT_REMOVEDIR) } == 0
                    || depth >= MAX_DEPTH
                {
                    continue;
                }
                // SAFETY: O_NOFOLLOW: a symlink swapped in is not followed.
                let sub = unsafe {
                    libc::openat(
                        fd,
                        name.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                };
                if sub < 0 {
                    continue;
                }
                if device_of(sub) != Some(device) || is_mount_root(sub) {
                    // A mount point: its file system is not ours to empty.
                    // SAFETY: a descriptor this walk just opened.
                    unsafe { libc::close(sub) };
                    continue;
                }
                if fd != root {
                    // SAFETY: a descriptor this walk opened.
                    unsafe { libc::close(fd) };
                }
                fd = sub;
                depth += 1;
                continue 'scan;
            }
        }
        // A full pass without going down: this directory is as empty as it
        // gets. Go back up, where the rescan removes it.
        if depth == 0 {
            break;
        }
        let parent = if depth == 1 {
            root
        } else {
            // SAFETY: `..` of a directory we entered by name.
            unsafe {
                libc::openat(
                    fd,
                    c"..".as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            }
        };
        // SAFETY: a descriptor this walk opened (never the root here).
        unsafe { libc::close(fd) };
        if parent < 0 {
            return;
        }
        fd = parent;
        depth -= 1;
    }
    if fd != root {
        // SAFETY: a descriptor this walk opened.
        unsafe { libc::close(fd) };
    }
}

/// The device of the open file `fd`; async-signal-safe (`fstat`).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn device_of(fd: libc::c_int) -> Option<libc::dev_t> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat is async-signal-safe; `stat` is written on success.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat returned 0.
    Some(unsafe { stat.assume_init() }.st_dev)
}

/// Whether the open directory `fd` is the root of a mount: a bind mount of
/// a directory of the same file system has the same device, and only
/// `statx`'s `STATX_ATTR_MOUNT_ROOT` (Linux 5.8) tells it. A raw system
/// call (async-signal-safe, and no libc version needed); an older kernel
/// answers nothing, and the device check alone remains.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_mount_root(fd: libc::c_int) -> bool {
    const MOUNT_ROOT: u64 = 0x2000; // STATX_ATTR_MOUNT_ROOT
    let mut statx = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: the kernel writes at most a `statx` into the buffer; the empty
    // path with AT_EMPTY_PATH names `fd` itself.
    let done = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            0u32,
            statx.as_mut_ptr(),
        )
    };
    if done != 0 {
        return false;
    }
    // SAFETY: zeroed, then filled by the kernel.
    let statx = unsafe { statx.assume_init() };
    statx.stx_attributes_mask & statx.stx_attributes & MOUNT_ROOT != 0
}

/// Whether the entry `name` of `dir` is a directory (not a symlink to one).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_dir(dir: libc::c_int, name: &CStr, kind: u8) -> bool {
    if kind != libc::DT_UNKNOWN {
        return kind == libc::DT_DIR;
    }
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstatat is async-signal-safe; `stat` is written on success.
    if unsafe {
        libc::fstatat(
            dir,
            name.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return false;
    }
    // SAFETY: fstatat returned 0.
    let stat = unsafe { stat.assume_init() };
    stat.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// On a normal exit, the same walk (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn empty_dir_normal(dir: BorrowedFd<'_>, _path: &CStr) {
    empty_dir(dir)
}

/// No signal-safe way to read a directory here: the crash path leaves the
/// contents (the `rmdir` after it removes an empty directory only).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn empty_dir(_dir: BorrowedFd<'_>) {}

/// On a normal exit, std's removal (which does not follow symlinks).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn empty_dir_normal(_dir: BorrowedFd<'_>, path: &CStr) {
    use std::os::unix::ffi::OsStrExt;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
    let _ = std::fs::remove_dir_all(path);
}
