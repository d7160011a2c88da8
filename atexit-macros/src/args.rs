//! The arguments of `#[atexit::handler(...)]`, parsed with
//! `syn::meta::parser`: `priority = <integer>`, `catch_signals`,
//! `crate = "<path>"`, in any order, each at most once.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitInt, Path, Token, UnOp};

pub(crate) struct Args {
    pub(crate) priority: i32,
    pub(crate) catch_signals: bool,
    pub(crate) crate_path: Path,
}

const EXPECTED: &str =
    "`#[atexit::handler]` takes `priority = <integer>`, `catch_signals` and `crate = \"<path>\"`";

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut priority = None;
    let mut crate_path = None;
    let mut catch_signals = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("priority") {
            if priority.is_some() {
                return Err(meta.error("`priority` is given twice"));
            }
            let value: Expr = value_of(&meta, "priority = 10")?.parse()?;
            priority = Some(parse_priority(&value)?);
        } else if meta.path.is_ident("catch_signals") {
            if catch_signals {
                return Err(meta.error("`catch_signals` is given twice"));
            }
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                return Err(meta.error("`catch_signals` takes no value: write `catch_signals`"));
            }
            catch_signals = true;
        } else if meta.path.is_ident("crate") {
            if crate_path.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            let value: Expr = value_of(&meta, "crate = \"my_atexit\"")?.parse()?;
            crate_path = Some(parse_crate_path(&value)?);
        } else {
            return Err(meta.error(format_args!("unknown argument; {EXPECTED}")));
        }
        Ok(())
    });
    parser.parse2(tokens)?;
    Ok(Args {
        priority: priority.unwrap_or(0),
        catch_signals,
        crate_path: crate_path.unwrap_or_else(|| syn::parse_quote!(::atexit)),
    })
}

/// The stream after `name =`, or an error naming the form expected.
fn value_of<'a>(
    meta: &'a ParseNestedMeta<'a>,
    example: &str,
) -> syn::Result<&'a syn::parse::ParseBuffer<'a>> {
    if meta.input.peek(Token![=]) {
        meta.value()
    } else {
        Err(meta.error(format_args!("expected `name = value`, such as `{example}`")))
    }
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
    check_suffix(literal)?;
    let digits = format!(
        "{}{}",
        if negative { "-" } else { "" },
        literal.base10_digits()
    );
    digits
        .parse::<i32>()
        .map_err(|_| syn::Error::new(value.span(), "`priority` must fit in an `i32`"))
}

/// `priority` is an `i32`: `10` and `10i32` are accepted; any other suffix
/// (`300u8`) would be ignored silently, so it is an error.
fn check_suffix(literal: &LitInt) -> syn::Result<()> {
    match literal.suffix() {
        "" | "i32" => Ok(()),
        suffix => Err(syn::Error::new(
            literal.span(),
            format!(
                "`priority` is an `i32`: write `priority = {}`, without the suffix `{suffix}`",
                literal.base10_digits()
            ),
        )),
    }
}

fn priority_error(value: &Expr) -> syn::Error {
    syn::Error::new(
        value.span(),
        "`priority` takes an integer literal, such as `priority = 10` or `priority = -1`",
    )
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    let error = |span| {
        syn::Error::new(
            span,
            "`crate` takes a path in a string, such as `crate = \"my_atexit\"`",
        )
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => text.parse::<Path>().map_err(|_| error(text.span())),
        _ => Err(error(value.span())),
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
    fn suffixes() {
        assert_eq!(parse(quote!(priority = 10i32)).unwrap().priority, 10);
        assert_eq!(parse(quote!(priority = -10i32)).unwrap().priority, -10);
        let error = parse(quote!(priority = 300u8)).err().unwrap();
        assert!(
            error.to_string().contains("without the suffix `u8`"),
            "{error}"
        );
        assert!(parse(quote!(priority = 1i64)).is_err());
    }

    #[test]
    fn trailing_comma_and_order() {
        let args = parse(quote!(crate = "x", catch_signals, priority = 3,)).unwrap();
        assert!(args.catch_signals);
        assert_eq!(args.priority, 3);
        assert!(parse(quote!(1)).is_err());
        assert!(parse(quote!(priority = 1 catch_signals)).is_err());
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
