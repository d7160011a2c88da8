//! The crate's one way to say something on stderr: `atexit: `, the text,
//! a newline, written by raw writes without Rust's stderr lock (which a
//! stuck thread may hold for good) and given up on when stderr stays
//! unwritable (a full pipe nobody reads): a warning never stops the exit.
//!
//! Not for the signal handler, which may not allocate: the deadline's timer
//! in a forked child formats its report on the stack (`exit::deadline`).

use crate::os;
use std::fmt;
use std::time::Duration;

/// How long a warning waits for stderr at most, unless told otherwise.
pub(crate) const PATIENCE: Duration = Duration::from_secs(1);

/// Writes `atexit: {text}` and a newline to stderr, waiting at most
/// [`PATIENCE`] for it to take them.
pub(crate) fn warn(text: fmt::Arguments<'_>) {
    warn_within(text, PATIENCE)
}

/// As [`warn`], waiting at most `patience`.
pub(crate) fn warn_within(text: fmt::Arguments<'_>, patience: Duration) {
    os::write_stderr(format!("atexit: {text}\n").as_bytes(), patience)
}
