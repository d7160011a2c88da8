//! The Unix actions, carried out directly (in the crash context, the one
//! with the most constraints) on real files, sockets, groups and ptys.

use super::sys::{self, Action, Context};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

struct Dir(PathBuf);

impl Dir {
    fn new(label: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "atexit-lw-unit-{label}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_declared_file_is_removed() {
    let dir = Dir::new("file");
    let path = dir.0.join("app.lock");
    std::fs::write(&path, b"A").unwrap();
    sys::removal(&path, false).unwrap().run(Context::Crash);
    assert!(!path.exists());
}

#[test]
fn a_file_recreated_at_the_same_path_is_kept() {
    let dir = Dir::new("recreate");
    let path = dir.0.join("app.lock");
    // Empty, as lock files are: ext4 then hands the freed inode number to
    // the next new file at once (CRASH-FACTS §4), unless the pin holds it.
    std::fs::File::create(&path).unwrap();
    let old_ino = std::fs::metadata(&path).unwrap().ino();
    let action = sys::removal(&path, false).unwrap();
    // A second instance: removes the stale lock and takes its own.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"B").unwrap();
    assert_ne!(
        std::fs::metadata(&path).unwrap().ino(),
        old_ino,
        "the pin should keep the old inode number taken"
    );
    action.run(Context::Crash);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"B",
        "the new instance's lock was removed"
    );
}

#[test]
fn a_unix_socket_is_removed_and_a_symlink_is_not_followed() {
    let dir = Dir::new("socket");
    let socket = dir.0.join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    sys::removal(&socket, false).unwrap().run(Context::Crash);
    assert!(
        std::fs::symlink_metadata(&socket).is_err(),
        "socket still there"
    );

    let target = dir.0.join("target");
    std::fs::write(&target, b"keep").unwrap();
    let link = dir.0.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    sys::removal(&link, false).unwrap().run(Context::Crash);
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link still there"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn a_directory_tree_is_removed_without_following_symlinks() {
    let dir = Dir::new("tree");
    let outside = dir.0.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("precious"), b"keep").unwrap();
    let tree = dir.0.join("tree");
    let mut deep = tree.clone();
    for level in 0..40 {
        deep = deep.join(format!("level-{level}"));
        std::fs::create_dir_all(&deep).unwrap();
        for file in 0..30 {
            std::fs::write(deep.join(format!("a-longish-file-name-{file}")), b"x").unwrap();
        }
        std::os::unix::fs::symlink(&outside, deep.join("to-outside")).unwrap();
    }
    std::fs::create_dir_all(tree.join("empty/also-empty")).unwrap();
    let action = sys::removal(&tree, true).unwrap();
    action.run(Context::Crash);
    if cfg!(any(target_os = "linux", target_os = "android")) {
        assert!(!tree.exists(), "tree still there");
    }
    assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep");
    action.run(Context::Normal);
    assert!(!tree.exists(), "tree still there after a normal run");
}

#[test]
fn misuse_gets_a_clear_error() {
    let dir = Dir::new("misuse");
    let missing = sys::removal(&dir.0.join("missing"), false).unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    let is_dir = sys::removal(&dir.0, false).unwrap_err();
    assert_eq!(is_dir.kind(), io::ErrorKind::IsADirectory);
    let file = dir.0.join("file");
    std::fs::write(&file, b"").unwrap();
    let not_dir = sys::removal(&file, true).unwrap_err();
    assert_eq!(not_dir.kind(), io::ErrorKind::NotADirectory);
    let link = dir.0.join("link-to-dir");
    std::os::unix::fs::symlink(&dir.0, &link).unwrap();
    assert_eq!(
        sys::removal(&link, true).unwrap_err().kind(),
        io::ErrorKind::NotADirectory,
        "a symlink to a directory must not be followed"
    );

    for pgid in [0, 1] {
        assert_eq!(
            sys::kill_group(pgid).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
    // SAFETY: getpgrp cannot fail.
    let own = unsafe { libc::getpgrp() } as u32;
    assert_eq!(
        sys::kill_group(own).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    // No group has an id this large (above pid_max).
    let none = sys::kill_group(1 << 30).unwrap_err();
    assert_eq!(none.raw_os_error(), Some(libc::ESRCH));

    let null = std::fs::File::open("/dev/null").unwrap();
    let error = super::LastWords::restore_terminal_fd(&null).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOTTY), "{error}");
}

#[test]
fn a_declared_process_group_is_killed() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    let action = sys::kill_group(child.id()).unwrap();
    action.run(Context::Crash);
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors we then own.
    let done = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(done, 0, "openpty: {}", io::Error::last_os_error());
    // SAFETY: just opened, owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

fn mode(fd: &OwnedFd) -> libc::termios {
    // SAFETY: a zeroed termios is valid storage for tcgetattr.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid tty fd and termios.
    assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut termios) }, 0);
    termios
}

fn same(a: &libc::termios, b: &libc::termios) -> bool {
    (a.c_iflag, a.c_oflag, a.c_cflag, a.c_lflag, a.c_cc)
        == (b.c_iflag, b.c_oflag, b.c_cflag, b.c_lflag, b.c_cc)
}

#[test]
fn a_terminal_gets_its_mode_and_the_escape_bytes_back() {
    let (master, slave) = pty();
    let cooked = mode(&slave);
    let action = super::LastWords::restore_terminal_fd(&slave)
        .unwrap()
        .with_escape_bytes(b"<bye>")
        .unwrap()
        .action;
    let mut raw = cooked;
    // SAFETY: cfmakeraw edits the termios in place; tcsetattr on our pty.
    unsafe {
        libc::cfmakeraw(&mut raw);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &raw), 0);
    }
    assert!(!same(&mode(&slave), &cooked));
    // The action keeps its own duplicate: the program may close its fd.
    drop(slave);
    action.run(Context::Crash);
    let mut out = [0u8; 64];
    let n = std::fs::File::from(master.try_clone().unwrap())
        .read(&mut out)
        .unwrap();
    assert_eq!(&out[..n], b"<bye>");
    if let Action::Terminal(terminal) = &action {
        assert!(same(&mode(&terminal.fd), &cooked), "mode not restored");
    } else {
        panic!("not a terminal action");
    }
}

/// Escape bytes go to the watchdog in one message (at most 1 MiB, and the
/// watchdog leaves without acting on a longer one): more than 64 KiB is
/// refused at the declaration instead.
#[test]
fn escape_bytes_over_64_kib_are_refused() {
    let (_master, slave) = pty();
    let restore = || super::LastWords::restore_terminal_fd(&slave).unwrap();
    assert!(restore().with_escape_bytes(&[b'x'; 64 * 1024]).is_ok());
    let Err(error) = restore().with_escape_bytes(&[b'x'; 64 * 1024 + 1]) else {
        panic!("more than 64 KiB of escape bytes was taken");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
