fn cleanup() {}

fn main() {
    atexit::register(cleanup);
    atexit::unregister("cleanup");
}
