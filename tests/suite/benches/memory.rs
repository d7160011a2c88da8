//! Memory per registration, counted by a global allocator that tallies the
//! bytes the registry asks for: a fn item, a closure capturing a `u64`, and a
//! closure capturing a short `String` (its 10 bytes of text included). Prints
//! bytes per registration, each measured in a fresh process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged and only
// counts the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn noop() {}

/// Bytes per registration for `count` registrations made by `register`.
fn per_registration(count: usize, mut register: impl FnMut(usize)) -> f64 {
    atexit::clear();
    let before = LIVE.load(Ordering::SeqCst);
    for i in 0..count {
        register(i);
    }
    let after = LIVE.load(Ordering::SeqCst);
    atexit::clear();
    (after - before) as f64 / count as f64
}

/// One measurement, in a fresh process: the slab keeps its capacity after
/// `clear`, so a second measurement in the same process would reuse it.
fn measure(kind: &str, count: usize) -> f64 {
    // The registry's first use allocates its own state: not counted.
    atexit::register(noop);
    atexit::clear();
    match kind {
        "fn item" => per_registration(count, |_| {
            atexit::register(noop);
        }),
        "closure capturing a u64" => per_registration(count, |i| {
            let i = i as u64;
            atexit::register(move || {
                std::hint::black_box(i);
            });
        }),
        "closure capturing a 10-byte String" => per_registration(count, |_| {
            // Exactly 10 bytes of text, counted with the registration.
            let name = String::from("tmp-000000");
            atexit::register(move || {
                std::hint::black_box(&name);
            });
        }),
        other => panic!("unknown kind {other}"),
    }
}

const KINDS: [&str; 3] = [
    "fn item",
    "closure capturing a u64",
    "closure capturing a 10-byte String",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--measure") {
        let kind = &args[position + 1];
        let count: usize = args[position + 2].parse().unwrap();
        println!("{}", measure(kind, count));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // A power of two fills the slab's Vec exactly; 1.5M shows the slack of its
    // doubling.
    for count in [1usize << 20, 1_500_000] {
        for kind in KINDS {
            let output = std::process::Command::new(&exe)
                .args(["--measure", kind, &count.to_string()])
                .output()
                .expect("run the measurement");
            let bytes = String::from_utf8_lossy(&output.stdout).trim().to_string();
            println!("memory/{kind}/{count} registrations: {bytes} bytes each");
        }
    }
}
