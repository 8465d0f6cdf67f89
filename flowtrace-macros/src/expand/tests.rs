//! What the expansion hands the runtime for the `sample` and `crate` options (their misuses are
//! the trybuild cases' job).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, Item, ItemFn, Lit, Stmt};

use super::expand;

fn expanded(attr: TokenStream) -> TokenStream {
    let function = quote!(
        fn work(a: u64) -> u64 {
            a
        }
    );
    match expand(attr, function) {
        Ok(tokens) => tokens,
        Err(error) => panic!("expansion failed: {error}"),
    }
}

/// The initializer of the function's `static` call site.
fn call_site(attr: TokenStream) -> Expr {
    let function: ItemFn = syn::parse2(expanded(attr)).expect("the output is a function");
    function
        .block
        .stmts
        .iter()
        .find_map(|stmt| match stmt {
            Stmt::Item(Item::Static(site)) => Some((*site.expr).clone()),
            _ => None,
        })
        .expect("a static call site in the body")
}

/// The argument of `.sample(…)` on the call site, if any.
fn sample_argument(site: &Expr) -> Option<f64> {
    let Expr::MethodCall(call) = site else {
        return None;
    };
    assert_eq!(call.method, "sample");
    match call.args.first() {
        Some(Expr::Lit(literal)) => match &literal.lit {
            Lit::Float(float) => float.base10_parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn the_sample_fraction_is_passed_to_the_call_site() {
    assert_eq!(
        sample_argument(&call_site(quote!(sample = 0.25))),
        Some(0.25)
    );
    assert_eq!(sample_argument(&call_site(quote!(sample = 1))), Some(1.0));
    assert_eq!(
        sample_argument(&call_site(quote!(ret, sample = 1e-3))),
        Some(0.001)
    );
}

#[test]
fn without_the_option_the_call_site_defers_to_the_configuration() {
    assert!(matches!(call_site(quote!(ret)), Expr::Call(_)));
}

#[test]
fn the_crate_path_replaces_every_runtime_path() {
    let default = expanded(quote!(ret)).to_string();
    let renamed = expanded(quote!(crate = renamed::runtime, ret)).to_string();
    assert!(
        default.contains(":: flowtrace_runtime :: __private"),
        "{default}"
    );
    assert!(!renamed.contains("flowtrace_runtime"), "{renamed}");
    assert_eq!(
        renamed.matches("renamed :: runtime :: __private").count(),
        default.matches(":: flowtrace_runtime :: __private").count()
    );
}
