"""The session state machine, run by moto's Step Functions engine on the real handlers.

Every test goes the real way: a registration on SessionsQueue, register_session (through the
poller), the ASL of statemachine/session.asl.json, the await_parts / finalize / record_outcome
handlers run by local_cloud's invoker, and Jumio's simulator over HTTP. Parts "land" through
the ledger and services.completion.CompletionSignal, exactly what add_part does after Jumio accepted
a part. The guard on moto's private Lambda runner is tests/integration/test_local_cloud_invoker.py.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session_state import SessionStatus
from tests.integration.session_support import (
    account_response,
    api_tokens,
    execution_arn,
    executions,
    finalize_count,
    history,
    land_all_parts,
    land_part,
    ledger_of,
    register,
    registration_message,
    session_item,
    wait_for_end,
    wait_for_task_token,
    wait_until,
    workflow_execution_id,
)

# Keys that may appear anywhere in the execution's data: ids, times, names of outcomes.
ALLOWED_KEYS = {
    "workflowExecutionId",
    "accountId",
    "secondsUntilTokenExpiry",
    "finalizeRounds",
    "reconcile",
    "finalized",
    "parts",
    "allPartsLanded",
    "signalledAtOnce",
    "finalizedAt",
    "outcome",
    "recorded",
    "error",
    "Error",
    "Cause",
    "FunctionName",
    "Payload",
    "StatusCode",
    "taskToken",  # the Step Functions task token of a wait state, not a Jumio token
    # The verdict: poll plans, statuses, decision types and labels, how they arrived.
    "plan",
    "round",
    "waitSeconds",
    "exhausted",
    "status",
    "verdictPoll",
    "verdict",
    "decision",
    "label",
    "source",
    "published",
    "ExecutedVersion",
    "SdkHttpMetadata",
    "SdkResponseMetadata",
}


def _start(stack: Any, poller: Any, simulator: Any, **kwargs: Any) -> tuple[dict, str]:
    response = account_response(simulator, **kwargs)
    lifetime = kwargs.get("token_lifetime", "30m")
    register(stack, poller, registration_message(response, token_lifetime=lifetime))
    return response, workflow_execution_id(response)


def _task_failures(events: list[dict[str, Any]]) -> list[str]:
    return [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


def _entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def test_parts_landing_after_the_wait_finalize_once_and_the_ledger_says_finalized(
    stack, poller, simulator
):
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)

    signalled = land_all_parts(stack, wf_id)

    assert signalled == [False] * (len(signalled) - 1) + [True]  # only the last part signals
    described = wait_for_end(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    assert finalize_count(simulator, wf_id) == 1
    item = session_item(stack, wf_id)
    assert item["status"] == SessionStatus.FINALIZED.value
    assert "taskToken" not in item  # no use after the end; dropped when FINALIZED is recorded
    assert _entered_states(history(execution_arn(stack, wf_id))) == [
        "WaitForAllParts",
        "Finalize",
        "WaitForVerdict",
        "PollVerdict",  # no callback URL in this account: Jumio's status on its schedule
        "VerdictPolled",
        "RecordDecision",
        "DecisionIs",
        "Passed",
    ]
    assert simulator.admin.state()["workflowExecutions"][wf_id]["status"] in (
        "ACQUIRED",
        "PROCESSED",
    )


def test_parts_landing_before_the_wait_state_is_reached_make_await_parts_signal_itself(
    stack, poller, simulator
):
    response = account_response(simulator)
    wf_id = workflow_execution_id(response)
    message = registration_message(response)
    # The ledger knows the session and every part landed before any execution existed.
    ledger_of(stack).register(parse_registration(message))
    assert land_all_parts(stack, wf_id) == [False] * 4  # no task token yet: nobody to signal

    register(stack, poller, message)  # register_session starts the missing execution

    described = wait_for_end(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    assert finalize_count(simulator, wf_id) == 1
    await_output = next(
        json.loads(e["taskSubmittedEventDetails"]["output"])
        for e in history(execution_arn(stack, wf_id))
        if e["type"] == "TaskSubmitted"
    )
    assert await_output["Payload"]["signalledAtOnce"] is True
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value


def test_duplicated_and_reordered_events_finalize_exactly_once(stack, poller, simulator):
    response, wf_id = _start(stack, poller, simulator)
    message = registration_message(response)
    register(stack, poller, message, message)  # the registration, delivered twice more
    wait_for_task_token(stack, wf_id)
    parts = sorted(ledger_of(stack).get(wf_id).session.required_parts)
    for part in reversed(parts[1:]):  # out of order, and each one twice
        land_part(stack, wf_id, part)
        land_part(stack, wf_id, part)

    # The last part is delivered eight times (S3 at-least-once, SQS redelivery, retries).
    # Sequentially: moto's DynamoDB is not thread-safe, whereas AWS makes each conditional
    # claim atomic, which is all that exactly-once rests on.
    results = [land_part(stack, wf_id, parts[0]) for _ in range(8)]
    described = wait_for_end(execution_arn(stack, wf_id))
    register(stack, poller, message)  # a late duplicate after the end changes nothing

    assert results.count(True) == 1
    assert described["status"] == "SUCCEEDED"
    assert finalize_count(simulator, wf_id) == 1
    assert len(executions(stack)) == 1
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value


@pytest.mark.parametrize("fault", ["drop", "slow"], ids=["answer-lost", "timed-out"])
def test_an_uncertain_finalize_is_settled_by_jumios_status_and_never_sent_twice(
    stack, poller, simulator, fault
):
    # A client that gives up after 1 s, before its function is first invoked (cold start).
    stack.function("FinalizeFunction").environment["JUMIO_READ_TIMEOUT"] = "1"
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    # Jumio finalizes, then the answer is lost (or comes after the client gave up).
    simulator.admin.set_faults(
        {"routes": {"finalize": {"slowMs": 3000}}, "script": {"finalize": [fault]}}
    )

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    assert finalize_count(simulator, wf_id) == 1

    def logged() -> list[str] | None:  # a late answer is logged once it is written
        routes = [r["route"] for r in simulator.admin.requests()]
        return routes if "finalize" in routes else None

    routes = wait_until(logged, within=20, what="the finalize request in Jumio's log")
    assert routes.count("finalize") == 1  # settled by the status, not by sending it again
    assert "status" in routes
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value


def test_finalize_unavailable_twice_is_retried_by_the_state_machine_then_succeeds(
    stack, poller, simulator
):
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    simulator.admin.set_faults({"script": {"finalize": ["503", "503"]}})

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    events = history(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    # One HTTP attempt per try (JUMIO_MAX_ATTEMPTS=1): each retry is in the history.
    assert _task_failures(events) == ["JumioUnavailable", "JumioUnavailable"]
    assert _entered_states(events).count("Finalize") == 1  # retries stay inside the state
    finalize_requests = [r for r in simulator.admin.requests() if r["route"] == "finalize"]
    assert [r["status"] for r in finalize_requests] == [503, 503, 200]
    assert finalize_count(simulator, wf_id) == 1
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value


def test_finalize_refused_because_jumio_expired_the_execution_ends_the_session_expired(
    stack, poller, simulator
):
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    # Jumio no longer accepts the token although the ledger still thinks it valid (clock skew).
    simulator.admin.advance_clock(3 * 3600)

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    events = history(execution_arn(stack, wf_id))
    # The refusal (401) is settled by Jumio's status, TOKEN_EXPIRED: an abandoned session,
    # which is not an incident (the execution succeeds, in the Expired state).
    assert described["status"] == "SUCCEEDED"
    assert _task_failures(events) == ["SessionTokenExpired"]
    assert _entered_states(events)[-2:] == ["RecordExpired", "Expired"]
    item = session_item(stack, wf_id)
    assert (item["status"], item["outcomeError"]) == (
        SessionStatus.EXPIRED.value,
        "SessionTokenExpired",
    )
    assert finalize_count(simulator, wf_id) == 0


def test_finalize_answering_400_ends_the_session_failed_without_retrying(stack, poller, simulator):
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    simulator.admin.set_faults({"script": {"finalize": ["400"]}})

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    events = history(execution_arn(stack, wf_id))
    assert described["status"] == "FAILED"
    assert described["error"] == "SessionFailed"
    assert _task_failures(events) == ["JumioRejected"]  # permanent: no retry
    assert _entered_states(events)[-2:] == ["RecordFailed", "Failed"]
    finalize_requests = [r for r in simulator.admin.requests() if r["route"] == "finalize"]
    assert [r["status"] for r in finalize_requests] == [400]
    item = session_item(stack, wf_id)
    assert item["status"] == SessionStatus.FAILED.value
    assert item["outcomeError"] == "JumioRejected"


def test_the_token_expiring_first_ends_the_session_expired(stack, poller, simulator):
    # Jumio's shortest lifetime is 5 minutes: the response is back-dated to leave 2 seconds.
    _, wf_id = _start(stack, poller, simulator, token_lifetime="5m", seconds_left=2)
    wait_for_task_token(stack, wf_id)
    land_part(stack, wf_id, sorted(ledger_of(stack).get(wf_id).session.required_parts)[0])

    described = wait_for_end(execution_arn(stack, wf_id))

    events = history(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"  # abandoned, not an incident: nothing pages
    assert _entered_states(events) == [
        "WaitForAllParts",
        "CheckTokenRenewal",
        "TokenRenewed",
        "RecordExpired",
        "Expired",
    ]
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["timeoutInSeconds"] in (1, 2)
    item = session_item(stack, wf_id)
    assert item["status"] == SessionStatus.EXPIRED.value
    assert item["outcomeError"] == "States.Timeout"
    assert finalize_count(simulator, wf_id) == 0


def test_tokens_renewed_while_waiting_give_the_session_more_time(stack, poller, simulator):
    # A 2-second token at registration, then a newer response for the same execution (an
    # account update's renewed tokens) before the wait times out.
    response, wf_id = _start(stack, poller, simulator, token_lifetime="5m", seconds_left=2)
    wait_for_task_token(stack, wf_id)
    renewed = {**response, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    register(stack, poller, registration_message(renewed, token_lifetime="30m"))
    assert ledger_of(stack).get(wf_id).session.seconds_until_token_expiry(time.time()) > 1700

    # The first wait times out on the old expiry; the state machine checks and waits again.
    events = wait_until(
        lambda: (
            [e for e in history(execution_arn(stack, wf_id)) if "stateEnteredEventDetails" in e]
            if _entered_states(history(execution_arn(stack, wf_id))).count("WaitForAllParts") == 2
            else None
        ),
        within=30,
        what="the second WaitForAllParts",
    )
    assert [e["stateEnteredEventDetails"]["name"] for e in events][:4] == [
        "WaitForAllParts",
        "CheckTokenRenewal",
        "TokenRenewed",
        "WaitAgain",
    ]
    wait_for_task_token(stack, wf_id)
    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value
    assert finalize_count(simulator, wf_id) == 1
    waits = [
        e["taskScheduledEventDetails"]["timeoutInSeconds"]
        for e in history(execution_arn(stack, wf_id))
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"].get("timeoutInSeconds")
    ]
    assert waits[0] <= 2
    assert waits[1] > 1700


def _walk(value: Any, keys: set[str], strings: list[str]) -> None:
    if isinstance(value, dict):
        keys.update(value)
        for item in value.values():
            _walk(item, keys, strings)
    elif isinstance(value, list):
        for item in value:
            _walk(item, keys, strings)
    elif isinstance(value, str):
        strings.append(value)
        try:
            nested = json.loads(value)
        except ValueError:
            return
        if isinstance(nested, dict | list):
            _walk(nested, keys, strings)


@pytest.mark.parametrize("finalize_fault", [None, "503"], ids=["finalized", "retried"])
def test_execution_input_output_and_history_carry_ids_only(
    stack, poller, simulator, finalize_fault
):
    response, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    if finalize_fault:
        simulator.admin.set_faults({"script": {"finalize": [finalize_fault]}})
    land_all_parts(stack, wf_id)
    described = wait_for_end(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"

    keys: set[str] = set()
    strings: list[str] = []
    _walk(history(execution_arn(stack, wf_id)), keys, strings)
    _walk(described, keys, strings)
    text = "\n".join(strings)

    secrets = [*api_tokens(response), response["sdk"]["token"], response["web"]["href"]]
    assert all(secret not in text for secret in secrets)
    for credential in response["workflowExecution"]["credentials"]:
        for href in (credential.get("api") or {}).get("parts", {}).values():
            assert href not in text  # no Jumio URL either: ids only
    assert "customerInternalReference" not in keys
    data_keys = {k for e in history(execution_arn(stack, wf_id)) for k in _data_keys(e)}
    assert data_keys <= ALLOWED_KEYS, data_keys - ALLOWED_KEYS


def _data_keys(event: dict[str, Any]) -> set[str]:
    """Keys of the JSON documents (input, output, parameters) that an event carries."""
    keys: set[str] = set()
    for name, details in event.items():
        if not name.endswith("EventDetails") or not isinstance(details, dict):
            continue
        for field in ("input", "output", "parameters"):
            if isinstance(details.get(field), str):
                _walk(json.loads(details[field]), keys, [])
    return keys


def test_await_parts_fails_clearly_when_the_session_no_longer_waits(stack, simulator):
    response = account_response(simulator)
    wf_id = workflow_execution_id(response)
    ledger = ledger_of(stack)
    ledger.register(parse_registration(registration_message(response)))
    ledger.record_outcome(wf_id, SessionStatus.EXPIRED, error="States.Timeout")
    lam = boto3.client("lambda")

    ended = lam.invoke(
        FunctionName=stack.function("AwaitPartsFunction").name,
        Payload=json.dumps({"workflowExecutionId": wf_id, "taskToken": "a-task-token"}),
    )
    malformed = lam.invoke(
        FunctionName=stack.function("AwaitPartsFunction").name,
        Payload=json.dumps({"workflowExecutionId": "not-a-uuid", "taskToken": "t"}),
    )

    ended_error = json.loads(ended["Payload"].read())
    assert ended["FunctionError"]
    assert ended_error["errorType"] == "SessionNotWaiting"
    assert wf_id in ended_error["errorMessage"]
    malformed_error = json.loads(malformed["Payload"].read())
    assert malformed_error["errorType"] == "InvalidMessage"
    assert "workflowExecutionId is not a UUID" in malformed_error["errorMessage"]
    assert "taskToken" not in session_item(stack, wf_id)


def test_a_finalize_step_that_timed_out_is_reconciled_by_the_status_before_anything_else(
    stack, poller, simulator
):
    stack.function("FinalizeFunction").timeout = 2  # the step times out while Jumio answers
    _, wf_id = _start(stack, poller, simulator)
    wait_for_task_token(stack, wf_id)
    simulator.admin.set_faults(
        {"routes": {"finalize": {"slowMs": 4000}}, "script": {"finalize": ["slow"]}}
    )

    land_all_parts(stack, wf_id)

    described = wait_for_end(execution_arn(stack, wf_id))
    events = history(execution_arn(stack, wf_id))
    assert described["status"] == "SUCCEEDED"
    entered = _entered_states(events)
    assert entered.index("ReconcileFinalize") > entered.index("Finalize")
    assert entered.count("Finalize") == 1  # Jumio had it: nothing was sent again
    # Reconciled as finalized (and recorded): on to the verdict.
    assert entered[entered.index("ReconcileFinalize") + 1 :][:2] == [
        "FinalizedAtJumio",
        "WaitForVerdict",
    ]
    assert entered[-1] == "Passed"
    assert finalize_count(simulator, wf_id) == 1
    assert session_item(stack, wf_id)["status"] == SessionStatus.FINALIZED.value
