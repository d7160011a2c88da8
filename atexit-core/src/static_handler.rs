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
/// Two code pointers and nothing else, on purpose: every pointer in a static
/// is a relocation the dynamic loader applies at start-up, and dirties the
/// page it is on (a copy-on-write fault per 4 KiB), for every handler. What
/// describes the handler (its identity, name and place) is returned by a
/// function instead, whose string literals are reached from its code
/// (PC-relative), not through relocated pointers. Measured with 1,000
/// handlers: the 64-byte item of before cost 64 KiB of relocated data (16
/// faults) and 4 relocations a handler before `main` (BENCHMARKS.md).
#[doc(hidden)]
pub struct StaticHandler {
    call: fn(),
    describe: fn() -> Description,
}

/// What describes a [`StaticHandler`], made when asked for. Built by the
/// macro; not public API.
#[doc(hidden)]
pub struct Description {
    type_id: TypeId,
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

impl Description {
    /// Describes the handler whose fn item (or, for an `async fn`, whose
    /// function) is `identity`, of type `F`, named `name` and declared at
    /// that place. The type is what `unregister(function)` compares.
    #[doc(hidden)]
    // Called only by the macro's expansion, which names every argument's
    // source next to it; a builder would cost code in every handler.
    #[allow(clippy::too_many_arguments)]
    pub fn of<F: Copy + Send + 'static>(
        _identity: F,
        priority: i32,
        name: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        order: u32,
    ) -> Self {
        Description {
            type_id: TypeId::of::<F>(),
            name,
            file,
            line,
            column,
            order,
            priority,
        }
    }
}

impl StaticHandler {
    /// The handler that calls `call` (for an `async fn`, a closure that
    /// runs its future) and that `describe` describes.
    #[doc(hidden)]
    pub const fn new(call: fn(), describe: fn() -> Description) -> Self {
        StaticHandler { call, describe }
    }

    pub(crate) fn call(&self) {
        (self.call)()
    }

    pub(crate) fn type_id(&self) -> TypeId {
        (self.describe)().type_id
    }

    pub(crate) fn name(&self) -> &'static str {
        (self.describe)().name
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
        let about = (self.describe)();
        let krate = about.name.split("::").next().unwrap_or_default();
        (
            about.priority,
            krate,
            about.file,
            about.line,
            about.column,
            about.order,
        )
    }
}
