//! Code generation: the user's function, unchanged outside its body, with the body run as a
//! traced call through `::flowtrace_runtime::__private` (or the `crate = path` given instead).

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{AttrStyle, Item, ItemFn, ReturnType, TraitItemFn, Type, TypeParamBound};

use crate::args::Options;
use crate::validate::{self, Param};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options: Options = syn::parse2(attr)?;
    let function = parse_function(item)?;
    let params = validate::params(&function);
    validate::validate(&function, &options, &params)?;
    Ok(generate(&function, &options, &params))
}

/// The item as a function with a body, or an error saying what it is instead.
fn parse_function(item: TokenStream) -> syn::Result<ItemFn> {
    if let Ok(function) = syn::parse2::<ItemFn>(item.clone()) {
        return Ok(function);
    }
    if let Ok(declaration) = syn::parse2::<TraitItemFn>(item.clone())
        && declaration.default.is_none()
    {
        return Err(syn::Error::new_spanned(
            declaration.sig.fn_token,
            "`#[flowtrace]` needs a function body; put it on the implementation",
        ));
    }
    let span = match syn::parse2::<Item>(item.clone()) {
        Ok(other) => item_keyword_span(&other),
        Err(_) => item
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span()),
    };
    Err(syn::Error::new(
        span,
        "`#[flowtrace]` can only be applied to functions",
    ))
}

/// The span of the keyword that says what kind of item this is (`struct`, `impl`, …).
fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Struct(i) => i.struct_token.span(),
        Item::Enum(i) => i.enum_token.span(),
        Item::Impl(i) => i.impl_token.span(),
        Item::Trait(i) => i.trait_token.span(),
        Item::Mod(i) => i.mod_token.span(),
        Item::Const(i) => i.const_token.span(),
        Item::Static(i) => i.static_token.span(),
        Item::Type(i) => i.type_token.span(),
        Item::Use(i) => i.use_token.span(),
        Item::Union(i) => i.union_token.span(),
        other => other.span(),
    }
}

fn generate(function: &ItemFn, options: &Options, params: &[Param]) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let outer = attrs.iter().filter(|a| matches!(a.style, AttrStyle::Outer));
    let inner = attrs
        .iter()
        .filter(|a| matches!(a.style, AttrStyle::Inner(_)));
    let name = options.name.as_ref().map_or_else(
        || syn::ext::IdentExt::unraw(&sig.ident).to_string(),
        |n| n.value(),
    );
    let max_arg_length = options
        .max_arg_length
        .as_ref()
        .and_then(|n| n.base10_parse::<usize>().ok())
        .unwrap_or(0);

    // `crate = path`, spelled as the user wrote it (so that an unresolved path is reported at
    // their token), or the runtime's own name.
    let private = match &options.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::flowtrace_runtime::__private),
    };
    let sample = options
        .sample
        .as_ref()
        .and_then(|value| validate::sample_fraction(value).ok())
        .map(|fraction| {
            let fraction = Literal::f64_unsuffixed(fraction);
            quote!(.sample(#fraction))
        });

    let recorded: Vec<&Param> = params
        .iter()
        .filter(|p| options.skip_all.is_none() && !validate::is_listed(&options.skip, &p.ident))
        .collect();
    let fields = options.fields.iter().flatten().collect::<Vec<_>>();
    let specs = recorded
        .iter()
        .map(|p| {
            let arg_name = &p.name;
            let key = json_key(arg_name);
            let redact = validate::is_listed(&options.redact, &p.ident);
            quote!(#private::ArgSpec::new(#arg_name, #key, #redact))
        })
        .chain(fields.iter().map(|f| {
            let name = syn::ext::IdentExt::unraw(&f.key).to_string();
            let key = json_key(&name);
            quote!(#private::ArgSpec::new(#name, #key, false))
        }));
    let encode_args = recorded.iter().enumerate().map(|(index, p)| {
        let ident = &p.ident;
        quote!((&&&&#private::Wrap(&#ident))
            .__flowtrace_encode(__flowtrace_args, #index);)
    });
    let encode_fields = fields.iter().enumerate().map(|(offset, f)| {
        let index = recorded.len() + offset;
        let value = &f.value;
        quote!({
            let __flowtrace_field = #value;
            (&&&&#private::Wrap(&__flowtrace_field))
                .__flowtrace_encode(__flowtrace_args, #index);
        })
    });
    // Closes the call from `__flowtrace_ret: &R` and `__flowtrace_call: &mut Call`; method
    // resolution on the concrete `R`, here at the call site, picks EXIT or EXCEPTION.
    let result = match options.ret {
        Some(_) => quote!(__flowtrace_call.encode_result(|__flowtrace_args| {
            #[allow(unused_imports)]
            use #private::{
                EncodeDebug as _, EncodeDirect as _, EncodeSerialize as _, EncodeTypeName as _,
            };
            (&&&&#private::Wrap(__flowtrace_ret))
                .__flowtrace_encode(__flowtrace_args, 0usize);
        })),
        None => quote!(::core::option::Option::None),
    };
    let finish = quote! {
        #[allow(unused_imports)]
        use #private::{
            OutcomeDebug as _, OutcomeDisplay as _, OutcomeOpaque as _, OutcomeValue as _,
        };
        let __flowtrace_result = #result;
        (&&&&#private::Wrap(__flowtrace_ret))
            .__flowtrace_close(__flowtrace_call, __flowtrace_result);
    };
    let site = quote! {
        static __FLOWTRACE_SITE: #private::CallSite =
            #private::CallSite::new(
                #name,
                ::core::module_path!(),
                ::core::file!(),
                ::core::line!(),
                &[#(#specs),*],
                #max_arg_length,
            )#sample;
    };
    let encode = quote! {
        #[allow(unused_variables)]
        |__flowtrace_args| {
            #[allow(unused_imports)]
            use #private::{
                EncodeDebug as _, EncodeDirect as _, EncodeSerialize as _, EncodeTypeName as _,
            };
            #(#encode_args)*
            #(#encode_fields)*
        }
    };
    // With tracing off, nothing but this check runs before the body.
    let begin = quote! {
        let __flowtrace_call = if #private::enabled() {
            ::core::option::Option::Some(
                #private::begin(&__FLOWTRACE_SITE, #encode),
            )
        } else {
            ::core::option::Option::None
        };
    };
    // The return type, when it can be written as a type argument: it gives the body's `return`s
    // and `?`s their expected type, exactly as in the user's function.
    let body_type = match &sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if nameable(ty) => Some(ty.to_token_stream()),
        ReturnType::Type(..) => None,
    };
    let turbofish = body_type
        .as_ref()
        .map(|ty| quote_spanned!(ty.span()=> ::<#ty, _>));
    let diverges =
        matches!(&sig.output, ReturnType::Type(_, ty) if matches!(peeled(ty), Type::Never(_)));
    // A future's call: inert rather than absent when tracing is off, since the wrapper is one
    // type either way.
    let begin_async = quote! {
        let __flowtrace_call = if #private::enabled() {
            #private::begin(&__FLOWTRACE_SITE, #encode)
        } else {
            #private::Call::INERT
        };
    };
    let body = if diverges && sig.asyncness.is_some() {
        // The future never completes: its body is given `()` as output (`!` cannot be named
        // in a type on stable Rust) and the unreachable end after the await gives the `!`.
        quote! {
            {
                #begin_async
                __flowtrace_call.instrument(
                    async move {
                        #[allow(unreachable_code, clippy::let_unit_value)]
                        let () = #block;
                    },
                    |_, _| {},
                )
            }
            .await;
            ::core::unreachable!("a traced `-> !` future completed")
        }
    } else if diverges {
        // Nothing to close on return: it never returns, and a panic is recorded by `run`.
        quote! {
            #begin
            let __flowtrace_body = move || -> ! #block;
            match __flowtrace_call {
                ::core::option::Option::None => __flowtrace_body(),
                ::core::option::Option::Some(mut __flowtrace_call) => {
                    __flowtrace_call.run(__flowtrace_body)
                }
            }
        }
    } else if sig.asyncness.is_some() {
        // An async block's output type is inferred from its first `return`; this unreachable
        // one makes it the declared type, so later `return`s and `?`s coerce as in the original.
        let fake_return = body_type.as_ref().map(|ty| {
            quote_spanned! {ty.span()=>
                #[allow(
                    unknown_lints,
                    unreachable_code,
                    clippy::diverging_sub_expression,
                    clippy::empty_loop,
                    clippy::let_unit_value,
                    clippy::needless_return,
                    clippy::unreachable
                )]
                if false {
                    let __flowtrace_declared: #ty = loop {};
                    return __flowtrace_declared;
                }
            }
        });
        // With tracing off the body is awaited as it is, not through an inert wrapper: the
        // wrapper's state made a disabled call ~2.5 ns slower than tracing's disabled
        // `#[instrument]`, which does the same. Both locals are moved before either await, so
        // neither is kept in the function's future beside the one awaited.
        quote! {
            #begin_async
            let __flowtrace_body = async move { #fake_return #block };
            if __flowtrace_call.is_inert() {
                ::core::mem::drop(__flowtrace_call);
                __flowtrace_body.await
            } else {
                __flowtrace_call
                    .instrument(
                        __flowtrace_body,
                        |__flowtrace_ret, __flowtrace_call| { #finish },
                    )
                    .await
            }
        }
    } else if returns_impl_future(&sig.output) {
        // Both outcomes must be one type here, so an inert call goes through the wrapper too.
        quote! {
            let mut __flowtrace_call =
                #private::enter(&__FLOWTRACE_SITE, #encode);
            let __flowtrace_future = __flowtrace_call.run(move || #block);
            __flowtrace_call.instrument(
                __flowtrace_future,
                |__flowtrace_ret, __flowtrace_call| { #finish },
            )
        }
    } else if sig.asyncness.is_none()
        && options.ret.is_none()
        && (returns_impl_trait(&sig.output) || validate::tracks_caller(function))
    {
        // No closure around the body: `impl Trait` cannot be given to one (the body, as the
        // function's tail, keeps the declared type as its expected type, from which a returned
        // closure infers its parameters), and `#[track_caller]` does not reach into one. A
        // guard closes the call when the function ends (EXIT or PANIC: the value is not seen).
        quote! {
            #begin
            let __flowtrace_guard =
                #private::InlineCall::enter(__flowtrace_call);
            #block
        }
    } else {
        quote! {
            #begin
            let __flowtrace_body = #private::body #turbofish (move || #block);
            match __flowtrace_call {
                ::core::option::Option::None => __flowtrace_body(),
                ::core::option::Option::Some(mut __flowtrace_call) => {
                    let __flowtrace_ret = __flowtrace_call.run(__flowtrace_body);
                    {
                        let __flowtrace_ret = &__flowtrace_ret;
                        let __flowtrace_call = &mut __flowtrace_call;
                        #finish
                    }
                    __flowtrace_ret
                }
            }
        }
    };
    // The new body keeps the braces (and so the span) of the user's body: lints that look at the
    // function as a whole, like `dead_code`, still see the user's item.
    let mut braces = Group::new(
        Delimiter::Brace,
        quote! {
            #(#inner)*
            #site
            #body
        },
    );
    braces.set_span(block.brace_token.span.join());
    quote! {
        #(#outer)*
        #vis #sig #braces
    }
}

/// `,\"name\":` for an identifier: its key in the args text, which the record holds escaped
/// (identifiers need no escaping of their own).
fn json_key(name: &str) -> String {
    format!(",\\\"{name}\\\":")
}

/// False for types that cannot appear as a generic argument: `impl Trait` anywhere, and `!`.
fn nameable(ty: &Type) -> bool {
    struct FindImpl(bool);
    impl Visit<'_> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    if matches!(peeled(ty), Type::Never(_)) {
        return false;
    }
    let mut finder = FindImpl(false);
    finder.visit_type(ty);
    !finder.0
}

/// The type itself, without the invisible group a `macro_rules!` `$t:ty` wraps it in, or
/// parentheses.
fn peeled(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peeled(&group.elem),
        Type::Paren(paren) => peeled(&paren.elem),
        other => other,
    }
}

/// `-> impl Trait` at the top, not a future.
fn returns_impl_trait(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(peeled(ty), Type::ImplTrait(_)))
        && !returns_impl_future(output)
}

fn returns_impl_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let Type::ImplTrait(bounds) = peeled(ty) else {
        return false;
    };
    bounds.bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Future"))
    })
}

#[cfg(test)]
mod tests;
