#[atexit::handler(priority(1))]
fn flush() {}

fn main() {}
