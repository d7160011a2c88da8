//! The arguments of `#[atexit::handler(...)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, Meta, Path, Token, UnOp};

pub(crate) struct Args {
    pub(crate) priority: i32,
    pub(crate) catch_signals: bool,
    pub(crate) crate_path: Path,
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut priority = None;
    let mut crate_path = None;
    let mut catch_signals = false;
    let list = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(tokens)
        .map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected `priority = <integer>`, `catch_signals` or `crate = \"<path>\"`",
            )
        })?;
    for meta in list {
        let arg = match meta {
            Meta::NameValue(arg) => arg,
            Meta::Path(path) if path.is_ident("catch_signals") => {
                if catch_signals {
                    return Err(syn::Error::new_spanned(
                        path,
                        "`catch_signals` is given twice",
                    ));
                }
                catch_signals = true;
                continue;
            }
            Meta::Path(path) => return Err(needs_value(&path)),
            Meta::List(list) => return Err(needs_value(&list)),
        };
        let name = arg
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "priority" => {
                if priority.is_some() {
                    return Err(syn::Error::new(
                        arg.path.span(),
                        "`priority` is given twice",
                    ));
                }
                priority = Some(parse_priority(&arg.value)?);
            }
            "crate" => {
                if crate_path.is_some() {
                    return Err(syn::Error::new(arg.path.span(), "`crate` is given twice"));
                }
                crate_path = Some(parse_crate_path(&arg.value)?);
            }
            _ => {
                return Err(syn::Error::new(
                    arg.path.span(),
                    "unknown argument; `#[atexit::handler]` takes `priority = <integer>`, \
                     `catch_signals` and `crate = \"<path>\"`",
                ))
            }
        }
    }
    Ok(Args {
        priority: priority.unwrap_or(0),
        catch_signals,
        crate_path: crate_path.unwrap_or_else(|| syn::parse_quote!(::atexit)),
    })
}

fn needs_value(tokens: &dyn quote::ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        "expected `name = value`, such as `priority = 10` or `crate = \"my_atexit\"`",
    )
}

fn parse_priority(value: &Expr) -> syn::Result<i32> {
    let (negative, literal) = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => (false, int),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }) => (true, int),
            _ => return Err(priority_error(value)),
        },
        _ => return Err(priority_error(value)),
    };
    let digits = format!(
        "{}{}",
        if negative { "-" } else { "" },
        literal.base10_digits()
    );
    digits
        .parse::<i32>()
        .map_err(|_| syn::Error::new(value.span(), "`priority` must fit in an `i32`"))
}

fn priority_error(value: &Expr) -> syn::Error {
    syn::Error::new(
        value.span(),
        "`priority` takes an integer literal, such as `priority = 10` or `priority = -1`",
    )
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => text.parse::<Path>().map_err(|_| {
            syn::Error::new(
                text.span(),
                "`crate` takes a path in a string, such as `crate = \"my_atexit\"`",
            )
        }),
        _ => Err(syn::Error::new(
            value.span(),
            "`crate` takes a path in a string, such as `crate = \"my_atexit\"`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn defaults() {
        let args = parse(quote!()).unwrap();
        assert_eq!(args.priority, 0);
        let path = &args.crate_path;
        assert_eq!(quote!(#path).to_string(), quote!(::atexit).to_string());
    }

    #[test]
    fn priorities() {
        assert_eq!(parse(quote!(priority = 10)).unwrap().priority, 10);
        assert_eq!(
            parse(quote!(priority = -2147483648)).unwrap().priority,
            i32::MIN
        );
        assert!(parse(quote!(priority = 2147483648)).is_err());
        assert!(parse(quote!(priority = "high")).is_err());
        assert!(parse(quote!(priority = 1, priority = 2)).is_err());
    }

    #[test]
    fn crate_path() {
        let args = parse(quote!(crate = "my::atexit", priority = 1)).unwrap();
        let path = &args.crate_path;
        assert_eq!(quote!(#path).to_string(), quote!(my::atexit).to_string());
        assert!(parse(quote!(crate = my)).is_err());
    }

    #[test]
    fn catch_signals() {
        assert!(!parse(quote!()).unwrap().catch_signals);
        let args = parse(quote!(catch_signals, priority = -1)).unwrap();
        assert!(args.catch_signals);
        assert_eq!(args.priority, -1);
        assert!(parse(quote!(catch_signals, catch_signals)).is_err());
        assert!(parse(quote!(catch_signals = true)).is_err());
    }

    #[test]
    fn unknown() {
        let error = parse(quote!(order = 1)).err().unwrap();
        assert!(error.to_string().starts_with("unknown argument"));
        assert!(parse(quote!(priority)).is_err());
    }
}
