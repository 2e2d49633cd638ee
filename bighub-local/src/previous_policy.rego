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

act := input.action

tokens := act.tokens

# ---------------------------------------------------------------------------
# Facts about the call
# ---------------------------------------------------------------------------

modes := ["autonomous", "constrained", "review", "needs_context", "blocked"]

rank := {"autonomous": 0, "constrained": 1, "review": 2, "needs_context": 3, "blocked": 4}

# An undeclared risk is treated as the configured default (medium).
default risk_tier := "medium"

risk_tier := act.risk if is_string(act.risk)

# "" when the environment is missing or one of the names that mean "unknown".
default environment := ""

environment := act.environment if {
	is_string(act.environment)
	not act.environment in cfg.unknown_environments
}

env_known if environment != ""

is_production if environment in cfg.production_environments

default env_class := "other"

env_class := "production" if is_production

default env_label := "an unknown environment"

env_label := environment if env_known

default system := ""

system := act.system if is_string(act.system)

default target_text := ""

target_text := sprintf(" on %s", [act.target]) if is_string(act.target)

# Destructive: a destructive verb among the action's words, or a multi-word verb
# (force_push) inside its normalized name.
is_destructive if {
	some t in tokens
	t in destructive_verbs
}

is_destructive if {
	some v in destructive_verbs
	contains(v, "_")
	contains(sprintf("_%s_", [act.normalized_name]), sprintf("_%s_", [v]))
}

destructive_verbs := {replace(lower(v), "-", "_") | some v in cfg.destructive_verbs}

has_privilege_verb if {
	some t in tokens
	t in cfg.privilege_verbs
}

identity_system if system in cfg.identity_systems

default target_names := []

target_names := [lower(act.target)] if is_string(act.target)

# Admin groups: a group (or the target) containing one of the configured fragments.
admin_groups contains g if {
	some g in array.concat(input.derived.groups, target_names)
	some p in cfg.admin_group_patterns
	contains(g, p)
}

# Read-only: the first word is a read verb and nothing else in the name changes state.
is_read_only if {
	tokens[0] in cfg.read_only_verbs
	not is_destructive
	not has_privilege_verb
}

# Privilege escalation: any two of (a privilege verb, an identity system, an admin group).
privilege_escalation if {
	has_privilege_verb
	identity_system
}

privilege_escalation if {
	has_privilege_verb
	count(admin_groups) > 0
}

privilege_escalation if {
	identity_system
	count(admin_groups) > 0
	not is_read_only
}

excess_duration if {
	privilege_escalation
	input.derived.duration.seconds > cfg.max_privilege_duration_seconds
}

recent_failures if input.history.failures_24h >= cfg.failure_threshold

default grant_subject := ""

grant_subject := sprintf(" to %s", [input.derived.subject]) if is_string(input.derived.subject)

default grant_scope := "the access"

grant_scope := sprintf("scoped %s access", [concat(", ", input.derived.groups)]) if count(input.derived.groups) > 0

grant_scope := sprintf("scoped %s access", [act.target]) if {
	count(input.derived.groups) == 0
	is_string(act.target)
}

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
		"better_action": sprintf("Schedule %s%s after %s", [act.name, target_text, w.end]),
	}
}

scope_matches(list, _) if count(list) == 0

scope_matches(list, value) if value in list

# Destructive changes in production are blocked; plan, dry-run and inspect remain.
findings contains f if {
	is_destructive
	is_production
	f := {
		"rule": "destructive_in_production",
		"mode": "blocked",
		"reason": sprintf("%s%s is destructive and targets production.", [act.name, target_text]),
		"factor": {"factor": "destructive_in_production", "severity": "critical", "reason": "destructive verb in production"},
		"better_action": sprintf("Plan or dry-run %s%s first, and have a human apply it", [act.name, target_text]),
		"action_space": {
			"forbidden": [{"action": act.name, "target": act.target, "reason": "destructive in production"}],
			"constrained": [{"action": act.name, "target": act.target, "constraints": ["dry_run=true"]}],
			"information_gathering": [
				{"action": "plan", "description": sprintf("Plan %s%s and review the diff", [act.name, target_text])},
				{"action": "dry_run", "description": sprintf("Dry-run %s%s", [act.name, target_text])},
				{"action": "inspect", "description": sprintf("Inspect%s and what depends on it", [target_text])},
			],
		},
	}
}

# Risk x environment (configurable as data: risk_matrix).
findings contains f if {
	not is_read_only
	m := cfg.risk_matrix[risk_tier][env_class]
	f := {
		"rule": "risk_tier",
		"mode": m,
		"reason": sprintf("A %s-risk change in %s runs %s.", [risk_tier, env_label, m]),
		"factor": {"factor": "risk_tier", "severity": severity[m], "reason": sprintf("%s risk in %s", [risk_tier, env_label])},
	}
}

severity := {"autonomous": "info", "constrained": "info", "review": "warning", "needs_context": "warning", "blocked": "critical"}

# Reads run autonomously.
findings contains f if {
	is_read_only
	f := {
		"rule": "read_only",
		"mode": "autonomous",
		"reason": sprintf("%s only reads.", [act.name]),
		"factor": {"factor": "read_only", "severity": "info", "reason": sprintf("%s is a read verb", [tokens[0]])},
	}
}

# High or critical risk with no known environment: ask which one.
findings contains f if {
	not is_read_only
	risk_tier in {"high", "critical"}
	not env_known
	f := {
		"rule": "missing_environment",
		"mode": "needs_context",
		"reason": sprintf("%s is %s risk but its environment is unknown; confirm it before deciding.", [act.name, risk_tier]),
		"factor": {"factor": "unknown_environment", "severity": "warning", "reason": "no environment declared"},
		"action_space": {"information_gathering": array.concat(
			[{"action": "confirm_environment", "question": sprintf("Which environment does %s%s touch (production, staging, ...)?", [act.name, target_text])}],
			target_questions,
		)},
	}
}

default target_questions := []

target_questions := [{"action": "confirm_target", "question": sprintf("Which resource does %s act on?", [act.name])}] if not is_string(act.target)

# Privilege escalation for longer than the maximum: review, offering the shorter grant.
findings contains f if {
	excess_duration
	d := input.derived.duration
	max_text := cfg.max_privilege_duration_text
	f := {
		"rule": "privilege_duration",
		"mode": "review",
		"reason": sprintf("%s grants %s%s for %s; privilege grants longer than %s need a human review.", [act.name, grant_scope, grant_subject, d.text, max_text]),
		"factor": {
			"factor": "excessive_duration",
			"severity": "warning",
			"reason": sprintf("requested %s, maximum %s", [d.text, max_text]),
			"requested_seconds": d.seconds,
			"max_seconds": cfg.max_privilege_duration_seconds,
		},
		"better_action": sprintf("Grant %s%s for %s instead of %s", [grant_scope, grant_subject, max_text, d.text]),
		"action_space": {
			"constrained": [{"action": act.name, "arguments_patch": {d.argument: max_text}, "constraints": [sprintf("%s <= %s", [d.argument, max_text])]}],
			"forbidden": [{"action": act.name, "reason": sprintf("privilege for %s", [d.text])}],
		},
	}
}

# Admin privilege with no end: review, offering a time-boxed grant.
findings contains f if {
	privilege_escalation
	count(admin_groups) > 0
	input.derived.duration == null
	max_text := cfg.max_privilege_duration_text
	f := {
		"rule": "unbounded_privilege",
		"mode": "review",
		"reason": sprintf("%s grants %s%s with no end date.", [act.name, grant_scope, grant_subject]),
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
		"reason": sprintf("The duration \"%s\" of %s cannot be read.", [d.text, act.name]),
		"factor": {"factor": "unreadable_duration", "severity": "warning", "reason": d.text},
		"action_space": {"information_gathering": [{"action": "confirm_duration", "question": sprintf("How long should %s last (e.g. 2h)?", [act.name])}]},
	}
}

# Repeated failures of the same action on the same target: review.
findings contains f if {
	recent_failures
	n := input.history.failures_24h
	f := {
		"rule": "recent_failures",
		"mode": "review",
		"reason": sprintf("%s%s failed %v times in the last 24h.", [act.name, target_text, n]),
		"factor": {"factor": "recent_failures", "severity": "warning", "reason": sprintf("%v failures in 24h (threshold %v)", [n, cfg.failure_threshold])},
		"action_space": {"information_gathering": [{"action": "inspect_failures", "description": sprintf("Read why %s%s failed before retrying", [act.name, target_text])}]},
	}
}

# ---------------------------------------------------------------------------
# Combining
# ---------------------------------------------------------------------------

user_findings contains f if {
	some f in data.bighub.ext.findings
}

exempt contains r if {
	some r in data.bighub.ext.exempt
}

all_findings := findings | user_findings

invalid_findings := [f | some f in all_findings; not valid_finding(f)]

valid_finding(f) if {
	is_string(f.rule)
	f.mode in object.keys(rank)
	is_string(f.reason)
}

effective := [f |
	some f in all_findings
	valid_finding(f)
	not f.rule in exempt
]

top_rank := max({rank[f.mode] | some f in effective} | {0})

winners := [f | some f in effective; rank[f.mode] == top_rank]

default overridden := false

overridden if is_string(data.bighub.ext.override.mode)

computed_mode := modes[top_rank]

mode := data.bighub.ext.override.mode if overridden

mode := computed_mode if not overridden

default computed_reason := "No rule restricts this action."

computed_reason := concat(" ", [f.reason | some f in winners]) if count(winners) > 0

default override_reason := "Decided by a policy override."

override_reason := data.bighub.ext.override.reason if is_string(data.bighub.ext.override.reason)

reason := override_reason if overridden

reason := computed_reason if not overridden

winner_better := [b | some f in winners; b := f.better_action; is_string(b)]

other_better := [b | some f in effective; b := f.better_action; is_string(b)]

default better_action := null

better_action := data.bighub.ext.override.better_action if {
	overridden
	is_string(data.bighub.ext.override.better_action)
} else := winner_better[0] if {
	count(winner_better) > 0
} else := other_better[0] if {
	count(other_better) > 0
}

# ---------------------------------------------------------------------------
# Risk score: the tier's base, raised by production, excess duration, failures.
# ---------------------------------------------------------------------------

default base_score := 0.5

base_score := cfg.read_only_risk_score if is_read_only

base_score := cfg.risk_scores[risk_tier] if not is_read_only

raised contains "production" if is_production

raised contains "excess_duration" if excess_duration

raised contains "recent_failures" if recent_failures

raised contains "destructive" if is_destructive

risk_score := min({1, base_score + sum([cfg.risk_score_raise[k] | some k in raised])})

# ---------------------------------------------------------------------------
# Explanations (they never change the mode)
# ---------------------------------------------------------------------------

default action_family := "change"

action_family := "destructive_change" if is_destructive

action_family := "privilege_escalation" if {
	not is_destructive
	privilege_escalation
}

action_family := "read_only" if {
	not is_destructive
	not privilege_escalation
	is_read_only
}

can_run if mode in {"autonomous", "constrained"}

default available := []

available := [{"action": act.name, "target": act.target, "arguments": act.arguments}] if can_run

space(group) := [item | some f in effective; some item in f.action_space[group]]

# Declared versus inferred intent: a mismatch when the user's request names none of the
# action's words, its target, its system or its subject.
declared_mentions if {
	some t in tokens
	count(t) > 2
	contains(lower(input.declared_request), t)
}

declared_mentions if {
	is_string(act.target)
	contains(lower(input.declared_request), lower(act.target))
}

declared_mentions if {
	count(system) > 2
	contains(lower(input.declared_request), system)
}

declared_mentions if {
	is_string(input.derived.subject)
	contains(lower(input.declared_request), lower(input.derived.subject))
}

default mismatch := null

mismatch := false if {
	is_string(input.declared_request)
	declared_mentions
}

mismatch := true if {
	is_string(input.declared_request)
	not declared_mentions
}

default confidence := 0.5

confidence := 0.9 if mismatch == false

confidence := 0.4 if mismatch == true

family_label := replace(action_family, "_", " ")

default can_touch := []

can_touch := [system] if system != ""

default can_verify := []

can_verify := [sprintf("read back %s after the change", [act.target])] if is_string(act.target)

default can_rollback := []

can_rollback := ["revoke the grant"] if action_family == "privilege_escalation"

can_rollback := ["re-apply the previous state"] if action_family == "change"

default cannot_observe := []

cannot_observe := ["which environment the call touches"] if not env_known

default requires_human := []

requires_human := [sprintf("approve %s%s", [act.name, target_text])] if mode == "review"

requires_human := [sprintf("decide whether %s%s may run at all", [act.name, target_text])] if mode == "blocked"

decision := {
	"mode": mode,
	"risk": risk_score,
	"reason": reason,
	"better_action": better_action,
	"salient_factors": [f.factor | some f in effective; is_object(f.factor)],
	"responsible_action_space": {
		"available": array.concat(available, space("available")),
		"constrained": space("constrained"),
		"forbidden": space("forbidden"),
		"information_gathering": space("information_gathering"),
	},
	"operational_intent": {
		"declared": input.declared_request,
		"inferred": sprintf("%s: %s%s", [family_label, act.name, target_text]),
		"confidence": confidence,
		"mismatch": mismatch,
	},
	"agent_operational_body": {
		"can_touch": can_touch,
		"can_verify": can_verify,
		"can_rollback": can_rollback,
		"cannot_observe": cannot_observe,
		"requires_human": requires_human,
	},
	"action_interpretation_layer": {
		"raw_action": act.name,
		"interpreted_action": sprintf("%s%s in %s", [family_label, target_text, env_label]),
		"action_family": action_family,
	},
	"rules_fired": sort({f.rule | some f in effective}),
	"deciding_rules": sort({f.rule | some f in winners}),
	"exempted_rules": sort({f.rule | some f in all_findings; f.rule in exempt}),
	"overridden": overridden,
	"invalid_findings": invalid_findings,
}
