"""register_session under moto: SessionsQueue → the real handler → ledger + one execution.

Messages are real account responses of the Jumio simulator; the function runs through the
local cloud's SQS poller and invoker, exactly as the event source mapping would run it.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session_state import SessionStatus
from tests.integration.session_support import (
    api_tokens,
    dlq_messages,
    execution_arn,
    executions,
    invoke_one_batch,
    ledger_of,
    ledger_table,
    register,
    registration_message,
    session_item,
    wait_for_task_token,
    workflow_execution_id,
)


def _response(simulator: Any, workflow_key: int = 10013) -> dict[str, Any]:
    return simulator.create_account(workflow_key=workflow_key)


def test_a_valid_registration_writes_the_session_and_starts_its_execution(stack, poller, simulator):
    response = _response(simulator)
    wf_id = workflow_execution_id(response)

    report = register(stack, poller, registration_message(response, reference="order-42"))

    assert (report.deleted, report.failed_records) == (1, 0)
    item = session_item(stack, wf_id)
    assert item["status"] == SessionStatus.REGISTERED.value
    assert item["accountId"] == response["account"]["id"]
    assert item["reference"] == "order-42"
    issued = datetime.fromisoformat(response["timestamp"].replace("Z", "+00:00"))
    assert int(item["tokenExpiresAt"]) == int(issued.timestamp()) + 30 * 60
    expected_parts = set()
    for credential in response["workflowExecution"]["credentials"]:
        if not credential.get("api"):
            continue
        stored = item["credentials"][credential["id"]]
        assert stored["token"] == credential["api"]["token"]
        assert stored["workflowExecutionHref"] == credential["api"]["workflowExecution"]
        assert stored["parts"] == {k.upper(): v for k, v in credential["api"]["parts"].items()}
        expected_parts |= {f"{credential['id']}/{k.upper()}" for k in credential["api"]["parts"]}
    assert item["requiredParts"] == expected_parts
    assert item["pendingParts"] == expected_parts
    assert item["executionArn"] == execution_arn(stack, wf_id)

    (execution,) = executions(stack)
    assert execution["name"] == wf_id
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    execution_input = json.loads(described["input"])
    assert set(execution_input) == {
        "workflowExecutionId",
        "accountId",
        "secondsUntilTokenExpiry",
        "finalizeRounds",
    }
    assert execution_input["finalizeRounds"] == 0
    assert 0 < execution_input["secondsUntilTokenExpiry"] <= 30 * 60
    assert not any(token in described["input"] for token in api_tokens(response))


def test_the_same_registration_twice_is_a_no_op_with_one_execution(stack, poller, simulator):
    response = _response(simulator)
    wf_id = workflow_execution_id(response)
    message = registration_message(response)
    register(stack, poller, message)
    first = session_item(stack, wf_id)
    wait_for_task_token(stack, wf_id)  # the execution is really running by now

    report = register(stack, poller, message, message)

    assert (report.deleted, report.failed_records) == (2, 0)
    assert len(executions(stack)) == 1
    again = session_item(stack, wf_id)
    assert again["credentials"] == first["credentials"]
    assert again["registeredAt"] == first["registeredAt"]
    assert "taskToken" in again  # the running wait is untouched
    assert dlq_messages(stack) == []


def test_a_repeat_starts_the_execution_that_a_crashed_first_attempt_did_not(
    stack, poller, simulator
):
    # The first attempt wrote the ledger and stopped before StartExecution.
    response = _response(simulator)
    wf_id = workflow_execution_id(response)
    ledger_of(stack).register(parse_registration(registration_message(response)))
    assert executions(stack) == []

    register(stack, poller, registration_message(response))

    assert [e["name"] for e in executions(stack)] == [wf_id]
    assert session_item(stack, wf_id)["executionArn"] == execution_arn(stack, wf_id)


def test_a_replayed_registration_of_an_erased_session_starts_nothing(stack, poller, simulator):
    response = _response(simulator)
    wf_id = workflow_execution_id(response)
    ledger_of(stack).register(parse_registration(registration_message(response)))
    ledger_table(stack).update_item(
        Key={"pk": wf_id, "sk": "SESSION"},
        UpdateExpression="SET #s = :deleted",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":deleted": SessionStatus.DELETED.value},
    )

    register(stack, poller, registration_message(response))

    assert executions(stack) == []
    assert session_item(stack, wf_id)["status"] == SessionStatus.DELETED.value


def test_a_newer_response_for_the_same_execution_replaces_its_tokens(stack, poller, simulator):
    response = _response(simulator)
    wf_id = workflow_execution_id(response)
    register(stack, poller, registration_message(response))
    newer = copy.deepcopy(response)
    issued = datetime.fromisoformat(response["timestamp"].replace("Z", "+00:00"))
    newer["timestamp"] = (issued + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    for credential in newer["workflowExecution"]["credentials"]:
        if credential.get("api"):
            credential["api"]["token"] = f"renewed-token-of-{credential['id']}"

    register(stack, poller, registration_message(newer))

    item = session_item(stack, wf_id)
    renewed = {
        cid: c["token"] for cid, c in item["credentials"].items() if c.get("token") is not None
    }
    assert renewed == {cid: f"renewed-token-of-{cid}" for cid in renewed}
    assert int(item["tokenExpiresAt"]) == int(issued.timestamp()) + 10 * 60 + 30 * 60
    assert len(executions(stack)) == 1


def _without_api(response: dict[str, Any]) -> dict[str, Any]:
    for credential in response["workflowExecution"]["credentials"]:
        credential.pop("api", None)
        credential["allowedChannels"] = ["WEB", "SDK"]
    return response


def _invalid_messages(simulator: Any) -> dict[str, tuple[str, str, str | None]]:
    """name → (body, reason, workflowExecutionId the body names, if any)."""

    def fresh() -> dict[str, Any]:
        return _response(simulator)

    missing_execution = fresh()
    del missing_execution["workflowExecution"]
    bad_id = fresh()
    bad_id["workflowExecution"]["id"] = "not-a-uuid"
    no_api = _without_api(fresh())
    bad_parts = fresh()
    bad_lifetime = fresh()
    return {
        "not JSON": ("{this is not json", "INVALID_JSON", None),
        "missing workflowExecution": (
            json.dumps(registration_message(missing_execution)),
            "INVALID_REGISTRATION",
            None,
        ),
        "non-UUID id": (json.dumps(registration_message(bad_id)), "INVALID_REGISTRATION", None),
        "no API credential": (
            json.dumps(registration_message(no_api)),
            "NO_API_CREDENTIAL",
            workflow_execution_id(no_api),
        ),
        "bad requiredParts": (
            json.dumps(
                registration_message(
                    bad_parts, requiredParts=["00000000-0000-4000-8000-000000000000/FRONT"]
                )
            ),
            "UNKNOWN_REQUIRED_PART",
            workflow_execution_id(bad_parts),
        ),
        "bad tokenLifetime": (
            json.dumps(registration_message(bad_lifetime, token_lifetime="2m")),
            "INVALID_REGISTRATION",
            workflow_execution_id(bad_lifetime),
        ),
    }


def test_invalid_messages_are_parked_at_once_with_a_reason_and_spare_their_neighbours(
    stack, poller, simulator
):
    invalid = _invalid_messages(simulator)
    valid = _response(simulator)

    bodies = [body for body, _, _ in invalid.values()] + [registration_message(valid)]

    # One batch, built from the queue's own messages: the bad records and their neighbour.
    answer = invoke_one_batch(stack, "RegisterSessionFunction", "SessionsQueue", bodies)

    assert answer == {"batchItemFailures": []}
    parked = {m["Body"]: m["MessageAttributes"] for m in dlq_messages(stack)}
    assert len(parked) == len(invalid)
    for name, (body, reason, wf_id) in invalid.items():
        attributes = parked[body]
        assert attributes["reason"]["StringValue"] == reason, name
        assert attributes["detail"]["StringValue"], name
        if wf_id is not None:
            assert session_item(stack, wf_id) is None, name
    assert {e["name"] for e in executions(stack)} == {workflow_execution_id(valid)}
    assert session_item(stack, workflow_execution_id(valid))["status"] == "REGISTERED"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["workflowExecution"].__setitem__("id", "not-a-uuid"), "id"),
        (lambda r: r.pop("workflowExecution"), "workflowExecution"),
        (
            lambda r: r["workflowExecution"]["credentials"][0]["api"]["parts"].__setitem__(
                "front", "https://collector.example/api/v1/parts/FRONT"
            ),
            "api.parts.FRONT",
        ),
    ],
    ids=["non-UUID id", "missing workflowExecution", "href off the Jumio API host"],
)
def test_the_dlq_names_the_field_that_is_wrong_but_never_its_value(
    stack, poller, simulator, mutate, field
):
    response = _response(simulator)
    tokens = api_tokens(response)
    mutate(response)

    register(stack, poller, registration_message(response))

    (message,) = dlq_messages(stack)
    attributes = message["MessageAttributes"]
    assert field in attributes["field"]["StringValue"]
    assert "not-a-uuid" not in attributes["detail"]["StringValue"]
    assert "collector.example" not in attributes["detail"]["StringValue"]
    assert not any(token in attributes["detail"]["StringValue"] for token in tokens)
    assert executions(stack) == []
