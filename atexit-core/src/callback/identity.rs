//! Which function a registration stands for, so that `unregister(func)`
//! removes every registration of `func` and nothing else (Python's
//! `unregister`, with any arguments), and a report can name it.
//!
//! # The invariant, and the type that carries it
//!
//! Functions are told apart by type first: each fn item and each closure has
//! a type of its own, so for them the type says it all. A fn pointer's type
//! is shared by every function of that signature, so for a fn pointer the
//! address is compared too, and that address has to be read from the stored
//! value, whose type the registry has erased.
//!
//! That read used to rely on a layout: `Callback::new::<R, F>` took any
//! value `R` and any identity `F`, and `is_same_function` read an `F` from
//! offset 0 of the stored `R`, which held only because every caller passed a
//! `repr(transparent)` or `repr(C)` wrapper with the function first. Nothing
//! in the types said so: a new wrapper with its fields the other way round,
//! or an identity that is not in the value at all, compiled and read
//! whatever bytes were there (uninitialized ones, for a value smaller than
//! a word).
//!
//! Now the value says what it stands for: [`Identified`] gives the identity
//! as a type, [`Identified::Function`], and as a value, a reference to it
//! ([`Identified::function`]). `Callback::new` takes the identity from the
//! value's type, so a registration cannot be paired with a function it does
//! not hold, and the address is read through that reference, as an ordinary
//! field access, so no layout has to hold and the trait is safe to
//! implement: a wrong `function` can make `unregister` miss or remove the
//! wrong registration, never read memory it should not. What is left unsafe
//! is local and checked where it is done: reading a fn pointer's bits as its
//! address ([`fn_pointer_address`]), and the erased storage's own rule that
//! a word holds the value it was made with (`erased.rs`).

use std::any::type_name;
use std::mem::{self, size_of};

/// A value the registry stores, and the function it stands for: what
/// `unregister(func)` compares with and a report names. See the module docs
/// for why this is a trait of the value and not a type chosen by the caller.
pub(crate) trait Identified {
    /// The function the user named: a fn item, a closure or a fn pointer
    /// type (for `register(f)`, `register!(f, args)` and
    /// `register_async(f)`, the type of `f`).
    type Function: 'static;

    /// That function, as the value holds it.
    fn function(&self) -> &Self::Function;
}

/// The address of `func` when `F` is a fn pointer type, whose type is shared
/// by every function of its signature; `None` for a fn item or a closure,
/// whose type is the whole of its identity. As reliable as fn-pointer
/// equality in Rust: identical functions may share an address, one function
/// may have two.
pub(crate) fn fn_pointer_address<F>(func: &F) -> Option<usize> {
    if !is_fn_pointer::<F>() {
        return None;
    }
    // SAFETY: `is_fn_pointer` checked that `F` is a fn pointer type, of the
    // size of a `usize`; a fn pointer is one initialized word (no padding),
    // so its bits read as a `usize` are its address.
    Some(unsafe { mem::transmute_copy::<F, usize>(func) })
}

/// Whether `F` is a function pointer type (`fn(..)`, `extern "C" fn(..)`,
/// `for<'a> fn(&'a ..)`) rather than a fn item or closure, read off its type
/// name. The test `fn_pointer_names` pins the format this relies on.
fn is_fn_pointer<F>() -> bool {
    if size_of::<F>() != size_of::<usize>() {
        return false;
    }
    let name = type_name::<F>();
    let name = name.strip_prefix("unsafe ").unwrap_or(name);
    name.starts_with("fn(") || name.starts_with("extern ") || name.starts_with("for<")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() {
        std::hint::black_box("hello");
    }

    #[test]
    fn fn_pointer_names() {
        assert!(is_fn_pointer::<fn()>());
        assert!(is_fn_pointer::<fn(&str)>());
        assert!(is_fn_pointer::<extern "C" fn()>());
        assert!(is_fn_pointer::<unsafe fn()>());
        assert!(is_fn_pointer::<for<'a> fn(&'a str) -> &'a str>());
        fn item_of<F>(_: F) -> bool {
            is_fn_pointer::<F>()
        }
        assert!(!item_of(hello));
        let word = 7usize;
        assert!(!item_of(move || assert_eq!(word, 7)));
        assert!(!is_fn_pointer::<usize>());
    }

    #[test]
    fn only_fn_pointers_have_an_address() {
        let pointer: fn() = hello;
        assert_eq!(fn_pointer_address(&pointer), Some(pointer as usize));
        assert_eq!(fn_pointer_address(&hello), None);
        assert_eq!(fn_pointer_address(&7usize), None);
    }
}
