//! `McpListingCap`: which bound a server's `tools/list` went past.
//!
//! Only the name of the cap and its value; the bounded listing itself is `listing.rs`'s,
//! and where the caps are set is `McpServer`'s.

use std::fmt;

/// A bound on reading an MCP server's tool list, set on `McpServer` (`max_list_pages`,
/// `max_list_tools`, `max_list_bytes`). A server whose `tools/list` goes past one is
/// refused with [`Error::McpListingTooLarge`](crate::Error::McpListingTooLarge): a hostile
/// server cannot keep the agent reading pages until it runs out of memory or time.
///
/// ```
/// use bighub_openai::mcp::McpListingCap;
///
/// assert_eq!(McpListingCap::Pages(100).to_string(), "100 pages (max_list_pages)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpListingCap {
    /// At most this many `tools/list` pages.
    Pages(usize),
    /// At most this many tools in all pages.
    Tools(usize),
    /// At most this many bytes of tool definitions (as JSON) in all pages.
    Bytes(usize),
}

impl fmt::Display for McpListingCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pages(n) => write!(f, "{n} pages (max_list_pages)"),
            Self::Tools(n) => write!(f, "{n} tools (max_list_tools)"),
            Self::Bytes(n) => write!(f, "{n} bytes (max_list_bytes)"),
        }
    }
}
