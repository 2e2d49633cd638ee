# Tests of the default policy's rate_limit and requires_prior rules, on the limits in
# config.json beside this file. Run with `bighub policy test bighub-local/tests/policies`.
package bighub.history_rules_test

import rego.v1

deploy := bighub.input({"tool": "deploy", "actor": "ci-bot", "system": "argocd", "risk": "low", "environment": "prod", "target": "web"})

# The input of `base` with `history` merged into its (empty) history.
with_history(base, history) := object.union(base, {"history": history})

counted(n) := {"prod-deploys": {"decisions": n, "by_mode": {"autonomous": n}, "capped": false, "per": "actor", "per_value": "ci-bot"}}

test_a_call_within_the_limit_runs if {
	d := data.bighub.policy.decision with input as with_history(deploy, {"rate_limits": counted(2)})
	d.mode == "autonomous"
}

test_the_call_over_the_limit_is_reviewed if {
	d := data.bighub.policy.decision with input as with_history(deploy, {"rate_limits": counted(3)})
	d.mode == "review"
	some f in d.findings
	f.rule == "rate_limit"
	f.factor.count == 4
	f.factor.window == "1h"
}

# Blocked and needs_context decisions are not counted: they did not run.
test_blocked_calls_do_not_count if {
	counts := {"prod-deploys": {"decisions": 9, "by_mode": {"autonomous": 2, "blocked": 7}, "capped": false, "per": "actor", "per_value": "ci-bot"}}
	d := data.bighub.policy.decision with input as with_history(deploy, {"rate_limits": counts})
	d.mode == "autonomous"
}

# A call the limit selects but cannot count (no value for its `per`) is reviewed.
test_a_call_the_limit_cannot_count_is_reviewed if {
	d := data.bighub.policy.decision with input as with_history(deploy, {"rate_limits": {"prod-deploys": null}})
	d.mode == "review"
	some f in d.findings
	f.rule == "rate_limit"
	contains(f.reason, "names no actor")
}

test_a_staging_deploy_is_not_limited if {
	staging := bighub.input({"tool": "deploy", "actor": "ci-bot", "system": "argocd", "risk": "low", "environment": "staging", "target": "web"})
	d := data.bighub.policy.decision with input as with_history(staging, {"rate_limits": counted(9)})
	d.mode == "autonomous"
}

rotate := bighub.input({"tool": "rotate_credential", "system": "postgres", "risk": "low", "environment": "staging", "target": "db-1"})

backup(status, age) := [{"status": status, "action": "backup_database", "request_id": "loc_1", "at": "", "at_unix": rotate.now.unix - age}]

test_a_rotation_without_a_backup_needs_context if {
	d := data.bighub.policy.decision with input as rotate
	d.mode == "needs_context"
	some f in d.findings
	f.rule == "requires_prior"
	f.action_space.information_gathering[0].action == "backup_database"
}

test_a_recent_successful_backup_lets_it_run if {
	d := data.bighub.policy.decision with input as with_history(rotate, {"last_outcomes": backup("SUCCESS", 600)})
	d.mode == "autonomous"
}

test_a_failed_backup_is_not_enough if {
	d := data.bighub.policy.decision with input as with_history(rotate, {"last_outcomes": backup("FAILURE", 600)})
	d.mode == "needs_context"
}

test_an_old_backup_is_not_enough if {
	d := data.bighub.policy.decision with input as with_history(rotate, {"last_outcomes": backup("SUCCESS", 7200)})
	d.mode == "needs_context"
}
