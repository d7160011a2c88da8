//! A registered handler and what a handler can be.
//!
//! - `handler`: the traits the public functions are bounded by
//!   (`HandlerFn`, `CallWith`, `Run`), the values a registration stores
//!   (`Plain`, `Bound`), and the one list of arities;
//! - `identity`: which function a stored value stands for (`Identified`),
//!   the type that carries what `unregister(func)` relies on;
//! - `erased`: `Callback`, one registration as the registry keeps it, in
//!   two words, type-erased but still knowing which function it came from.

mod erased;
mod handler;
mod identity;

pub(crate) use erased::Callback;
#[cfg(test)]
pub(crate) use handler::Tagged;
pub(crate) use handler::{Bound, Plain};
pub use handler::{CallWith, HandlerFn, Run};
pub(crate) use identity::{fn_pointer_address, Identified};
