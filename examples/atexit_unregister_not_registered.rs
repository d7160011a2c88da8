//! Unregistering a function that was never registered is not an error.

fn my_cleanup(name: &str) {
    println!("my_cleanup({name})");
}

fn main() {
    if atexit::unregister(my_cleanup) != 0 {
        eprintln!("unregister removed a registration that never existed");
        std::process::exit(1);
    }
}
