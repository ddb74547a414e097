"""The callback endpoint from outside: what it accepts, what it refuses, and what it keeps.

Requests go over HTTP to the callback function's URL on loopback, as Jumio's would. Every
refusal is a 4xx with a reason, a ``CallbackRefused`` metric and a log line; none of them
changes the ledger, and no body, path secret or value reaches a log.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

from tests.conftest import FAST_RETRIES, TEMPLATE, store_tenant_credentials
from tests.integration.session_support import (
    account_response,
    register,
    registration_message,
    session_item,
    wait_for_task_token,
    workflow_execution_id,
)

MARKER = "Zebulon-Qx7-callback-marker"  # stands for anything a body could carry


def path_secret(stack: Any) -> str:
    return boto3.client("secretsmanager").get_secret_value(
        SecretId=stack.physical("CallbackSecret")
    )["SecretString"]


def payload(response: dict[str, Any], status: str = "PROCESSED", **changes: Any) -> dict:
    """Jumio's documented callback for this account response."""
    body = {
        "callbackSentAt": "2026-11-30T10:00:00.000Z",
        "userReference": MARKER,
        "workflowExecution": {
            "id": response["workflowExecution"]["id"],
            "href": "https://retrieval.amer-1.jumio.ai/api/v1/accounts/a/workflow-executions/w",
            "definitionKey": "10013",
            "status": status,
        },
        "account": {
            "id": response["account"]["id"],
            "href": "https://retrieval.amer-1.jumio.ai/api/v1/accounts/a",
        },
    }
    body.update(changes)
    return body


@pytest.fixture
def registered(stack, poller, simulator) -> dict[str, Any]:
    """A session waiting for its parts (no callback URL at Jumio: the tests post themselves)."""
    response = account_response(simulator)
    register(stack, poller, registration_message(response))
    wait_for_task_token(stack, workflow_execution_id(response))
    return response


def post(stack: Any, body: Any, *, secret: str | None = None, method: str = "POST") -> Any:
    url = stack.function_url("CallbackFunction") + (
        path_secret(stack) if secret is None else secret
    )
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.request(
        method, url, data=data, headers={"Content-Type": "application/json"}, timeout=30
    )


def refused_metrics(output: str) -> list[str]:
    return [
        json.loads(line)["reason"]
        for line in output.splitlines()
        if '"CallbackRefused"' in line and line.startswith("{")
    ]


def test_a_valid_callback_is_kept_as_ids_and_status_and_answered_200(stack, registered, capsys):
    wf_id = workflow_execution_id(registered)

    answer = post(stack, payload(registered))
    again = post(stack, payload(registered))

    assert (answer.status_code, answer.json()) == (200, {"outcome": "ACCEPTED"})
    assert (again.status_code, again.json()) == (200, {"outcome": "DUPLICATE"})
    item = session_item(stack, wf_id)
    assert item["callbackStatus"] == "PROCESSED"
    assert MARKER not in json.dumps(item, default=str)  # userReference is not kept
    assert MARKER not in capsys.readouterr().out


def test_a_different_status_after_the_first_is_kept_aside_never_applied(stack, registered):
    wf_id = workflow_execution_id(registered)
    post(stack, payload(registered, status="PROCESSED"))

    answer = post(stack, payload(registered, status="SESSION_EXPIRED"))

    assert (answer.status_code, answer.json()) == (200, {"outcome": "CONFLICTING"})
    item = session_item(stack, wf_id)
    assert (item["callbackStatus"], item["conflictingCallbackStatus"]) == (
        "PROCESSED",
        "SESSION_EXPIRED",
    )


def _invalid_cases(response: dict[str, Any]) -> dict[str, tuple[Any, int, str, str | None]]:
    execution = payload(response)["workflowExecution"]
    return {
        "not JSON": ('{"callbackSentAt": ', 400, "INVALID_CALLBACK", None),
        "a list": ("[]", 400, "INVALID_CALLBACK", None),
        "ACQUIRED is not a callback status": (
            payload(response, workflowExecution={**execution, "status": "ACQUIRED"}),
            400,
            "INVALID_CALLBACK",
            "workflowExecution.status",
        ),
        "no account": (
            {k: v for k, v in payload(response).items() if k != "account"},
            400,
            "INVALID_CALLBACK",
            "account",
        ),
        "an undocumented field (its name is not echoed)": (
            payload(response, **{MARKER: {"type": "PASSED"}}),
            400,
            "INVALID_CALLBACK",
            None,
        ),
        "id not a UUID": (
            payload(response, workflowExecution={**execution, "id": MARKER}),
            400,
            "INVALID_CALLBACK",
            "workflowExecution.id",
        ),
        "another account": (
            payload(response, account={"id": "0b6a6d47-6f71-4b6c-a1b2-3c4d5e6f7a8b", "href": "x"}),
            400,
            "INVALID_CALLBACK",
            "account.id",
        ),
        "unknown execution": (
            payload(
                response,
                workflowExecution={**execution, "id": "5d8f7a2c-1e3b-4c5d-9e8f-7a6b5c4d3e2f"},
            ),
            404,
            "UNKNOWN_EXECUTION",
            None,
        ),
    }


def test_every_invalid_callback_is_refused_with_its_reason_and_changes_nothing(
    stack, registered, capsys
):
    wf_id = workflow_execution_id(registered)
    before = session_item(stack, wf_id)
    cases = _invalid_cases(registered)

    answers = {name: post(stack, body) for name, (body, _, _, _) in cases.items()}

    for name, (_, status, reason, field) in cases.items():
        answer = answers[name]
        assert answer.status_code == status, name
        assert answer.json()["error"] == reason, name
        assert answer.json().get("field") == field, name
    assert session_item(stack, wf_id) == before
    output = capsys.readouterr().out
    assert sorted(refused_metrics(output)) == sorted(reason for _, _, reason, _ in cases.values())
    assert MARKER not in output


@pytest.mark.parametrize("wrong", ["a-wrong-secret", "", "secret/extra"])
def test_a_wrong_path_is_not_found_and_the_secret_never_logged(stack, registered, wrong, capsys):
    answer = post(stack, payload(registered), secret=wrong)

    assert answer.status_code == 404
    assert answer.json() == {"error": "NOT_FOUND"}
    assert "callbackStatus" not in session_item(stack, workflow_execution_id(registered))
    output = capsys.readouterr().out
    assert refused_metrics(output) == ["NOT_FOUND"]
    assert path_secret(stack) not in output
    if wrong:
        assert wrong not in output


def test_only_post_is_answered(stack, registered):
    answer = post(stack, "", method="GET")

    assert answer.status_code == 404
    assert "callbackStatus" not in session_item(stack, workflow_execution_id(registered))


@pytest.mark.parametrize(
    ("allowlist", "status"),
    [("203.0.113.0/24,198.51.100.7", 403), ("203.0.113.0/24,127.0.0.1", 200)],
    ids=["source not listed", "source listed"],
)
def test_the_source_allowlist_refuses_other_addresses(aws, simulator, allowlist, status):
    from local_cloud.poller import EventSourcePoller
    from local_cloud.provisioner import provision

    stack = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "CallbackSourceIps": allowlist},
        env=FAST_RETRIES,
    )
    store_tenant_credentials(stack, simulator)
    response = account_response(simulator)
    register(stack, EventSourcePoller(stack), registration_message(response))

    answer = post(stack, payload(response))

    assert answer.status_code == status
    kept = session_item(stack, workflow_execution_id(response)).get("callbackStatus")
    assert kept == ("PROCESSED" if status == 200 else None)
