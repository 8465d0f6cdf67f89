//! Semantic checks of the options against the function they are applied to. Every problem is
//! reported, each at its own token, combined into one `syn::Error`.

use syn::ext::IdentExt;
use syn::{FnArg, Ident, ItemFn, Pat};

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
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
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
