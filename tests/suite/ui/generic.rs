#[atexit::handler]
fn flush<T: Default>() {
    let _ = T::default();
}

fn main() {}
