//! The `#[action]` attribute of bighub-openai. Use it through `bighub_openai::action`, which
//! documents it.
//!
//! Parse (`attr.rs`, `params.rs`) -> validate (`validate.rs`) -> expand (`expand.rs`).

use proc_macro::TokenStream;

mod attr;
mod expand;
mod params;
mod runtime;
mod suggest;
mod validate;

/// Turns a function into a guarded tool. See `bighub_openai::action` for the documentation.
#[proc_macro_attribute]
pub fn action(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = match syn::parse::<syn::Item>(item) {
        Ok(syn::Item::Fn(item)) => item,
        Ok(other) => {
            return syn::Error::new_spanned(
                other,
                "#[action] goes on a function: `fn` or `async fn`",
            )
            .into_compile_error()
            .into();
        }
        Err(error) => return error.into_compile_error().into(),
    };
    let (attr, attr_errors) = attr::parse(attr.into());
    match validate::validate(attr, attr_errors, item.clone()) {
        Ok(tool) => expand::expand(tool).into(),
        Err(errors) => {
            let mut tokens = errors.into_compile_error();
            tokens.extend(validate::fallback_fn(item));
            tokens.into()
        }
    }
}
