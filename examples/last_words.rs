//! Declared cleanups ("last words") that run even when the program crashes:
//! a TUI's terminal, a lock file, a Unix socket, a scratch directory and a
//! process group, given back on every ending, a segfault or a stack overflow
//! included. `tests/last_words.rs` runs it under a pseudo-terminal, once for
//! each way of ending.
//!
//! ```text
//! $ cargo run --example last_words -- segv /tmp/demo
//! (the screen flips to the alternate screen and back; the shell still echoes;
//!  /tmp/demo/app.lock, app.sock and scratch/ are gone; killed by SIGSEGV)
//! ```
//!
//! Ways: return, exit, atexit-exit, panic, signal, segv, segv-thread,
//! overflow, overflow-thread, abort; `wait` (for a `kill -9` or an uncaught
//! SIGTERM from outside: it writes `ready` in the directory, then waits),
//! `exec` (becomes `sleep 30`),
//! `exit-now` (`atexit::exit_now`: no code runs, the watchdog carries them
//! out) and `ran-exit-now` (runs every declaration now, enters raw mode
//! again, then `exit_now`: the watchdog must run none of them a second
//! time). Add `recreate` to play a second instance that takes the lock (a
//! new file at the same path) before the end: that lock is kept; `symlink`
//! to put a symlink to `victim` in the lock's place (both kept); `burst` to
//! declare 2,000 more files from 8 threads under `burst/`; `late` (with
//! `wait`) to declare one more file, `late`, once the file `go` appears.
//! `hook` calls `atexit::run_on_panic_abort()` first.

/// The way to end (default `return`), the directory (default `.`), and
/// all the arguments, for the flags.
#[cfg(any(unix, windows))]
fn arguments() -> (String, std::path::PathBuf, Vec<String>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let way = args.first().map_or("return", String::as_str).to_owned();
    let dir = std::path::PathBuf::from(args.get(1).map_or(".", String::as_str));
    (way, dir, args)
}

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;

    let (way, dir, args) = arguments();
    let flag = |name: &str| args.iter().any(|arg| arg == name);
    if flag("hook") {
        atexit::run_on_panic_abort();
    }

    // First, while the terminal is still in the mode to give back.
    let terminal = atexit::restore_terminal_at_exit()?;

    let lock = dir.join("app.lock");
    std::fs::write(&lock, std::process::id().to_string())?;
    let lock_declared = atexit::LastWords::remove_file(&lock)?.declare();

    let socket = dir.join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket)?;
    let socket_declared = atexit::LastWords::remove_file(&socket)?.declare();

    let scratch = dir.join("scratch");
    std::fs::create_dir_all(scratch.join("cache/deeper"))?;
    std::fs::write(scratch.join("cache/deeper/part"), b"...")?;
    std::fs::write(scratch.join("notes"), b"...")?;
    let scratch_declared = atexit::LastWords::remove_dir_all(&scratch)?.declare();

    // Declared, then cancelled: it must survive every ending.
    let kept = dir.join("kept");
    std::fs::write(&kept, b"")?;
    atexit::LastWords::remove_file(&kept)?.declare().cancel();

    let worker = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()?;
    let group_declared = atexit::LastWords::kill_process_group(worker.id())?.declare();
    std::fs::write(dir.join("worker.pid"), worker.id().to_string())?;

    if flag("recreate") {
        // A second instance finds the lock stale and takes its own: same
        // path, new inode.
        std::fs::remove_file(&lock)?;
        std::fs::write(&lock, b"second instance")?;
    }
    if flag("symlink") {
        // Someone puts a symlink to another file at the lock's path: it is
        // another file (kept), and its target is never reached.
        std::fs::write(dir.join("victim"), b"not yours")?;
        std::fs::remove_file(&lock)?;
        std::os::unix::fs::symlink(dir.join("victim"), &lock)?;
    }
    if flag("burst") {
        burst(&dir.join("burst"))?;
    }

    // What a TUI does: raw mode, the alternate screen, no cursor, the mouse.
    let enter_the_tui = || -> std::io::Result<()> {
        // SAFETY: a zeroed termios is valid storage; fd 0 is our terminal.
        unsafe {
            let mut raw: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut raw) == 0 {
                libc::cfmakeraw(&mut raw);
                libc::tcsetattr(0, libc::TCSANOW, &raw);
            }
        }
        let mut out = std::io::stdout();
        out.write_all(b"\x1b[?1049h\x1b[?25l\x1b[?1000h<in the TUI>")?;
        out.flush()
    };
    enter_the_tui()?;
    // The watchdog learns the raw mode now (else within a second).
    terminal.note_terminal_mode();

    match way.as_str() {
        "return" => Ok(()),
        "exit" => std::process::exit(3),
        "atexit-exit" => atexit::exit(4),
        "panic" => panic!("the TUI panicked"),
        "signal" => {
            atexit::catch_signals()?;
            // SAFETY: raise only sends a signal.
            unsafe { libc::raise(libc::SIGTERM) };
            loop {
                std::thread::park();
            }
        }
        "segv" => segv(),
        // A SIGSEGV no fault repeats (`kill -SEGV`, `raise`): std's handler
        // resets the default and returns; the process must still die by it.
        "raise-segv" => {
            // SAFETY: raise only sends a signal.
            unsafe { libc::raise(libc::SIGSEGV) };
            Ok(())
        }
        "segv-thread" => std::thread::spawn(segv).join().map_err(|_| unreachable())?,
        "overflow" => {
            overflow(0);
            Ok(())
        }
        "overflow-thread" => std::thread::Builder::new()
            .name("worker".into())
            .spawn(|| overflow(0))?
            .join()
            .map(drop)
            .map_err(|_| unreachable()),
        // SAFETY: abort is what C code calls when it gives up.
        "abort" => unsafe { libc::abort() },
        "wait" => {
            std::fs::write(dir.join("ready"), b"")?;
            if flag("late") {
                // Once told (`go`), one more declaration: the watchdog may
                // have been killed meanwhile, so it starts another.
                while !dir.join("go").exists() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                let late = dir.join("late");
                std::fs::write(&late, b"")?;
                let _late = atexit::LastWords::remove_file(&late)?.declare();
                std::fs::write(dir.join("late-ready"), b"")?;
            }
            loop {
                std::thread::park();
            }
        }
        "exit-now" => atexit::exit_now(5),
        // Replaced by another program: no exit, no handler, no watchdog.
        "exec" => Err(std::process::Command::new("sleep").arg("30").exec()),
        "ran-exit-now" => {
            for declaration in [
                group_declared,
                scratch_declared,
                socket_declared,
                lock_declared,
                terminal,
            ] {
                assert!(declaration.run_now());
            }
            // Back in the TUI, the lock taken again: none of it is the
            // watchdog's to undo any more.
            std::fs::write(&lock, b"taken again")?;
            enter_the_tui()?;
            atexit::exit_now(6)
        }
        other => panic!("unknown way {other:?}"),
    }
}

/// 2,000 declarations at once from 8 threads, long names, under `burst`.
#[cfg(any(unix, windows))]
fn burst(burst: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir(burst)?;
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let burst = burst.to_path_buf();
            std::thread::spawn(move || -> std::io::Result<()> {
                for file in 0..250 {
                    let path = burst.join(format!("{thread}-{file}-{}", "x".repeat(120)));
                    std::fs::write(&path, b"")?;
                    let _ = atexit::LastWords::remove_file(&path)?.declare();
                }
                Ok(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a declaring thread")?;
    }
    Ok(())
}

/// A write to an unmapped page near address 0 (not 0 itself: a debug build
/// checks `write_volatile` for null and panics instead of faulting).
#[cfg(any(unix, windows))]
fn segv() -> std::io::Result<()> {
    let address = std::hint::black_box(8usize) as *mut u32;
    // SAFETY: none: this is the crash the example is about.
    unsafe { address.write_volatile(1) };
    Ok(())
}

#[cfg(unix)]
#[allow(unconditional_recursion)]
fn overflow(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    overflow(depth + 1) + frame[0]
}

#[cfg(unix)]
fn unreachable() -> std::io::Error {
    std::io::Error::other("the crashing thread returned")
}

/// Windows: the files only (terminals and process groups are Unix
/// declarations). Ways: `return`, `atexit-exit`, `exit-now` and `abort`
/// (the watchdog removes them), `wait` (for `TerminateProcess` from outside: Task
/// Manager, `taskkill /F`, `Child::kill`), and `ran-exit-now` (runs them
/// now, takes the lock again, then `exit_now`: the watchdog must leave the
/// lock). `recreate` as on Unix; `burst` declares 2,000 more files from 8
/// threads under `burst/`; `console` declares the console's restore and
/// sets a raw mode (`console-cancel` cancels the restore); `busy-look`
/// cancels `kept-too` and declares `late` while another thread keeps
/// calling `note_terminal_mode`; `kill-watchdog` kills the watchdog, then
/// declares `late-b` and `late-c`. `canary` is declared first, so it is
/// removed last (newest first): once it is gone, the rest is done.
/// `tests/windows_last_words.rs` runs it under Wine.
#[cfg(windows)]
fn main() -> std::io::Result<()> {
    let (way, dir, args) = arguments();

    let canary = dir.join("canary");
    std::fs::write(&canary, b"")?;
    let _canary = atexit::LastWords::remove_file(&canary)?.declare();

    let lock = dir.join("app.lock");
    std::fs::write(&lock, std::process::id().to_string())?;
    let lock_declared = atexit::LastWords::remove_file(&lock)?.declare();

    let scratch = dir.join("scratch");
    std::fs::create_dir_all(scratch.join("cache/deeper"))?;
    std::fs::write(scratch.join("cache/deeper/part"), b"...")?;
    let scratch_declared = atexit::LastWords::remove_dir_all(&scratch)?.declare();

    // Declared, then cancelled: it must survive every ending.
    let kept = dir.join("kept");
    std::fs::write(&kept, b"")?;
    atexit::LastWords::remove_file(&kept)?.declare().cancel();

    // `console`: what a TUI does (crossterm's `enable_raw_mode`, by hand):
    // declare the console's restore while it is cooked, go raw, note it.
    // `console-cancel`: the same, cancelled.
    let console = args.iter().any(|arg| arg == "console");
    if console || args.iter().any(|arg| arg == "console-cancel") {
        let restore = atexit::restore_terminal_at_exit()?;
        raw_console()?;
        // A TUI calls it once. The tests kill the program as soon as it is
        // ready, so here it is asked again (each waits at most 200 ms)
        // until the watchdog, still starting on a loaded machine, looked.
        let started = std::time::Instant::now();
        while !restore.note_terminal_mode() && started.elapsed().as_secs() < 20 {}
        std::fs::write(dir.join("looked"), format!("{:?}", started.elapsed()))?;
        if !console {
            restore.cancel();
        }
    }

    // `burst`: many declarations at once from 8 threads, long names.
    if args.iter().any(|arg| arg == "burst") {
        burst(&dir.join("burst"))?;
    }

    // `busy-look`: another thread keeps asking the watchdog to look (with
    // no console declared) while this one cancels one declaration and makes
    // another: neither may be lost.
    if args.iter().any(|arg| arg == "busy-look") {
        let canary = std::sync::Arc::new(_canary);
        let looking = std::sync::Arc::clone(&canary);
        std::thread::spawn(move || loop {
            looking.note_terminal_mode();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        let kept_too = dir.join("kept-too");
        std::fs::write(&kept_too, b"")?;
        atexit::LastWords::remove_file(&kept_too)?
            .declare()
            .cancel();
        let late = dir.join("late");
        std::fs::write(&late, b"")?;
        let _ = atexit::LastWords::remove_file(&late)?.declare();
    }

    // `kill-watchdog`: the watchdog is killed (by this program, as anyone
    // could); the next declarations go to a new one.
    if args.iter().any(|arg| arg == "kill-watchdog") {
        kill_children()?;
        for name in ["late-b", "late-c"] {
            std::fs::write(dir.join(name), b"")?;
            let _ = atexit::LastWords::remove_file(dir.join(name))?.declare();
        }
    }

    if args.iter().any(|arg| arg == "recreate") {
        // A second instance finds the lock stale and takes its own.
        std::fs::remove_file(&lock)?;
        std::fs::write(&lock, b"second instance")?;
    }
    println!("declared {} and {}", lock.display(), scratch.display());

    match way.as_str() {
        "return" => Ok(()),
        "atexit-exit" => atexit::exit(4),
        "exit-now" => atexit::exit_now(5),
        // A crash: std's abort is a fail-fast, which runs no code of ours.
        "abort" => std::process::abort(),
        // An access violation, which nothing of ours handles either.
        "segv" => segv(),
        "wait" => {
            std::fs::write(dir.join("ready"), b"")?;
            loop {
                std::thread::park();
            }
        }
        "ran-exit-now" => {
            assert!(lock_declared.run_now());
            assert!(scratch_declared.run_now());
            std::fs::write(&lock, b"taken again")?;
            atexit::exit_now(6)
        }
        other => panic!("unknown way {other:?}"),
    }
}

/// Raw mode, as crossterm sets it: no line input, no echo, no Ctrl+C
/// processing.
#[cfg(windows)]
fn raw_console() -> std::io::Result<()> {
    use std::os::windows::io::AsRawHandle as _;
    use windows_sys::Win32::System::Console::{
        GetConsoleMode, SetConsoleMode, ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT,
        ENABLE_PROCESSED_INPUT,
    };
    let input = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("CONIN$")?;
    let mut mode = 0;
    // SAFETY: reads and sets the mode of a console handle we own.
    let set = unsafe {
        GetConsoleMode(input.as_raw_handle(), &mut mode) != 0
            && SetConsoleMode(
                input.as_raw_handle(),
                mode & !(ENABLE_ECHO_INPUT | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT),
            ) != 0
    };
    if set {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Ends every child process of this one (here: the watchdog), and waits
/// for each to be gone.
#[cfg(windows)]
fn kill_children() -> std::io::Result<()> {
    use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, Process32FirstW, Process32NextW, PROCESSENTRY32W,
        TH32CS_SNAPPROCESS,
    };
    use windows_sys::Win32::System::Threading::{
        OpenProcess, TerminateProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
    };
    let mut children = Vec::new();
    // SAFETY: a snapshot we close below, walked with a structure of the
    // size it is told.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if snapshot == INVALID_HANDLE_VALUE {
            return Err(std::io::Error::last_os_error());
        }
        let mut entry: PROCESSENTRY32W = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
        let mut more = Process32FirstW(snapshot, &mut entry) != 0;
        while more {
            if entry.th32ParentProcessID == std::process::id() {
                children.push(entry.th32ProcessID);
            }
            more = Process32NextW(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
    }
    if children.is_empty() {
        return Err(std::io::Error::other("no watchdog to kill"));
    }
    for pid in children {
        // SAFETY: a handle to a child of ours, closed below.
        unsafe {
            let child = OpenProcess(PROCESS_TERMINATE | PROCESS_SYNCHRONIZE, 0, pid);
            if !child.is_null() {
                TerminateProcess(child, 1);
                WaitForSingleObject(child, 5_000);
                CloseHandle(child);
            }
        }
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn main() {
    println!("this example is about Unix crash signals and terminals");
}
