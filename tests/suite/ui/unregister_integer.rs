fn main() {
    atexit::unregister(42u8);
}
