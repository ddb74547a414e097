"""Best-effort callback delivery (contract §4): POST JSON from a background thread, short timeout."""

from __future__ import annotations

import json
import threading
import urllib.request

CALLBACK_TIMEOUT_SECONDS = 2.0


def callback_body(
    *,
    sent_at: str,
    base_url: str,
    account_id: str,
    execution_id: str,
    definition_key: str,
    status: str,
    user_reference: str | None,
) -> dict[str, object]:
    """The documented callback payload; hrefs point at the simulator's retrieval routes."""
    account_href = f"{base_url}/api/v1/accounts/{account_id}"
    body: dict[str, object] = {"callbackSentAt": sent_at}
    if user_reference is not None:
        body["userReference"] = user_reference
    body["workflowExecution"] = {
        "id": execution_id,
        "href": f"{account_href}/workflow-executions/{execution_id}",
        "definitionKey": definition_key,
        "status": status,
    }
    body["account"] = {"id": account_id, "href": account_href}
    return body


def _post(url: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Jumio Callback (simulator)"},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
            response.read()
    except (OSError, ValueError):
        pass  # Jumio's redelivery policy is undocumented: one best-effort attempt.


def send_callback(url: str, body: dict[str, object]) -> None:
    """Deliver in a daemon thread so the request that caused it is never delayed."""
    threading.Thread(target=_post, args=(url, body), name="jumio-callback", daemon=True).start()
