"""The verdict, end to end: Jumio's callback or its status, the decision, the published event.

template.yaml runs in moto with the real functions; the simulator sends its callbacks over HTTP
to the callback function's URL on loopback (the secret path read from the stack's secret, as an
operator builds it) and decides by the marker in customerInternalReference. A subscriber's rule
on the stack's verdict bus delivers into a queue the tests read, as another service would.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
import requests

from jumio_simulator.decisions import FAKE_IDENTITY
from tests.integration.session_support import (
    account_response,
    api_tokens,
    execution_arn,
    finalize_count,
    history,
    land_all_parts,
    register,
    registration_message,
    session_item,
    wait_for_end,
    wait_for_task_token,
    wait_until,
    workflow_execution_id,
)

EVENT_KEYS = {
    "schemaVersion",
    "workflowExecutionId",
    "accountId",
    "reference",
    "verdict",
    "decision",
    "source",
    "finalizedAt",
    "decidedAt",
    "publishedAt",
}
# Jumio's real first poll (40 s) would end every test on the poll: a callback-only test waits
# longer than the test does, so only the callback can end it in time.
NO_EARLY_POLL = "300,600"


@pytest.fixture
def verdicts(stack) -> Any:
    """A subscriber's queue on the verdict bus (rule on detail-type), created at run time."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue_url = sqs.create_queue(QueueName="verdict-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    bus = stack.physical("VerdictBus")
    events.put_rule(
        Name="verdicts-to-subscriber",
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": ["jumio-capture-pipeline"], "detail-type": ["Verification Completed"]}
        ),
    )
    events.put_targets(
        Rule="verdicts-to-subscriber",
        EventBusName=bus,
        Targets=[{"Id": "subscriber", "Arn": queue_arn}],
    )
    return queue_url


def received(queue_url: str) -> list[dict[str, Any]]:
    """Every event delivered so far (received, then left for no one else)."""
    sqs = boto3.client("sqs")
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def callback_url(stack: Any) -> str:
    """The callback URL an operator puts in account requests: function URL + secret."""
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=stack.physical("CallbackSecret")
    )["SecretString"]
    return stack.function_url("CallbackFunction") + secret


def start(stack, poller, simulator, *, reference: str = "case-42", **account: Any) -> tuple:
    response = account_response(
        simulator,
        callback_url=account.pop("callback_url", callback_url(stack)),
        customer_internal_reference=reference,
        **account,
    )
    register(stack, poller, registration_message(response, reference=reference))
    wf_id = workflow_execution_id(response)
    wait_for_task_token(stack, wf_id)
    return response, wf_id


def entered(stack, wf_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(execution_arn(stack, wf_id))
        if "stateEnteredEventDetails" in e
    ]


def callback_log(simulator, wf_id: str) -> list[dict[str, Any]]:
    return [c for c in simulator.admin.callbacks() if c["workflowExecutionId"] == wf_id]


# --- arriving by callback, by polling ---------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "end", "decision"),
    [
        ("case-1", "Passed", "PASSED"),
        ("case-2-reject", "Rejected", "REJECTED"),
        ("case-3-warn", "Warning", "WARNING"),
        ("case-4-notexec", "Warning", "NOT_EXECUTED"),
    ],
)
def test_the_callback_wakes_the_session_and_the_decision_is_kept_and_published(
    stack, poller, simulator, verdicts, reference, end, decision
):
    # Finalize plans the first wait, PollVerdict the later ones: both read the schedule.
    for function in ("FinalizeFunction", "PollVerdictFunction"):
        stack.function(function).environment["VERDICT_POLL_SCHEDULE_SECONDS"] = NO_EARLY_POLL
    response, wf_id = start(stack, poller, simulator, reference=reference)

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id), within=60)
    assert described["status"] == "SUCCEEDED"
    states = entered(stack, wf_id)
    assert states[-1] == end
    assert states.count("PollVerdict") == 1  # woken by the callback, then the status decided
    item = session_item(stack, wf_id)
    assert (item["callbackStatus"], item["verdictSource"]) == ("PROCESSED", "callback")
    assert item["decision"]["type"] == decision
    assert set(item["decision"]["capabilities"]) >= {"usability", "liveness", "similarity"}
    [event] = received(verdicts)
    assert (event["source"], event["detail-type"]) == (
        "jumio-capture-pipeline",
        "Verification Completed",
    )
    detail = event["detail"]
    assert set(detail) == EVENT_KEYS
    assert (detail["workflowExecutionId"], detail["accountId"]) == (
        wf_id,
        response["account"]["id"],
    )
    assert (detail["reference"], detail["source"]) == (reference, "callback")
    assert detail["decision"]["type"] == decision
    assert detail["verdict"] == ("WARNING" if decision == "NOT_EXECUTED" else decision)
    assert finalize_count(simulator, wf_id) == 1


def test_with_every_callback_lost_the_status_is_polled_on_the_schedule(
    stack, poller, simulator, verdicts
):
    simulator.admin.set_faults({"callbacks": {"pDrop": 1.0}})
    _, wf_id = start(stack, poller, simulator, reference="case-5-reject")

    land_all_parts(stack, wf_id)

    assert wait_for_end(execution_arn(stack, wf_id), within=60)["status"] == "SUCCEEDED"
    assert entered(stack, wf_id)[-1] == "Rejected"
    item = session_item(stack, wf_id)
    assert "callbackStatus" not in item
    assert item["verdictSource"] == "polling"
    assert int(item["polls"]) >= 1
    [event] = received(verdicts)
    assert (event["detail"]["verdict"], event["detail"]["source"]) == ("REJECTED", "polling")
    assert [c["outcome"] for c in callback_log(simulator, wf_id)] == ["dropped"]


def test_a_late_or_repeated_callback_changes_nothing_once_the_verdict_is_kept(
    stack, poller, simulator, verdicts
):
    # The callback is held an hour (and sent twice): the poll finds the execution PROCESSED.
    hour = 3_600_000
    simulator.admin.set_faults(
        {
            "callbacks": {
                "delayMs": [hour, hour],
                "pDuplicate": 1.0,
                "duplicateDelayMs": [hour, hour],
            }
        }
    )
    _, wf_id = start(stack, poller, simulator)
    land_all_parts(stack, wf_id)
    assert wait_for_end(execution_arn(stack, wf_id), within=60)["status"] == "SUCCEEDED"
    decided = session_item(stack, wf_id)

    assert decided["verdictSource"] == "polling"
    assert simulator.admin.flush_callbacks() == 2  # released now, after the verdict

    def both_delivered() -> list[dict[str, Any]] | None:
        done = [c for c in callback_log(simulator, wf_id) if c["outcome"] == "delivered"]
        return done if len(done) == 2 else None

    delivered = wait_until(both_delivered, within=30, what="both copies of the callback")

    assert [c["httpStatus"] for c in delivered] == [200, 200]
    after = session_item(stack, wf_id)
    assert after["decision"] == decided["decision"]
    assert (after["verdictSource"], after["callbackStatus"]) == ("polling", "PROCESSED")
    assert len(received(verdicts)) == 1


# --- expiry ---------------------------------------------------------------------------------


def test_jumio_expiring_the_execution_while_parts_are_awaited_ends_it_expired_at_once(
    stack, poller, simulator, verdicts
):
    """The token's life in the ledger is 30 min; Jumio's callback ends the wait now."""
    _, wf_id = start(stack, poller, simulator)

    simulator.admin.advance_clock(3600)  # Jumio: TOKEN_EXPIRED, and its callback goes out

    assert wait_for_end(execution_arn(stack, wf_id), within=60)["status"] == "SUCCEEDED"
    states = entered(stack, wf_id)
    assert states[:3] == ["WaitForAllParts", "ConfirmExpiry", "ExpiredAtJumioBeforeFinalize"]
    assert states[-2:] == ["RecordExpired", "Expired"]
    item = session_item(stack, wf_id)
    assert (item["status"], item["outcomeError"]) == ("EXPIRED", "SessionTokenExpired")
    [event] = received(verdicts)
    assert (event["detail"]["verdict"], event["detail"]["decision"]) == ("EXPIRED", None)
    assert finalize_count(simulator, wf_id) == 0


def test_an_expiry_callback_that_jumio_status_contradicts_does_not_end_the_session(
    stack, poller, simulator, verdicts
):
    """Callbacks are unsigned hints: one that claims an expiry Jumio's status does not show
    (sent by someone who knows the URL) wakes the wait, and the session waits on."""
    response, wf_id = start(stack, poller, simulator)
    forged = {
        "callbackSentAt": "2026-01-01T00:00:00.000Z",
        "workflowExecution": {
            "id": wf_id,
            "href": "https://retrieval.example/x",
            "definitionKey": "10013",
            "status": "TOKEN_EXPIRED",
        },
        "account": {"id": response["account"]["id"], "href": "https://retrieval.example/a"},
    }
    assert requests.post(callback_url(stack), json=forged, timeout=30).status_code == 200
    wait_until(
        lambda: "ExpiredAtJumioBeforeFinalize" in entered(stack, wf_id),
        within=30,
        what="the expiry check",
    )
    wait_for_task_token(stack, wf_id)

    land_all_parts(stack, wf_id)

    assert wait_for_end(execution_arn(stack, wf_id), within=60)["status"] == "SUCCEEDED"
    states = entered(stack, wf_id)
    assert "RecordExpired" not in states
    assert states[-1] == "Passed"
    assert [e["detail"]["verdict"] for e in received(verdicts)] == ["PASSED"]


# --- retrieval faults -----------------------------------------------------------------------


def test_retrieval_failing_for_a_while_is_retried_and_the_verdict_still_kept_once(
    stack, poller, simulator, verdicts
):
    simulator.admin.set_faults(
        {
            "callbacks": {"pDrop": 1.0},
            "routes": {"status": {"retryAfter": 0}},
            "script": {"status": ["503", "503"], "details": ["503", "reset"]},
        }
    )
    _, wf_id = start(stack, poller, simulator, reference="case-6-warn")

    land_all_parts(stack, wf_id)

    assert wait_for_end(execution_arn(stack, wf_id), within=90)["status"] == "SUCCEEDED"
    assert entered(stack, wf_id)[-1] == "Warning"
    assert session_item(stack, wf_id)["decision"]["type"] == "WARNING"
    assert len(received(verdicts)) == 1
    faulted = [r for r in simulator.admin.requests() if r["route"] in ("status", "details")]
    assert any(r["status"] == 503 for r in faulted)


# --- nothing personal -----------------------------------------------------------------------


def _personal_values() -> list[str]:
    values: list[str] = []
    for value in FAKE_IDENTITY.values():
        if isinstance(value, dict):
            values += [v for v in value.values() if isinstance(v, str) and len(v) > 6]
        elif isinstance(value, str) and len(value) > 6:
            values.append(value)
    return values


def test_no_token_and_nothing_jumio_extracted_reaches_the_ledger_events_history_or_logs(
    stack, poller, simulator, verdicts, capsys
):
    response, wf_id = start(stack, poller, simulator)
    land_all_parts(stack, wf_id)
    assert wait_for_end(execution_arn(stack, wf_id), within=60)["status"] == "SUCCEEDED"
    time.sleep(0.2)  # the last log lines of the step functions' threads

    places = {
        "ledger": json.dumps(session_item(stack, wf_id), default=str),
        "event": json.dumps(received(verdicts)),
        "history": json.dumps(history(execution_arn(stack, wf_id)), default=str),
        "logs": capsys.readouterr().out,
    }
    path_secret = callback_url(stack).rsplit("/", 1)[-1]
    for where, text in places.items():
        # The ledger is where the tokens live (KMS-encrypted); nowhere else may hold one.
        secrets = [path_secret, *([] if where == "ledger" else api_tokens(response))]
        leaked = [v for v in [*_personal_values(), *secrets] if v in text]
        assert not leaked, f"{len(leaked)} personal value(s) or secret(s) in the {where}"
