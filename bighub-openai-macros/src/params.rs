//! Classification of the function's parameters: each one is an argument the model fills in,
//! shared state or the call's context the runtime injects, or a kind that cannot work (with the reason and the token
//! to point at).
//!
//! This file only looks at one parameter at a time; it does not report anything. `validate.rs`
//! turns the rejected kinds into compile errors and cross-checks the attribute against the
//! model arguments.

use quote::ToTokens;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Type, TypePath,
};

/// One parameter of the tool function, classified.
pub(crate) enum Param {
    /// A value the model provides: a property of the arguments object.
    Model(ModelParam),
    /// `State<T>`: looked up in the tool context, absent from the schema.
    State(StateParam),
    /// `ToolContext`: the call's context, absent from the schema.
    Context(ContextParam),
    /// Something that cannot be a tool parameter.
    Rejected(Rejection),
}

/// A parameter the model fills in.
pub(crate) struct ModelParam {
    /// The parameter's name, which is also the JSON property name.
    pub ident: Ident,
    /// Its type, which must be `Deserialize + JsonSchema`.
    pub ty: Type,
    /// Its doc comment, which becomes the property's description.
    pub docs: Vec<Attribute>,
}

/// A `State<T>` parameter.
pub(crate) struct StateParam {
    /// The `T` of `State<T>`.
    pub inner: Type,
    /// The parameter's name, when it is a plain name (not `State(okta)`).
    pub ident: Option<Ident>,
}

/// A `ToolContext` parameter.
pub(crate) struct ContextParam {
    /// The parameter's name, when it is a plain name.
    pub ident: Option<Ident>,
}

/// Why a parameter cannot be a tool parameter, pointing at the offending tokens.
pub(crate) struct Rejection {
    /// The error to report.
    pub error: syn::Error,
    /// The parameter's name, when it has one: `environment_arg`, `target`, `value` and
    /// `secret` may still name it without a second, misleading "no such parameter" error.
    pub ident: Option<Ident>,
}

impl Rejection {
    fn new(tokens: &impl ToTokens, message: impl std::fmt::Display) -> Self {
        Self {
            // `new_spanned` covers the first to the last token (the whole `&[u8]`), where
            // `Spanned::span` would only cover the first one on stable Rust.
            error: syn::Error::new_spanned(tokens, message),
            ident: None,
        }
    }

    fn named(mut self, ident: &Ident) -> Self {
        self.ident = Some(ident.clone());
        self
    }
}

/// Classifies one parameter.
pub(crate) fn classify(arg: &FnArg) -> Param {
    let typed = match arg {
        FnArg::Receiver(receiver) => {
            return Param::Rejected(Rejection::new(
                receiver,
                "a tool cannot take `self`: put `#[action]` on a free function \
                 (pass shared resources as a `State<T>` parameter instead)",
            ));
        }
        FnArg::Typed(typed) => typed,
    };

    if let Some(inner) = state_inner(&typed.ty) {
        // The pattern does not matter for injected state: the value is passed positionally,
        // so `State(okta): State<Okta>` works too.
        let ident = match &*typed.pat {
            Pat::Ident(pat) => Some(pat.ident.clone()),
            _ => None,
        };
        return Param::State(StateParam {
            inner: inner.clone(),
            ident,
        });
    }

    if is_context(&typed.ty) {
        let ident = match &*typed.pat {
            Pat::Ident(pat) => Some(pat.ident.clone()),
            _ => None,
        };
        return Param::Context(ContextParam { ident });
    }

    let ident = match &*typed.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
        Pat::Ident(pat) if pat.by_ref.is_some() => {
            return Param::Rejected(Rejection::new(
                &typed.pat,
                "a tool parameter cannot be bound by reference: write the plain name \
                 (the model's arguments are owned values)",
            ));
        }
        Pat::Wild(wild) => {
            return Param::Rejected(Rejection::new(
                wild,
                "a tool parameter needs a name, not `_`: the name is the JSON property the \
                 model fills in",
            ));
        }
        other => {
            return Param::Rejected(Rejection::new(
                other,
                "a tool parameter must be a plain name, not a pattern: the name is the JSON \
                 property the model fills in; destructure it in the body instead",
            ));
        }
    };

    if let Some(rejection) = reject_type(&typed.ty) {
        return Param::Rejected(rejection.named(&ident));
    }

    Param::Model(ModelParam {
        ident,
        ty: (*typed.ty).clone(),
        docs: typed
            .attrs
            .iter()
            .filter(|attr| is_doc(attr))
            .cloned()
            .collect(),
    })
}

/// Whether an attribute is a doc comment (`///` or `#[doc = ...]`).
pub(crate) fn is_doc(attr: &Attribute) -> bool {
    attr.path().is_ident("doc")
}

/// `T` when `ty` is `State<T>` (any path whose last segment is `State` with one type argument).
fn state_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(TypePath {
        qself: None, path, ..
    }) = ty
    else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != "State" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), args.args.len()) {
        (Some(inner), None, 1) => Some(inner),
        _ => None,
    }
}

/// Whether `ty` is the call's context: any path whose last segment is `ToolContext`, with no
/// generic arguments.
fn is_context(ty: &Type) -> bool {
    let Type::Path(TypePath {
        qself: None, path, ..
    }) = ty
    else {
        return false;
    };
    path.segments
        .last()
        .is_some_and(|last| last.ident == "ToolContext" && last.arguments.is_none())
}

/// The reason a model argument's type cannot come from the model's JSON, if it cannot.
fn reject_type(ty: &Type) -> Option<Rejection> {
    match ty {
        Type::Reference(reference) => {
            let owned = owned_suggestion(&reference.elem);
            Some(Rejection::new(
                reference,
                format!(
                    "a tool parameter cannot be a reference: the model's arguments are \
                     deserialized into owned values; use `{owned}`"
                ),
            ))
        }
        Type::ImplTrait(impl_trait) => Some(Rejection::new(
            impl_trait,
            "a tool parameter cannot be `impl Trait`: the model's arguments need one concrete \
             type to deserialize into",
        )),
        Type::Infer(infer) => Some(Rejection::new(
            infer,
            "a tool parameter needs a written type, not `_`",
        )),
        Type::Never(never) => Some(Rejection::new(
            never,
            "a tool parameter cannot be `!`: the model could never provide it",
        )),
        Type::TraitObject(object) => Some(Rejection::new(
            object,
            "a tool parameter cannot be a trait object: the model's arguments need one \
             concrete type to deserialize into",
        )),
        Type::Ptr(ptr) => Some(Rejection::new(
            ptr,
            "a tool parameter cannot be a raw pointer: use an owned type",
        )),
        Type::FnPtr(fn_ptr) => Some(Rejection::new(
            fn_ptr,
            "a tool parameter cannot be a function: the model's arguments are JSON data",
        )),
        Type::Paren(paren) => reject_type(&paren.elem),
        Type::Group(group) => reject_type(&group.elem),
        // Nested: `Vec<impl Trait>`, `Option<&str>`, `(String, &str)`, `[&str; 2]`.
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .filter_map(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => Some(args.args.iter()),
                _ => None,
            })
            .flatten()
            .find_map(|arg| match arg {
                GenericArgument::Type(ty) => reject_type(ty),
                GenericArgument::Lifetime(lifetime) if lifetime.ident != "static" => {
                    Some(Rejection::new(
                        lifetime,
                        "a tool parameter cannot borrow: the model's arguments are \
                         deserialized into owned values",
                    ))
                }
                _ => None,
            }),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(reject_type),
        Type::Array(array) => reject_type(&array.elem),
        Type::Slice(slice) => Some(Rejection::new(
            slice,
            format!(
                "a tool parameter cannot be an unsized slice; use `Vec<{}>`",
                tokens(&slice.elem)
            ),
        )),
        _ => None,
    }
}

/// The owned type to suggest instead of `&elem`: `String` for `str`, `Vec<T>` for `[T]`.
fn owned_suggestion(elem: &Type) -> String {
    match elem {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => "String".into(),
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("Path") => {
            "std::path::PathBuf".into()
        }
        Type::Slice(slice) => format!("Vec<{}>", tokens(&slice.elem)),
        Type::Reference(reference) => owned_suggestion(&reference.elem),
        other => tokens(other),
    }
}

fn tokens(ty: &Type) -> String {
    // `to_token_stream` spaces every token (`Vec < u8 >`); keep only the spaces that separate
    // two words (`dyn Trait`) and the one after a comma.
    let spaced = ty.to_token_stream().to_string();
    let chars: Vec<char> = spaced.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '\'');
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = out.chars().last();
            if prev == Some(',') || (word(prev.as_ref()) && word(chars.get(i + 1))) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How the function's return value becomes the tool's output.
pub(crate) enum Output {
    /// Any `Serialize` value (including `()`).
    Value,
    /// `Result<T, E>`: `Ok` is the output, `Err` becomes a tool error.
    Result,
}

/// Classifies the return type; a type whose last path segment is `Result` is a result.
pub(crate) fn classify_output(output: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = output else {
        return Output::Value;
    };
    let mut ty = &**ty;
    while let Type::Paren(paren) = ty {
        ty = &paren.elem;
    }
    match ty {
        Type::Path(path)
            if path
                .path
                .segments
                .last()
                .is_some_and(|last| last.ident == "Result") =>
        {
            Output::Result
        }
        _ => Output::Value,
    }
}
