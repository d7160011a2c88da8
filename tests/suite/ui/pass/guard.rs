//! A `Guard` cancels its registration when dropped; `keep` disarms it.

fn main() {
    let guard = atexit::register(|| panic!("cancelled")).cancel_on_drop();
    let handle = guard.handle();
    assert!(handle.is_registered());
    drop(guard);
    assert!(!handle.is_registered());

    let kept = atexit::register(|| println!("kept")).cancel_on_drop().keep();
    assert!(kept.is_registered());
    assert!(kept.unregister());
}
