//! Give the terminal back as it was however a full-screen program ends.
//!
//! A TUI puts the terminal in raw mode (no echo, no line editing), switches to
//! the alternate screen and hides the cursor. If it ends without undoing that
//! (`std::process::exit` deep in the code, a signal, a panic), the shell is
//! left with no echo, no visible cursor and the program's last screen: the
//! user has to type `reset` blind.
//!
//! One exit handler, registered before the terminal is changed, undoes it on
//! every exit.
//!
//! A panic message is printed before the exit handlers run, so on a real
//! terminal it lands on the alternate screen and disappears with it. Programs
//! that want it visible also call `restore_terminal` from a panic hook, as
//! `ratatui::init` does.
//!
//! ```text
//! $ cargo run -p atexit-real-world --example terminal_restore -- exit
//! ```
//!
//! The argument says how the program ends once a key is pressed: `return`,
//! `exit` (`std::process::exit(3)`) or `panic`. With `signal` it ignores keys
//! and waits for SIGTERM: send it with `kill -TERM <pid>` from another
//! terminal (in raw mode, Ctrl+C is a key press, not SIGINT). The program
//! prints `ready` once the terminal is set up.

use std::io::{self, Write};
use std::time::Duration;

use crossterm::{cursor, event, execute, terminal};

fn restore_terminal() {
    let mut stdout = io::stdout();
    // Each step on its own: one failing must not keep the others from running.
    if let Err(error) = execute!(stdout, terminal::LeaveAlternateScreen, cursor::Show) {
        eprintln!("cannot restore the screen: {error}");
    }
    if let Err(error) = terminal::disable_raw_mode() {
        eprintln!("cannot leave raw mode: {error}");
    }
}

fn main() -> io::Result<()> {
    let ending = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "return".to_owned());
    if !["return", "exit", "panic", "signal"].contains(&ending.as_str()) {
        eprintln!("unknown ending {ending:?}: return, exit, panic or signal");
        std::process::exit(2);
    }

    atexit::catch_signals()?;
    // Registered first, so that a failure half-way through the set-up is undone too.
    atexit::register(restore_terminal);

    terminal::enable_raw_mode()?;
    let mut stdout = io::stdout();
    execute!(
        stdout,
        terminal::EnterAlternateScreen,
        cursor::Hide,
        cursor::MoveTo(0, 0)
    )?;
    // Raw mode turns off the "\n" to "\r\n" translation.
    write!(stdout, "ready\r\n")?;
    stdout.flush()?;

    if ending == "signal" {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    wait_for_key()?;

    match ending.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the TUI failed"),
        _ => Ok(()),
    }
}

fn wait_for_key() -> io::Result<()> {
    loop {
        if let event::Event::Key(_) = event::read()? {
            return Ok(());
        }
    }
}
