//! When a process started, from `/proc`: with its pid, the start time names
//! one process, so a number that went to another process since is told
//! apart. Shared by the tied children (their `Hold`) and the watchdog
//! (its `Tie`s): one small buffer on the stack, read once or twice.

use std::io;

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks
/// since boot. With the pid it names one process: a number given to a new
/// process gets that process's own start time, and for two to share both,
/// the system would have to hand out every other pid in between within one
/// tick (10 ms).
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut buffer = [0u8; 512];
    let mut len = 0;
    while len < buffer.len() {
        match file.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let stat = &buffer[..len];
    // Fields after the command (field 2, in parentheses, which may hold
    // anything): state is field 3, the start time field 22.
    let end = stat.iter().rposition(|&byte| byte == b')')?;
    let rest = std::str::from_utf8(&stat[end + 1..]).ok()?;
    rest.split_whitespace().nth(19)?.parse().ok()
}
