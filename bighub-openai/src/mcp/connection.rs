//! `McpConnection`: a connected MCP server, its listed tools, and its shutdown.
//!
//! This module owns the session with the server (started with `rmcp`), filtering its tools
//! and registering them in a [`ToolRegistry`]. Reading the tool list is `listing.rs`'s;
//! deciding calls is the agent's; forwarding one is `tool.rs`'s.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use rmcp::service::{ClientCacheConfig, Peer, RoleClient, RunningService};
use rmcp::{RoleClient as Client, ServiceExt};
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::schema::StrictSchema;
use crate::tool::{ActionMetadata, ToolRegistry};
use crate::{Error, ToolOptions};

use super::listing::{ListError, Listing, Watched, Watcher, list_tools};
use super::server::{McpServer, Transport};
use super::tool::{McpTool, McpToolHints, model_name};

/// The live session with one server, shared by its tools.
pub(crate) struct Session {
    peer: Peer<RoleClient>,
    /// The server's tools: pinned at connect, as it offers them now.
    listing: Arc<Listing>,
    /// Held so the session lives as long as a tool or the connection does; taken by
    /// `close`. Dropping it ends the session and stops a child process.
    service: Mutex<Option<RunningService<Client, Watcher>>>,
}

impl Session {
    pub(crate) fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    pub(crate) fn listing(&self) -> &Listing {
        &self.listing
    }
}

/// What the model is offered for one tool of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct McpToolInfo {
    /// The name the model sees (with the prefix, if any).
    pub name: String,
    /// The server's name for the tool.
    pub server_name: String,
    /// Its description.
    pub description: String,
    /// Its input schema, as the server listed it.
    pub input_schema: Value,
    /// Whether its input schema could be made strict; a tool whose schema cannot (free-form
    /// maps, for example) is offered with `strict: false`, and `note` says why.
    pub strict: bool,
    /// Why the tool is not strict, when it is not.
    pub note: Option<String>,
    /// The annotations' hints, with the spec's defaults, and whether they are trusted.
    pub hints: McpToolHints,
    /// The metadata the decision engine sees for its calls.
    pub metadata: ActionMetadata,
}

/// A connected MCP server: its tools, ready to be registered, and its session.
///
/// Made by [`McpServer::connect`]. Its tools keep the session alive while an agent holds
/// them; [`close`](Self::close) ends it (a stdio server's process is stopped), and so does
/// dropping the connection and every agent that holds its tools.
pub struct McpConnection {
    server_name: String,
    label: String,
    session: Arc<Session>,
    tools: Vec<(Arc<McpTool>, McpToolInfo)>,
}

impl fmt::Debug for McpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpConnection")
            .field("server", &self.server_name)
            .field("at", &self.label)
            .field(
                "tools",
                &self.tools.iter().map(|(t, _)| &t.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl McpServer {
    /// Starts (stdio) or reaches (HTTP) the server, completes the MCP handshake and lists
    /// its tools, within [`timeout`](Self::timeout).
    ///
    /// Each tool's definition (description, input schema, annotations) is pinned here. When
    /// the server announces `notifications/tools/list_changed` the list is read again; a
    /// call is decided on the definition the server offers then (a changed one is marked
    /// `definition_changed`, which the default policy sends to review) and forwarded only
    /// if that is still the definition when it runs; a tool the server no longer lists
    /// fails as a tool error.
    ///
    /// Errors ([`Error::Mcp`]) name the server: a command that cannot start, a handshake or
    /// listing that fails or times out, `allow` or `tool_metadata` naming a tool the server
    /// does not have, or two tools that would be offered under one name. A listing that
    /// goes past a cap ([`max_list_pages`](Self::max_list_pages), ...) is
    /// [`Error::McpListingTooLarge`].
    pub async fn connect(self) -> Result<McpConnection, Error> {
        let label = self.label();
        let err = |message: String| Error::Mcp {
            server: label.clone(),
            message,
        };
        let listing = Arc::new(Listing::new(label.clone(), self.limits));
        let span = tracing::info_span!("mcp_connect", server = ?label);
        let connecting = async {
            let service = start(&self.transport, &listing).await.map_err(&err)?;
            // rmcp keeps listings for the TTL a server chooses and serves a stale one when
            // reading again fails; a server's word on its tools is read fresh every time.
            service
                .peer()
                .set_response_cache_config(ClientCacheConfig::disabled())
                .await;
            let tools = list_tools(service.peer(), listing.limits()).await;
            Ok::<_, Error>((service, tools))
        }
        .instrument(span);
        let (service, listed) = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| {
                err(format!(
                    "no answer to the handshake and tools/list within {:?}",
                    self.timeout
                ))
            })??;
        let listed = listed.map_err(|e| match e {
            ListError::Cap(cap) => Error::McpListingTooLarge {
                server: label.clone(),
                cap,
            },
            ListError::Failed(message) => err(format!("tools/list failed: {message}")),
        })?;
        listing.pin(&listed);
        let server_name = service
            .peer_info()
            .and_then(|info| info.server_info.as_ref().map(|s| s.name.clone()))
            .unwrap_or_default();
        let session = Arc::new(Session {
            peer: service.peer().clone(),
            listing,
            service: Mutex::new(Some(service)),
        });

        let names: HashSet<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
        let unknown: Vec<&str> = self
            .allow
            .iter()
            .flatten()
            .map(String::as_str)
            .chain(self.overrides.keys().map(String::as_str))
            .filter(|n| !names.contains(n))
            .collect();
        if !unknown.is_empty() {
            return Err(err(format!(
                "no tool named {} on this server (it has: {})",
                unknown.join(", "),
                sorted(&names).join(", ")
            )));
        }

        let system = self
            .system
            .clone()
            .or_else(|| (!server_name.is_empty()).then(|| server_name.clone()));
        let mut offered = HashSet::new();
        let mut tools = Vec::new();
        for listed in &listed {
            let original = listed.name.as_ref();
            if self.deny.iter().any(|d| d == original)
                || self
                    .allow
                    .as_ref()
                    .is_some_and(|a| !a.iter().any(|n| n == original))
            {
                continue;
            }
            let name = model_name(self.prefix.as_deref(), original);
            if !offered.insert(name.clone()) {
                return Err(err(format!(
                    "two tools would be offered as `{name}`; give the server a prefix or deny one"
                )));
            }
            let mut metadata = ActionMetadata {
                system: system.clone(),
                environment: self.environment.clone(),
                actor: self.actor.clone(),
                domain: self.domain.clone(),
                timeout: Some(self.timeout),
                ..ActionMetadata::default()
            };
            let edit = self.overrides.get(original);
            let user_risk = edit.and_then(|edit| risk_set_by(edit, &metadata));
            if let Some(edit) = edit {
                edit(&mut metadata);
            }
            let trusted = self.trust_annotations || metadata.trust_annotations;
            let hints = McpToolHints::from_annotations(listed.annotations.as_ref(), trusted);
            metadata.risk = user_risk.unwrap_or_else(|| hints.risk());
            let tool = McpTool::new(listed, name, metadata, trusted, user_risk, session.clone());
            let note = StrictSchema::from_generated(tool.schema.clone())
                .err()
                .map(|e| format!("offered with strict: false: {e}"));
            let info = McpToolInfo {
                name: tool.name.clone(),
                server_name: tool.server_name.clone(),
                description: tool.description.clone(),
                input_schema: tool.schema.clone(),
                strict: note.is_none(),
                note,
                hints,
                metadata: tool.metadata.clone(),
            };
            if let Some(note) = &info.note {
                tracing::info!(tool = ?info.name, note = ?note, "MCP tool schema is not strict");
            }
            tools.push((Arc::new(tool), info));
        }
        tracing::info!(server = ?server_name, tools = tools.len(), "MCP server connected");
        Ok(McpConnection {
            server_name,
            label,
            session,
            tools,
        })
    }
}

/// The risk `edit` sets whatever the risk was before it, if it sets one: the risk the user
/// chose, which the server's hints (now or after a change) never replace.
fn risk_set_by(
    edit: &super::server::MetadataOverride,
    base: &ActionMetadata,
) -> Option<crate::tool::RiskLevel> {
    use crate::tool::RiskLevel;
    let mut low = ActionMetadata {
        risk: RiskLevel::Low,
        ..base.clone()
    };
    let mut critical = ActionMetadata {
        risk: RiskLevel::Critical,
        ..base.clone()
    };
    edit(&mut low);
    edit(&mut critical);
    (low.risk == critical.risk).then_some(low.risk)
}

fn sorted<'a>(names: &HashSet<&'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = names.iter().copied().collect();
    v.sort_unstable();
    v
}

/// Starts the session: spawns the child process or opens the HTTP transport, and runs the
/// MCP handshake.
async fn start(
    transport: &Transport,
    listing: &Arc<Listing>,
) -> Result<RunningService<Client, Watcher>, String> {
    let watcher = Watcher {
        listing: listing.clone(),
    };

    match transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args);
            cmd.envs(env.iter().map(|(k, v)| (k, v)));
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let (child, _) = rmcp::transport::TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start `{command}`: {e}"))?;
            watcher
                .serve(Watched {
                    inner: child,
                    listing: listing.clone(),
                })
                .await
                .map_err(|e| format!("MCP handshake failed: {e}"))
        }
        Transport::Http {
            url,
            bearer_token,
            headers,
        } => {
            use rmcp::transport::StreamableHttpClientTransport;
            use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            if let Some(token) = bearer_token {
                config = config.auth_header(token.clone());
            }
            if !headers.is_empty() {
                let mut map = std::collections::HashMap::new();
                for (name, value) in headers {
                    let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("`{name}` is not a header name"))?;
                    let value = reqwest::header::HeaderValue::from_str(value)
                        .map_err(|_| format!("the value of header `{name}` is not valid"))?;
                    map.insert(name, value);
                }
                config = config.custom_headers(map);
            }
            watcher
                .serve(Watched {
                    inner: StreamableHttpClientTransport::from_config(config),
                    listing: listing.clone(),
                })
                .await
                .map_err(|e| format!("MCP handshake failed: {e}"))
        }
    }
}

impl McpConnection {
    /// The server's name from its handshake (`serverInfo.name`).
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// The tools the model will be offered, in the server's order.
    pub fn tools(&self) -> Vec<McpToolInfo> {
        self.tools.iter().map(|(_, info)| info.clone()).collect()
    }

    /// Registers the server's tools in `registry`, each guarded like any other tool (a
    /// tool whose schema cannot be made strict is registered with `strict: false`). A name
    /// already in the registry is an error.
    pub fn register(&self, registry: &mut ToolRegistry) -> Result<(), Error> {
        for (tool, info) in &self.tools {
            // Each decision reads the definition the server offers at that moment.
            let offered = tool.clone();
            let options = ToolOptions::new()
                .strict(info.strict)
                .metadata_from_args(move |_: &Value| offered.decision_metadata());
            registry.register_shared(tool.clone(), options)?;
        }
        Ok(())
    }

    /// The server's tools as a new registry.
    pub fn registry(&self) -> Result<ToolRegistry, Error> {
        let mut registry = ToolRegistry::new();
        self.register(&mut registry)?;
        Ok(registry)
    }

    /// Ends the session: an HTTP session is closed, a stdio server's process is stopped.
    /// Calls of its tools fail afterwards (as tool errors). Closing twice does nothing.
    pub async fn close(&self) {
        close_session(&self.session).await;
    }
}

pub(crate) async fn close_session(session: &Session) {
    let service = session.service.lock().await.take();
    if let Some(service) = service {
        let _ = service.cancel().await;
    }
}
