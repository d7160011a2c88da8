//! A type-erased `FnOnce()` in two words that still knows which function it
//! came from, so `unregister(func)` can find it and a report can name it.
//!
//! Values that fit in a pointer (fn items, fn pointers, closures capturing at
//! most one word) are stored inline; larger ones are boxed. Which function a
//! value stands for is the value's own ([`Identified`], see `identity.rs`);
//! the vtable keeps the type of that function, and reads its address (for a
//! fn pointer) through [`Identified::function`], never from a layout.
//!
//! The one rule every `unsafe` here rests on: a `Callback`'s word holds the
//! value its vtable was made for. [`Callback::new`] writes an `R` and takes
//! `R`'s vtable, [`Callback::from_static`] a `&'static StaticHandler` and the
//! static vtable; nothing else makes a `Callback` or writes its word.

use super::handler::Run;
use super::identity::{fn_pointer_address, Identified};
use crate::static_handler::StaticHandler;
use std::any::{type_name, TypeId};
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};

type Word = MaybeUninit<*mut ()>;

/// How to run, drop and identify one stored type `R`.
pub(crate) struct VTable {
    run: unsafe fn(Word),
    drop: unsafe fn(Word),
    /// Whether dropping the stored value runs any code (or frees a box).
    needs_drop: bool,
    /// The address of the function it stands for, when that is a fn pointer
    /// (see [`fn_pointer_address`]).
    fn_pointer_address: unsafe fn(&Word) -> Option<usize>,
    type_id: unsafe fn(&Word) -> TypeId,
    /// Never reads the stored value: the generic ones ignore the word, the
    /// static one reads the `&'static StaticHandler` the word is. So it
    /// may be called after the value was consumed ([`Namer`]).
    name: unsafe fn(&Word) -> &'static str,
}

fn type_id_of<F: 'static>(_: &Word) -> TypeId {
    TypeId::of::<F>()
}

fn name_of<F>(_: &Word) -> &'static str {
    type_name::<F>()
}

struct VTableOf<R>(R);

impl<R: Run + Identified> VTableOf<R> {
    const VTABLE: &'static VTable = &VTable {
        run: run_erased::<R>,
        drop: drop_erased::<R>,
        needs_drop: std::mem::needs_drop::<R>() || !is_inline::<R>(),
        fn_pointer_address: fn_pointer_address_erased::<R>,
        type_id: type_id_of::<R::Function>,
        name: name_of::<R::Function>,
    };
}

/// The one vtable of every `#[atexit::handler]` function: the word points to
/// its `StaticHandler`, which knows the rest. One shared table, rather than
/// one per function, keeps load-time relocations and code per handler low.
static STATIC_VTABLE: VTable = VTable {
    run: |word| {
        // SAFETY: the word of a static entry is a `&'static StaticHandler`.
        unsafe { static_handler(&word) }.call()
    },
    drop: |_| {},
    needs_drop: false,
    fn_pointer_address: |word| {
        // SAFETY: as above.
        Some(unsafe { static_handler(word) }.call_address())
    },
    type_id: |word| {
        // SAFETY: as above.
        unsafe { static_handler(word) }.type_id()
    },
    name: |word| {
        // SAFETY: as above.
        unsafe { static_handler(word) }.name()
    },
};

/// # Safety
/// `word` was made by [`Callback::from_static`].
unsafe fn static_handler(word: &Word) -> &'static StaticHandler {
    // SAFETY: `from_static` stored a `&'static StaticHandler` in the word.
    unsafe { &*word.assume_init().cast::<StaticHandler>() }
}

const fn is_inline<R>() -> bool {
    size_of::<R>() <= size_of::<Word>() && align_of::<R>() <= align_of::<Word>()
}

/// Moves the stored `R` out of `word`.
///
/// # Safety
/// `word` holds an `R` written by [`Callback::new`] that was not yet moved out.
unsafe fn take<R>(word: Word) -> R {
    if is_inline::<R>() {
        // SAFETY: `new` wrote an `R` at the start of the word; `word` is our own copy.
        unsafe { word.as_ptr().cast::<R>().read() }
    } else {
        // SAFETY: `new` stored `Box::into_raw` of a `Box<R>` in the word.
        unsafe { *Box::from_raw(word.assume_init().cast::<R>()) }
    }
}

unsafe fn run_erased<R: Run>(word: Word) {
    // SAFETY: the caller passes a word that holds an `R` (see `Callback::run`).
    unsafe { take::<R>(word) }.run()
}

unsafe fn drop_erased<R: Run>(word: Word) {
    // SAFETY: the caller passes a word that holds an `R` (see `Drop for Callback`).
    drop(unsafe { take::<R>(word) })
}

/// The stored `R`, borrowed.
///
/// # Safety
/// `word` holds an `R` written by [`Callback::new`] that was not yet moved out.
unsafe fn stored<R>(word: &Word) -> &R {
    if is_inline::<R>() {
        // SAFETY: `new` wrote an `R` at the start of the word, aligned for it.
        unsafe { &*word.as_ptr().cast::<R>() }
    } else {
        // SAFETY: `new` stored `Box::into_raw` of a `Box<R>` in the word.
        unsafe { &*word.assume_init().cast::<R>() }
    }
}

unsafe fn fn_pointer_address_erased<R: Identified>(word: &Word) -> Option<usize> {
    // SAFETY: the caller passes a word that holds an `R` (see
    // `Callback::is_at`).
    fn_pointer_address(unsafe { stored::<R>(word) }.function())
}

/// One registered handler: a vtable pointer and one word of data.
pub(crate) struct Callback {
    vtable: &'static VTable,
    word: Word,
}

// SAFETY: `Callback::new` only accepts `R: Send`; the raw word is that `R` or a
// `Box<R>` that nothing else points to.
unsafe impl Send for Callback {}

impl Callback {
    /// Stores `value`, which stands for the function `F`. `F` is the
    /// value's own identity ([`Identified::Function`]), named at the call
    /// site only so that it reads which function a registration is of
    /// (`Callback::new::<_, F>(Plain(handler))`): no other type is accepted.
    pub(crate) fn new<R, F>(value: R) -> Self
    where
        R: Run + Identified<Function = F>,
        F: 'static,
    {
        let mut word = Word::uninit();
        if is_inline::<R>() {
            // SAFETY: `R` fits in the word in size and alignment (`is_inline`).
            unsafe { word.as_mut_ptr().cast::<R>().write(value) };
        } else {
            word = Word::new(Box::into_raw(Box::new(value)).cast());
        }
        Callback {
            vtable: VTableOf::<R>::VTABLE,
            word,
        }
    }

    /// The entry of a `#[atexit::handler]` function.
    pub(crate) fn from_static(handler: &'static StaticHandler) -> Self {
        Callback {
            vtable: &STATIC_VTABLE,
            word: Word::new((handler as *const StaticHandler).cast_mut().cast()),
        }
    }

    /// The `#[atexit::handler]` function it stands for, if it is one.
    pub(crate) fn as_static(&self) -> Option<&'static StaticHandler> {
        // SAFETY: only `from_static` makes entries with the static vtable, and
        // their word is a `&'static StaticHandler`.
        std::ptr::eq(self.vtable, &STATIC_VTABLE).then(|| unsafe { static_handler(&self.word) })
    }

    /// Runs the handler, consuming it. A panic propagates to the caller.
    pub(crate) fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `word` holds the value `new` stored, and `ManuallyDrop`
        // keeps `Drop` from touching it again after `run` moved it out.
        unsafe { (this.vtable.run)(this.word) }
    }

    /// Whether dropping it runs code (a destructor, or freeing its box). One
    /// that does not may be dropped under the registry's lock.
    pub(crate) fn needs_drop(&self) -> bool {
        self.vtable.needs_drop
    }

    /// What names it, kept apart from it: valid after it ran or was
    /// dropped, so the run loop reads the name only when something asks
    /// (a panic's report, a progress report), not for every handler.
    pub(crate) fn namer(&self) -> Namer {
        Namer {
            vtable: self.vtable,
            word: self.word,
        }
    }

    /// The name of the function it stands for (`crate::module::function`).
    #[cfg(test)]
    pub(crate) fn name(&self) -> &'static str {
        self.namer().name()
    }

    /// The type of the function it stands for.
    pub(crate) fn type_id(&self) -> TypeId {
        // SAFETY: the vtable's functions take the word they were made with.
        unsafe { (self.vtable.type_id)(&self.word) }
    }

    /// Whether it stands for exactly the function `func`. Fn items and closures
    /// each have a type of their own, so their type says it all; a fn pointer's
    /// type is shared by every function of that signature, so its address is
    /// compared as well, which is only as reliable as fn-pointer equality in
    /// Rust (identical functions may share an address, one function may have
    /// two). (`unregister` finds the registrations of `F`'s type through
    /// the function index and asks [`is_at`](Callback::is_at) of each, with
    /// the address computed once.)
    #[cfg(test)]
    pub(crate) fn is_same_function<F: 'static>(&self, func: &F) -> bool {
        self.type_id() == TypeId::of::<F>() && self.is_at(fn_pointer_address(func))
    }

    /// The second half of [`is_same_function`](Callback::is_same_function),
    /// with no type parameter, for a callback already known to be of the function's type (the function
    /// index files registrations by type): whether it is the one at
    /// `address`, for a fn pointer. Skipping the type's check saves a call
    /// through the vtable into code of that type, which with thousands of
    /// distinct functions is a cache miss each.
    pub(crate) fn is_at(&self, address: Option<usize>) -> bool {
        match address {
            // A fn item or a closure: its type is the whole identity.
            None => true,
            address => {
                // SAFETY: the vtable's functions take the word they were
                // made with.
                let stored = unsafe { (self.vtable.fn_pointer_address)(&self.word) };
                stored == address
            }
        }
    }
}

/// The name of a callback, to be read later: its vtable and a copy of its
/// word ([`Callback::namer`]).
#[derive(Clone, Copy)]
pub(crate) struct Namer {
    vtable: &'static VTable,
    word: Word,
}

impl Namer {
    /// The name of the function the callback stood for.
    pub(crate) fn name(&self) -> &'static str {
        // SAFETY: `vtable.name` never reads the stored value (see
        // `VTable::name`), only, for a static handler, the word itself,
        // which points to a `'static` `StaticHandler`: a copy made from a
        // callback with this vtable is enough, whatever became of it.
        unsafe { (self.vtable.name)(&self.word) }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        // Most registrations (fn items, small `Copy` closures) have nothing
        // to drop: a field read instead of a call into their type's code.
        if self.vtable.needs_drop {
            // SAFETY: a `Callback` that was not run still holds its value;
            // `run` uses `ManuallyDrop`, so this is the only place that
            // drops it.
            unsafe { (self.vtable.drop)(self.word) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::{Bound, CallWith, Plain, Tagged};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // Distinct bodies: identical functions may be merged into one address in
    // release builds, which is why fn-pointer identity is best effort.
    fn hello() {
        std::hint::black_box("hello");
    }
    fn goodbye() {
        std::hint::black_box(17_u64);
    }
    fn with_arg(text: &str) {
        std::hint::black_box(text);
    }

    #[test]
    fn sizes() {
        assert_eq!(size_of::<Callback>(), 2 * size_of::<usize>());
        assert_eq!(size_of::<Option<Callback>>(), 2 * size_of::<usize>());
    }

    #[test]
    fn runs_inline_and_boxed_values_once() {
        let count = Arc::new(AtomicUsize::new(0));
        let small = {
            let count = Arc::clone(&count);
            Callback::new(Plain(move || {
                count.fetch_add(1, Ordering::SeqCst);
            }))
        };
        let big_payload = [1u64; 16];
        let big = {
            let count = Arc::clone(&count);
            Callback::new(Plain(move || {
                count.fetch_add(big_payload.len(), Ordering::SeqCst);
            }))
        };
        small.run();
        big.run();
        assert_eq!(count.load(Ordering::SeqCst), 17);
        assert_eq!(
            Arc::strong_count(&count),
            1,
            "captures were dropped after running"
        );
    }

    #[test]
    fn drops_unrun_values() {
        let token = Arc::new(());
        let inline = Callback::new(Plain({
            let token = Arc::clone(&token);
            move || drop(token)
        }));
        let boxed = Callback::new(Plain({
            let token = Arc::clone(&token);
            let pad = [0u8; 64];
            move || drop((token, pad))
        }));
        assert_eq!(Arc::strong_count(&token), 3);
        drop(inline);
        drop(boxed);
        assert_eq!(Arc::strong_count(&token), 1);
    }

    fn plain<F: FnOnce() + Send + 'static>(f: F) -> Callback {
        Callback::new::<_, F>(Plain(f))
    }

    fn bound<F: CallWith<A>, A: Send + 'static>(func: F, args: A) -> Callback {
        Callback::new::<_, F>(Bound { func, args })
    }

    #[test]
    fn identity_and_names() {
        let a = plain(hello);
        assert!(a.is_same_function(&hello));
        assert!(!a.is_same_function(&goodbye));
        assert!(a.name().ends_with("::hello"), "{}", a.name());

        let with_args = bound(with_arg, ("first",));
        assert!(with_args.is_same_function(&with_arg));
        assert!(!with_args.is_same_function(&hello));
        assert!(with_args.name().ends_with("::with_arg"));
    }

    #[test]
    fn fn_pointers_compare_by_address() {
        let p: fn() = hello;
        let q: fn() = goodbye;
        let stored = plain(p);
        assert!(stored.is_same_function(&p));
        assert!(!stored.is_same_function(&q));
        let p_arg: fn(&str) = with_arg;
        let p_other: fn(&str) = |text| {
            std::hint::black_box(text.len());
        };
        let with_args = bound(p_arg, ("x",));
        assert!(with_args.is_same_function(&p_arg));
        assert!(!with_args.is_same_function(&p_other));
    }

    /// The identity is the value's own, read through `Identified`, so it
    /// holds whatever the layout: here a fn pointer that need not be at
    /// offset 0, in a value boxed (bigger than a word) or stored inline.
    #[test]
    fn a_fn_pointer_identity_holds_at_any_offset() {
        let p: fn() = hello;
        let q: fn() = goodbye;
        let payload = [7u64; 8];
        let boxed = Callback::new(Tagged {
            run: move || {
                std::hint::black_box(payload);
            },
            tag: p,
        });
        assert!(boxed.is_same_function(&p));
        assert!(!boxed.is_same_function(&q));
        let inline = Callback::new(Tagged { run: || {}, tag: p });
        assert!(inline.is_same_function(&p));
        assert!(!inline.is_same_function(&q));
        assert!(
            !inline.is_same_function(&hello),
            "a fn item is not its pointer"
        );
        boxed.run();
        inline.run();
    }

    #[test]
    fn static_handlers_share_one_vtable() {
        static RAN: AtomicUsize = AtomicUsize::new(0);
        fn bump() {
            RAN.fetch_add(1, Ordering::SeqCst);
        }
        fn describe() -> crate::static_handler::Description {
            crate::static_handler::Description::of(bump, 0, "m::bump", "f.rs", 1, 1, 0)
        }
        static HANDLER: StaticHandler = StaticHandler::new(bump, describe);
        let cb = Callback::from_static(&HANDLER);
        assert!(cb.is_same_function(&bump));
        assert!(!cb.is_same_function(&hello));
        assert_eq!(cb.name(), "m::bump");
        assert!(!cb.needs_drop());
        cb.run();
        assert_eq!(RAN.load(Ordering::SeqCst), 1);
        assert!(std::ptr::eq(
            Callback::from_static(&HANDLER).vtable,
            Callback::from_static(&HANDLER).vtable
        ));
    }
}
