//! What `unregister` accepts: fn items of any arity `register!` takes, fn
//! pointers, async fns, and closures. A closure written in the call never
//! matches (documented); a `Copy` closure registered by value does.

fn flush() {}

fn cleanup(project: &str, retries: u32) {
    println!("{project} {retries}");
}

async fn close() {}

fn main() {
    atexit::register(flush);
    atexit::register!(cleanup, "project_x", 3);
    atexit::register_async(close);
    assert_eq!(atexit::unregister(flush), 1);
    assert_eq!(atexit::unregister(cleanup), 1);
    assert_eq!(atexit::unregister(close), 1);

    let pointer: fn() = flush;
    atexit::register(pointer);
    assert_eq!(atexit::unregister(pointer), 1);

    let copy = || println!("never printed");
    atexit::register(copy);
    assert_eq!(atexit::unregister(copy), 1);

    atexit::register(|| flush());
    assert_eq!(atexit::unregister(|| flush()), 0, "a new closure type: no match");
    atexit::clear();
}
