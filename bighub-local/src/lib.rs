//! The embedded local decision engine: policies as code, a local store, no network.
//!
//! [`LocalEngine`] decides proposed actions with Rego policies evaluated in-process
//! (regorus), and keeps decisions, outcomes, memory events and approvals in a SQLite file.
//! It is the default engine when no BIGHUB API key is configured, so a new user's first run
//! decides with it, offline. The `bighub` command-line tool reads and writes the same store.
//!
//! This crate owns the local engine: the policy set, the default policy and its data, the
//! store and the approvals. It depends on `bighub-core` only. It does not run tools or gate
//! decisions: the runtime (`bighub-openai`, which re-exports this crate as
//! `bighub_openai::local`) does, with the same [`Decision`](bighub_core::Decision) it gets
//! from the hosted service.
//!
//! The crate's root holds what building and using an engine takes ([`LocalEngine`], its
//! builder, [`LocalError`], the default policy and its configuration); the rest lives in
//! modules: [`config`] (the parts of [`PolicyConfig`]), [`context`] (the providers a
//! decision fetches what is true now from), [`storage`] (the records the engine
//! hands out, the store's limits and timeouts), [`durable`] (paused agent runs kept
//! beside their approvals), [`replay`], [`policy_tests`], [`decision_logs`] (every
//! decision out to a file or an HTTP endpoint), [`live_policies`] (reloading and watching
//! the policy files, shadow policies), and
//! [`duration`] and [`clock`] (reading durations and timestamps as the engine does).
//!
//! # The default policy
//!
//! Shipped in the crate ([`DEFAULT_POLICY`], package `bighub.policy`, entry point
//! `data.bighub.policy.decision`). Each rule adds a *finding*; the most restrictive mode
//! wins (`autonomous < constrained < review < needs_context < blocked`):
//!
//! | rule | when | mode |
//! |---|---|---|
//! | `read_only` | the action's first word is a read verb (`get`, `list`, `describe`, `read`, `show`, `check`, ...), or the tool declares it only reads (`input.action.hints.read_only`, an MCP tool's `readOnlyHint`) and that claim is trusted (`input.action.hints.trusted`: the user said so), and no word of its name is destructive or a privilege verb | autonomous (the risk tier does not apply) |
//! | `definition_changed` | an MCP server changed the tool's definition since the agent connected (`input.action.hints.definition_changed`) | review |
//! | `risk_tier` | every other action: `risk_matrix[risk][production or other]` | low: autonomous; medium: autonomous, constrained in production; high: constrained, review in production; critical: review; a constrained call gets a `responsible_action_space.constrained` entry with its constraints: `environment = <its environment>` (and `no production` outside it), `target = <its target>`, and a privilege grant's `<duration argument> <= max_privilege_duration` |
//! | `destructive_in_production` | a destructive verb (`delete`, `destroy`, `drop`, `terminate`, `purge`, `wipe`, `force-push`, ...) in a production environment | blocked; plan / dry-run / inspect offered in the action space |
//! | `privilege_duration` | privilege escalation (two of: a verb such as `grant`/`assume`/`elevate`, an identity system such as `okta`/`iam`/`entra`, an admin group) for longer than `max_privilege_duration` (2h) | review; `better_action` names the shorter grant; factor `excessive_duration` |
//! | `unbounded_privilege` | an admin-group escalation with no duration | review, offering a time-boxed grant |
//! | `unreadable_duration` | an escalation whose duration cannot be read | needs_context |
//! | `missing_environment` | high or critical risk and no known environment | needs_context; `information_gathering` says what to confirm |
//! | `change_freeze` | a change (not a read) inside a configured freeze window | blocked |
//! | `kill_switch` | the global switch, or the action's system's switch, is on | blocked (reads too) |
//! | `recent_failures` | `failure_threshold` (3) or more `FAILURE` outcomes for the same action and target in 24h | review; factor `recent_failures` |
//! | `rate_limit` | a call that a `rate_limits` entry's filters select (`actor`, `system`, `action`, `environment`, each when given), when its `per` value (the call's actor, system, action or target) already has `max` counted decisions in the entry's `window` (`input.history.rate_limits`; counted: modes `autonomous`, `constrained` and `review`, whose calls ran or were sent to review; the call itself makes one more) | review; factor `rate_limit` with `limit`, `count` (including this call), `max` and `window` |
//! | `requires_prior` | a call of a `requires_prior` entry's `action` with no outcome of its `prior_action` with its `status` (`SUCCESS`) on the same target within its `window` (`input.history.last_outcomes`) | needs_context, naming the missing action; `information_gathering` says to run it and report its outcome |
//! | `active_incident` | a provider of shape `pagerduty_incidents` has a triggered or acknowledged high-urgency incident whose service id or name is the action's system or target (case-insensitive), or is listed for the system in `incident_services` | review for a production change (not a read); the reason names the incident's id and title |
//! | `freeze_window` | a `freeze_calendar` window active now for the action's system and environment (an empty list covers all) | blocked for a change (not a read), offering to schedule it after the window; review when the window has `allow_emergency` and `input.action.context.metadata.emergency` is `true` |
//! | `argocd_deny_window` | an action on an `argocd_systems` system, and an active `deny` window of an `argocd_sync_windows` provider whose `applications` glob matches the target, or `namespaces` / `clusters` glob the `namespace` / `cluster` argument (`*` matches any run of characters) | blocked; review when the window has `manual_sync` and `input.action.context.metadata.manual_sync` is `true` |
//! | `statuspage_degraded` | a `statuspage_summary` provider reports the indicator `major` or `critical` | review for a production change |
//! | `context_missing` | `input.context_failed` names providers (failed under the `absent` policy) | needs_context for a high- or critical-risk production change, naming them |
//! | `critical_fixable` | a production deploy that needs evidence (`input.evidence.required`) of an image whose scan has critical findings with a fix after VEX (`fixable_after_vex.critical`) | blocked; factor `critical_fixable` names the CVEs, `better_action` the fixed versions per package |
//! | `high_findings` | a production deploy, no fixable critical, and critical findings without a fix or high findings after VEX | review: a critical with no fix is not blocked, since no rebuild removes it |
//! | `scan_missing` | evidence is required and `input.evidence.scan` is null | needs_context, naming the image (and `input.evidence.error`) |
//! | `scan_stale` | evidence is required and the scan is older than `max_scan_age` (24h), or has no age | needs_context |
//! | `scan_digest_mismatch` | the scan's `digest` is not `input.evidence.digest` | blocked |
//! | `scan_clean` | evidence is required and a fresh scan of that digest has no critical or high finding after VEX | autonomous (a factor; other rules decide) |
//!
//! The context rules read only the normalized `data` of providers that declare a `shape`
//! (`pagerduty_incidents`, `statuspage_summary`, `argocd_sync_windows`, `freeze_calendar`),
//! so the same rules hold whichever provider kind fetched the document. A sync window or a
//! freeze window is active when the decision's time is inside it, computed when the
//! document is read (cron schedules in the window's `timeZone`). The evidence rules read
//! `input.evidence = {digest, required, scan, error}`, whose `scan` is `bighub-evidence`'s
//! scan summary: findings a VEX statement suppresses are already out of its `after_vex`
//! counts and its top findings.
//!
//! Durations are read from arguments such as `duration`, `ttl`, `expires_in`,
//! `duration_hours` in the forms `"48h"`, `"2 days"`, `"PT48H"`, `"90m"`
//! ([`parse_duration`](duration::parse_duration)).
//! The risk score starts from the tier (`risk_scores`) and is raised by production, excess
//! duration, recent failures and destructive verbs (`risk_score_raise`), capped at 1.
//!
//! # Configuring it with data
//!
//! The policy reads `data.bighub.config`, typed as [`PolicyConfig`] ([`DEFAULT_DATA`] holds
//! the defaults). Change it without Rego through [`LocalEngineBuilder::config`], or a
//! `.json` file in `BIGHUB_POLICY` (or given to [`LocalEngineBuilder::policy_file`] or the
//! CLI's `--policy`) holding `{"bighub": {"config": {...}}}`:
//!
//! ```json
//! {"bighub": {"config": {
//!   "max_privilege_duration": "4h",
//!   "production_environments": ["production", "prod", "live"],
//!   "freeze_windows": [{"name": "year-end", "start": "2026-12-20T00:00:00Z",
//!                       "end": "2027-01-04T00:00:00Z", "environments": ["production"]}],
//!   "kill_switch": {"global": false, "systems": ["argocd"]},
//!   "failure_threshold": 3
//! }}}
//! ```
//!
//! A source holds only the keys it changes. Sources merge over the defaults in this order:
//! `.json` policy files (in the order given, a directory's files by name), then
//! [`LocalEngineBuilder::data`], then [`LocalEngineBuilder::config`]; objects merge key by
//! key (`{"risk_matrix": {"high": {"production": "blocked"}}}` changes one cell), anything
//! else replaces what was there (a list is replaced, not appended to).
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `max_privilege_duration` | duration: text (`"4h"`, `"90m"`, `"2 days"`, `"PT4H"`) or whole seconds | `"2h"` | the longest privilege escalation that runs without review |
//! | `read_only_verbs` | list of strings | `get`, `list`, `describe`, `read`, `show`, `check`, `view`, `search`, `query`, `fetch`, `inspect`, `status`, `plan`, `diff`, `validate`, ... | an action whose first word is one of these is a read |
//! | `destructive_verbs` | list of strings | `delete`, `destroy`, `drop`, `terminate`, `purge`, `wipe`, `force-push`, `truncate`, `erase` | an action with one of these words is destructive (a multi-word verb matches inside the name) |
//! | `privilege_verbs` | list of strings | `grant`, `assume`, `elevate`, `escalate`, `assign`, `promote`, `impersonate`, `sudo`, `add` | verbs of privilege escalation |
//! | `identity_systems` | list of strings | `okta`, `iam`, `aws_iam`, `gcp_iam`, `entra`, `entra_id`, `azure_ad`, `active_directory`, `keycloak`, `auth0`, ... | systems that hold identities and their privileges |
//! | `admin_group_patterns` | list of non-empty strings | `admin`, `root`, `owner`, `superuser`, `sudo`, `wheel`, `privileged`, `breakglass`, `break-glass` | fragments of admin group names, matched inside groups and targets |
//! | `production_environments` | list of strings | `production`, `prod`, `prd`, `live` | environment names that mean production |
//! | `unknown_environments` | list of strings | `unknown`, `none`, `n/a`, `unspecified` | environment names that mean "not known" |
//! | `freeze_windows` | list of `{name?: string, start: RFC 3339, end: RFC 3339 (after start), systems?: [strings], environments?: [strings]}` | `[]` | no change runs inside a window on the systems and environments it names (all when a list is empty or absent) |
//! | `kill_switch` | `true`/`false`, or `{global?: bool, systems?: [strings]}` | `{"global": false, "systems": []}` | blocks everything (global) or every action on the listed systems, reads too |
//! | `failure_threshold` | positive whole number | `3` | this many `FAILURE` outcomes in 24 hours for the same action and target send the next call to review |
//! | `risk_matrix` | `{low, medium, high, critical}`, each `{production: mode, other: mode}` | low: autonomous / autonomous; medium: constrained / autonomous; high: review / constrained; critical: review / review | the mode of a change by declared risk, in production and elsewhere; a mode is `autonomous`, `constrained`, `review`, `needs_context` or `blocked` |
//! | `risk_scores` | `{low, medium, high, critical}`, numbers from 0 to 1 | 0.1, 0.3, 0.55, 0.75 | the base risk score of a change by declared risk |
//! | `read_only_risk_score` | number from 0 to 1 | `0.05` | the base risk score of a read |
//! | `risk_score_raise` | `{production, excess_duration, recent_failures, destructive}`, numbers from 0 to 1 | 0.1 each | what each aggravating fact adds to the risk score (capped at 1) |
//! | `incident_services` | object: system name -> list of PagerDuty service ids or names | `{}` | the services whose incidents concern a system, besides a service named like the system or the action's target |
//! | `argocd_systems` | list of strings | `argocd`, `argo-cd`, `argo_cd` | the systems whose actions are Argo CD syncs, which sync windows govern |
//! | `max_scan_age` | duration (as `max_privilege_duration`) | `"24h"` | the oldest security scan a deploy that needs one may rely on |
//! | `approval_ttl` | duration (as `max_privilege_duration`) | `"24h"` | how long a pending approval waits for an answer before it expires; a finding's `approval.ttl_seconds` may shorten it |
//! | `separate_approver_in_production` | list of action families: `read_only`, `change`, `destructive_change`, `privilege_escalation` | `[]` | the families whose production calls, when reviewed, must be approved by someone other than who asked (for example `["privilege_escalation"]`) |
//! | `history_windows` | list of durations | `[]` | the windows `input.history.windows` counts decisions and outcomes over, for example `["1h", "24h"]` (see [the input document](#the-input-document)); none by default, since every decision then reads, per window, its actor's, system's, action's and target's recent decisions and outcomes (at most 10,000 rows per count) whether or not a policy looks at them. Rate limits count on their own and need no window here |
//! | `rate_limits` | list of `{name, max, window, actor?, system?, action?, environment?, per?}` ([`RateLimit`](config::RateLimit)): `name` unique, `max` a whole number from 1 to 10,000 ([`MAX_COUNT`](config::MAX_COUNT)), `window` a duration, the filters names compared lower-cased (an `environment` that is a production name means every production name), `per` one of `actor` (default), `system`, `action`, `target` | `[]` | at most `max` calls in `window` for each value of `per`, among the calls the filters select; the next goes to review (rule `rate_limit`), as does a call the filters select that has no value for `per`, which cannot be counted. `{"name": "prod-deploys", "max": 3, "window": "1h", "action": "deploy", "environment": "production", "per": "actor"}` is "three production deploys an hour per agent"; `{"name": "group-grants", "max": 5, "window": "24h", "action": "grant_access", "per": "target"}` "five grants a day to one group" |
//! | `requires_prior` | list of `{name, action, prior_action, window, status?}` ([`RequiredPrior`](config::RequiredPrior)); `status` defaults to `SUCCESS` | `[]` | `action` runs only after an outcome of `prior_action` with `status` on the same target within `window`; otherwise needs_context (rule `requires_prior`). `{"name": "backup-first", "action": "rotate_credential", "prior_action": "backup_database", "window": "1h"}` |
//!
//! Names in lists are compared lower-cased. Every source is checked on its own when the
//! engine is built: a key that is not in this table (at any depth), a value of the wrong
//! type, or an invalid value (a duration or timestamp that does not parse, a window that
//! ends before it starts, a score outside 0 to 1) is [`LocalError::InvalidConfig`], naming
//! the key, the source (the file's path, `builder config` or `builder data`) and, for a
//! misspelt key, the closest known one:
//!
//! ```text
//! invalid policy configuration in policies/limits.json: data.bighub.config.max_privelege_duration: unknown key; did you mean `max_privilege_duration`?
//! invalid policy configuration in builder config: data.bighub.config.max_privilege_duration: cannot read "a while": expected a duration such as "2h", "90m", "2 days" or "PT4H", or whole seconds
//! ```
//!
//! Data for your own policies belongs elsewhere in `data` (for example under
//! `bighub.ext`, or your own package's name), not in `bighub.config`.
//!
//! # Extending or overriding it with Rego
//!
//! Add `.rego` files (`BIGHUB_POLICY`, [`LocalEngineBuilder::policy_file`] or
//! [`LocalEngineBuilder::policy`]) in package `bighub.ext`. The default policy consults:
//!
//! - `findings contains {"rule": ..., "mode": ..., "reason": ..., "factor"?: {...},
//!   "better_action"?: ..., "action_space"?: {...}}` — your rules, weighed with the
//!   built-in ones (most restrictive wins);
//! - `exempt contains "rule_name"` — switch a rule off (for example a break-glass actor);
//! - `override := {"mode": ..., "reason": ..., "better_action"?: ...}` — replace the mode
//!   and reason outright when defined.
//!
//! ```rego
//! package bighub.ext
//! import rego.v1
//!
//! findings contains {"rule": "payments_deploys_wait", "mode": "review",
//!                    "reason": "Payments deploys need a second pair of eyes."} if {
//!     "deploy" in input.action.tokens
//!     startswith(input.action.target, "payments")
//! }
//!
//! exempt contains "privilege_duration" if input.action.actor == "break-glass"
//! ```
//!
//! Policies may call regorus' core built-ins: comparisons, numbers, aggregates, arrays,
//! sets, objects, strings, conversions, types, bits, `json.*` and units. The `time.*`,
//! `regex.*`, `glob.*`, `net.*`, `uuid.*`, `semver.*`, `http.*`, `base64.*`, `hex.*`,
//! `urlquery.*` and `yaml.*` families are not compiled in: a call to one fails like any
//! failing rule (`could not find function`), at build when a sample input reaches it.
//!
//! To replace the policy entirely, use [`LocalEngineBuilder::without_default_policy`] and
//! [`LocalEngineBuilder::entrypoint`]; your rule answers an object with at least `mode`,
//! and may leave the explanations to the engine (below).
//!
//! # Mistakes caught at build, and at decision time
//!
//! When the engine is built, policies are compiled, read, and evaluated on sample inputs.
//! These are reported then, as [`LocalError::Policy`] naming the file (and, for Rego, the
//! line), never at the first tool call:
//!
//! - syntax and compile errors;
//! - a `.rego` file whose package the policy set never reads: from the entry point's
//!   package, a package is read when a package already read imports it or refers to it or
//!   to something in it (the default policy reads `bighub.ext`, whose `findings`, `exempt`
//!   and `override` it consults, and `bighub.policy`, its own); a helper package is fine as
//!   long as a read package imports it or calls into it. The error names the file and the
//!   package and lists the packages that are read, e.g. `team.rego:1:1: package
//!   bighub.extension is never read: from its entry point data.bighub.policy.decision the
//!   policy set reads only the packages bighub.ext, bighub.policy`;
//! - a mode written as a literal string in an object (`"mode": "block"`, in a finding, an
//!   override or an answer) that is not one of `autonomous`, `constrained`, `review`,
//!   `needs_context`, `blocked`, whether or not any input reaches it: `bad.rego:4:42:
//!   "block" is not a mode: a finding, an override or an answer has one of the modes
//!   autonomous, constrained, review, needs_context, blocked`;
//! - bad configuration data, naming the key;
//! - whatever the sample inputs reach: a conflict, a built-in that rejects its arguments,
//!   an answer that is not a decision, a computed mode that is not a mode.
//!
//! Only at decision time, for the inputs that reach them:
//!
//! - a rule that fails (two different values of a complete rule for one input, a built-in
//!   called with arguments it rejects, such as `to_number` on a target that is not a
//!   number) fails closed: that call is not decided from the rest of the policy, nothing is
//!   recorded for it, and [`LocalEngine::decide`] returns [`LocalError::PolicyEvaluation`],
//!   naming the file and the rule (its text says the call is blocked; the runtime gets it
//!   as an engine error, which its fail mode turns into a block by default);
//! - a finding whose mode is computed and is not a mode, or that lacks a string `rule` or
//!   `reason`, and an entry point that is undefined for the input, fail that call the same
//!   way with [`LocalError::InvalidDecision`], which shows the finding.
//!
//! Other inputs decide as usual.
//!
//! # Testing policies
//!
//! [`LocalEngineBuilder::run_policy_tests`] runs Rego tests as `opa test` does: the
//! `test_*` rules of the `*_test.rego` files under the paths given, loaded beside the
//! policy set and its data and the policies in those directories (their other `.rego` and
//! `.json` files); a test passes when its rule is `true`, and a failing one shows what the
//! entry point decided for each input it built with `bighub.input`. Tests may call
//! `bighub.input(action)` for the input document the engine would decide a proposed
//! action on (now, no history), and evaluate the policy on it `with input as` that
//! document. The policy classifies the action from `data.bighub.config` when it is
//! evaluated, so a test may change the configuration `with data.bighub.config.X as ...`
//! (the values it replaces must be in their normalized form: lists lower-cased, and
//! `max_privilege_duration_seconds` beside `max_privilege_duration_text`). The CLI runs
//! them with `bighub policy test`:
//!
//! ```rego
//! package bighub.policy_test
//! import rego.v1
//!
//! test_long_okta_grant_goes_to_review if {
//!     d := data.bighub.policy.decision with input as bighub.input({
//!         "tool": "grant_access", "system": "okta", "risk": "high",
//!         "environment": "production", "arguments": {"group": "okta-admins", "duration": "48h"}})
//!     d.mode == "review"
//! }
//! ```
//!
//! # Replaying decisions
//!
//! [`LocalEngine::replay`] decides the recorded decisions again under the engine's
//! policy set, without writing anything, and reports the ones whose mode changes, with
//! the rules that decide them now ([`ReplayReport`](replay::ReplayReport); the CLI's
//! `bighub policy replay`).
//! Each decision is replayed on the input it was decided on, which every decision keeps in
//! `decision_packet.input` (the store's `decision` column): the proposed action with its
//! secrets redacted, the history of that action and target then, and the time.
//!
//! # The input document
//!
//! ```text
//! input.action      tool, name, tokens (lower-case words of the name), normalized_name,
//!                   system, risk, environment (lower-cased), actor, domain, target, value,
//!                   arguments (secrets redacted), hints {read_only, destructive,
//!                   idempotent, open_world: the tool's own claims (an MCP tool's
//!                   annotations), each true, false or null; trusted: whether the user
//!                   takes those claims at their word (false unless said); definition_changed:
//!                   an MCP server changed the tool since the agent connected, and changed:
//!                   which parts, e.g. ["description", "annotations"]}, context {session_id, trajectory_id,
//!                   objective, model_selection, metadata}
//! input.declared_request   the user's request (context.metadata.declared_request), or null
//! input.derived     what the engine read from the arguments (version 1, below)
//! input.now         {rfc3339, unix}
//! input.history     recent_decisions, outcomes_24h {STATUS: count}, failures_24h,
//!                   last_failure — for this action and target, from the store; and
//!                   windows, rate_limits, last_outcomes (below)
//! input.context     per context provider (when any is configured): {kind, shape, data,
//!                   error, fetched_at, age_seconds, sha256}; see [`context`]
//! input.context_failed  the providers whose fetch failed and whose failure the policy
//!                   decides on (`on_failure: absent`)
//! ```
//!
//! `input.history` also counts what the store recorded around this call, read from the
//! database at each decision (so that every engine and server on one PostgreSQL database,
//! or every process on one SQLite file, sees the same counts):
//!
//! ```text
//! input.history.windows["1h"].actor  = {"decisions": 3, "by_mode": {"autonomous": 2, "review": 1},
//!                                       "outcomes": {"SUCCESS": 2}, "capped": false}
//! input.history.windows["1h"].system / .action / .target   the same, for the call's system,
//!                                       action name and target (null when the call has none)
//! input.history.rate_limits["prod-deploys"] = {"decisions": 3, "by_mode": {...}, "capped": false,
//!                                       "per": "actor", "per_value": "ci-bot"}
//! input.history.last_outcomes = [{"status": "SUCCESS", "action": "backup_database",
//!                                 "request_id": "loc_...", "at": "2026-...Z", "at_unix": 1780...}]
//! ```
//!
//! - `windows`: one entry per `history_windows` duration, labelled as the engine writes
//!   durations (`"1h"`, `"24h"`, `"15m"`); for each of `actor`, `system`, `action` and
//!   `target`, the decisions recorded for the call's value of that dimension since the
//!   window's start, in total and by mode, and the outcomes reported for them by status.
//!   The call being decided is not counted. Outcomes record their decision's actor and
//!   system since schema 9 (SQLite) / 6 (PostgreSQL): older outcomes count only by action
//!   and target.
//! - `rate_limits`: for each `rate_limits` entry, the decisions in its window with the
//!   call's value of its `per` dimension that its filters select, by mode; `null` when the
//!   call has no value of `per`.
//! - `last_outcomes`: the newest outcome of each action and status on the call's target
//!   (any action), newest first, at most 20, found among the target's 200 newest outcomes;
//!   empty without a target. `at_unix` is in seconds, to compare with `input.now.unix`.
//!
//! Each count reads at most 10,000 rows, newest first, through an index on (dimension,
//! time), so a decision costs the same on a log of a thousand decisions or of millions;
//! `capped: true` says a count reached that bound (it is then at least that).
//! [`PreviewHistory`] sets all three for [`LocalEngine::preview`] and the golden tests.
//!
//! `input.derived` holds only values Rust reads more reliably than Rego, never a
//! classification of the action; its shape is versioned ([`DERIVED_VERSION`], given as
//! `input.derived.version`), and a field changes meaning only with a new version:
//!
//! | field | type | what it is |
//! |---|---|---|
//! | `version` | number | `1` |
//! | `duration` | `{argument, text, seconds}`, `{argument, text, unreadable: true}` or `null` | the first argument whose name holds a duration (`duration`, `ttl`, `expires_in`, `lease`, `valid_for`, `time_limit`, `hours`, `minutes`, `days`, `for`, ...): its name, its value as text, and the value in whole seconds ([`parse_duration`](duration::parse_duration)'s forms; a bare number in seconds, or in the unit its name says, as in `duration_hours`) — or `unreadable` when it cannot be read |
//! | `groups` | list of strings | the values (lower-cased) of arguments whose name holds `group`, `role`, `permission`, `permission_set`, `entitlement` or `policy`, strings or lists of strings |
//! | `subject` | string or `null` | the first of the arguments `user`, `user_id`, `username`, `principal`, `email`, `member`, `subject`, `account` that is a string |
//!
//! Which of these facts matter, and what the configuration's lists make of the action's
//! words, system, groups and environment (a read, a destructive change, a privilege
//! escalation, an identity system, an admin group, production, an unknown environment),
//! is decided in the policy (`read_verb`, `destructive`, `privilege_verb`,
//! `identity_system`, `admin_group`, `in_production`, `environment`, `is_read_only`,
//! `privilege_escalation` in [`DEFAULT_POLICY`]).
//!
//! # What the engine adds
//!
//! First it completes the policy's answer. From `findings` (the findings that counted) it
//! lists `salient_factors`, the `responsible_action_space` (the call itself as `available`
//! when it may run, then each finding's items) and the rules fired, so a rule of yours
//! that gives its finding a `reason`, `better_action`, `factor` or `action_space` has them
//! in the decision as the built-in rules do; from `action_family`, `known_environment`
//! and the input it words `operational_intent` (with a mismatch when the user's declared
//! request names none of the action's words, target, system or subject),
//! `agent_operational_body` and `action_interpretation_layer`. A policy that answers any
//! of these fields itself keeps its own; one that answers neither `findings` nor
//! `action_family` gets only what it answered.
//!
//! Then: `request_id` (`loc_` and a time-ordered UUIDv7); the flags `can_run`,
//! `needs_review`, `needs_more_context`, `should_not_run`; the compatibility fields
//! `recommendation`, `risk_score`, `enforcement_mode` (`enforced`), `enforced_verdict`,
//! `allowed`, `requires_approval`, `result` (for needs_context, which has no legacy
//! equivalent: `advisory`, with no `recommendation` and no `allowed`, so no legacy reader
//! mistakes it for a block); a `decision_packet` (the input and the SHA-256 of its
//! canonical JSON, and with context providers `context`: per provider `fetched_at`,
//! `age_seconds`, `sha256` and `error`); and a `decision_brain` (rules fired, deciding rules, the policy
//! revision (`policy_revision`, also `policy_sha256`), precedents, and with a shadow set
//! `shadow`).
//!
//! # Live reload
//!
//! The *policy revision* is the SHA-256 (64 hex digits) of the policy set's sources (names
//! and texts, in order) and data: [`LocalEngine::policy_revision`], and in every decision
//! `decision_brain.policy_revision`. The engine keeps what its builder loaded from (policy
//! files and directories, inline policies, data, configuration, the entry point), and
//! [`LocalEngine::reload_policies`] loads the set again when its files changed (their names
//! and contents, tests included): it compiles the new set, checks its configuration,
//! evaluates it on the sample inputs as [`LocalEngineBuilder::build`] does, and runs the
//! `*_test.rego` tests of the policy directories as
//! [`LocalEngineBuilder::run_policy_tests`] runs them. Only when all of that passes is the
//! new set put in force, at once for every later decision; a decision under way finishes
//! on the set it started with (it holds that set). A change that fails keeps the set in
//! force, is logged (its text quoted) and stays the last reload error in
//! [`LocalEngine::policy_status`] (with when, and the revision kept) until a later reload
//! succeeds. Unchanged files are a no-op ([`ReloadOutcome::Unchanged`](live_policies::ReloadOutcome::Unchanged)). Tests run at
//! reload, not at build: a set that built keeps deciding.
//!
//! [`LocalEngine::watch_policies`] polls the files' digest on a background thread, which
//! stops when the returned [`PolicyWatcher`](live_policies::PolicyWatcher) is dropped, and reloads each change once (the
//! enforced and the shadow set); `bighub serve` watches every 2 seconds by default, and its
//! `/healthz` and `/metrics` show the revision and the last reload error. Polling a digest
//! works alike on every platform and file system (ConfigMap volumes, network mounts).
//!
//! ```
//! use bighub_core::ProposedAction;
//! use bighub_local::LocalEngine;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let engine = LocalEngine::builder().in_memory().policy_file(dir.path()).build().unwrap();
//! let before = engine.policy_revision();
//! std::fs::write(dir.path().join("limits.json"),
//!     r#"{"bighub": {"config": {"kill_switch": {"systems": ["argocd"]}}}}"#).unwrap();
//! assert!(engine.reload_policies().unwrap().changed());
//! let sync = ProposedAction::new("sync_app").system("argocd");
//! let decision = engine.decide(&sync).unwrap();
//! assert_eq!(decision.raw["mode"], "blocked");
//! assert_ne!(decision.raw["decision_brain"]["policy_revision"], before.as_str());
//! ```
//!
//! # Shadow policies
//!
//! [`LocalEngineBuilder::shadow_policy`] (a file or a directory, repeatable) adds a shadow
//! set: the enforced set (default policy, policy files, inline policies, data and
//! configuration) with the shadow files added, so that it decides what the engine would
//! decide once they are moved in with the enforced policies. Every call decided live
//! (recorded, or not: [`LocalEngine::decide_without_recording`], a server's dry run; not
//! [`LocalEngine::preview`] on a given history, nor a replay) is decided by the shadow set
//! too, on the very input the enforced set decided, and
//! `decision_brain.shadow` records `{mode, deciding_rules, reason, policy_revision,
//! agrees}`; `agrees` compares modes. The shadow never changes the decision, and a shadow
//! evaluation that fails never fails the call: it is recorded as a disagreement with its
//! `error` and a null `mode`. A call blocked because required context was unavailable is
//! not asked of the shadow set either (it agrees). The store keeps the shadow's mode and
//! agreement beside the decision, with an index over the disagreements only:
//! [`LocalEngine::shadow_disagreements`] (and `bighub decisions --shadow`) lists them
//! without reading the rest of the log. A shadow set that does not compile fails the
//! build; a shadow reload (which runs the tests of the shadow directories, not the
//! enforced ones) that fails keeps the previous shadow set, and the enforced set is
//! reloaded on its own. To promote a shadow policy, move its file into an enforced policy
//! directory: the next reload picks it up (and the shadow then agrees).
//!
//! # Speed and durability
//!
//! The policy set is compiled once, when the engine is built (and again at each reload).
//! Each decision takes the set in force (an `Arc` cloned under a read lock held for
//! that instant) and evaluates the entry point with regorus' interpreter on the compiled
//! policy, which shares the compiled
//! rules and data between calls and threads (no lock, no pool of engines) and keeps only
//! that call's state; the per-call set-up is small next to the evaluation. Evaluating a rule
//! costs far more than reading a value, so the default policy gives each value with a
//! fallback one rule with an `else`; the descriptive fields are worded in Rust from what
//! the policy answered (above); inputs and answers are converted to and from regorus values
//! directly.
//! Recent decisions and the last 24 hours of outcomes per action and target are kept in
//! memory and re-read when another connection writes the file (`PRAGMA data_version`). The
//! store runs in WAL mode with `synchronous = NORMAL`: a decision survives the application
//! crashing, but a power cut or OS crash may lose the last few commits (never corrupting
//! the file). WAL checkpoints run on a background connection that polls a commit count, so
//! that no decision waits for one or is preempted by its wake-up; under sustained load it
//! also makes the log start over once it passes about 17 MB, and the file is cut back to
//! 64 MiB at most, so it stays bounded. Each decision writes a handful of 4 KiB pages (its
//! row, the index of actions and targets, and for a review its approval), which is why the
//! store keeps no other index: rows are keyed by the millisecond of their decision, which
//! its request id (`loc_` and a UUIDv7) carries, so an id finds its row without an index of
//! ids (schema 3). An older store is migrated when it first opens, its rows keeping their
//! ids: that rewrites its decisions once (100,000 decisions, 420 MB, took 5 s on a two-core
//! machine), and the space of the old table is reused by later decisions rather than
//! returned to the disk (`VACUUM` returns it).
//!
//! # Decision logs
//!
//! An engine given a [`DecisionLogs`](decision_logs::DecisionLogs) sink ([`LocalEngineBuilder::decision_logs`]) hands
//! it every decision it records, once the store has it: one JSON record per decision, with
//! the fields OPA's decision logs use (`decision_id` = the request id, `path` = the entry
//! point as `bighub/policy/decision`, `input` = the decision packet's input with secrets
//! already `[REDACTED]`, `result` = the decision without that input, `timestamp`,
//! `labels` = `app`, `version`, `id` and your own, `requested_by` = the caller,
//! `masked`) and `policy_revision` (the policy set's SHA-256, or the policy's own
//! `decision_brain.policy_revision`). Records are appended to a file, or POSTed to an
//! endpoint in batches of JSON lines (`application/x-ndjson`; OPA's own service API
//! takes a gzipped JSON array instead), off the deciding thread: a decision never waits
//! for the sink. [`DecisionLogConfig`](decision_logs::DecisionLogConfig) sets headers (an `Authorization` value never
//! shown), masks (JSON pointers such as `/input/action/arguments/email`, replaced with
//! `[MASKED]`, and the masked text wherever else the record repeats it), drop rules (by
//! mode, `autonomous` to keep only what was constrained, reviewed or blocked, or by tool
//! glob), the batch size, the flush interval, the queue's bound and the retry backoff. A
//! failed batch (connection refused, timeout, 408, 429, 5xx) is retried until it is
//! accepted while the queue keeps what comes meanwhile; a full queue drops the new record
//! and counts it. [`DecisionLogs::stats`](decision_logs::DecisionLogs::stats) reads the counts (sent, failed attempts, dropped
//! by overflow, dropped by rule, rejected, abandoned, pending); [`DecisionLogs::close`](decision_logs::DecisionLogs::close)
//! sends what is queued within a bound, on shutdown.
//!
//! ```
//! use std::time::Duration;
//! use bighub_core::ProposedAction;
//! use bighub_local::LocalEngine;
//! use bighub_local::decision_logs::{DecisionLogConfig, DecisionLogs};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("decisions.jsonl");
//! let logs = DecisionLogs::new(
//!     DecisionLogConfig::file(&path)
//!         .mask("/input/action/arguments/email")?
//!         .label("team", "platform"),
//! )?;
//! let engine = LocalEngine::builder().in_memory().decision_logs(logs.clone()).build()?;
//! engine.decide(
//!     &ProposedAction::new("reset_password")
//!         .arguments(serde_json::json!({"email": "ana@example.com", "password": "hunter2"})),
//! )?;
//! let stats = logs.close(Duration::from_secs(5));
//! assert_eq!((stats.sent, stats.pending), (1, 0));
//! let text = std::fs::read_to_string(&path)?;
//! assert!(!text.contains("ana@example.com") && !text.contains("hunter2"));
//! # Ok(())
//! # }
//! ```
//!
//! # Store and secrets
//!
//! Arguments whose names look secret (`password`, `token`, `secret`, `api_key`,
//! `private_key`, `credential`, ...) or that the tool lists in
//! `context.metadata.secret_args` are redacted before the policy sees them and before
//! anything is stored. A review creates a pending approval bound to the
//! request id, the tool and the SHA-256 of the exact arguments; see [`LocalEngine::verify_approval`]
//! and [`LocalEngine::consume_approval`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The modules in order (tests/layout.rs checks it); a module uses only those listed before it:
//   error, clock, duration, convert, redact, outbound_url, request_id, history_config, config,
//   input, context, answer, policy_source, policy_check, policy, policy_tests, policy_reload,
//   policy_watch, storage, shadow, approval_terms, approval_change, replay, decision_logs,
//   engine, live_policies, approvals, durable

mod answer;
mod approval_change;
pub mod approval_terms;
mod approvals;
pub mod clock;
pub mod config;
pub mod context;
mod convert;
pub mod decision_logs;
pub mod durable;
pub mod duration;
mod engine;
mod error;
mod history_config;
mod input;
pub mod live_policies;
mod outbound_url;
mod policy;
mod policy_check;
mod policy_reload;
mod policy_source;
pub mod policy_tests;
mod policy_watch;
mod redact;
pub mod replay;
mod request_id;
mod shadow;
pub mod storage;

pub use approvals::{AnswerOrigin, ChangePreview};
pub use config::{ActionFamily, DEFAULT_DATA, PolicyConfig};
pub use engine::{LocalEngine, LocalEngineBuilder, PreviewHistory, RequestOrigin};
pub use error::LocalError;
pub use input::DERIVED_VERSION;
pub use input::DecisionExtras;
pub use policy_source::{DEFAULT_ENTRYPOINT, DEFAULT_POLICY};
