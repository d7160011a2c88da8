//! What a handler can be: the traits the public functions are bounded by
//! ([`HandlerFn`], [`CallWith`], [`Run`]) and the values a registration
//! stores ([`Plain`], [`Bound`]), each with the function it stands for
//! ([`Identified`]).
//!
//! The arities (0 to 12 arguments) are listed once, at the bottom: one
//! macro makes every impl each arity needs.

use super::identity::Identified;

/// Something the registry can run once: a plain closure or a function bound to
/// its arguments.
pub trait Run: Send + 'static {
    /// Calls it, consuming it.
    fn run(self);
}

/// A zero-argument `FnOnce`, which stands for itself: `register(f)`.
pub(crate) struct Plain<F>(pub(crate) F);

impl<F: FnOnce() + Send + 'static> Run for Plain<F> {
    fn run(self) {
        (self.0)()
    }
}

impl<F: 'static> Identified for Plain<F> {
    type Function = F;

    fn function(&self) -> &F {
        &self.0
    }
}

/// A function and the arguments it is to be called with, Python's
/// `register(func, *args)`; it stands for `func`, whatever the arguments.
pub(crate) struct Bound<F, A> {
    pub(crate) func: F,
    pub(crate) args: A,
}

impl<F: CallWith<A>, A: Send + 'static> Run for Bound<F, A> {
    fn run(self) {
        self.func.call_with(self.args)
    }
}

impl<F: 'static, A> Identified for Bound<F, A> {
    type Function = F;

    fn function(&self) -> &F {
        &self.func
    }
}

/// A closure that stands for `tag`, not for itself: tests give
/// registrations the identities they need (many closures of one function,
/// a fn pointer anywhere in the value).
#[cfg(test)]
pub(crate) struct Tagged<Tag, F> {
    pub(crate) tag: Tag,
    pub(crate) run: F,
}

#[cfg(test)]
impl<Tag: Send + 'static, F: FnOnce() + Send + 'static> Run for Tagged<Tag, F> {
    fn run(self) {
        (self.run)()
    }
}

#[cfg(test)]
impl<Tag: 'static, F> Identified for Tagged<Tag, F> {
    type Function = Tag;

    fn function(&self) -> &Tag {
        &self.tag
    }
}

/// Calls `Self` with the tuple of arguments `A`; implemented for every
/// `FnOnce(A1, ..., An)` up to twelve arguments.
pub trait CallWith<A>: Send + 'static {
    /// Calls the function with the arguments.
    fn call_with(self, args: A);
}

mod sealed {
    pub trait Sealed<Args> {}
}

/// What [`unregister`](crate::unregister) accepts: a function or closure of
/// 0 to 12 arguments, the forms [`register`](crate::register()),
/// [`register!`](crate::register!) and
/// [`register_async`](crate::register_async) take. Sealed: implemented for
/// every `FnOnce(A1, ..., An) -> R + 'static` and nothing else.
///
/// It exists so that `unregister` rejects at compile time what can never
/// match a registration: a number, a string, a [`Handle`](crate::Handle).
///
/// ```compile_fail
/// # extern crate atexit_core as atexit;
/// let handle = atexit::register(|| {});
/// atexit::unregister(handle); // error: `Handle` is not a function
/// ```
///
/// ```
/// # extern crate atexit_core as atexit;
/// fn cleanup(project: &str) {
///     println!("Cleaning up for {project}...");
/// }
/// fn removes<F: atexit::HandlerFn<Args>, Args>(func: F) -> usize {
///     atexit::unregister(func)
/// }
/// atexit::register!(cleanup, "project_x");
/// assert_eq!(removes(cleanup), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a function: `atexit::unregister` can never match it",
    label = "not a fn item, fn pointer or closure",
    note = "`unregister` removes every registration of a function: pass the function itself, \
            as in `atexit::unregister(cleanup)`",
    note = "to cancel the one registration a `Handle` names, call `handle.unregister()`"
)]
pub trait HandlerFn<Args>: sealed::Sealed<Args> + 'static {}

/// Every impl one arity needs, for each arity listed: [`CallWith`] (how
/// `register!` calls a function with its tuple of arguments), and
/// [`HandlerFn`] with its seal (what `unregister` accepts).
macro_rules! for_every_arity {
    ($( ($($arg:ident),*) )*) => {$(
        impl<Func, $($arg,)*> CallWith<($($arg,)*)> for Func
        where
            Func: FnOnce($($arg),*) + Send + 'static,
            $($arg: Send + 'static,)*
        {
            #[allow(non_snake_case)]
            fn call_with(self, ($($arg,)*): ($($arg,)*)) {
                self($($arg),*)
            }
        }

        impl<Func, Ret, $($arg,)*> sealed::Sealed<($($arg,)*)> for Func
        where
            Func: FnOnce($($arg),*) -> Ret + 'static,
        {
        }

        impl<Func, Ret, $($arg,)*> HandlerFn<($($arg,)*)> for Func
        where
            Func: FnOnce($($arg),*) -> Ret + 'static,
        {
        }
    )*};
}

// The arities, 0 to 12 arguments: the one list (the docs of `CallWith` and
// `HandlerFn` say "up to twelve").
for_every_arity! {
    ()
    (A1)
    (A1, A2)
    (A1, A2, A3)
    (A1, A2, A3, A4)
    (A1, A2, A3, A4, A5)
    (A1, A2, A3, A4, A5, A6)
    (A1, A2, A3, A4, A5, A6, A7)
    (A1, A2, A3, A4, A5, A6, A7, A8)
    (A1, A2, A3, A4, A5, A6, A7, A8, A9)
    (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10)
    (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11)
    (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12)
}
