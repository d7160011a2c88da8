//! Handlers registered at load time by `#[atexit::handler]`.
//!
//! Each one is an `inventory` item. `inventory` (like `ctor` and `linkme`)
//! hands them over in no particular order, so the registry sorts them by a key
//! of its own: priority, then crate name, file, line and column. Taken in that
//! order as registration order, they run in reverse: higher priorities first,
//! and within a file the function declared last runs first, as Python's
//! decorators do.

use crate::callback::{Callback, VTable};
use std::cmp::Ordering as CmpOrdering;

/// One `#[atexit::handler]` function. Built by the macro; not public API.
#[doc(hidden)]
pub struct StaticHandler {
    vtable: &'static VTable,
    priority: i32,
    module: &'static str,
    file: &'static str,
    line: u32,
    column: u32,
}

inventory::collect!(StaticHandler);

impl StaticHandler {
    /// Describes the zero-sized function `function` declared at that place.
    #[doc(hidden)]
    pub const fn new<F: FnOnce() + Copy + Send + 'static>(
        _function: F,
        priority: i32,
        module: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
    ) -> Self {
        StaticHandler {
            vtable: Callback::zero_sized_vtable::<F>(),
            priority,
            module,
            file,
            line,
            column,
        }
    }

    /// Priority, then place in the source: crate, file, line, column. Module
    /// paths are not used, so inline modules keep their place in the file.
    fn registration_order(&self, other: &Self) -> CmpOrdering {
        let key = |handler: &Self| {
            let krate = handler.module.split("::").next().unwrap_or_default();
            (
                handler.priority,
                krate,
                handler.file,
                handler.line,
                handler.column,
            )
        };
        key(self).cmp(&key(other))
    }
}

/// The `#[atexit::handler]` functions the registry has taken in, by address.
pub(crate) struct Taken {
    addresses: Vec<usize>,
}

impl Taken {
    pub(crate) const fn new() -> Self {
        Taken {
            addresses: Vec::new(),
        }
    }

    /// The handlers not taken yet, in registration order. Normally all of them
    /// on the first call and none after; later calls pick up handlers whose
    /// constructors ran after `atexit` was first used (from another
    /// constructor). When nothing is new this costs one walk of the list.
    pub(crate) fn take_new(&mut self) -> Vec<Callback> {
        let handlers = || inventory::iter::<StaticHandler>.into_iter();
        if handlers().count() == self.addresses.len() {
            return Vec::new();
        }
        let address = |handler: &StaticHandler| handler as *const StaticHandler as usize;
        let mut new: Vec<&'static StaticHandler> = handlers()
            .filter(|handler| self.addresses.binary_search(&address(handler)).is_err())
            .collect();
        self.addresses
            .extend(new.iter().map(|handler| address(handler)));
        self.addresses.sort_unstable();
        new.sort_unstable_by(|a, b| a.registration_order(b));
        new.into_iter()
            .map(|handler| Callback::from_zero_sized(handler.vtable))
            .collect()
    }
}
