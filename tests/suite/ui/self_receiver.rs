struct Logger;

impl Logger {
    #[atexit::handler]
    fn flush(&self) {}
}

fn main() {}
