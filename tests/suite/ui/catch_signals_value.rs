#[atexit::handler(catch_signals = true)]
fn flush() {}

fn main() {}
