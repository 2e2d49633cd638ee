//! The path generated code uses to reach the runtime crate, whatever the user named it.
//!
//! Users usually depend on `bighub = { package = "bighub-openai", ... }`, so `::bighub_openai`
//! would not resolve; the path is looked up in the user's `Cargo.toml` instead. This file owns
//! that lookup only; the `crate = "..."` override is parsed in `attr.rs`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

/// The runtime's package name on crates.io.
const PACKAGE: &str = "bighub-openai";

/// `::<name>` for the name the current crate gives `bighub-openai`.
pub(crate) fn runtime_path() -> TokenStream {
    let name = match crate_name(PACKAGE) {
        Ok(FoundCrate::Name(name)) => name,
        // Inside bighub-openai itself (its own tests and doctests): the crate declares
        // `extern crate self as bighub_openai`, so one path works in the library and in
        // doctests, which are separate crates that `crate::` would not reach.
        Ok(FoundCrate::Itself) => PACKAGE.replace('-', "_"),
        // No Cargo.toml to read (a build outside cargo): assume the package's own name.
        Err(_) => PACKAGE.replace('-', "_"),
    };
    let ident = Ident::new(&name, Span::call_site());
    quote!(::#ident)
}
