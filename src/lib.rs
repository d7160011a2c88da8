//! placeholder
pub use atexit_core::*;
pub use atexit_macros::handler;
