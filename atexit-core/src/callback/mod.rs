//! A registered handler (see `erased.rs`).

mod erased;

pub use erased::*;
