"""The unmodified Python `bighub-openai` adapter against a self-hosted decision server.

Run by bighub-cli/tests/cli/python_sdk.rs with BIGHUB_BASE_URL and BIGHUB_API_KEY naming a
`bighub serve`, and OPENAI_BASE_URL and OPENAI_API_KEY naming the fake Responses API. It
prints one JSON object: what the adapter reported, for the Rust test to check.
"""

import json
import os

from bighub import BighubClient
from openai import OpenAI

from bighub_openai import BighubOpenAI

executed = []

bighub = BighubClient(
    api_key=os.environ["BIGHUB_API_KEY"],
    base_url=os.environ["BIGHUB_BASE_URL"],
    max_retries=0,
)
openai = OpenAI(
    api_key=os.environ["OPENAI_API_KEY"],
    base_url=os.environ["OPENAI_BASE_URL"],
    max_retries=0,
)
agent = BighubOpenAI(
    bighub_client=bighub,
    openai_client=openai,
    actor="ops-agent",
    domain="it_actions",
    evaluate_retries=0,
)


# The server decides on the call's arguments, which this adapter sends only as metadata:
# `arguments` in the context is where the server (and RemoteBighub) carries them.
@agent.action(
    system="okta",
    risk="high",
    environment="production",
    metadata_from_args=lambda a: {"arguments": a},
    target_from_args=lambda a: a["group"],
    value_from_args=lambda a: 0.0,  # the adapter refuses a call whose value it cannot infer
)
def grant_access(user_id: str, group: str, duration: str) -> dict:
    executed.append({"tool": "grant_access", "duration": duration})
    return {"ok": True, "user_id": user_id, "group": group, "duration": duration}


@agent.action(
    system="okta",
    risk="low",
    metadata_from_args=lambda a: {"arguments": a},
    target_from_args=lambda a: a["group"],
    value_from_args=lambda a: 0.0,
)
def list_users(group: str) -> dict:
    executed.append({"tool": "list_users"})
    return {"users": ["alice", "bob"]}


# The adapter continues a run with `previous_response_id` but sends `store: false`, and the
# Responses API does not find unstored responses; so the first request of each run asks
# for it to be stored. (Nothing about the decision server: the real API behaves the same.)
STORED = {"store": True}

out = {}
first = agent.run(
    messages=[{"role": "user", "content": "Grant Alice temporary Okta admin access for 48h"}],
    model="gpt-5.5",
    extra_create_args=STORED,
)
last = first["execution"]["last"]
decision = last["decision"]
if "request_id" not in decision:
    raise SystemExit("no decision from the server: " + json.dumps(last, default=str)[:2000])
out["grant"] = {
    "status": last["status"],
    "mode": decision.get("mode"),
    "better_action": decision.get("better_action"),
    "request_id": decision.get("request_id"),
    "executed_before_approval": list(executed),
    "output_text": first.get("output_text"),
}
out["pending"] = [a["request_id"] for a in bighub.approvals.list(status_filter="pending")]

resumed = agent.resume_after_approval(
    tool_name="grant_access",
    arguments=last["arguments"],
    request_id=decision["request_id"],
    resolution="approved",
    comment="2h would do; approved once",
)
out["resumed"] = {
    "resumed": resumed["resumed"],
    "approval_status": resumed["approval"].get("status"),
    "tool_output": resumed.get("tool_output"),
}
try:
    bighub.approvals.resolve(decision["request_id"], resolution="rejected")
    out["second_resolution"] = "accepted"
except Exception as exc:  # the adapter's typed API error
    out["second_resolution"] = {"error": type(exc).__name__, "status": getattr(exc, "status_code", None)}

second = agent.run(
    messages=[{"role": "user", "content": "Who is in okta-admins?"}],
    model="gpt-5.5",
    extra_create_args=STORED,
)
out["read"] = {"status": second["execution"]["last"]["status"]}
out["executed"] = executed
out["all"] = [
    {"request_id": a["request_id"], "status": a["status"]}
    for a in bighub.approvals.list(status_filter="all")
]
agent.close()
print(json.dumps(out))
