struct Logger;

impl Logger {
    #[atexit::handler]
    fn flush() {}
}

fn main() {}
