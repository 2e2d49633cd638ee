//! Code generation: a validated [`Tool`] becomes the function, a tool type and its `Action`
//! implementation.
//!
//! Every runtime item is reached through `<runtime>::__private`, so the generated code works
//! whatever the user named the dependency, and nothing is glob-imported into the user's
//! module. The argument struct and the trait implementation live in an anonymous `const` block,
//! so the only new name in the user's module is the tool type. This file decides nothing: all
//! checks happened in `validate.rs`.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ReturnType;
use syn::spanned::Spanned;

use crate::params::Output;
use crate::runtime::runtime_path;
use crate::validate::{Tool, ToolParam};

/// The code for one tool.
pub(crate) fn expand(tool: Tool) -> TokenStream {
    let runtime = match &tool.runtime {
        Some(path) => path.to_token_stream(),
        None => runtime_path(),
    };
    let private = quote!(#runtime::__private);
    let item = &tool.item;
    let vis = &item.vis;
    let fn_ident = &item.sig.ident;
    let type_ident = &tool.type_ident;
    let args_ident = format_ident!("__BighubArgs{}", type_ident);
    let name = &tool.name;
    let description = &tool.description;

    let type_doc = format!(
        "The `{name}` tool: calls [`{fn_ident}`] with the model's arguments.\n\n{description}"
    );

    let args_struct = args_struct(&tool, &private, &args_ident);
    let metadata = metadata(&tool, &private);
    let call = call_body(&tool, &private, &args_ident);
    let states = tool.params.iter().filter_map(|param| match param {
        ToolParam::State(state) => Some(&state.inner),
        ToolParam::Model(_) | ToolParam::Context(_) => None,
    });

    quote! {
        #item

        #[doc = #type_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy,
            ::core::default::Default, ::core::cmp::PartialEq, ::core::cmp::Eq,
            ::core::hash::Hash)]
        #vis struct #type_ident;

        const _: () = {
            #args_struct

            impl #private::Action for #type_ident {
                fn name(&self) -> &str {
                    #name
                }

                fn description(&self) -> &str {
                    #description
                }

                fn parameters_schema(&self) -> #private::serde_json::Value {
                    #private::schema_for::<#args_ident>()
                }

                fn metadata(&self) -> #private::ActionMetadata {
                    #metadata
                }

                fn call(
                    &self,
                    __bighub_arguments: #private::serde_json::Value,
                    __bighub_context: #private::ToolContext,
                ) -> #private::futures::future::BoxFuture<
                    'static,
                    ::core::result::Result<#private::serde_json::Value, #private::ToolError>,
                > {
                    #call
                }

                fn required_states(&self) -> ::std::vec::Vec<#private::StateType> {
                    ::std::vec![#(#private::StateType::of::<#states>()),*]
                }
            }
        };
    }
}

/// The struct the model's arguments deserialize into; its schema is the tool's schema.
fn args_struct(tool: &Tool, private: &TokenStream, args_ident: &syn::Ident) -> TokenStream {
    let serde_crate = quote!(#private::serde).to_string();
    let schemars_crate = quote!(#private::schemars).to_string();
    let fields = tool.params.iter().filter_map(|param| match param {
        ToolParam::Model(model) => {
            let (docs, ident, ty) = (&model.docs, &model.ident, &model.ty);
            Some(quote!(#(#docs)* #ident: #ty,))
        }
        ToolParam::State(_) | ToolParam::Context(_) => None,
    });
    // Each parameter type is checked for a JSON schema through the runtime's own trait, at
    // the type's span, so a type that has none gets an error that says what to derive (the
    // derive below reports the same missing bound in terms of the runtime's private paths).
    let schema_checks = tool.params.iter().filter_map(|param| match param {
        ToolParam::Model(model) => {
            let ty = &model.ty;
            Some(quote_spanned!(ty.span()=> #private::parameter_schema::<#ty>();))
        }
        ToolParam::State(_) | ToolParam::Context(_) => None,
    });
    quote! {
        const _: () = { #(#schema_checks)* };

        #[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]
        #[serde(crate = #serde_crate, deny_unknown_fields)]
        #[schemars(crate = #schemars_crate)]
        struct #args_ident {
            #(#fields)*
        }
    }
}

/// The body of `metadata()`.
fn metadata(tool: &Tool, private: &TokenStream) -> TokenStream {
    let meta = &tool.metadata;
    let system = &meta.system;
    let risk = &meta.risk;
    let setters = [
        ("environment", &meta.environment),
        ("environment_arg", &meta.environment_arg),
        ("action_name", &meta.action_name),
        ("domain", &meta.domain),
        ("actor", &meta.actor),
        ("target_arg", &meta.target),
        ("value_arg", &meta.value),
    ]
    .into_iter()
    .filter_map(|(setter, value)| {
        let setter = format_ident!("{}", setter);
        value.as_ref().map(|value| quote!(.#setter(#value)))
    });
    let secrets = &meta.secret;
    let timeout = meta
        .timeout_ms
        .map(|ms| quote!(.timeout(::core::time::Duration::from_millis(#ms))));
    quote! {
        #private::ActionMetadata::new(#system)
            .risk(#private::RiskLevel::#risk)
            #(#setters)*
            #(.secret_arg(#secrets))*
            #timeout
    }
}

/// The body of `call()`: parse, inject state, call, convert the output.
fn call_body(tool: &Tool, private: &TokenStream, args_ident: &syn::Ident) -> TokenStream {
    let sig = &tool.item.sig;
    let fn_ident = &sig.ident;

    let mut states = Vec::new();
    let call_args: Vec<TokenStream> = tool
        .params
        .iter()
        .map(|param| match param {
            ToolParam::Model(model) => {
                let ident = &model.ident;
                quote!(__bighub_args.#ident)
            }
            ToolParam::State(state) => {
                let var = format_ident!("__bighub_state_{}", states.len());
                let inner = &state.inner;
                // Spanned on the type, so a type that cannot be shared state is reported there.
                states.push(quote_spanned! {inner.span()=>
                    let #var = match #private::ToolContext::state::<#inner>(&__bighub_context) {
                        ::core::result::Result::Ok(__bighub_value) => __bighub_value,
                        ::core::result::Result::Err(__bighub_error) => {
                            return ::core::result::Result::Err(__bighub_error);
                        }
                    };
                });
                quote!(#var)
            }
            ToolParam::Context(_) => {
                quote!(#private::ToolContext::clone(&__bighub_context))
            }
        })
        .collect();

    let await_call = sig.asyncness.map(|_| quote!(.await));
    let output_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => fn_ident.span(),
    };
    // Spanned on the return type, so a type that is not `Serialize` is reported there.
    let output = match tool.output {
        Output::Value => quote_spanned!(output_span=> #private::value_output(__bighub_output)),
        Output::Result => quote_spanned!(output_span=> #private::result_output(__bighub_output)),
    };

    // Spanned on the function name, so a future that is not `Send` is reported there.
    quote_spanned! {fn_ident.span()=>
        #private::boxed(async move {
            let __bighub_args: #args_ident = match #private::parse_arguments(__bighub_arguments) {
                ::core::result::Result::Ok(__bighub_value) => __bighub_value,
                ::core::result::Result::Err(__bighub_error) => {
                    return ::core::result::Result::Err(__bighub_error);
                }
            };
            #(#states)*
            let __bighub_output = #fn_ident(#(#call_args),*) #await_call;
            #output
        })
    }
}
