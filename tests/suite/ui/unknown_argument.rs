#[atexit::handler(order = 1)]
fn flush() {}

fn main() {}
