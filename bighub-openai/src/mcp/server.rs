//! `McpServer`: how to reach one MCP server and how its tools are to be described to the
//! decision engine. Connecting is `connection.rs`'s job; one tool's calls are `tool.rs`'s.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::tool::ActionMetadata;

use super::listing::ListingLimits;

/// Edits one tool's metadata after it has been read from the server.
pub(crate) type MetadataOverride = Arc<dyn Fn(&mut ActionMetadata) + Send + Sync>;

/// The default bound on one `tools/call` (and on connecting).
pub const DEFAULT_MCP_TIMEOUT: Duration = Duration::from_secs(60);

/// The default cap on the pages of one `tools/list` reading.
pub const DEFAULT_MAX_LIST_PAGES: usize = 100;
/// The default cap on the tools of one `tools/list` reading.
pub const DEFAULT_MAX_LIST_TOOLS: usize = 1000;
/// The default cap on the bytes (tool definitions as JSON) of one `tools/list` reading.
pub const DEFAULT_MAX_LIST_BYTES: usize = 8 * 1024 * 1024;

/// How the server is reached.
#[derive(Clone)]
pub(crate) enum Transport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        url: String,
        bearer_token: Option<String>,
        headers: Vec<(String, String)>,
    },
}

/// An MCP server whose tools the agent offers to the model, guarded like its own tools.
///
/// Each of the server's tools becomes a tool of the agent: the model sees its name (with
/// an optional prefix), description and input schema; each call becomes a proposed action
/// (the action is the tool's name; the system is [`system`](Self::system), by default the
/// server's `serverInfo.name`), is decided before it runs, and is forwarded with
/// `tools/call` only when the decision allows it.
///
/// # A server is untrusted unless you say otherwise
///
/// A tool's annotations (`readOnlyHint`, `destructiveHint`, ...) are the server's claims
/// about it, and a hostile server can call `exec_sql` read-only. So by default they may
/// raise a tool's risk but never lower it: every tool is high risk, like a tool that says
/// nothing, and the hints reach the decision engine as `context.metadata.tool_hints`
/// (the local engine's `input.action.hints`) with `trusted: false`, which the default
/// policy never reads as a read. [`trust_annotations`](Self::trust_annotations) takes a
/// server you run or vetted at its word: `readOnlyHint` makes a tool a low-risk read
/// (autonomous under the default policy, unless its name says it changes something),
/// `destructiveHint: false` a medium-risk change, anything else high risk. One tool can be
/// trusted with [`tool_metadata`](Self::tool_metadata) and
/// [`ActionMetadata::trust_annotations`]; a risk set there is kept whatever the hints say.
///
/// # Definitions are pinned
///
/// Each tool's definition is pinned at [`connect`](Self::connect). When the server
/// announces a change, its list is read again: a call is decided on the definition the
/// server offers then, a definition that changed since connect reaches the engine as
/// `tool_hints.definition_changed` (review under the default policy), and the call is
/// forwarded only if the definition is still the one it was decided on. Reading the list is
/// bounded by [`max_list_pages`](Self::max_list_pages),
/// [`max_list_tools`](Self::max_list_tools) and [`max_list_bytes`](Self::max_list_bytes).
///
/// ```no_run
/// use bighub_openai::mcp::McpServer;
///
/// # async fn run() -> Result<(), bighub_openai::Error> {
/// let kube = McpServer::stdio("npx", ["-y", "mcp-server-kubernetes"])
///     .system("kubernetes")
///     .environment("production")
///     .deny(["exec_in_pod"])
///     .tool_metadata("scale_deployment", |m| m.target_arg = Some("name".into()))
///     .connect()
///     .await?;
/// for tool in kube.tools() {
///     println!("{} (strict: {})", tool.name, tool.strict);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct McpServer {
    pub(crate) transport: Transport,
    pub(crate) system: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) actor: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) allow: Option<Vec<String>>,
    pub(crate) deny: Vec<String>,
    pub(crate) overrides: HashMap<String, MetadataOverride>,
    pub(crate) timeout: Duration,
    pub(crate) trust_annotations: bool,
    pub(crate) limits: ListingLimits,
}

impl McpServer {
    fn with(transport: Transport) -> Self {
        Self {
            transport,
            system: None,
            environment: None,
            actor: None,
            domain: None,
            prefix: None,
            allow: None,
            deny: Vec::new(),
            overrides: HashMap::new(),
            timeout: DEFAULT_MCP_TIMEOUT,
            trust_annotations: false,
            limits: ListingLimits {
                pages: DEFAULT_MAX_LIST_PAGES,
                tools: DEFAULT_MAX_LIST_TOOLS,
                bytes: DEFAULT_MAX_LIST_BYTES,
            },
        }
    }

    /// A server started as a child process (`command` with `args`) that speaks MCP on its
    /// stdin and stdout. Its stderr is the agent's. It is stopped when the connection is
    /// closed or dropped.
    pub fn stdio<I, S>(command: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with(Transport::Stdio {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
        })
    }

    /// A server at a streamable HTTP endpoint (`https://host/mcp`).
    pub fn http(url: impl Into<String>) -> Self {
        Self::with(Transport::Http {
            url: url.into(),
            bearer_token: None,
            headers: Vec::new(),
        })
    }

    /// Sets an environment variable of the child process (stdio servers only). Values are
    /// never printed by `Debug`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let Transport::Stdio { env, .. } = &mut self.transport {
            env.push((key.into(), value.into()));
        }
        self
    }

    /// The child process's working directory (stdio servers only).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Transport::Stdio { cwd, .. } = &mut self.transport {
            *cwd = Some(dir.into());
        }
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request (HTTP servers only). The
    /// token is never printed by `Debug`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        if let Transport::Http { bearer_token, .. } = &mut self.transport {
            *bearer_token = Some(token.into());
        }
        self
    }

    /// Sends a header with every request (HTTP servers only). Values are never printed by
    /// `Debug`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Transport::Http { headers, .. } = &mut self.transport {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// The system the decision engine sees for this server's tools (default: the server's
    /// `serverInfo.name`).
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// The environment the server's tools act on (`production`, `staging`, ...).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The actor the decision engine sees (default: the agent's).
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// The domain the decision engine sees (default: the agent's).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Offers each tool as `<prefix>_<name>`, so that two servers' tools cannot clash.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Offers only these tools (by the server's names). Naming a tool the server does not
    /// have is an error when connecting.
    pub fn allow<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Never offers these tools (by the server's names); the model cannot call them.
    pub fn deny<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.deny.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Edits the metadata of one tool (by the server's name) after it is read from the
    /// server: its risk, target, value or environment argument, secret arguments, timeout,
    /// whether its annotations are trusted ([`ActionMetadata::trust_annotations`]). A risk
    /// set here is the tool's whatever its annotations say, then or later. Naming a tool
    /// the server does not have is an error when connecting.
    pub fn tool_metadata<F>(mut self, tool: impl Into<String>, edit: F) -> Self
    where
        F: Fn(&mut ActionMetadata) + Send + Sync + 'static,
    {
        self.overrides.insert(tool.into(), Arc::new(edit));
        self
    }

    /// Takes the server's annotations at their word: `readOnlyHint` may then make a tool a
    /// low-risk read and `destructiveHint: false` a medium-risk change (see the type's
    /// documentation). Only for a server you run or have vetted: a server that lies gets
    /// its "read-only" `exec_sql` run without review.
    ///
    /// ```no_run
    /// use bighub_openai::mcp::McpServer;
    ///
    /// # async fn run() -> Result<(), bighub_openai::Error> {
    /// let ours = McpServer::stdio("our-ops-mcp", Vec::<String>::new())
    ///     .trust_annotations()
    ///     .connect()
    ///     .await?;
    /// assert!(ours.tools().iter().all(|t| t.hints.trusted));
    /// # Ok(()) }
    /// ```
    pub fn trust_annotations(mut self) -> Self {
        self.trust_annotations = true;
        self
    }

    /// Caps the pages of one reading of the tool list (default
    /// [`DEFAULT_MAX_LIST_PAGES`]); a server that sends more is refused.
    pub fn max_list_pages(mut self, pages: usize) -> Self {
        self.limits.pages = pages;
        self
    }

    /// Caps the tools of one reading of the tool list (default
    /// [`DEFAULT_MAX_LIST_TOOLS`]); a server that lists more is refused.
    pub fn max_list_tools(mut self, tools: usize) -> Self {
        self.limits.tools = tools;
        self
    }

    /// Caps the bytes of tool definitions (as JSON) of one reading of the tool list
    /// (default [`DEFAULT_MAX_LIST_BYTES`]); a server that sends more is refused.
    pub fn max_list_bytes(mut self, bytes: usize) -> Self {
        self.limits.bytes = bytes;
        self
    }

    /// Bounds connecting and each `tools/call` (default 60 s). A call that takes longer
    /// fails as a tool error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What the server is called in errors: the command, or the URL without credentials,
    /// query or fragment.
    pub(crate) fn label(&self) -> String {
        match &self.transport {
            Transport::Stdio { command, .. } => command.clone(),
            Transport::Http { url, .. } => match url::Url::parse(url) {
                Ok(mut u) => {
                    // Credentials and query strings stay out of errors and logs.
                    let _ = u.set_username("");
                    let _ = u.set_password(None);
                    u.set_query(None);
                    u.set_fragment(None);
                    u.to_string()
                }
                Err(_) => "an MCP server URL that does not parse".to_owned(),
            },
        }
    }
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("McpServer");
        match &self.transport {
            Transport::Stdio {
                command, args, env, ..
            } => {
                // Arguments may carry credentials: only how many there are.
                d.field("command", command)
                    .field("args", &args.len())
                    .field(
                        "env",
                        &env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                    );
            }
            Transport::Http {
                bearer_token,
                headers,
                ..
            } => {
                d.field("url", &self.label())
                    .field("bearer_token", &bearer_token.as_ref().map(|_| "[REDACTED]"))
                    .field(
                        "headers",
                        &headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                    );
            }
        }
        d.field("system", &self.system)
            .field("environment", &self.environment)
            .field("prefix", &self.prefix)
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .field("timeout", &self.timeout)
            .field("trust_annotations", &self.trust_annotations)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
