//! Emptying a directory tree from a crash handler: no allocation, no
//! recursion (the handler runs on std's 8 KiB alternate stack, about 2.5 KiB
//! of which the kernel's frame already took: CRASH-FACTS §1-2), never
//! following a symlink.
//!
//! On Linux the entries are read with the `getdents64` system call into a
//! buffer (`readdir` may allocate). The walk goes down one directory at a
//! time (`openat(O_NOFOLLOW)`) and keeps the descriptor of each directory
//! on its path, so it comes back up to the very directory it left: never
//! through `..`, which leads out of the tree once another process renames
//! a directory the walk is in. A directory's scan goes on after the entry
//! it went down into, and is followed by scans that remove what the first
//! one emptied, a bounded number of them, so a directory that cannot be
//! emptied (read-only, immutable, busy) costs a few visits and the rest of
//! the tree is still removed. It never
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

/// How deep the crash handler's walk goes: its levels live on the
/// alternate stack (16 bytes each, 768 bytes here, beside the 512-byte
/// entry buffer). A deeper part of the tree is left (the final `rmdir`
/// then fails); a normal exit and the watchdog go to [`DEEP_LEVELS`].
#[cfg(any(target_os = "linux", target_os = "android"))]
const CRASH_LEVELS: usize = 48;

/// How deep a normal exit's walk and the watchdog's go (on the heap). Each
/// level holds a descriptor open, so a tree this deep needs as many.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DEEP_LEVELS: usize = 1024;

/// Bounds the work for a tree that cannot be emptied or that another
/// process keeps filling: `getdents64` calls in all.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_STEPS: u32 = 1 << 20;

/// The scans of one directory: even passes go down into each
/// subdirectory they cannot remove, once; odd passes only remove what the
/// pass before emptied. A directory with something left after an odd pass
/// is scanned again, up to this many passes in all (three pairs), so that
/// a file created meanwhile is caught but a directory nobody can empty (a
/// read-only or immutable one) costs three visits, not the walk's budget.
#[cfg(any(target_os = "linux", target_os = "android"))]
const PASSES: u8 = 6;

/// One directory on the walk's path from the root: the descriptor it was
/// opened with (never reopened through `..`, which after a rename leads
/// outside the tree), where its scan goes on, and which pass it is in.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Clone, Copy)]
struct Level {
    fd: libc::c_int,
    /// The `d_off` of the last entry taken, or 0 at the start of a pass.
    resume: i64,
    pass: u8,
    /// Whether this pass met an entry it could not remove.
    left: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Level {
    const fn new(fd: libc::c_int) -> Self {
        Level {
            fd,
            resume: 0,
            pass: 0,
            left: false,
        }
    }
}

/// Removes everything inside `dir` (the pinned, verified declared
/// directory) down to [`CRASH_LEVELS`] deep; async-signal-safe, no
/// allocation, panic-free: the crash handler's walk.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn empty_dir(dir: BorrowedFd<'_>) {
    // `u64`s, for the alignment of `linux_dirent64`.
    let mut buffer = [0u64; 64];
    walk(dir, &mut [Level::new(-1); CRASH_LEVELS], &mut buffer);
}

/// Removes everything inside `dir` down to [`DEEP_LEVELS`] deep; allocates,
/// so not for the crash handler. A normal exit's and the watchdog's walk.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn empty_dir_deep(dir: BorrowedFd<'_>) {
    let mut buffer = vec![0u64; 4096];
    walk(dir, &mut vec![Level::new(-1); DEEP_LEVELS], &mut buffer);
}

/// The walk: depth first, one level per directory on the path, a
/// directory's scan resumed after the entry it went down into (never
/// rescanned from the start, so an entry that cannot be removed is not
/// visited again and again), then the passes of [`PASSES`].
#[cfg(any(target_os = "linux", target_os = "android"))]
fn walk(dir: BorrowedFd<'_>, levels: &mut [Level], buffer: &mut [u64]) {
    use std::os::fd::AsRawFd;
    let root = dir.as_raw_fd();
    // The device the walk stays on.
    let Some(device) = device_of(root) else {
        return;
    };
    let Some(first) = levels.first_mut() else {
        return;
    };
    *first = Level::new(root);
    let room = levels.len();
    let mut depth = 0usize;
    let mut steps = 0u32;
    'walk: while steps < MAX_STEPS {
        steps += 1;
        let Some(level) = levels.get(depth).copied() else {
            break;
        };
        // SAFETY: lseek on a directory this walk holds open, to 0 or to a
        // `d_off` the kernel gave for it.
        let read = if unsafe { libc::lseek(level.fd, level.resume, libc::SEEK_SET) } < 0 {
            -1
        } else {
            // SAFETY: the kernel writes at most `len` bytes into the buffer.
            unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    level.fd,
                    buffer.as_mut_ptr(),
                    std::mem::size_of_val(buffer),
                )
            }
        };
        if read <= 0 {
            // The end of a pass (or a directory that cannot be read).
            let level = &mut levels[depth];
            let again = read == 0 && level.pass + 1 < PASSES && (level.pass % 2 == 0 || level.left);
            if again {
                *level = Level {
                    pass: level.pass + 1,
                    ..Level::new(level.fd)
                };
                continue;
            }
            if depth == 0 {
                break;
            }
            // SAFETY: a descriptor this walk opened (never the root's).
            unsafe { libc::close(level.fd) };
            depth -= 1;
            continue;
        }
        // SAFETY: the first `read` bytes of the buffer were written by the
        // kernel; viewing `u64`s as bytes is always valid.
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), read as usize) };
        let mut at = 0usize;
        while let Some(entry) = bytes.get(at..) {
            // linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2),
            // d_type (1), then the NUL-terminated name.
            let (Some(off), Some(&lo), Some(&hi), Some(&kind)) = (
                entry.get(8..16),
                entry.get(16),
                entry.get(17),
                entry.get(18),
            ) else {
                break;
            };
            let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
            if reclen == 0 {
                break;
            }
            at += reclen;
            let mut next = [0u8; 8];
            next.copy_from_slice(off);
            let level = &mut levels[depth];
            level.resume = i64::from_ne_bytes(next);
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
            if !is_dir(level.fd, name, kind) {
                // SAFETY: async-signal-safe; `name` is NUL-terminated.
                if unsafe { libc::unlinkat(level.fd, name.as_ptr(), 0) } != 0 {
                    level.left = true;
                }
                continue;
            }
            // SAFETY: as above; succeeds only for an empty directory.
            if unsafe { libc::unlinkat(level.fd, name.as_ptr(), libc::AT_REMOVEDIR) } == 0 {
                continue;
            }
            level.left = true;
            if level.pass % 2 == 1 || depth + 1 >= room {
                continue;
            }
            // SAFETY: O_NOFOLLOW: a symlink swapped in is not followed.
            let sub = unsafe {
                libc::openat(
                    level.fd,
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
            depth += 1;
            levels[depth] = Level::new(sub);
            #[cfg(test)]
            tests::went_down(depth);
            continue 'walk;
        }
    }
    for level in levels.iter().take(depth + 1).skip(1) {
        // SAFETY: descriptors this walk opened and still holds.
        unsafe { libc::close(level.fd) };
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

/// On a normal exit, the same walk, deeper (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn empty_dir_normal(dir: BorrowedFd<'_>, _path: &CStr) {
    empty_dir_deep(dir)
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::os::fd::AsFd as _;
    use std::path::{Path, PathBuf};

    type OnDown = Box<dyn FnMut(usize)>;

    thread_local! {
        /// What a test does each time the walk goes down a level.
        static ON_DOWN: RefCell<Option<OnDown>> = const { RefCell::new(None) };
    }

    /// Called by the walk after it opened a directory `depth` levels down.
    pub(super) fn went_down(depth: usize) {
        ON_DOWN.with(|on_down| {
            if let Some(on_down) = on_down.borrow_mut().as_mut() {
                on_down(depth);
            }
        });
    }

    /// A scratch directory of this test, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(label: &str) -> Scratch {
            let path = std::env::temp_dir().join(format!(
                "atexit-tree-{label}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            ON_DOWN.with(|on_down| on_down.borrow_mut().take());
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open(dir: &Path) -> std::fs::File {
        std::fs::File::open(dir).unwrap()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// The walk used to climb back through `..`: a directory renamed out
    /// of the tree while the walk was inside it led the walk into the
    /// directory it was moved to, which it then emptied.
    #[test]
    fn a_directory_moved_away_during_the_walk_does_not_lead_outside() {
        let scratch = Scratch::new("moved");
        let tree = scratch.0.join("tree");
        let elsewhere = scratch.0.join("elsewhere");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/file"), b"x").unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("precious"), b"keep").unwrap();
        let (from, to) = (tree.join("a/b"), elsewhere.join("b"));
        ON_DOWN.with(|on_down| {
            *on_down.borrow_mut() = Some(Box::new(move |depth| {
                if depth == 2 {
                    // Inside tree/a/b: another process moves it away, so
                    // that its `..` is now `elsewhere`.
                    std::fs::rename(&from, &to).unwrap();
                }
            }));
        });
        for walk in [empty_dir, empty_dir_deep] {
            empty_dir_at(&tree, walk);
            assert_eq!(
                std::fs::read(elsewhere.join("precious")).unwrap(),
                b"keep",
                "the walk left the tree"
            );
            assert!(entries(&tree).is_empty(), "{:?}", entries(&tree));
            // The same again for the other walk.
            std::fs::create_dir_all(tree.join("a/b")).unwrap();
            let _ = std::fs::remove_dir_all(elsewhere.join("b"));
            ON_DOWN.with(|on_down| {
                let (from, to) = (tree.join("a/b"), elsewhere.join("b"));
                *on_down.borrow_mut() = Some(Box::new(move |depth| {
                    if depth == 2 {
                        std::fs::rename(&from, &to).unwrap();
                    }
                }));
            });
        }
    }

    fn empty_dir_at(dir: &Path, walk: fn(BorrowedFd<'_>)) {
        walk(open(dir).as_fd());
    }

    /// Makes `dir` a directory whose entries cannot be removed: immutable
    /// as root (who ignores permissions), read-only otherwise. Undone by
    /// the returned guard.
    fn stuck(dir: &Path) -> impl Drop {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::PermissionsExt as _;
        struct Unstick(PathBuf, Option<std::fs::File>);
        impl Drop for Unstick {
            fn drop(&mut self) {
                if let Some(file) = &self.1 {
                    let flags: libc::c_long = 0;
                    // SAFETY: FS_IOC_SETFLAGS reads a long from the pointer.
                    unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
                }
                let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
            }
        }
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            return Unstick(dir.to_owned(), None);
        }
        const FS_IMMUTABLE_FL: libc::c_long = 0x10;
        let file = open(dir);
        let mut flags: libc::c_long = 0;
        // SAFETY: FS_IOC_GETFLAGS writes a long through the pointer.
        let got = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
        flags |= FS_IMMUTABLE_FL;
        // SAFETY: FS_IOC_SETFLAGS reads a long from the pointer.
        let set = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
        assert!(
            got == 0 && set == 0,
            "cannot make {} immutable: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
        Unstick(dir.to_owned(), Some(file))
    }

    /// The walk used to rescan a directory from its start after each
    /// descent: a subdirectory it could not empty was entered again and
    /// again until the walk's budget was spent, and what came after it in
    /// the directory was never reached.
    #[test]
    fn a_directory_that_cannot_be_emptied_does_not_keep_the_rest() {
        let scratch = Scratch::new("stuck");
        let tree = scratch.0.join("tree");
        for n in 0..64 {
            let dir = tree.join(format!("dir-{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("file"), b"x").unwrap();
        }
        let stuck_dir = tree.join("stuck");
        std::fs::create_dir_all(&stuck_dir).unwrap();
        std::fs::write(stuck_dir.join("file"), b"x").unwrap();
        let _unstick = stuck(&stuck_dir);
        let visits = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let counted = visits.clone();
        ON_DOWN.with(|on_down| {
            *on_down.borrow_mut() = Some(Box::new(move |_| counted.set(counted.get() + 1)));
        });
        for walk in [empty_dir, empty_dir_deep] {
            visits.set(0);
            empty_dir_at(&tree, walk);
            assert_eq!(entries(&tree), ["stuck"]);
            assert_eq!(entries(&stuck_dir), ["file"]);
            // 64 directories once, the stuck one once per pair of passes.
            assert!(visits.get() <= 64 + 3, "{} descents", visits.get());
            for n in 0..64 {
                std::fs::create_dir(tree.join(format!("dir-{n}"))).unwrap();
            }
        }
    }

    /// A tree deeper than the crash walk's levels: the crash walk leaves
    /// the part below them (and says so by the final `rmdir` failing), a
    /// normal exit's walk removes it all.
    #[test]
    fn a_tree_deeper_than_the_crash_levels() {
        let scratch = Scratch::new("deep");
        let tree = scratch.0.join("tree");
        let mut deep = tree.clone();
        for _ in 0..300 {
            deep = deep.join("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("bottom"), b"x").unwrap();
        std::fs::write(tree.join("top"), b"x").unwrap();
        empty_dir_at(&tree, empty_dir);
        assert_eq!(entries(&tree), ["d"], "the top file is removed");
        assert!(deep.join("bottom").exists(), "below the crash levels");
        empty_dir_at(&tree, empty_dir_deep);
        assert!(entries(&tree).is_empty(), "{:?}", entries(&tree));
    }
}
