// `crate = "..."` finds the library under another name, and priorities may be
// negative.
extern crate atexit as cleanup;

#[cleanup::handler(crate = "cleanup", priority = -10)]
fn flush_logs() {}

#[cleanup::handler(priority = 10)]
pub(crate) fn close_files() {}

fn main() {
    // The function keeps its name and can be called.
    flush_logs();
    close_files();
}
