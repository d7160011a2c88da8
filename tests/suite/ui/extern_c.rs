#[atexit::handler]
extern "C" fn flush() {}

fn main() {}
