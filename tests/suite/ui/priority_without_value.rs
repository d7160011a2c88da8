#[atexit::handler(priority)]
fn flush() {}

fn main() {}
