fn main() {
    let handle = atexit::register(|| println!("cleanup"));
    atexit::unregister(handle);
}
