// An `async fn` handler, and `unregister` finding it by its function.
#[atexit::handler]
async fn flush() {
    println!("flushed");
}

#[atexit::handler(priority = 1)]
async fn never_runs() {
    unreachable!("unregistered");
}

fn main() {
    assert_eq!(atexit::unregister(never_runs), 1);
    assert_eq!(atexit::ncallbacks(), 1);
}
