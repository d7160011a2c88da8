#[atexit::handler]
async fn flush() {}

fn main() {}
