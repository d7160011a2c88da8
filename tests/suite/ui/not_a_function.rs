#[atexit::handler]
struct Flusher {
    pending: Vec<String>,
}

fn main() {}
