#[atexit::handler(priority = "last")]
fn flush() {}

fn main() {}
