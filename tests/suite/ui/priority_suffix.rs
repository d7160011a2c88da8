#[atexit::handler(priority = 300u8)]
fn flush() {}

fn main() {}
