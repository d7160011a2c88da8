//! Checking the function `#[atexit::handler]` is put on, and emitting its
//! load-time registration.

use crate::args;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use std::sync::atomic::{AtomicU32, Ordering};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                first_tokens(&item),
                "#[atexit::handler] goes on a function: `fn name() { ... }`",
            );
            return with_error(item, error);
        }
    };
    let args = match args::parse(args) {
        Ok(args) => args,
        Err(error) => return with_error(item, error),
    };
    if let Err(error) = check(&function) {
        return with_error(item, error);
    }
    let name = &function.sig.ident;
    let priority = args.priority;
    let order = next_expansion();
    let krate = &args.crate_path;
    let catch_signals = args.catch_signals.then(|| {
        quote! {
            #[#krate::__private::ctor::ctor(unsafe, anonymous, crate_path = #krate::__private::ctor)]
            fn __atexit_catch_signals() {
                #krate::__private::catch_signals_at_load();
            }
        }
    });
    // An `async fn` is called through a closure that runs its future; the
    // function itself still gives the identity `unregister` compares.
    let call = match (
        function.sig.asyncness.is_some(),
        named_return_type(&function),
    ) {
        (false, None) => quote!(#name),
        (true, None) => quote!(|| #krate::__private::run_async(#name)),
        // A return type by name may be `()` under another name (`type Unit
        // = ();`), which only the type checker can tell: a trait with its
        // own message checks it, at the type's span, and the call is
        // wrapped so that a wrong type gives that one error and no type
        // mismatch beside it.
        (asynchronous, Some(ty)) => {
            let check = quote_spanned!(ty.span()=> #krate::__private::returns_unit::<#ty>);
            if asynchronous {
                quote!(|| #krate::__private::run_async(|| {
                    let future = #name();
                    async move { #check(future.await) }
                }))
            } else {
                quote!(|| #check(#name()))
            }
        }
    };
    quote! {
        #function

        #catch_signals

        #krate::__private::inventory::submit! {
            #krate::__private::StaticHandler::new(#call, {
                // A function, not data: see `StaticHandler` (no relocation
                // per string at start-up).
                fn describe() -> #krate::__private::Description {
                    #krate::__private::Description::of(
                        #name,
                        #priority,
                        ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                        ::core::file!(),
                        ::core::line!(),
                        ::core::column!(),
                        #order,
                    )
                }
                describe
            })
        }
    }
}

/// The order in which this compilation expands `#[atexit::handler]`s.
///
/// `line!()` and `column!()` name the outermost macro call site, so the
/// handlers one `macro_rules!` expansion declares all share them; rustc
/// expands the items of an expansion in declaration order, and this count
/// (kept by the compiler's one copy of this proc-macro crate per crate it
/// compiles) tells them apart in that order.
fn next_expansion() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The original item and the error: keeping the item stops a second wave of
/// "cannot find function" errors where it is used.
fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#item #error)
}

/// The item's first few tokens (its keyword and name), for a span that points
/// at what the attribute is on without covering its whole body.
fn first_tokens(item: &TokenStream) -> TokenStream {
    let tokens: Vec<_> = item.clone().into_iter().collect();
    let keyword = tokens.iter().position(|token| {
        matches!(token, proc_macro2::TokenTree::Ident(ident)
            if ["struct", "enum", "union", "static", "const", "mod", "impl", "trait", "type", "use", "extern"]
                .contains(&ident.to_string().as_str()))
    });
    match keyword {
        Some(start) => tokens[start..tokens.len().min(start + 2)]
            .iter()
            .cloned()
            .collect(),
        None => item.clone(),
    }
}

fn check(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new(
            unsafety.span(),
            "#[atexit::handler] functions cannot be `unsafe fn`: the registry calls them \
             with no caller to uphold their safety conditions",
        ));
    }
    if let Some(abi) = &sig.abi {
        let is_rust = abi.name.as_ref().is_some_and(|name| name.value() == "Rust");
        if !is_rust {
            return Err(syn::Error::new_spanned(
                abi,
                "#[atexit::handler] functions cannot be `extern`: a panic in an `extern \"C\"` fn \
                 aborts the process, where a handler's panic is reported and the other handlers \
                 still run; write a plain `fn`, which may call the `extern` one",
            ));
        }
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let span = match &sig.generics.where_clause {
            Some(clause) if sig.generics.params.is_empty() => clause.to_token_stream(),
            _ => sig.generics.to_token_stream(),
        };
        return Err(syn::Error::new_spanned(
            span,
            "#[atexit::handler] functions cannot be generic: the registry calls one \
             concrete function",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[atexit::handler] functions cannot take `self`: register a free function, \
             or call `atexit::register` with a closure that owns the value",
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "#[atexit::handler] functions take no arguments: use `atexit::register!(func, args...)` \
             to register a function with arguments",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "#[atexit::handler] functions take no arguments",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        // A type by name is left to the type checker (`named_return_type`).
        let may_be_unit = matches!(&**ty, Type::Tuple(tuple) if tuple.elems.is_empty())
            || named_return_type(function).is_some();
        if !may_be_unit {
            return Err(syn::Error::new_spanned(
                ty,
                "#[atexit::handler] functions return `()`: nobody receives a value at exit, \
                 so handle or report errors inside the handler",
            ));
        }
    }
    Ok(())
}

/// The function's return type when it is a path (`Unit`, `io::Result<()>`):
/// `()` under another name or not, as only the type checker can tell.
fn named_return_type(function: &ItemFn) -> Option<&Type> {
    match &function.sig.output {
        ReturnType::Type(_, ty) if matches!(&**ty, Type::Path(_)) => Some(ty),
        _ => None,
    }
}
