//! The `#[atexit::handler]` attribute. Use it through the `atexit` crate, which
//! documents it.

#![deny(missing_docs)]

mod args;
mod handler;

use proc_macro::TokenStream;

/// Registers a zero-argument function to run at exit, at load time. See
/// `atexit::handler` for the documentation.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    handler::expand(args.into(), item.into()).into()
}
