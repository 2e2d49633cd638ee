//! `bighub`: the local decision engine from the command line.
//!
//! ```text
//! bighub check --tool grant_access --args '{"user_id":"alice","duration":"48h"}' \
//!     --system okta --risk high --environment production --target okta-admins
//! bighub decisions --limit 20 [--json] [--shadow]
//! bighub approvals list | approve ID [--comment TEXT] | reject ID [--comment TEXT]
//! bighub --server http://127.0.0.1:8484 approvals list     # through a decision server
//! bighub policy test [PATH ...]
//! bighub policy eval --input action.json [--json]
//! bighub policy replay [--since 7d] [--limit N] [--fresh-context] [--json]
//! bighub policy cases cases.json
//! bighub context check [--context FILE] [--system S] [--environment E] [--target T]
//!     [--image REF]
//! bighub serve [--listen 127.0.0.1:8484] [--db PATH | --database-url postgres://...]
//!     [--policy ...] [--config CONTEXT_FILE] [--api-key-file FILE] [--insecure-no-auth]
//!     [--shadow-policy PATH ...] [--policy-poll-interval 2s]
//! ```
//!
//! `serve` watches its policy files (every 2 seconds unless `--policy-poll-interval` says
//! otherwise, `0` for never) and puts a change in force once it compiles and the
//! `*_test.rego` tests beside it pass; a refused change is shown in `/healthz` and
//! `/metrics` while the revision in force keeps deciding. `--shadow-policy` decides every
//! call with the enforced set plus those files too, never enforcing it; `decisions --shadow`
//! lists the calls where the two disagreed (request, time, tool, enforced mode, shadow
//! mode, the shadow's deciding rules, or its error), escaped.
//!
//! Every command honours `BIGHUB_DB` (store path), `BIGHUB_DATABASE_URL` (a PostgreSQL
//! store, which wins), `BIGHUB_POLICY` (extra policy files) and `BIGHUB_CONTEXT` (the
//! context providers' configuration), and `--db`, `--database-url`, `--database-schema`,
//! `--policy` and `--context` on the command line.
//!
//! `check` and `serve` fetch the configured context providers' documents before deciding
//! (see `bighub_local::context`). `context check` fetches each provider once for a sample
//! action and prints what the policy would see (`input.context`, `input.context_failed`,
//! and the `fail_closed` providers that would block the call) as JSON, escaped; header
//! values never appear. With `--image REF` it also prints, under `image`, what the evidence
//! lookup gives for that image (`input.evidence` and `decision_packet.evidence`). It exits
//! 0 when every provider answered (and the image's scan was found), 1 otherwise.
//! `policy eval` decides on the context and evidence gathered for the action when a context
//! configuration is given, and shows the evidence the decision used.
//! `policy replay` decides on the context recorded with each decision, or with
//! `--fresh-context` on what the providers answer now.
//!
//! `decisions` and `approvals` go through a decision server (`bighub serve`) instead when
//! one is named: `--server URL`, or `BIGHUB_BASE_URL` when neither `--db` nor
//! `--database-url` is given, with the key in `BIGHUB_API_KEY`. They say on standard error
//! which server or store they read (`server: URL`, `store: PATH`).
//!
//! What the store and the policy hold came from models, tools and policies, so every string
//! of it (and every error message, which may quote it) is printed escaped: control, bidi
//! and line-separator characters show as `\n`, `\x1b`, `\u{202e}`, ..., so each record
//! keeps to its line and the terminal interprets nothing. `--json` prints valid JSON whose
//! strings hold none of those characters raw either (JSON's escapes, `\uXXXX`).
//!
//! Exit codes of `check`: 0 execute, 2 approval_required, 3 needs_context, 4 blocked; 1 for an
//! error (bad arguments, a policy error). `policy test` exits 0 when every test passes, 1
//! when one fails or errs (or none is found); `policy cases` exits 0 when every case
//! matches, 1 otherwise; `policy eval` and `policy replay` exit 0 when they could decide,
//! whatever they decided, 1 on an error.
//!
//! # Policy workflow
//!
//! `policy test` runs Rego tests as `opa test` does: the `test_*` rules of the
//! `*_test.rego` files under the paths given (files or directories, recursively; default
//! `.`), loaded with the default policy, the policies in those directories (their other
//! `.rego` files and `.json` data, as `opa test DIR` loads them) and the policy files
//! (`--policy`, `BIGHUB_POLICY`). A test passes when its rule is `true`; tests may build
//! realistic inputs with `bighub.input(action)` (see
//! `bighub_local::LocalEngineBuilder::run_policy_tests`), and a failing test shows what
//! the policy decided for each of them. One line per test, then the totals:
//!
//! ```text
//! PASS: data.bighub.ext_test.test_argocd_syncs_are_reviewed (0.4ms)
//! FAIL: data.bighub.ext_test.test_argocd_syncs_run (0.3ms)
//!   for bighub.input({"system":"argocd","tool":"sync_app"})
//!   decided {"mode":"review","reason":"Argo CD syncs wait.","deciding_rules":["argocd_syncs_wait"]}
//! ERROR: data.bighub.ext_test.test_a_builtin_error (0.1ms): ext_test.rego:27:16: could not parse string as number
//! PASS: 1/3
//! FAIL: 1/3
//! ERROR: 1/3
//! ```
//!
//! `policy eval --input FILE` prints the decision for one proposed action (JSON in the
//! shape `check` builds: `{"tool", "action"?, "arguments"?, "system"?, "risk"?,
//! "environment"?, "target"?, "actor"?, ...}`; `-` reads standard input), decided now with
//! no history, without reading or writing the store (so it has no request id). Its verdict
//! is named as everywhere else: `execute`, `approval_required`, `needs_context`, `blocked`.
//!
//! `policy replay` decides the decisions recorded in the store again under the current
//! policy set, writing nothing, and prints each one whose mode changes, then the totals:
//!
//! ```text
//! loc_0192…  grant_access: review -> blocked (okta_changes_blocked)
//! decided: 9
//! changed: 1
//!   review -> blocked: 1
//! newly fired:
//!   okta_changes_blocked: 1
//! ```
//!
//! `policy cases FILE` checks the decided modes of sample calls written as JSON cases.

#![forbid(unsafe_code)]

mod decision_log_args;
mod escape;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bighub_core::{ApprovalResolution, Decision, ProposedAction, RiskLevel, Verdict};
use bighub_local::context::ContextProviders;
use bighub_local::policy_tests::PolicyTestOutcome;
use bighub_local::replay::ReplayOptions;
use bighub_local::{LocalEngineBuilder, PreviewHistory, RequestOrigin};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use serde_json::{Map, Value};

use escape::escape;

/// Decide IT actions locally with Rego policies, and manage the local decision store.
#[derive(Debug, Parser)]
#[command(name = "bighub", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// The decision store (SQLite file, or :memory:); default $BIGHUB_DB, else the
    /// platform data directory.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// A PostgreSQL store instead (postgres://user:password@host/db); default
    /// $BIGHUB_DATABASE_URL. Wins over --db.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// The PostgreSQL schema holding the store's tables (created when missing).
    #[arg(long, global = true)]
    database_schema: Option<String>,
    /// Extra .rego / .json policy files or directories (repeatable), after $BIGHUB_POLICY.
    #[arg(long, global = true)]
    policy: Vec<PathBuf>,
    /// A decision server (`bighub serve`) to read and resolve approvals and decisions
    /// through, instead of a store; default $BIGHUB_BASE_URL when neither --db nor
    /// --database-url is given. Its API key comes from $BIGHUB_API_KEY.
    #[arg(long, global = true)]
    server: Option<String>,
    /// The context providers' configuration file (JSON, or TOML by its extension);
    /// default $BIGHUB_CONTEXT.
    #[arg(long, global = true)]
    context: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide one proposed action; the exit code is the verdict (0 execute, 2
    /// approval_required, 3 needs_context, 4 blocked).
    Check(CheckArgs),
    /// Recent decisions and their outcomes.
    Decisions {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only the calls where the shadow policy set decided otherwise than the enforced
        /// one (or failed): request, tool, enforced mode, shadow mode, shadow rules. Reads
        /// the store (not a decision server).
        #[arg(long)]
        shadow: bool,
    },
    /// Pending approvals, and resolving them.
    Approvals {
        #[command(subcommand)]
        command: ApprovalCommand,
    },
    /// Policy authoring tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Run the decision server: the hosted service's API over this store and policy set.
    ///
    /// API keys come from $BIGHUB_SERVER_API_KEYS (comma-separated, each `name=key` or a
    /// bare key) and --api-key-file; the decision log records the key's name. The first
    /// line printed is `listening on http://ADDR`; SIGTERM or ctrl-c stops the server
    /// after the requests in flight. Each request is a trace span, exported over OTLP/HTTP
    /// when $OTEL_EXPORTER_OTLP_ENDPOINT (or the other standard OTEL_* variables) say so.
    Serve(serve::ServeArgs),
    /// Context providers: fetch them and show what the policy would see.
    Context {
        #[command(subcommand)]
        command: ContextCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ContextCommand {
    /// Fetch every configured provider once for a sample action and print what the policy
    /// would see (escaped; header values never appear). Exits 1 when a provider failed.
    Check {
        /// The sample action's tool.
        #[arg(long, default_value = "context_check")]
        tool: String,
        /// The sample action's system.
        #[arg(long)]
        system: Option<String>,
        /// The sample action's environment.
        #[arg(long)]
        environment: Option<String>,
        /// The sample action's target.
        #[arg(long)]
        target: Option<String>,
        /// An image reference (`registry/app@sha256:...`) to look up in the configured
        /// evidence, as a deploy of it would be.
        #[arg(long)]
        image: Option<String>,
    },
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The tool name.
    #[arg(long)]
    tool: String,
    /// The arguments, as a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// The action name (defaults to the tool name).
    #[arg(long)]
    action: Option<String>,
    /// The system touched (okta, terraform, argocd, ...).
    #[arg(long)]
    system: Option<String>,
    /// low, medium, high or critical.
    #[arg(long)]
    risk: Option<String>,
    /// The environment (production, staging, ...).
    #[arg(long)]
    environment: Option<String>,
    /// Who acts.
    #[arg(long, default_value = "cli")]
    actor: String,
    /// The resource acted on.
    #[arg(long)]
    target: Option<String>,
    /// Print the whole decision as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ApprovalCommand {
    /// Pending approvals.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending approval (as asked, the decision's better action, or edited
    /// arguments, which the policy decides first).
    Approve {
        /// The decision's request id.
        id: String,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
        /// Approve the decision's better action (its constrained alternative, such as the
        /// shorter grant) instead of the call asked for.
        #[arg(long, conflicts_with = "arguments")]
        better_action: bool,
        /// Approve these arguments (a JSON object) instead; secret ones stay `[REDACTED]`.
        #[arg(long, value_name = "JSON")]
        arguments: Option<String>,
    },
    /// Reject a pending approval.
    Reject {
        /// The decision's request id.
        id: String,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Run the Rego tests (test_* rules of *_test.rego files) against the policy set.
    ///
    /// The test files under PATH (files or directories, recursively; default .) are
    /// loaded with the default policy, the policies in those directories (their other
    /// .rego files and .json data, as `opa test DIR` loads them) and the policy files
    /// (--policy, BIGHUB_POLICY). A test passes when its rule evaluates to true; a failing
    /// test shows what the policy decided for each input it built with bighub.input.
    /// Exits 1 when a test fails or errs.
    Test {
        /// Test files or directories.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
    },
    /// Print the decision for one proposed action, without touching the store (nothing
    /// is recorded, so it has no request id).
    Eval {
        /// The proposed action as JSON ({"tool", "arguments", "system", "risk",
        /// "environment", "target", ...}); - reads standard input.
        #[arg(long)]
        input: PathBuf,
        /// Print the whole decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide the recorded decisions again under the current policy set, and print what
    /// would change; writes nothing.
    Replay {
        /// Only decisions made within this long (30m, 24h, 7d, ...).
        #[arg(long)]
        since: Option<String>,
        /// At most this many decisions, the newest first.
        #[arg(long)]
        limit: Option<usize>,
        /// Decide on what the context providers answer now, not on the context recorded
        /// with each decision.
        #[arg(long)]
        fresh_context: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate the policy set on sample cases and compare the modes with the expected ones.
    ///
    /// FILE is JSON: a list of cases (or {"cases": [...]}), each
    /// {"name", "action": {tool, arguments, system, risk, environment, target, ...},
    ///  "expect": "review", "history"?: {"failures_24h": 3}, "now"?: "2026-12-24T10:00:00Z"}.
    Cases {
        /// The cases file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("bighub: {}", escape(&message));
            ExitCode::from(1)
        }
    }
}

fn builder(global: &Global) -> LocalEngineBuilder {
    let mut b = LocalEngineBuilder::from_env();
    if let Some(db) = &global.db {
        b = b.db_path(db);
    }
    if let Some(url) = &global.database_url {
        b = b.database_url(url);
    }
    if let Some(schema) = &global.database_schema {
        b = b.database_schema(schema);
    }
    for p in &global.policy {
        b = b.policy_file(p);
    }
    if let Some(c) = &global.context {
        b = b.context_file(c);
    }
    b
}

/// Where `decisions` and `approvals` read and resolve: a decision server, or a store.
enum Source {
    Server(bighub_remote::RemoteBighub),
    Store(Box<bighub_local::LocalEngine>),
}

/// The server named by `--server` (or `$BIGHUB_BASE_URL` when no store is named), else the
/// store; says which on standard error, so that a listing is never read from the wrong
/// place unawares.
fn source(global: &Global) -> Result<Source, String> {
    let from_env = || {
        (global.db.is_none() && global.database_url.is_none())
            .then(|| std::env::var("BIGHUB_BASE_URL").ok())
            .flatten()
            .filter(|u| !u.is_empty())
    };
    if let Some(url) = global.server.clone().or_else(from_env) {
        let key = std::env::var("BIGHUB_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                format!(
                    "the decision server {url} needs an API key: set BIGHUB_API_KEY to one of its keys"
                )
            })?;
        let remote = bighub_remote::RemoteBighub::builder()
            .api_key(key)
            .base_url(url.clone())
            .build()
            .map_err(|e| e.to_string())?;
        eprintln!("server: {}", escape(remote.base_url()));
        return Ok(Source::Server(remote));
    }
    let engine = builder(global).build().map_err(|e| e.to_string())?;
    eprintln!("store: {}", escape(engine.store_name()));
    Ok(Source::Store(Box::new(engine)))
}

/// Runs `future` on a runtime of its own: the CLI is synchronous everywhere else.
fn block_on<T>(future: impl Future<Output = T>) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    Ok(runtime.block_on(future))
}

/// `decisions --shadow`: the recorded calls where the shadow set disagreed, newest first.
fn shadow_disagreements(global: &Global, limit: usize, json: bool) -> Result<ExitCode, String> {
    let Source::Store(engine) = source(global)? else {
        return Err(
            "decisions --shadow reads the store: give --db or --database-url (or $BIGHUB_DB)"
                .to_owned(),
        );
    };
    let rows = engine
        .shadow_disagreements(limit)
        .map_err(|e| e.to_string())?;
    if json {
        println!("{}", to_json(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<38} {:<24} {:<24} {:<13} {:<13} SHADOW RULES",
        "REQUEST", "DECIDED", "TOOL", "MODE", "SHADOW"
    );
    for r in rows {
        let rules = match &r.shadow_error {
            Some(error) => format!("error: {}", escape(error)),
            None if r.shadow_deciding_rules.is_empty() => "-".to_owned(),
            None => escape(&r.shadow_deciding_rules.join(",")).into_owned(),
        };
        println!(
            "{:<38} {:<24} {:<24} {:<13} {:<13} {}",
            escape(&r.request_id),
            escape(&r.created_at),
            escape(&r.tool),
            escape(&r.mode),
            escape(r.shadow_mode.as_deref().unwrap_or("-")),
            rules
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A JSON value as one escaped line (`-` for none).
fn compact(value: Option<&Value>) -> String {
    match value {
        Some(v) if !v.is_null() => escape(&v.to_string()).into_owned(),
        _ => "-".to_owned(),
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Check(args) => check(&cli.global, args),
        Command::Decisions {
            limit,
            json,
            shadow: true,
        } => shadow_disagreements(&cli.global, limit, json),
        Command::Decisions { limit, json, .. } => {
            let rows: Vec<Value> = match source(&cli.global)? {
                Source::Server(remote) => {
                    block_on(remote.decisions(limit))?.map_err(|e| e.to_string())?
                }
                Source::Store(engine) => engine
                    .recent_decisions(limit)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|r| serde_json::to_value(r).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?,
            };
            if json {
                println!("{}", to_json(&rows)?);
            } else {
                println!(
                    "{:<38} {:<24} {:<24} {:<20} {:<13} {:>5}  {:<16} USED",
                    "REQUEST", "DECIDED", "ACTION", "TARGET", "MODE", "RISK", "OUTCOMES"
                );
                let text =
                    |r: &Value, key: &str| escape(r[key].as_str().unwrap_or_default()).into_owned();
                for r in rows {
                    let outcomes: Vec<&str> = r["outcomes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| o["status"].as_str())
                        .collect();
                    println!(
                        "{:<38} {:<24} {:<24} {:<20} {:<13} {:>5}  {:<16} {}",
                        text(&r, "request_id"),
                        text(&r, "created_at"),
                        text(&r, "action"),
                        text(&r, "target"),
                        text(&r, "mode"),
                        r["risk_score"]
                            .as_f64()
                            .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
                        if outcomes.is_empty() {
                            "-".to_owned()
                        } else {
                            escape(&outcomes.join(",")).into_owned()
                        },
                        used_summary(&r["used"])
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Approvals { command } => {
            let source = source(&cli.global)?;
            match command {
                ApprovalCommand::List { json } => {
                    let rows: Vec<Value> = match &source {
                        Source::Server(remote) => {
                            block_on(remote.approvals(false, 1000))?.map_err(|e| e.to_string())?
                        }
                        Source::Store(engine) => engine
                            .pending_approvals()
                            .map_err(|e| e.to_string())?
                            .into_iter()
                            .map(|r| serde_json::to_value(r).map_err(|e| e.to_string()))
                            .collect::<Result<_, _>>()?,
                    };
                    if json {
                        println!("{}", to_json(&rows)?);
                    } else if rows.is_empty() {
                        println!("No pending approvals.");
                    } else {
                        let text = |r: &Value, key: &str| {
                            escape(r[key].as_str().unwrap_or_default()).into_owned()
                        };
                        for r in rows {
                            let target = text(&r, "target");
                            // What answering it takes: when it expires, and how many of
                            // the approvals it needs were given.
                            let mut terms = String::new();
                            if let Some(at) = r["expires_at"].as_str() {
                                terms.push_str(&format!("  expires {}", escape(at)));
                            }
                            let needed = r["required_approvals"].as_u64().unwrap_or(1);
                            if needed > 1 {
                                let given = r["approvers"].as_array().map_or(0, Vec::len);
                                terms.push_str(&format!("  {given} of {needed} approvals"));
                            }
                            println!(
                                "{}  {}  {}{}  {}  {}{terms}",
                                text(&r, "request_id"),
                                text(&r, "created_at"),
                                text(&r, "tool"),
                                if target.is_empty() {
                                    String::new()
                                } else {
                                    format!(" on {target}")
                                },
                                compact(r.get("arguments")),
                                text(&r, "reason"),
                            );
                        }
                    }
                }
                ApprovalCommand::Approve {
                    id,
                    comment,
                    better_action,
                    arguments,
                } => {
                    let mut answer = ApprovalResolution::approved(comment);
                    if better_action {
                        answer = answer.with_better_action();
                    }
                    if let Some(text) = arguments {
                        let edited: Value = serde_json::from_str(&text)
                            .map_err(|e| format!("--arguments is not JSON: {e}"))?;
                        if !edited.is_object() {
                            return Err("--arguments must be a JSON object".to_owned());
                        }
                        answer = answer.with_arguments(edited);
                    }
                    resolve(&source, &id, answer)?;
                }
                ApprovalCommand::Reject { id, comment } => {
                    resolve(&source, &id, ApprovalResolution::rejected(comment))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command } => match command {
            PolicyCommand::Test { paths } => policy_test(&cli.global, &paths),
            PolicyCommand::Eval { input, json } => policy_eval(&cli.global, &input, json),
            PolicyCommand::Replay {
                since,
                limit,
                fresh_context,
                json,
            } => policy_replay(&cli.global, since.as_deref(), limit, fresh_context, json),
            PolicyCommand::Cases { file } => policy_cases(&cli.global, &file),
        },
        Command::Context {
            command:
                ContextCommand::Check {
                    tool,
                    system,
                    environment,
                    target,
                    image,
                },
        } => {
            let mut action = ProposedAction::new(tool).actor("cli");
            action.system = system;
            action.environment = environment;
            action.target = target;
            context_check(&cli.global, &action, image.as_deref())
        }
        Command::Serve(args) => serve::serve(&cli.global, args),
    }
}

fn resolve(source: &Source, id: &str, mut resolution: ApprovalResolution) -> Result<(), String> {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    // The operator's name is their note; who resolved it, as a fact, is the API key's name
    // on a server, the operator's login on a store.
    resolution.resolved_by = Some(user.clone());
    let (request_id, status) = match source {
        Source::Server(remote) => {
            use bighub_core::DecisionEngine;
            let record =
                block_on(remote.resolve_approval(id, &resolution))?.map_err(|e| e.to_string())?;
            let field = |key: &str| record[key].as_str().unwrap_or(id).to_owned();
            (field("request_id"), field("status"))
        }
        Source::Store(engine) => {
            let resolver = format!("operator:{user}");
            let origin = bighub_local::AnswerOrigin {
                resolver: &resolver,
                separate_approver: false,
            };
            // A changed call is decided on its context providers, fetched now.
            let record =
                block_on(engine.answer(id, &resolution, origin))?.map_err(|e| e.to_string())?;
            (record.request_id, record.status.as_str().to_owned())
        }
    };
    println!("{} {}", escape(&request_id), escape(&status));
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    escape::json(value).map_err(|e| e.to_string())
}

/// The documented exit code of each verdict.
fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Execute => 0,
        Verdict::ApprovalRequired => 2,
        Verdict::NeedsContext => 3,
        Verdict::Blocked => 4,
    }
}

fn check(global: &Global, args: CheckArgs) -> Result<ExitCode, String> {
    let arguments: Value =
        serde_json::from_str(&args.args).map_err(|e| format!("--args is not JSON: {e}"))?;
    if !arguments.is_object() {
        return Err("--args must be a JSON object".to_owned());
    }
    let mut action = ProposedAction::new(args.tool)
        .arguments(arguments)
        .actor(args.actor);
    if let Some(a) = args.action {
        action = action.action_name(a);
    }
    if let Some(s) = args.system {
        action = action.system(s);
    }
    if let Some(r) = args.risk {
        action = action.risk(r.parse::<RiskLevel>().map_err(|e| e.to_string())?);
    }
    if let Some(e) = args.environment {
        action = action.environment(e);
    }
    if let Some(t) = args.target {
        action = action.target(t);
    }
    let engine = builder(global).build().map_err(|e| e.to_string())?;
    let context = block_on(engine.gather_context(&action))?;
    let decision = engine
        .decide_in_context(&action, RequestOrigin::default(), &context)
        .map_err(|e| e.to_string())?;
    let verdict = decision.verdict();
    if args.json {
        println!("{}", to_json(&decision.raw)?);
    } else {
        print_decision(&decision, verdict);
        // A decision `check` made is recorded: its request id finds it in the store.
        println!(
            "request:   {}",
            escape(decision.raw["request_id"].as_str().unwrap_or("-"))
        );
    }
    Ok(ExitCode::from(exit_code(verdict)))
}

/// What a listed decision was made on besides the call: its context providers (a failed
/// one marked), and the scan it used; `-` when neither. Escaped: the names are the
/// configuration's, the scanner the report's.
fn used_summary(used: &Value) -> String {
    let mut parts: Vec<String> = used["context"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, answer)| {
            if answer["error"].is_null() {
                escape(name).into_owned()
            } else {
                format!("{} (failed)", escape(name))
            }
        })
        .collect();
    let evidence = &used["evidence"];
    if evidence.is_object() {
        let scanner = evidence["scanner"]
            .as_str()
            .or(evidence["scanner"]["name"].as_str());
        parts.push(match scanner {
            Some(scanner) => format!("scan: {}", escape(scanner)),
            None => "scan: none".to_owned(),
        });
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

fn print_decision(decision: &Decision, verdict: Verdict) {
    let raw = &decision.raw;
    let s = |k: &str| escape(raw[k].as_str().unwrap_or("-")).into_owned();
    let field = |v: &Value| escape(v.as_str().unwrap_or("-")).into_owned();
    println!("verdict:   {verdict}");
    println!("mode:      {}", s("mode"));
    println!(
        "risk:      {}",
        raw["risk"]
            .as_f64()
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
    );
    println!("reason:    {}", s("reason"));
    if let Some(b) = raw["better_action"].as_str() {
        println!("better:    {}", escape(b));
    }
    if let Some(factors) = raw["salient_factors"].as_array() {
        for f in factors {
            println!(
                "factor:    {} ({}): {}",
                field(&f["factor"]),
                field(&f["severity"]),
                field(&f["reason"])
            );
        }
    }
    if let Some(items) = raw["responsible_action_space"]["information_gathering"].as_array() {
        for i in items {
            let text = i["question"]
                .as_str()
                .or(i["description"].as_str())
                .unwrap_or("-");
            println!("gather:    {}", escape(text));
        }
    }
    print_evidence(&raw["decision_packet"]);
}

/// The evidence a decision used, when it looked any up: the image, its digest, the report
/// (or why there is none), and the reports that could not be read.
fn print_evidence(packet: &Value) {
    let evidence = &packet["evidence"];
    if !evidence.is_object() {
        return;
    }
    let field = |v: &Value| escape(v.as_str().unwrap_or("-")).into_owned();
    println!(
        "evidence:  {} ({})",
        field(&evidence["image"]),
        field(&evidence["digest"])
    );
    if evidence["source"].is_string() {
        let scan = &packet["input"]["evidence"]["scan"];
        let counts = &scan["after_vex"];
        println!(
            "scan:      {} {} from {} by {} {}, generated {}; critical {}, high {} after VEX",
            field(&evidence["format"]),
            field(&evidence["report"]),
            field(&evidence["source"]),
            field(&evidence["scanner"]["name"]),
            field(&evidence["scanner"]["version"]),
            field(&evidence["generated_at"]),
            counts["critical"],
            counts["high"],
        );
    }
    if let Some(error) = evidence["error"].as_str() {
        println!("scan:      none: {}", escape(error));
    }
    for problem in evidence["problems"].as_array().into_iter().flatten() {
        println!("problem:   {}", field(problem));
    }
}

/// One case of `policy cases`.
#[derive(Debug, Deserialize)]
struct Case {
    #[serde(default)]
    name: Option<String>,
    action: ProposedAction,
    expect: String,
    #[serde(default)]
    history: PreviewHistory,
    #[serde(default)]
    now: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CaseFile {
    List(Vec<Value>),
    Wrapped { cases: Vec<Value> },
}

fn policy_cases(global: &Global, file: &PathBuf) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let cases: CaseFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a list of cases: {e}", file.display()))?;
    let cases = match cases {
        CaseFile::List(c) | CaseFile::Wrapped { cases: c } => c,
    };
    // Policy cases never touch the user's store.
    let engine = builder(global)
        .in_memory()
        .build()
        .map_err(|e| e.to_string())?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for (i, raw_case) in cases.into_iter().enumerate() {
        let mut raw_case = raw_case;
        // A case's action may omit `action` (the action name): it defaults to the tool.
        if let Some(a) = raw_case.get_mut("action").and_then(Value::as_object_mut) {
            default_action_fields(a);
        }
        let case: Case = match serde_json::from_value(raw_case) {
            Ok(c) => c,
            Err(e) => {
                println!(
                    "FAIL case {}: invalid case: {}",
                    i + 1,
                    escape(&e.to_string())
                );
                failed += 1;
                continue;
            }
        };
        let label = case.name.as_deref().map_or_else(
            || format!("case {}", i + 1),
            |name| escape(name).into_owned(),
        );
        let now_ms = match case.now.as_deref().map(parse_now) {
            Some(Ok(ms)) => Some(ms),
            Some(Err(e)) => {
                println!("FAIL {label}: {}", escape(&e));
                failed += 1;
                continue;
            }
            None => None,
        };
        match engine.preview(&case.action, &case.history, now_ms) {
            Ok(d) => {
                let got = d.raw["mode"].as_str().unwrap_or("-");
                if got == case.expect {
                    println!("ok   {label}: {}", escape(got));
                    passed += 1;
                } else {
                    println!(
                        "FAIL {label}: expected {}, got {} ({})",
                        escape(&case.expect),
                        escape(got),
                        escape(d.raw["reason"].as_str().unwrap_or(""))
                    );
                    failed += 1;
                }
            }
            Err(e) => {
                println!("FAIL {label}: {}", escape(&e.to_string()));
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn policy_test(global: &Global, paths: &[PathBuf]) -> Result<ExitCode, String> {
    // Case files moved to `policy cases`; say so rather than "not a Rego file".
    if let Some(json) = paths
        .iter()
        .find(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
    {
        return Err(format!(
            "{} is a JSON file: case files run with `bighub policy cases {}`; `policy test` runs test_* rules of *_test.rego files",
            json.display(),
            json.display()
        ));
    }
    let results = builder(global)
        .run_policy_tests(paths)
        .map_err(|e| e.to_string())?;
    if results.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no test rules (test_*) found in *_test.rego files under {}",
            shown.join(", ")
        ));
    }
    let (mut passed, mut failed, mut errors) = (0usize, 0usize, 0usize);
    for r in &results {
        let ms = r.duration.as_secs_f64() * 1000.0;
        let rule = escape(&r.rule);
        match &r.outcome {
            PolicyTestOutcome::Pass => {
                passed += 1;
                println!("PASS: {rule} ({ms:.1}ms)");
            }
            PolicyTestOutcome::Fail => {
                failed += 1;
                println!("FAIL: {rule} ({ms:.1}ms)");
                for d in &r.decisions {
                    println!("  for bighub.input({})", escape(&d.action.to_string()));
                    println!("  decided {}", escape(&decision_summary(&d.decision)));
                }
            }
            PolicyTestOutcome::Error(message) => {
                errors += 1;
                println!("ERROR: {rule} ({ms:.1}ms): {}", escape(message));
            }
            // A kind of outcome this build does not know counts against the run.
            _ => {
                errors += 1;
                println!("ERROR: {rule} ({ms:.1}ms)");
            }
        }
    }
    let total = results.len();
    println!("PASS: {passed}/{total}");
    if failed > 0 {
        println!("FAIL: {failed}/{total}");
    }
    if errors > 0 {
        println!("ERROR: {errors}/{total}");
    }
    Ok(if failed + errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a failing test shows of a decision: the default policy's `mode`, `reason`,
/// `better_action` and `deciding_rules` when the answer has them, else the whole answer.
fn decision_summary(decision: &Value) -> String {
    let Some(fields) = decision.as_object() else {
        return decision.to_string();
    };
    let picked: Map<String, Value> = ["mode", "reason", "better_action", "deciding_rules"]
        .into_iter()
        .filter_map(|k| {
            fields
                .get(k)
                .filter(|v| !v.is_null())
                .map(|v| (k.to_owned(), v.clone()))
        })
        .collect();
    if picked.is_empty() {
        decision.to_string()
    } else {
        Value::Object(picked).to_string()
    }
}

fn policy_eval(global: &Global, input: &Path, json: bool) -> Result<ExitCode, String> {
    let text = if input == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(input)
            .map_err(|e| format!("cannot read {}: {e}", input.display()))?
    };
    let mut value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", input.display()))?;
    let Some(fields) = value.as_object_mut() else {
        return Err(format!(
            "{}: expected a proposed action object, such as {{\"tool\": \"deploy\"}}",
            input.display()
        ));
    };
    default_action_fields(fields);
    let action: ProposedAction = serde_json::from_value(value)
        .map_err(|e| format!("{}: not a proposed action: {e}", input.display()))?;
    // Evaluation never touches the user's store.
    let engine = builder(global)
        .in_memory()
        .build()
        .map_err(|e| e.to_string())?;
    let decision = if engine.context_providers().is_empty() {
        engine.preview(&action, &PreviewHistory::default(), None)
    } else {
        let context = block_on(engine.gather_context(&action))?;
        engine.decide_without_recording_in_context(&action, &context)
    }
    .map_err(|e| e.to_string())?;
    if json {
        // Nothing was recorded, so no request id could find it: none is shown.
        let mut raw = decision.raw.clone();
        if let Some(fields) = raw.as_object_mut() {
            fields.remove("request_id");
        }
        println!("{}", to_json(&raw)?);
    } else {
        print_decision(&decision, decision.verdict());
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_replay(
    global: &Global,
    since: Option<&str>,
    limit: Option<usize>,
    fresh_context: bool,
    json: bool,
) -> Result<ExitCode, String> {
    let since = since
        .map(|s| bighub_local::duration::parse_duration(s).map_err(|e| format!("--since: {e}")))
        .transpose()?;
    let engine = builder(global).build().map_err(|e| e.to_string())?;
    let options = ReplayOptions { since, limit };
    let report = if fresh_context {
        engine.replay_with_fresh_context(&options)
    } else {
        engine.replay(&options)
    }
    .map_err(|e| e.to_string())?;
    if json {
        println!("{}", to_json(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for c in &report.changes {
        let rules = if c.deciding_rules.is_empty() {
            "-".to_owned()
        } else {
            c.deciding_rules.join(", ")
        };
        println!(
            "{} {}: {} -> {} ({})",
            escape(&c.request_id),
            escape(&c.tool),
            escape(&c.mode_before),
            escape(&c.mode_after),
            escape(&rules)
        );
    }
    for e in &report.errors {
        println!(
            "{} {}: {} -> error: {}",
            escape(&e.request_id),
            escape(&e.tool),
            escape(&e.mode_before),
            escape(&e.message)
        );
    }
    println!("decided: {}", report.decided);
    println!("changed: {}", report.changed);
    for t in &report.transitions {
        println!(
            "  {} -> {}: {}",
            escape(&t.before),
            escape(&t.after),
            t.count
        );
    }
    if !report.errors.is_empty() {
        println!("failed: {}", report.errors.len());
    }
    if !report.newly_fired.is_empty() {
        println!("newly fired:");
        for r in &report.newly_fired {
            println!("  {}: {}", escape(&r.rule), r.count);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `context check`: fetches every provider once for `action` and prints what the policy
/// would see. Reads only the context configuration: no policy, no store.
fn context_check(
    global: &Global,
    action: &ProposedAction,
    image: Option<&str>,
) -> Result<ExitCode, String> {
    let path = global
        .context
        .clone()
        .or_else(|| {
            std::env::var_os("BIGHUB_CONTEXT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .ok_or("no context configuration: give --context FILE or set BIGHUB_CONTEXT")?;
    let providers = ContextProviders::from_file(&path).map_err(|e| e.to_string())?;
    eprintln!("context: {}", escape(&path.display().to_string()));
    let snapshot = block_on(providers.gather(action))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut view = snapshot.policy_view(now_ms);
    let mut no_scan = false;
    if let Some(image) = image {
        let checked = block_on(providers.check_image(image, now_ms))?
            .ok_or("the context configuration has no `evidence` to look the image up in")?;
        no_scan = checked["evidence"]["scan"].is_null();
        view["image"] = checked;
    }
    println!("{}", to_json(&view)?);
    let failed = no_scan
        || view["context"]
            .as_object()
            .is_some_and(|c| c.values().any(|p| !p["error"].is_null()));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn default_action_fields(a: &mut Map<String, Value>) {
    if !a.contains_key("action")
        && let Some(tool) = a.get("tool").cloned()
    {
        a.insert("action".into(), tool);
    }
    a.entry("arguments")
        .or_insert_with(|| Value::Object(Map::new()));
}

/// RFC 3339 (e.g. 2026-12-24T10:00:00Z) to unix milliseconds.
fn parse_now(text: &str) -> Result<i64, String> {
    bighub_local::clock::parse_timestamp(text)
        .map(|secs| secs * 1000)
        .map_err(|e| e.to_string())
}
