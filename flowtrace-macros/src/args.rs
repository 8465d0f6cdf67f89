//! Parsing `#[flowtrace(...)]` options.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, LitStr, Path, Token, parenthesized};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(skip_all);
    syn::custom_keyword!(fields);
    syn::custom_keyword!(ret);
    syn::custom_keyword!(redact);
    syn::custom_keyword!(max_arg_length);
    syn::custom_keyword!(sample);
}

const EXPECTED: &str = "expected `name`, `skip`, `skip_all`, `fields`, `ret`, `redact`, \
     `max_arg_length`, `sample` or `crate`";

/// The options as written, each with its span for later errors.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) skip: Option<Vec<Ident>>,
    pub(crate) skip_all: Option<Ident>,
    pub(crate) fields: Option<Vec<Field>>,
    pub(crate) ret: Option<Ident>,
    pub(crate) redact: Option<Vec<Ident>>,
    pub(crate) max_arg_length: Option<LitInt>,
    /// Any expression, so that validation can say what a fraction must look like.
    pub(crate) sample: Option<Expr>,
    /// Where the runtime is, for a renamed dependency or a re-export.
    pub(crate) krate: Option<Path>,
}

/// One `key = expr` of `fields(...)`.
pub(crate) struct Field {
    pub(crate) key: Ident,
    pub(crate) value: Expr,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Self { key, value })
    }
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Self::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let keyword: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut options.name, input.parse()?, &keyword)?;
            } else if lookahead.peek(kw::skip_all) {
                let keyword: Ident = input.parse()?;
                set_once(&mut options.skip_all, keyword.clone(), &keyword)?;
            } else if lookahead.peek(kw::skip) {
                let keyword: Ident = input.parse()?;
                set_once(&mut options.skip, parse_names(input)?, &keyword)?;
            } else if lookahead.peek(kw::redact) {
                let keyword: Ident = input.parse()?;
                set_once(&mut options.redact, parse_names(input)?, &keyword)?;
            } else if lookahead.peek(kw::fields) {
                let keyword: Ident = input.parse()?;
                set_once(&mut options.fields, parse_list(input)?, &keyword)?;
            } else if lookahead.peek(kw::ret) {
                let keyword: Ident = input.parse()?;
                set_once(&mut options.ret, keyword.clone(), &keyword)?;
            } else if lookahead.peek(kw::max_arg_length) {
                let keyword: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut options.max_arg_length, input.parse()?, &keyword)?;
            } else if lookahead.peek(kw::sample) {
                let keyword: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                set_once(&mut options.sample, input.parse()?, &keyword)?;
            } else if lookahead.peek(Token![crate]) {
                let keyword: Ident = input.call(Ident::parse_any)?;
                input.parse::<Token![=]>()?;
                set_once(&mut options.krate, parse_crate_path(input)?, &keyword)?;
            } else if input.peek(Ident) {
                let unknown: Ident = input.parse()?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!("unknown `#[flowtrace]` option `{unknown}`; {EXPECTED}"),
                ));
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}

/// Stores an option's value, or reports the repetition at its keyword.
fn set_once<T>(slot: &mut Option<T>, value: T, keyword: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            keyword.span(),
            format!("duplicate `{keyword}` option"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `crate = path`: a path as in a `use`; the string form of serde and tokio gets a hint.
fn parse_crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(LitStr) {
        let string: LitStr = input.parse()?;
        return Err(syn::Error::new(
            string.span(),
            format!(
                "`crate` takes a path, not a string: `crate = {}`",
                string.value()
            ),
        ));
    }
    Path::parse_mod_style(input)
}

/// Argument names; `self` is accepted here so that validation can say why it is wrong.
fn parse_names(input: ParseStream<'_>) -> syn::Result<Vec<Ident>> {
    let content;
    parenthesized!(content in input);
    Ok(
        Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?
            .into_iter()
            .collect(),
    )
}

fn parse_list<T: Parse>(input: ParseStream<'_>) -> syn::Result<Vec<T>> {
    let content;
    parenthesized!(content in input);
    Ok(Punctuated::<T, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .collect())
}
