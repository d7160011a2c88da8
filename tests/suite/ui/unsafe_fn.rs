#[atexit::handler]
unsafe fn flush() {}

fn main() {}
