//! 16,384 distinct functions, `distinct::<0>` to `distinct::<16383>`, each a
//! fn item of its own type, for the `unregister(func)` benchmarks. Registered
//! and unregistered in blocks of 1,024 through tables of plain fn pointers.

#![allow(dead_code)]

/// One distinct function; its body differs from every other's too.
fn distinct<const N: usize>() {
    std::hint::black_box(N);
}

macro_rules! four {
    ($action:ident, $base:expr) => {
        $action!({ $base });
        $action!({ $base + 1 });
        $action!({ $base + 2 });
        $action!({ $base + 3 });
    };
}

macro_rules! sixty_four {
    ($action:ident, $base:expr) => {
        four!($action, $base);
        four!($action, $base + 4);
        four!($action, $base + 8);
        four!($action, $base + 12);
        four!($action, $base + 16);
        four!($action, $base + 20);
        four!($action, $base + 24);
        four!($action, $base + 28);
        four!($action, $base + 32);
        four!($action, $base + 36);
        four!($action, $base + 40);
        four!($action, $base + 44);
        four!($action, $base + 48);
        four!($action, $base + 52);
        four!($action, $base + 56);
        four!($action, $base + 60);
    };
}

macro_rules! block {
    ($action:ident, $base:expr) => {
        sixty_four!($action, $base);
        sixty_four!($action, $base + 64);
        sixty_four!($action, $base + 128);
        sixty_four!($action, $base + 192);
        sixty_four!($action, $base + 256);
        sixty_four!($action, $base + 320);
        sixty_four!($action, $base + 384);
        sixty_four!($action, $base + 448);
        sixty_four!($action, $base + 512);
        sixty_four!($action, $base + 576);
        sixty_four!($action, $base + 640);
        sixty_four!($action, $base + 704);
        sixty_four!($action, $base + 768);
        sixty_four!($action, $base + 832);
        sixty_four!($action, $base + 896);
        sixty_four!($action, $base + 960);
    };
}

// Out of line: 1,024 inlined copies of `register` in one function made the
// optimizer take minutes.
#[inline(never)]
fn register_distinct<const N: usize>() {
    atexit::register(distinct::<N>);
}

#[inline(never)]
fn unregister_distinct<const N: usize>() {
    std::hint::black_box(atexit::unregister(distinct::<N>));
}

macro_rules! register_one {
    ($n:expr) => {
        register_distinct::<$n>();
    };
}

macro_rules! unregister_one {
    ($n:expr) => {
        unregister_distinct::<$n>();
    };
}

macro_rules! blocks {
    ($action:ident: $($k:literal)*) => {
        [$(|| { block!($action, $k * 1024); }),*]
    };
}

/// Functions per block.
pub const BLOCK: usize = 1024;

/// `REGISTER[k]()` registers the k-th block of 1,024 distinct functions.
pub const REGISTER: [fn(); 16] = blocks!(register_one: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);

/// `UNREGISTER[k]()` unregisters the k-th block, one function at a time.
pub const UNREGISTER: [fn(); 16] = blocks!(unregister_one: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
