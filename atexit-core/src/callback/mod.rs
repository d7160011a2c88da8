//! A registered handler and what a handler can be.
//!
//! - `handler`: the traits the public functions are bounded by
//!   (`HandlerFn`, `CallWith`, `Run`), the values a registration stores
//!   (`Plain`, `Bound`), and the one list of arities;
//! - `erased`: `Callback`, one registration as the registry keeps it, in
//!   two words, type-erased but still knowing which function it came from.

mod erased;
mod handler;

pub(crate) use erased::Callback;
pub(crate) use handler::{Bound, Plain};
pub use handler::{CallWith, HandlerFn, Run};
