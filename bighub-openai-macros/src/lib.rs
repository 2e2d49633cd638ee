//! The `#[action]` attribute of bighub-openai. Use it through `bighub_openai::action`.
use proc_macro::TokenStream;

/// Turns a function into a guarded tool. See `bighub_openai::action`.
#[proc_macro_attribute]
pub fn action(attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = attr;
    item
}
