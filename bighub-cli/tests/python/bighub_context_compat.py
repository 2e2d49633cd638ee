"""The unmodified Python `bighub` client against `bighub serve --config CONTEXT_FILE`.

Run by bighub-cli/tests/cli/python_sdk.rs with BIGHUB_BASE_URL and BIGHUB_API_KEY naming
the server, whose context configuration has a `fail_closed` provider that cannot be
fetched. It prints the decision's mode, reason and legacy fields as one JSON object.
"""

import json
import os

from bighub import BighubClient

bighub = BighubClient(
    api_key=os.environ["BIGHUB_API_KEY"],
    base_url=os.environ["BIGHUB_BASE_URL"],
    max_retries=0,
)
decision = bighub.actions.evaluate(
    action="deploy_service",
    actor="ops-agent",
    target="payments",
    value=0.0,
    context={"system": "argocd", "risk": "low", "environment": "staging"},
)
print(json.dumps({k: decision.get(k) for k in ("mode", "reason", "allowed", "recommendation")}))
