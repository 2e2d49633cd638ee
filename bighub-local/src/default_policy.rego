# The built-in BIGHUB policy for IT actions.
#
# Entry point: data.bighub.policy.decision
#
# Every rule below adds a *finding* {rule, mode, reason, factor?, better_action?,
# action_space?}. The most restrictive mode among the findings wins:
#
#   autonomous < constrained < review < needs_context < blocked
#
# Configuration lives in data.bighub.config (see default_data.json); change it with
# data, no Rego needed. Extension points, all in package bighub.ext:
#
#   findings contains {...}   extra findings, weighed with the built-in ones
#   exempt contains "rule"    switch a built-in (or your own) rule off
#   override := {...}         replace the decision's mode and reason outright
#
package bighub.policy

import rego.v1

cfg := data.bighub.config

# The proposed action is input.action; what the engine read from its arguments is
# input.derived (a duration in seconds, groups, the subject). Everything below that
# classifies the action is decided here, from the lists in data.bighub.config.
# Evaluating a rule costs far more than reading a value, so a value with a fallback is one
# rule with an `else` rather than a default and a rule.

# ---------------------------------------------------------------------------
# Facts about the call
# ---------------------------------------------------------------------------

modes := ["autonomous", "constrained", "review", "needs_context", "blocked"]

rank := {"autonomous": 0, "constrained": 1, "review": 2, "needs_context": 3, "blocked": 4}

# An undeclared risk is treated as the configured default (medium).
risk_tier := input.action.risk if is_string(input.action.risk) else := "medium"

# "" when the environment is missing or one of the names that mean "unknown".
environment := input.action.environment if {
	is_string(input.action.environment)
	not input.action.environment in cfg.unknown_environments
} else := ""

# The environment is a production one (production_environments).
in_production if environment in cfg.production_environments

env_class := "production" if in_production else := "other"

env_label := environment if environment != "" else := "an unknown environment"

system := input.action.system if is_string(input.action.system) else := ""

target_text := sprintf(" on %s", [input.action.target]) if is_string(input.action.target) else := ""

# The action's first word is a read verb (read_only_verbs: get, list, describe, ...).
read_verb if input.action.tokens[0] in cfg.read_only_verbs

# One of the action's words is a destructive verb (destructive_verbs: delete, drop, ...).
destructive if {
	some word in input.action.tokens
	word in cfg.destructive_verbs
}

# A destructive verb of several words (force-push) appears whole inside the action's name.
destructive if {
	some verb in cfg.destructive_verbs
	words := replace(verb, "-", "_")
	contains(words, "_")
	contains(concat("", ["_", input.action.normalized_name, "_"]), concat("", ["_", words, "_"]))
}

# One of the action's words is a privilege verb (privilege_verbs: grant, assume, ...).
privilege_verb if {
	some word in input.action.tokens
	word in cfg.privilege_verbs
}

# The system holds identities (identity_systems: okta, iam, entra, ...).
identity_system if system in cfg.identity_systems

# A group, role or permission set in the arguments, or the target, names an admin group
# (admin_group_patterns: admin, root, owner, ...).
admin_group if {
	some group in input.derived.groups
	some pattern in cfg.admin_group_patterns
	contains(group, pattern)
}

admin_group if {
	is_string(input.action.target)
	target := lower(input.action.target)
	some pattern in cfg.admin_group_patterns
	contains(target, pattern)
}

# Read-only: the first word is a read verb, or the tool says it only reads
# (input.action.hints.read_only, an MCP tool's readOnlyHint) and the user trusts what it
# says (input.action.hints.trusted), and nothing in the name changes state. An untrusted
# server's claim lowers nothing: it could call exec_sql read-only.
is_read_only if {
	read_verb
	not destructive
	not privilege_verb
}

is_read_only if {
	input.action.hints.read_only == true
	input.action.hints.trusted == true
	not destructive
	not privilege_verb
}

# Privilege escalation: any two of (a privilege verb, an identity system, an admin group).
privilege_escalation if {
	privilege_verb
	identity_system
}

privilege_escalation if {
	privilege_verb
	admin_group
}

privilege_escalation if {
	identity_system
	admin_group
	not is_read_only
}

excess_duration if {
	privilege_escalation
	input.derived.duration.seconds > cfg.max_privilege_duration_seconds
}

recent_failures if input.history.failures_24h >= cfg.failure_threshold

grant_subject := sprintf(" to %s", [input.derived.subject]) if is_string(input.derived.subject) else := ""

grant_scope := sprintf("scoped %s access", [concat(", ", input.derived.groups)]) if {
	count(input.derived.groups) > 0
} else := sprintf("scoped %s access", [input.action.target]) if {
	count(input.derived.groups) == 0
	is_string(input.action.target)
} else := "the access"

# ---------------------------------------------------------------------------
# Rules (each adds a finding)
# ---------------------------------------------------------------------------

# Kill switch, global.
findings contains f if {
	cfg.kill_switch.global == true
	f := {
		"rule": "kill_switch",
		"mode": "blocked",
		"reason": "The global kill switch is on: no agent action runs until it is turned off.",
		"factor": {"factor": "kill_switch", "severity": "critical", "reason": "global kill switch is on"},
	}
}

# Kill switch, per system.
findings contains f if {
	system in cfg.kill_switch.systems
	f := {
		"rule": "kill_switch",
		"mode": "blocked",
		"reason": sprintf("The kill switch for %s is on: no agent action on %s runs until it is turned off.", [system, system]),
		"factor": {"factor": "kill_switch", "severity": "critical", "reason": sprintf("kill switch for %s is on", [system])},
	}
}

# Change freeze: no change runs inside a configured window (reads still do).
findings contains f if {
	not is_read_only
	some w in cfg.freeze_windows
	input.now.unix >= w.start_unix
	input.now.unix < w.end_unix
	scope_matches(w.systems, system)
	scope_matches(w.environments, environment)
	f := {
		"rule": "change_freeze",
		"mode": "blocked",
		"reason": sprintf("Change freeze %s is in effect until %s.", [w.name, w.end]),
		"factor": {"factor": "change_freeze", "severity": "critical", "reason": sprintf("%s: %s to %s", [w.name, w.start, w.end])},
		"better_action": sprintf("Schedule %s%s after %s", [input.action.name, target_text, w.end]),
	}
}

scope_matches(list, _) if count(list) == 0

scope_matches(list, value) if value in list

# Destructive changes in production are blocked; plan, dry-run and inspect remain.
findings contains f if {
	destructive
	in_production
	f := {
		"rule": "destructive_in_production",
		"mode": "blocked",
		"reason": sprintf("%s%s is destructive and targets production.", [input.action.name, target_text]),
		"factor": {"factor": "destructive_in_production", "severity": "critical", "reason": "destructive verb in production"},
		"better_action": sprintf("Plan or dry-run %s%s first, and have a human apply it", [input.action.name, target_text]),
		"action_space": {
			"forbidden": [{"action": input.action.name, "target": input.action.target, "reason": "destructive in production"}],
			"constrained": [{"action": input.action.name, "target": input.action.target, "constraints": ["dry_run=true"]}],
			"information_gathering": [
				{"action": "plan", "description": sprintf("Plan %s%s and review the diff", [input.action.name, target_text])},
				{"action": "dry_run", "description": sprintf("Dry-run %s%s", [input.action.name, target_text])},
				{"action": "inspect", "description": sprintf("Inspect%s and what depends on it", [target_text])},
			],
		},
	}
}

# An MCP server changed the tool's definition (description, input schema or annotations)
# since the agent connected: a human looks at the new definition before the call runs.
findings contains f if {
	input.action.hints.definition_changed == true
	f := {
		"rule": "definition_changed",
		"mode": "review",
		"reason": sprintf("The server changed the definition of %s%s since the agent connected; a human checks the new definition before it runs.", [input.action.name, definition_changes]),
		"factor": {"factor": "definition_changed", "severity": "warning", "reason": sprintf("the server changed the tool's definition%s", [definition_changes])},
	}
}

# Which parts of the definition changed, as " (description, annotations)".
definition_changes := sprintf(" (%s)", [concat(", ", input.action.hints.changed)]) if {
	count(input.action.hints.changed) > 0
} else := ""

# Risk x environment (configurable as data: risk_matrix).
findings contains f if {
	not is_read_only
	# The tier's row, then the environment's cell: two computed indexes in one expression
	# make regorus build and drop an error on every call (with a backtrace each when
	# RUST_BACKTRACE is set).
	row := cfg.risk_matrix[risk_tier]
	m := row[env_class]
	m != "constrained"
	f := risk_tier_finding(m)
}

# A constrained call runs only within its declared scope: the finding says which.
findings contains f if {
	not is_read_only
	row := cfg.risk_matrix[risk_tier]
	m := row[env_class]
	m == "constrained"
	f := object.union(risk_tier_finding(m), {"action_space": {"constrained": [{
		"action": input.action.name,
		"target": input.action.target,
		"constraints": array.concat(array.concat(environment_constraints, target_constraints), duration_constraints),
	}]}})
}

risk_tier_finding(m) := {
	"rule": "risk_tier",
	"mode": m,
	"reason": sprintf("A %s-risk change in %s runs %s.", [risk_tier, env_label, m]),
	"factor": {"factor": "risk_tier", "severity": severity[m], "reason": sprintf("%s risk in %s", [risk_tier, env_label])},
}

# Only the environment it declared; outside production, never production.
environment_constraints := [sprintf("environment = %s", [environment])] if {
	in_production
} else := [sprintf("environment = %s", [environment]), "no production"] if {
	environment != ""
} else := ["no production"]

# Only the target it declared.
target_constraints := [sprintf("target = %s", [input.action.target])] if {
	is_string(input.action.target)
} else := []

# A privilege grant within the maximum stays within it.
duration_constraints := [sprintf("%s <= %s", [d.argument, cfg.max_privilege_duration_text])] if {
	privilege_escalation
	d := input.derived.duration
	is_number(d.seconds)
} else := []

severity := {"autonomous": "info", "constrained": "info", "review": "warning", "needs_context": "warning", "blocked": "critical"}

# Reads run autonomously.
findings contains f if {
	is_read_only
	f := {
		"rule": "read_only",
		"mode": "autonomous",
		"reason": sprintf("%s only reads.", [input.action.name]),
		"factor": {"factor": "read_only", "severity": "info", "reason": read_only_because},
	}
}

read_only_because := sprintf("%s is a read verb", [input.action.tokens[0]]) if read_verb else := "the tool declares it only reads"

# High or critical risk with no known environment: ask which one.
findings contains f if {
	not is_read_only
	risk_tier in {"high", "critical"}
	environment == ""
	f := {
		"rule": "missing_environment",
		"mode": "needs_context",
		"reason": sprintf("%s is %s risk but its environment is unknown; confirm it before deciding.", [input.action.name, risk_tier]),
		"factor": {"factor": "unknown_environment", "severity": "warning", "reason": "no environment declared"},
		"action_space": {"information_gathering": array.concat(
			[{"action": "confirm_environment", "question": sprintf("Which environment does %s%s touch (production, staging, ...)?", [input.action.name, target_text])}],
			target_questions,
		)},
	}
}

target_questions := [{"action": "confirm_target", "question": sprintf("Which resource does %s act on?", [input.action.name])}] if {
	not is_string(input.action.target)
} else := []

# Privilege escalation for longer than the maximum: review, offering the shorter grant.
findings contains f if {
	excess_duration
	d := input.derived.duration
	max_text := cfg.max_privilege_duration_text
	f := {
		"rule": "privilege_duration",
		"mode": "review",
		"reason": sprintf("%s grants %s%s for %s; privilege grants longer than %s need a human review.", [input.action.name, grant_scope, grant_subject, d.text, max_text]),
		"factor": {
			"factor": "excessive_duration",
			"severity": "warning",
			"reason": sprintf("requested %s, maximum %s", [d.text, max_text]),
			"requested_seconds": d.seconds,
			"max_seconds": cfg.max_privilege_duration_seconds,
		},
		"better_action": sprintf("Grant %s%s for %s instead of %s", [grant_scope, grant_subject, max_text, d.text]),
		"action_space": {
			"constrained": [{"action": input.action.name, "arguments_patch": {d.argument: max_text}, "constraints": [sprintf("%s <= %s", [d.argument, max_text])]}],
			"forbidden": [{"action": input.action.name, "reason": sprintf("privilege for %s", [d.text])}],
		},
	}
}

# Admin privilege with no end: review, offering a time-boxed grant.
findings contains f if {
	privilege_escalation
	admin_group
	input.derived.duration == null
	max_text := cfg.max_privilege_duration_text
	f := {
		"rule": "unbounded_privilege",
		"mode": "review",
		"reason": sprintf("%s grants %s%s with no end date.", [input.action.name, grant_scope, grant_subject]),
		"factor": {"factor": "unbounded_privilege", "severity": "warning", "reason": "admin access without a duration"},
		"better_action": sprintf("Grant %s%s for %s", [grant_scope, grant_subject, max_text]),
	}
}

# A privilege grant whose duration cannot be read: ask for it.
findings contains f if {
	privilege_escalation
	input.derived.duration.unreadable == true
	d := input.derived.duration
	f := {
		"rule": "unreadable_duration",
		"mode": "needs_context",
		"reason": sprintf("The duration \"%s\" of %s cannot be read.", [d.text, input.action.name]),
		"factor": {"factor": "unreadable_duration", "severity": "warning", "reason": d.text},
		"action_space": {"information_gathering": [{"action": "confirm_duration", "question": sprintf("How long should %s last (e.g. 2h)?", [input.action.name])}]},
	}
}

# Repeated failures of the same action on the same target: review.
findings contains f if {
	recent_failures
	n := input.history.failures_24h
	f := {
		"rule": "recent_failures",
		"mode": "review",
		"reason": sprintf("%s%s failed %v times in the last 24h.", [input.action.name, target_text, n]),
		"factor": {"factor": "recent_failures", "severity": "warning", "reason": sprintf("%v failures in 24h (threshold %v)", [n, cfg.failure_threshold])},
		"action_space": {"information_gathering": [{"action": "inspect_failures", "description": sprintf("Read why %s%s failed before retrying", [input.action.name, target_text])}]},
	}
}

# ---------------------------------------------------------------------------
# Rate limits and prerequisites: data.bighub.config.rate_limits and requires_prior, on
# the counts the store read for this call (input.history.rate_limits, last_outcomes).
# ---------------------------------------------------------------------------

# The modes a rate limit counts: calls that were allowed to run or sent to review.
rate_limited_modes := {"autonomous", "constrained", "review"}

actor_name := lower(input.action.actor) if is_string(input.action.actor) else := ""

# A filter a limit leaves out (null) selects every call.
filter_selects(wanted, _) if wanted == null

filter_selects(wanted, value) if wanted == value

# A limit's environment filter, widened to every production name when it names one.
environment_selects(l) if count(l.environments) == 0

environment_selects(l) if environment in l.environments

# The limit's filters select this call.
rate_limit_applies(l) if {
	filter_selects(object.get(l, "actor", null), actor_name)
	filter_selects(object.get(l, "system", null), system)
	filter_selects(object.get(l, "action", null), lower(input.action.name))
	environment_selects(l)
}

# The counted calls already in the limit's window for this call's value of `per`.
rate_limit_count(l) := sum([n |
	some m in rate_limited_modes
	n := input.history.rate_limits[l.name].by_mode[m]
])

# A call that would go over a rate limit: review.
findings contains f if {
	some l in cfg.rate_limits
	rate_limit_applies(l)
	counts := input.history.rate_limits[l.name]
	is_object(counts)
	prior := rate_limit_count(l)
	prior >= l.max
	n := prior + 1
	f := {
		"rule": "rate_limit",
		"mode": "review",
		"reason": sprintf("%s%s would be call %v in %s for %s %s; the rate limit `%s` allows %v.", [input.action.name, target_text, n, l.window_text, l.per, counts.per_value, l.name, l.max]),
		"factor": {
			"factor": "rate_limit",
			"severity": "warning",
			"reason": sprintf("limit %s: %v calls in %s per %s (max %v)", [l.name, n, l.window_text, l.per, l.max]),
			"limit": l.name,
			"count": n,
			"max": l.max,
			"window": l.window_text,
		},
	}
}

# A call a limit selects but the store could not count, because it has no value for the
# limit's `per` (a per-target limit and a call naming no target): review, since counting
# nothing would let such calls past the limit.
findings contains f if {
	some l in cfg.rate_limits
	rate_limit_applies(l)
	input.history.rate_limits[l.name] == null
	f := {
		"rule": "rate_limit",
		"mode": "review",
		"reason": sprintf("%s%s cannot be counted against the rate limit `%s`: the call names no %s.", [input.action.name, target_text, l.name, l.per]),
		"factor": {
			"factor": "rate_limit",
			"severity": "warning",
			"reason": sprintf("limit %s counts per %s, and the call has none", [l.name, l.per]),
			"limit": l.name,
			"max": l.max,
			"window": l.window_text,
		},
	}
}

# An outcome of the prerequisite's prior action with its status, on this target, in its
# window.
prior_recorded(p) if {
	some o in input.history.last_outcomes
	lower(o.action) == p.prior_action
	o.status == p.status
	o.at_unix >= input.now.unix - p.window_seconds
}

# An action whose prerequisite has no recent outcome on the same target: ask for it.
findings contains f if {
	some p in cfg.requires_prior
	lower(input.action.name) == p.action
	not prior_recorded(p)
	f := {
		"rule": "requires_prior",
		"mode": "needs_context",
		"reason": sprintf("%s%s needs a %s outcome of %s on the same target within %s (prerequisite `%s`); none is recorded.", [input.action.name, target_text, p.status, p.prior_action, p.window_text, p.name]),
		"factor": {
			"factor": "requires_prior",
			"severity": "warning",
			"reason": sprintf("no %s %s in the last %s", [p.status, p.prior_action, p.window_text]),
			"prerequisite": p.name,
			"prior_action": p.prior_action,
		},
		"action_space": {"information_gathering": [{"action": p.prior_action, "description": sprintf("Run %s%s, report its outcome (%s), then ask again", [p.prior_action, target_text, p.status])}]},
	}
}

# ---------------------------------------------------------------------------
# Operational context: input.context holds, per provider, {kind, shape, data, error, ...};
# the rules below read the `data` of providers that declare a known shape (normalized in
# Rust, so each field has the type these rules expect). input.context_failed names the
# providers whose fetch failed and whose absence the policy decides on.
# ---------------------------------------------------------------------------

# An emergency change, as the caller marks it.
emergency if input.action.context.metadata.emergency == true

# A manual Argo CD sync, as the caller marks it.
manual_sync if input.action.context.metadata.manual_sync == true

# Text at most 60 characters long, for reasons.
short(text) := sprintf("%s...", [substring(text, 0, 57)]) if count(text) > 60 else := text

# " (and 2 more)" after the first of several.
and_more(n) := sprintf(" (and %v more)", [n]) if n > 0 else := ""

# The names an incident's service may carry to concern the action: its system and target.
incident_names contains system if system != ""

incident_names contains lower(input.action.target) if is_string(input.action.target)

# The services configured for the action's system (incident_services).
incident_names contains s if {
	services := cfg.incident_services[system]
	some s in services
}

incident_concerns_action(inc) if inc.service_name in incident_names

incident_concerns_action(inc) if lower(inc.service_id) in incident_names

# Open high-urgency PagerDuty incidents on the action's services.
active_incidents := [inc |
	some p in input.context
	p.shape == "pagerduty_incidents"
	some inc in p.data.incidents
	inc.status in {"triggered", "acknowledged"}
	inc.urgency == "high"
	incident_concerns_action(inc)
]

# An open high-urgency incident on the service a production change touches: review.
findings contains f if {
	input.context
	not is_read_only
	in_production
	count(active_incidents) > 0
	inc := active_incidents[0]
	title := short(inc.title)
	f := {
		"rule": "active_incident",
		"mode": "review",
		"reason": sprintf("PagerDuty incident %s \"%s\" (%s, high urgency) is open on %s%s; a production change waits for a human.", [inc.id, title, inc.status, incident_service(inc), and_more(count(active_incidents) - 1)]),
		"factor": {
			"factor": "active_incident",
			"severity": "warning",
			"reason": sprintf("%s: %s (%s)", [inc.id, title, inc.status]),
			"incidents": [i.id | some i in active_incidents],
		},
		"better_action": sprintf("Wait until incident %s is resolved, or have its responders approve %s%s", [inc.id, input.action.name, target_text]),
	}
}

incident_service(inc) := inc.service_name if inc.service_name != "" else := inc.service_id

# Freeze calendar windows active now on the action's system and environment (a window's
# empty list covers all).
active_calendar_freezes := [{"provider": name, "window": w} |
	some name, p in input.context
	p.shape == "freeze_calendar"
	some w in p.data.windows
	w.active == true
	scope_matches(w.systems, system)
	scope_matches(w.environments, environment)
]

# An emergency change inside a window that allows emergencies.
freeze_allows(w) if {
	w.allow_emergency == true
	emergency
}

freeze_because(w) := sprintf(": %s", [short(trim_right(w.reason, ". "))]) if is_string(w.reason) else := ""

# A change inside an active calendar freeze is blocked...
findings contains f if {
	input.context
	not is_read_only
	some entry in active_calendar_freezes
	w := entry.window
	not freeze_allows(w)
	f := {
		"rule": "freeze_window",
		"mode": "blocked",
		"reason": sprintf("Change freeze %s is in effect until %s%s.", [w.name, w.end, freeze_because(w)]),
		"factor": {"factor": "freeze_window", "severity": "critical", "reason": sprintf("%s (calendar %s): %s to %s", [w.name, entry.provider, w.start, w.end])},
		"better_action": sprintf("Schedule %s%s after %s", [input.action.name, target_text, w.end]),
	}
}

# ... unless the window allows emergencies and this is one: then a human confirms it.
findings contains f if {
	input.context
	not is_read_only
	some entry in active_calendar_freezes
	w := entry.window
	freeze_allows(w)
	f := {
		"rule": "freeze_window",
		"mode": "review",
		"reason": sprintf("Change freeze %s is in effect until %s; it allows emergency changes and %s%s is marked as one, so a human confirms the emergency.", [w.name, w.end, input.action.name, target_text]),
		"factor": {"factor": "freeze_window", "severity": "warning", "reason": sprintf("%s (calendar %s): emergency change during the freeze", [w.name, entry.provider])},
	}
}

# The action is an Argo CD sync (argocd_systems).
argocd_action if system in cfg.argocd_systems

argocd_namespace := input.action.arguments.namespace if is_string(input.action.arguments.namespace) else := ""

argocd_cluster := input.action.arguments.cluster if is_string(input.action.arguments.cluster) else := ""

# A window selects the application by name (the action's target), namespace or cluster.
sync_window_selects(w) if {
	is_string(input.action.target)
	some g in w.applications
	glob_match(g, input.action.target)
}

sync_window_selects(w) if {
	argocd_namespace != ""
	some g in w.namespaces
	glob_match(g, argocd_namespace)
}

sync_window_selects(w) if {
	argocd_cluster != ""
	some g in w.clusters
	glob_match(g, argocd_cluster)
}

# Argo CD's wildcard `*` matches any run of characters. regorus' glob built-ins are not
# compiled in, and Rego cannot recurse, so the parts between inner wildcards are only
# checked to appear, not to appear in order: a deny window errs on applying.
glob_match(pattern, name) if pattern == name

glob_match(pattern, name) if {
	contains(pattern, "*")
	parts := split(pattern, "*")
	first := parts[0]
	last := parts[count(parts) - 1]
	count(name) >= count(first) + count(last)
	startswith(name, first)
	endswith(name, last)
	inner := substring(name, count(first), (count(name) - count(first)) - count(last))
	every part in array.slice(parts, 1, count(parts) - 1) {
		contains(inner, part)
	}
}

active_deny_windows := [{"provider": name, "window": w} |
	some name, p in input.context
	p.shape == "argocd_sync_windows"
	some w in p.data.windows
	w.kind == "deny"
	w.active == true
	sync_window_selects(w)
]

# A manual sync inside a deny window that allows manual syncs.
deny_window_allows(w) if {
	w.manual_sync == true
	manual_sync
}

seconds_text(s) := sprintf("%vh", [s / 3600]) if {
	s % 3600 == 0
} else := sprintf("%vm", [s / 60]) if {
	s % 60 == 0
} else := sprintf("%vs", [s])

sync_window_text(w) := sprintf("deny %s for %s", [w.schedule, seconds_text(w.duration_seconds)])

# A sync inside an active Argo CD deny window is blocked...
findings contains f if {
	input.context
	argocd_action
	not is_read_only
	some entry in active_deny_windows
	w := entry.window
	not deny_window_allows(w)
	f := {
		"rule": "argocd_deny_window",
		"mode": "blocked",
		"reason": sprintf("An Argo CD sync window (%s) denies syncs of %s now.", [sync_window_text(w), argocd_subject]),
		"factor": {"factor": "argocd_deny_window", "severity": "critical", "reason": sprintf("%s (project %s)", [sync_window_text(w), entry.provider])},
		"better_action": sprintf("Sync %s after the window ends", [argocd_subject]),
	}
}

# ... unless the window allows manual syncs and this is one: then a human confirms it.
findings contains f if {
	input.context
	argocd_action
	not is_read_only
	some entry in active_deny_windows
	w := entry.window
	deny_window_allows(w)
	f := {
		"rule": "argocd_deny_window",
		"mode": "review",
		"reason": sprintf("An Argo CD sync window (%s) denies syncs of %s now; it allows manual syncs and this is one, so a human confirms it.", [sync_window_text(w), argocd_subject]),
		"factor": {"factor": "argocd_deny_window", "severity": "warning", "reason": sprintf("%s (project %s), manual sync allowed", [sync_window_text(w), entry.provider])},
	}
}

argocd_subject := input.action.target if is_string(input.action.target) else := "the application"

# A status page reporting a major or critical outage: production changes wait.
findings contains f if {
	input.context
	not is_read_only
	in_production
	some name, p in input.context
	p.shape == "statuspage_summary"
	p.data.indicator in {"major", "critical"}
	f := {
		"rule": "statuspage_degraded",
		"mode": "review",
		"reason": sprintf("Status page %s reports a %s outage (%s)%s; a production change waits for a human.", [name, p.data.indicator, short(p.data.description), statuspage_incident(p.data)]),
		"factor": {"factor": "statuspage_degraded", "severity": "warning", "reason": sprintf("%s: %s", [name, p.data.indicator])},
	}
}

statuspage_incident(summary) := sprintf(": \"%s\"", [short(summary.unresolved_incidents[0].name)]) if {
	count(summary.unresolved_incidents) > 0
} else := ""

# A context provider that could not be read, for a high or critical production change:
# ask for it rather than decide without it.
findings contains f if {
	count(input.context_failed) > 0
	not is_read_only
	in_production
	risk_tier in {"high", "critical"}
	names := concat(", ", sort(input.context_failed))
	f := {
		"rule": "context_missing",
		"mode": "needs_context",
		"reason": sprintf("The context from %s could not be read; a %s-risk change in production is not decided without it.", [names, risk_tier]),
		"factor": {"factor": "context_missing", "severity": "warning", "reason": sprintf("no context from %s", [names])},
		"action_space": {"information_gathering": [{"action": "refresh_context", "description": sprintf("Read %s again, or confirm by hand what it says", [names])}]},
	}
}

# ---------------------------------------------------------------------------
# Security evidence: input.evidence is {digest, required, scan, error}. `scan` is the
# summary of the newest scan of the image (bighub-evidence's ScanSummary: counts by
# severity as reported, fixable, after VEX, fixable after VEX, the top findings), or null.
# Findings a VEX statement suppresses are already out of `after_vex` and `top_findings`.
# ---------------------------------------------------------------------------

# The action deploys an image whose scan the decision needs.
evidence_required if input.evidence.required == true

# A deploy to production that needs a scan.
production_deploy if {
	evidence_required
	in_production
}

evidence_scan := input.evidence.scan if is_object(input.evidence.scan)

evidence_digest := input.evidence.digest if is_string(input.evidence.digest) else := "the deployed image"

scan_label := sprintf("%s scan of %s", [evidence_scan.scanner.name, evidence_scan.digest])

# The scan is about another image than the one deployed.
scan_digest_mismatch if {
	is_string(input.evidence.digest)
	evidence_scan.digest != input.evidence.digest
}

# The scan is older than max_scan_age, or does not say when it was made.
scan_stale if evidence_scan.age_seconds > cfg.max_scan_age_seconds

scan_stale if evidence_scan.age_seconds == null

scan_age_text := sprintf("is %s old", [seconds_text(evidence_scan.age_seconds)]) if {
	is_number(evidence_scan.age_seconds)
} else := "does not say when it was made"

critical_fixable if evidence_scan.fixable_after_vex.critical > 0

# Critical findings with a fix, as the scan's top findings name them.
critical_fixes := [t |
	some t in evidence_scan.top_findings
	t.severity == "critical"
	t.fixable == true
]

critical_fix_ids := sort({t.id | some t in critical_fixes})

# Per package: the fixed versions and the vulnerabilities they fix.
critical_fix_texts := [package_fix(pkg, versions, ids) |
	some pkg in sort({t.package | some t in critical_fixes})
	versions := sort({v | some t in critical_fixes; t.package == pkg; is_array(t.fixed); some v in t.fixed})
	ids := sort({t.id | some t in critical_fixes; t.package == pkg})
]

package_fix(pkg, versions, ids) := sprintf("%s %s (%s)", [pkg, concat(" or ", versions), concat(", ", ids)]) if {
	count(versions) > 0
} else := sprintf("a fixed %s (%s)", [pkg, concat(", ", ids)])

# A production deploy of an image with critical vulnerabilities that have a fix: blocked,
# naming the fixes.
findings contains f if {
	production_deploy
	critical_fixable
	n := evidence_scan.fixable_after_vex.critical
	ids := concat(", ", critical_fix_ids)
	f := {
		"rule": "critical_fixable",
		"mode": "blocked",
		"reason": sprintf("The %s has %v critical findings with a fix (%s%s); a production deploy of it is blocked.", [scan_label, n, ids, and_more(n - count(critical_fixes))]),
		"factor": {
			"factor": "critical_fixable",
			"severity": "critical",
			"reason": sprintf("critical with a fix: %s", [ids]),
			"vulnerabilities": critical_fix_ids,
		},
		"better_action": sprintf("Rebuild with %s, then deploy", [concat(" and ", critical_fix_texts)]),
	}
}

# Critical vulnerabilities without a fix, or high ones, after VEX: a human weighs them.
# A critical with no fix is not blocked: no rebuild would remove it.
findings contains f if {
	production_deploy
	not critical_fixable
	s := evidence_scan
	s.after_vex.critical + s.after_vex.high > 0
	ids := sort({t.id | some t in s.top_findings; t.severity in {"critical", "high"}})
	f := {
		"rule": "high_findings",
		"mode": "review",
		"reason": sprintf("The %s has findings a human weighs before the production deploy (critical without a fix: %v, high: %v; %s).", [scan_label, s.after_vex.critical, s.after_vex.high, concat(", ", ids)]),
		"factor": {
			"factor": "high_findings",
			"severity": "warning",
			"reason": sprintf("%v critical without a fix, %v high: %s", [s.after_vex.critical, s.after_vex.high, concat(", ", ids)]),
			"vulnerabilities": ids,
		},
	}
}

# A deploy that needs a scan and has none: ask for one.
findings contains f if {
	evidence_required
	not evidence_scan
	f := {
		"rule": "scan_missing",
		"mode": "needs_context",
		"reason": sprintf("No security scan of %s was found%s; %s%s needs one before it runs.", [evidence_digest, evidence_error, input.action.name, target_text]),
		"factor": {"factor": "scan_missing", "severity": "warning", "reason": sprintf("no scan of %s", [evidence_digest])},
		"action_space": {"information_gathering": [{"action": "scan_image", "description": sprintf("Scan %s and add the report to the evidence", [evidence_digest])}]},
	}
}

evidence_error := sprintf(" (%s)", [short(input.evidence.error)]) if is_string(input.evidence.error) else := ""

# A scan too old to rely on: ask for a fresh one.
findings contains f if {
	evidence_required
	scan_stale
	f := {
		"rule": "scan_stale",
		"mode": "needs_context",
		"reason": sprintf("The newest %s %s, more than the %s a deploy may rely on; %s%s needs a fresh scan.", [scan_label, scan_age_text, cfg.max_scan_age_text, input.action.name, target_text]),
		"factor": {"factor": "scan_stale", "severity": "warning", "reason": sprintf("scan %s (max_scan_age %s)", [scan_age_text, cfg.max_scan_age_text])},
		"action_space": {"information_gathering": [{"action": "scan_image", "description": sprintf("Scan %s again and add the report to the evidence", [evidence_scan.digest])}]},
	}
}

# A scan of another image than the one deployed proves nothing about it: blocked.
findings contains f if {
	scan_digest_mismatch
	f := {
		"rule": "scan_digest_mismatch",
		"mode": "blocked",
		"reason": sprintf("The scan given is of %s, but %s%s deploys %s.", [evidence_scan.digest, input.action.name, target_text, input.evidence.digest]),
		"factor": {"factor": "scan_digest_mismatch", "severity": "critical", "reason": sprintf("scanned %s, deploying %s", [evidence_scan.digest, input.evidence.digest])},
		"better_action": sprintf("Scan %s, the image being deployed, and deploy it once its scan passes", [input.evidence.digest]),
	}
}

# A fresh scan of the deployed image with no critical or high vulnerability after VEX.
findings contains f if {
	evidence_required
	s := evidence_scan
	not scan_stale
	not scan_digest_mismatch
	s.after_vex.critical + s.after_vex.high == 0
	f := {
		"rule": "scan_clean",
		"mode": "autonomous",
		"reason": sprintf("The %s finds no critical or high vulnerability%s.", [scan_label, vex_text(s)]),
		"factor": {"factor": "scan_clean", "severity": "info", "reason": sprintf("%s %s: no critical or high%s", [s.scanner.name, scan_age_text, vex_text(s)])},
	}
}

vex_text(s) := sprintf(" after VEX (%v suppressed)", [s.suppressed_by_vex]) if s.suppressed_by_vex > 0 else := ""

# ---------------------------------------------------------------------------
# Combining
# ---------------------------------------------------------------------------

exempt contains r if {
	some r in data.bighub.ext.exempt
}

all_findings := findings | {f | some f in data.bighub.ext.findings}

# A finding needs a string rule, a known mode and a string reason.
valid_findings := {f |
	some f in all_findings
	is_string(f.rule)
	rank[f.mode]
	is_string(f.reason)
}

invalid_findings := [f | some f in all_findings - valid_findings]

effective := [f |
	some f in valid_findings
	not f.rule in exempt
]

top_rank := max({rank[f.mode] | some f in effective} | {0})

winners := [f | some f in effective; rank[f.mode] == top_rank]

overridden := true if is_string(data.bighub.ext.override.mode) else := false

mode := data.bighub.ext.override.mode if overridden else := modes[top_rank]

reason := data.bighub.ext.override.reason if {
	overridden
	is_string(data.bighub.ext.override.reason)
} else := "Decided by a policy override." if {
	overridden
} else := concat(" ", [f.reason | some f in winners]) if {
	count(winners) > 0
} else := "No rule restricts this action."

# The override's, else the first of the winners', else the first of any finding's.
default better_action := null

better_action := data.bighub.ext.override.better_action if {
	overridden
	is_string(data.bighub.ext.override.better_action)
} else := offered[0] if {
	offered := [b | some f in winners; b := f.better_action; is_string(b)]
	count(offered) > 0
} else := offered[0] if {
	offered := [b | some f in effective; b := f.better_action; is_string(b)]
	count(offered) > 0
}

# ---------------------------------------------------------------------------
# Risk score: the tier's base, raised by production, excess duration, failures.
# ---------------------------------------------------------------------------

default base_score := 0.5

base_score := cfg.read_only_risk_score if is_read_only

base_score := cfg.risk_scores[risk_tier] if not is_read_only

raised contains "production" if in_production

raised contains "excess_duration" if excess_duration

raised contains "recent_failures" if recent_failures

raised contains "destructive" if destructive

risk_score := min({1, base_score + sum([cfg.risk_score_raise[k] | some k in raised])})

# ---------------------------------------------------------------------------
# The answer
# ---------------------------------------------------------------------------

# What kind of change this is; the engine words the explanations from it.
action_family := "destructive_change" if {
	destructive
} else := "privilege_escalation" if {
	privilege_escalation
} else := "read_only" if {
	is_read_only
} else := "change"

# The engine completes this answer: from `findings` it lists the salient factors, the
# responsible action space and the rules fired; from `action_family`, `known_environment`
# and the input it words the operational intent, the agent's operational body and the
# interpretation layer. (A policy may answer any of those fields itself; the engine keeps
# them.)
# ---------------------------------------------------------------------------
# Answering a review: how long it may wait, who may answer it, how many must
# ---------------------------------------------------------------------------

# A finding may ask more of the approval of its call with an `approval` object:
# {ttl_seconds?: positive number, separate_approver?: bool, required_approvals?: 1 to 5}.
# The strictest ask wins: the shortest time, a separate approver if any asks, the most
# approvers.
approval_asks := [f.approval | some f in effective; is_object(f.approval)]

# A pending approval expires after approval_ttl (24h), or sooner when a finding says so.
approval_ttl_seconds := min({cfg.approval_ttl_seconds} | {a.ttl_seconds |
	some a in approval_asks
	is_number(a.ttl_seconds)
	a.ttl_seconds > 0
})

# A production call of a family listed in separate_approver_in_production (for example
# privilege_escalation) is approved by someone other than who asked for it.
separate_approver if {
	in_production
	action_family in cfg.separate_approver_in_production
}

separate_approver if {
	some a in approval_asks
	a.separate_approver == true
}

required_approvals := max({1} | {n |
	some a in approval_asks
	n := a.required_approvals
	is_number(n)
	n >= 1
	n <= 5
})

approval := {
	"ttl_seconds": approval_ttl_seconds,
	"separate_approver": separate_approver_flag,
	"required_approvals": required_approvals,
}

separate_approver_flag := true if separate_approver else := false

decision := {
	"mode": mode,
	"risk": risk_score,
	"reason": reason,
	"better_action": better_action,
	"action_family": action_family,
	"known_environment": environment,
	"findings": effective,
	"deciding_rules": sort({f.rule | some f in winners}),
	"exempted_rules": sort({f.rule | some f in all_findings; f.rule in exempt}),
	"overridden": overridden,
	"invalid_findings": invalid_findings,
	"approval": approval,
}
