//! Semantic checks of the options against the function they are applied to. Every problem is
//! reported, each at its own token, combined into one `syn::Error`.

use syn::ext::IdentExt;
use syn::{Expr, FnArg, Ident, ItemFn, Lit, Pat};

use crate::args::Options;

/// A parameter binding that can be recorded.
pub(crate) struct Param {
    pub(crate) ident: Ident,
    /// The name written in the trace (`r#type` → `type`).
    pub(crate) name: String,
}

/// Every named binding in the parameters, in order; `self` excluded.
pub(crate) fn params(function: &ItemFn) -> Vec<Param> {
    let mut params = Vec::new();
    for input in &function.sig.inputs {
        if let FnArg::Typed(typed) = input {
            collect_bindings(&typed.pat, &mut params);
        }
    }
    params
}

fn collect_bindings(pat: &Pat, out: &mut Vec<Param>) {
    match pat {
        Pat::Ident(binding) => {
            out.push(Param {
                ident: binding.ident.clone(),
                name: binding.ident.unraw().to_string(),
            });
            if let Some((_, sub)) = &binding.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Struct(strukt) => strukt
            .fields
            .iter()
            .for_each(|field| collect_bindings(&field.pat, out)),
        Pat::Slice(slice) => slice.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Reference(reference) => collect_bindings(&reference.pat, out),
        Pat::Paren(paren) => collect_bindings(&paren.pat, out),
        Pat::Type(typed) => collect_bindings(&typed.pat, out),
        _ => {}
    }
}

pub(crate) fn validate(function: &ItemFn, options: &Options, params: &[Param]) -> syn::Result<()> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if let Some(constness) = &function.sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "`#[flowtrace]` cannot be applied to a `const fn`",
        ));
    }
    let known = |ident: &Ident| params.iter().any(|p| p.ident == *ident);
    for (option, names) in [("skip", &options.skip), ("redact", &options.redact)] {
        let mut seen: Vec<&Ident> = Vec::new();
        for name in names.iter().flatten() {
            if seen.contains(&name) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`{name}` is listed twice in `{option}`"),
                ));
                continue;
            }
            seen.push(name);
            if name == "self" {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`self` is never recorded; remove it from `{option}`"),
                ));
            } else if !known(name) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`{option}` names `{name}`, which is not an argument of this function"),
                ));
            }
        }
    }
    for name in options.redact.iter().flatten() {
        if known(name) && (options.skip_all.is_some() || is_listed(&options.skip, name)) {
            errors.push(syn::Error::new(
                name.span(),
                format!("`{name}` is skipped, so it is never written; remove it from `redact`"),
            ));
        }
    }
    if let (Some(skip_all), Some(_)) = (&options.skip_all, &options.skip) {
        errors.push(syn::Error::new(
            skip_all.span(),
            "`skip_all` and `skip` cannot be used together",
        ));
    }
    let recorded: Vec<&Param> = params
        .iter()
        .filter(|p| options.skip_all.is_none() && !is_listed(&options.skip, &p.ident))
        .collect();
    let mut keys: Vec<&Ident> = Vec::new();
    for field in options.fields.iter().flatten() {
        let key = &field.key;
        if keys.contains(&key) {
            errors.push(syn::Error::new(
                key.span(),
                format!("duplicate field `{key}`"),
            ));
        } else if recorded.iter().any(|p| p.ident == *key) {
            errors.push(syn::Error::new(
                key.span(),
                format!("field `{key}` has the name of a recorded argument; rename it or skip the argument"),
            ));
        }
        keys.push(key);
    }
    if let (Some(ret), true) = (&options.ret, tracks_caller(function)) {
        errors.push(syn::Error::new(
            ret.span(),
            "`ret` cannot be used on a `#[track_caller]` function: its body runs without a \
             closure, to keep the caller's location, and its value is not seen",
        ));
    }
    if let Some(limit) = &options.max_arg_length {
        match limit.base10_parse::<usize>() {
            Ok(n) if n >= 1 => {}
            _ => errors.push(syn::Error::new_spanned(
                limit,
                "`max_arg_length` must be a whole number of at least 1",
            )),
        }
    }
    if let Some(Err(error)) = options.sample.as_ref().map(sample_fraction) {
        errors.push(error);
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// The value of `sample = F`: a number literal in (0, 1], or an error at the expression.
pub(crate) fn sample_fraction(value: &Expr) -> syn::Result<f64> {
    let not_a_literal = || {
        syn::Error::new_spanned(
            value,
            "`sample` must be a number literal in (0, 1], like `sample = 0.01`: \
             the macro cannot evaluate a constant or an expression",
        )
    };
    let fraction = match peeled(value) {
        Expr::Lit(literal) => number(&literal.lit),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match peeled(expr) {
            Expr::Lit(literal) => number(&literal.lit).map(|n| -n),
            _ => return Err(not_a_literal()),
        },
        _ => return Err(not_a_literal()),
    };
    match fraction {
        Some(fraction) if fraction > 0.0 && fraction <= 1.0 => Ok(fraction),
        _ => Err(syn::Error::new_spanned(
            value,
            "`sample` must be a number in (0, 1], like `sample = 0.01`",
        )),
    }
}

/// The value of an integer or float literal (a suffix does not matter: the macro passes the
/// runtime an `f64`); `None` for other literals.
fn number(literal: &Lit) -> Option<f64> {
    match literal {
        Lit::Float(float) => float.base10_parse().ok(),
        Lit::Int(int) => int.base10_parse().ok(),
        _ => None,
    }
}

/// The expression itself, without the invisible group a `macro_rules!` `$e:expr` wraps it in.
fn peeled(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => peeled(&group.expr),
        other => other,
    }
}

/// `#[track_caller]`: a closure around the body would hide the caller's location.
pub(crate) fn tracks_caller(function: &ItemFn) -> bool {
    function
        .attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"))
}

pub(crate) fn is_listed(list: &Option<Vec<Ident>>, ident: &Ident) -> bool {
    list.iter().flatten().any(|name| name == ident)
}
