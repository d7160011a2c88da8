//! `atexit::unregister(func)` removes every registration of `func`, whatever
//! its arguments: nothing is printed at exit.

fn my_cleanup(name: &str) {
    println!("my_cleanup({name})");
}

fn main() {
    atexit::register!(my_cleanup, "first");
    atexit::register!(my_cleanup, "second");
    atexit::register!(my_cleanup, "third");

    let removed = atexit::unregister(my_cleanup);
    assert_eq!(removed, 3);
}
