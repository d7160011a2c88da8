//! Child processes that end with this one (see `exit_child.rs`).

#[path = "exit_child.rs"]
mod exit_child;

pub use exit_child::*;
