//! Handlers registered at load time by `#[atexit::handler]`.
//!
//! Each one is an `inventory` item. `inventory` (like `ctor` and `linkme`)
//! hands them over in no particular order, so the registry sorts them by a key
//! of its own: priority, then crate name, file, line and column, then the
//! order in which the macro expanded them (for handlers that one
//! `macro_rules!` expansion declares at one line and column). Taken in that
//! order as registration order, they run in reverse: higher priorities first,
//! and within a file the function declared last runs first, as Python's
//! decorators do.

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
    /// Expansion order of the macro within its crate: ties of place.
    order: u32,
    priority: i32,
}

inventory::collect!(StaticHandler);

impl StaticHandler {
    /// Describes `call`, whose fn item type is `F`, named `name` and declared
    /// at that place. The macro passes the function twice: as a fn pointer to
    /// call (for an `async fn`, a closure that runs its future), and as its
    /// own type for `unregister(function)` to compare.
    #[doc(hidden)]
    // Called only by the macro's expansion, which names every argument's
    // source next to it; a builder would cost code in every handler.
    #[allow(clippy::too_many_arguments)]
    pub const fn new<F: Copy + Send + 'static>(
        call: fn(),
        _identity: F,
        priority: i32,
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        order: u32,
    ) -> Self {
        StaticHandler {
            call,
            type_id: TypeId::of::<F>,
            name,
            file,
            line,
            column,
            order,
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

    /// The address of the function it calls, which `unregister` compares
    /// when given a fn pointer.
    pub(crate) fn call_address(&self) -> usize {
        self.call as usize
    }

    /// Priority, then place in the source: crate, file, line, column, then
    /// expansion order. Module paths are not used, so inline modules keep
    /// their place in the file.
    pub(crate) fn registration_key(&self) -> (i32, &'static str, &'static str, u32, u32, u32) {
        let krate = self.name.split("::").next().unwrap_or_default();
        (
            self.priority,
            krate,
            self.file,
            self.line,
            self.column,
            self.order,
        )
    }
}
