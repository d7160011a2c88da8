//! Handlers registered at load time by `#[atexit::handler]`.
//!
//! Each one is an `inventory` item. `inventory` (like `ctor` and `linkme`)
//! hands them over in no particular order, so the registry sorts them by a key
//! of its own: priority, then crate name, file, line and column. Taken in that
//! order as registration order, they run in reverse: higher priorities first,
//! and within a file the function declared last runs first, as Python's
//! decorators do.

use crate::callback::Callback;
use std::any::TypeId;

/// One `#[atexit::handler]` function. Built by the macro; not public API.
///
/// Kept small on purpose: every pointer here is a relocation the dynamic
/// loader applies at start-up, for every handler.
#[doc(hidden)]
pub struct StaticHandler {
    call: fn(),
    type_id: fn() -> TypeId,
    /// `crate::module::function`: its report name and its crate.
    name: &'static str,
    file: &'static str,
    line: u32,
    column: u32,
    priority: i32,
}

inventory::collect!(StaticHandler);

impl StaticHandler {
    /// Describes `call`, whose fn item type is `F`, named `name` and declared
    /// at that place. The macro passes the function twice: as a fn pointer to
    /// call (for an `async fn`, a closure that runs its future), and as its
    /// own type for `unregister(function)` to compare.
    #[doc(hidden)]
    pub const fn new<F: Copy + Send + 'static>(
        call: fn(),
        _identity: F,
        priority: i32,
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
    ) -> Self {
        StaticHandler {
            call,
            type_id: TypeId::of::<F>,
            name,
            file,
            line,
            column,
            priority,
        }
    }

    pub(crate) fn call(&self) {
        (self.call)()
    }

    pub(crate) fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn function_address(&self) -> *const () {
        (&self.call as *const fn()).cast()
    }

    /// Priority, then place in the source: crate, file, line, column. Module
    /// paths are not used, so inline modules keep their place in the file.
    fn registration_key(&self) -> (i32, &'static str, &'static str, u32, u32) {
        let krate = self.name.split("::").next().unwrap_or_default();
        (self.priority, krate, self.file, self.line, self.column)
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
        // Keys computed once each, not once per comparison.
        new.sort_by_cached_key(|handler| handler.registration_key());
        new.into_iter().map(Callback::from_static).collect()
    }
}
