//! Tools of MCP servers, guarded like the agent's own tools.
//!
//! Two kinds: servers the agent connects to itself ([`McpServer`], with the `mcp` feature),
//! and servers the Responses API calls ([`HostedMcp`]), whose every call the API first
//! submits for approval.
//!
//! [`McpServer`] says how to reach a server (a child process speaking MCP on stdio, or a
//! streamable HTTP endpoint) and how its tools are to be described to the decision engine;
//! [`McpServer::connect`] starts the session and lists the tools ([`McpConnection`]). Its
//! tools are then registered like any other ([`McpConnection::register`], or the agent
//! builder's `mcp_server`): each call the model makes is a proposed action, decided before
//! it runs, forwarded with `tools/call` only when the decision allows, paused for review,
//! resumed, reported and remembered exactly as a `#[bighub::action]` function's would be.
//!
//! This module owns the MCP client side (through `rmcp`, the official Rust MCP SDK): the
//! session, the tool list (bounded, pinned at connect, listed again on
//! `notifications/tools/list_changed`), annotations read as risk signals (trusted only when
//! the user says so), and turning `tools/call` results into tool outputs. It does not
//! decide or run anything itself.
//!
//! ```no_run
//! use bighub_openai::mcp::McpServer;
//!
//! # async fn run() -> Result<(), bighub_openai::Error> {
//! let ops = McpServer::stdio("ops-mcp-server", ["--read-write"])
//!     .environment("production")
//!     .connect()
//!     .await?;
//! let tools = ops.registry()?;
//! assert!(tools.len() >= 1);
//! ops.close().await;
//! # Ok(()) }
//! ```

#[cfg(feature = "mcp")]
mod connection;
mod hosted;
#[cfg(feature = "mcp")]
mod listing;
mod listing_cap;
#[cfg(feature = "mcp")]
mod server;
#[cfg(feature = "mcp")]
mod tool;

#[cfg(feature = "mcp")]
pub use connection::{McpConnection, McpToolInfo};
pub use hosted::HostedMcp;
pub use listing_cap::McpListingCap;
#[cfg(feature = "mcp")]
pub use server::{
    DEFAULT_MAX_LIST_BYTES, DEFAULT_MAX_LIST_PAGES, DEFAULT_MAX_LIST_TOOLS, DEFAULT_MCP_TIMEOUT,
    McpServer,
};
#[cfg(feature = "mcp")]
pub use tool::McpToolHints;
