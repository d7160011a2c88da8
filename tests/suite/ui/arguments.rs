#[atexit::handler]
fn flush(path: &str, retries: u32) {
    let _ = (path, retries);
}

fn main() {}
