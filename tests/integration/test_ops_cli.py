"""The operator CLI against the local cloud: real sessions, real DLQs, real erasures.

template.yaml runs in moto with the real functions (the `stack`, `poller` and `simulator`
fixtures); the CLI is handed the provisioned stack through ``main(argv, stack=...)`` and reads
it with boto3 as it reads a deployed one. Each test drives the pipeline into the state the
command is about (a finalized session with a decision, a refused part, parked messages, an
erasure) and checks what the command says against what the ledger, the queues and the audit
trail hold. Every output is also searched for what must never be printed: the session's
tokens, Jumio's hrefs, URLs, and the simulator's fake personal data.

The last test starts the local cloud as `make up` does (a moto server, Lambda in worker
processes, pollers) and runs `python -m jumio_pipeline_ops --endpoint ...` as a process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline_ops.cli import main
from jumio_simulator.decisions import FAKE_IDENTITY
from local_cloud import sigv4
from tests.integration.session_support import (
    account_response,
    execution_arn,
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
from tests.support.images import make_jpeg
from tests.support.prepared_data import FULL_DATA

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600


# --- running the CLI -------------------------------------------------------------------------


class Ran:
    """One CLI run: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


def ops(stack: Any, *argv: str, **options: Any) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stack=stack, out=out, err=err, **options)
    return Ran(code, out.getvalue(), err.getvalue())


@pytest.fixture
def pipeline(stack: Any) -> Iterator[Any]:
    """The stack; executions a test leaves waiting are stopped before moto goes away."""
    yield stack
    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(
        stateMachineArn=stack.physical("SessionStateMachine"), statusFilter="RUNNING"
    )["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"], cause="test finished")


def never_printed(stack: Any, simulator: Any, wf_id: str) -> list[str]:
    """What no output may contain: the session's tokens and hrefs, Jumio's base URL, and the
    simulator's fake identity (what Jumio extracted; the pipeline never reads it)."""
    secrets = [simulator.base_url, "://"]
    item = session_item(stack, wf_id) or {}
    for credential in (item.get("credentials") or {}).values():
        secrets += [credential.get("token"), credential.get("workflowExecutionHref")]
        secrets += list((credential.get("parts") or {}).values())
    address = FAKE_IDENTITY["address"]
    assert isinstance(address, dict)
    secrets += [str(FAKE_IDENTITY[k]) for k in ("firstName", "lastName", "documentNumber")]
    secrets += [str(FAKE_IDENTITY["dateOfBirth"]), str(address["line1"])]
    return [secret for secret in secrets if secret]


def assert_private(text: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, "the CLI printed a token, an href, a URL or personal data"


# --- driving sessions ------------------------------------------------------------------------


def finished_session(stack: Any, poller: Any, simulator: Any, reference: str) -> dict[str, Any]:
    """A session registered with a reference, every part landed, finalized and decided."""
    response = account_response(simulator, customer_internal_reference=reference)
    register(stack, poller, registration_message(response, reference=reference))
    wf_id = workflow_execution_id(response)
    wait_for_task_token(stack, wf_id)
    land_all_parts(stack, wf_id)
    assert wait_for_end(execution_arn(stack, wf_id), within=90)["status"] == "SUCCEEDED"
    return response


def credential_of(response: dict[str, Any], category: str) -> str:
    return next(
        c["id"] for c in response["workflowExecution"]["credentials"] if c["category"] == category
    )


def put_capture(stack: Any, wf_id: str, credential_id: str, name: str, content: bytes) -> None:
    boto3.client("s3").put_object(
        Bucket=stack.physical("CapturesBucket"),
        Key=f"captures/{wf_id}/{credential_id}/{name}",
        Body=content,
    )


# --- status ----------------------------------------------------------------------------------


def test_status_of_a_finalized_session_shows_parts_decision_and_execution(
    pipeline, poller, simulator
):
    stack = pipeline
    response = finished_session(stack, poller, simulator, "case-ops-1")
    wf_id = workflow_execution_id(response)
    front = credential_of(response, "ID")
    # A retake after finalize is refused and kept beside the landed part.
    put_capture(stack, wf_id, front, "FRONT.jpg", make_jpeg(900, 600))
    poller.drain("AddPartFunction")

    as_json = ops(stack, "--json", "status", wf_id)
    as_text = ops(stack, "status", wf_id)

    assert (as_json.code, as_text.code) == (0, 0), as_json.err + as_text.err
    report = as_json.json()
    session = report["session"]
    item = session_item(stack, wf_id)
    assert report["lookup"] == {"by": "workflowExecutionId"}
    assert (session["status"], session["reference"]) == ("FINALIZED", "case-ops-1")
    assert session["accountId"] == response["account"]["id"]
    assert session["requiredParts"] == sorted(item["requiredParts"])
    assert session["pendingParts"] == []
    assert session["token"]["secondsLeft"] > 0
    parts = {part["part"]: part for part in session["parts"]}
    assert set(parts) == set(item["requiredParts"])
    assert {part["status"] for part in parts.values()} == {"UPLOADED"}
    assert parts[f"{front}/FRONT"]["lastRejection"]["reason"] == "SESSION_FINALIZED"
    decision = session["decision"]
    assert decision["type"] == item["decision"]["type"] == "PASSED"
    assert decision["source"] == item["verdictSource"]
    assert set(decision["capabilities"]) == set(item["decision"]["capabilities"])
    assert all(c["type"] for items in decision["capabilities"].values() for c in items)
    execution = report["execution"]
    real_states = [
        e["stateEnteredEventDetails"]["name"]
        for e in history(execution_arn(stack, wf_id))
        if "stateEnteredEventDetails" in e
    ]
    assert execution["status"] == "SUCCEEDED"
    assert [state["name"] for state in execution["states"]] == real_states
    assert real_states[0] == "WaitForAllParts"
    assert real_states[-1] == "Passed"
    for failure in execution["failures"]:  # e.g. the verdict wait timing out into polling
        assert failure.split(" in ")[1] in real_states
    assert report["erasures"] == []

    text = as_text.out
    assert f"session {wf_id}  FINALIZED" in text
    assert f"decision       PASSED via {item['verdictSource']}" in text
    assert "last rejection SESSION_FINALIZED" in text
    assert "expires in" in text
    assert "WaitForAllParts" in text
    assert "Passed" in text
    secrets = never_printed(stack, simulator, wf_id)
    assert len(secrets) > 5  # tokens and hrefs were there to leak
    assert_private(as_json.out + as_text.out, secrets)


def personal_values(data: Any) -> list[str]:
    """Every value of prepared data long enough to be told apart from the CLI's own words."""
    if isinstance(data, dict):
        return [text for value in data.values() for text in personal_values(value)]
    return [str(data)] if len(str(data)) >= 5 else []


def test_status_of_a_session_with_prepared_data_prints_no_personal_data_and_no_token(
    pipeline, poller, simulator
):
    stack = pipeline
    response = account_response(simulator, customer_internal_reference="case-ops-pii")
    register(stack, poller, registration_message(response, reference="case-ops-pii"))
    wf_id = workflow_execution_id(response)
    data_credential = credential_of(response, "DATA")
    send(stack, "PreparedDataQueue", {"workflowExecutionId": wf_id, "data": FULL_DATA})
    poller.drain("UploadPreparedDataFunction")
    # A later, invalid copy is refused beside the data that landed, naming the field.
    wrong_date = "31/12/1985-Qx7"
    invalid = {**FULL_DATA, "dateOfBirth": wrong_date}
    send(stack, "PreparedDataQueue", {"workflowExecutionId": wf_id, "data": invalid})
    poller.drain("UploadPreparedDataFunction")

    as_json = ops(stack, "--json", "status", wf_id)
    as_text = ops(stack, "status", "case-ops-pii", "--scan")

    assert (as_json.code, as_text.code) == (0, 0), as_json.err + as_text.err
    parts = {part["part"]: part for part in as_json.json()["session"]["parts"]}
    prepared = parts[f"{data_credential}/PREPARED_DATA"]
    assert prepared["status"] == "UPLOADED"
    assert prepared["lastRejection"]["field"] == "data.dateOfBirth"
    assert "(field data.dateOfBirth)" in as_text.out
    secrets = [*never_printed(stack, simulator, wf_id), *personal_values(FULL_DATA), wrong_date]
    assert FULL_DATA["email"] in secrets
    tokens = [c.get("token") for c in session_item(stack, wf_id)["credentials"].values()]
    tokens = [token for token in tokens if token]
    assert tokens
    assert set(tokens) <= set(secrets)
    assert_private(as_json.out + as_text.out + as_json.err + as_text.err, secrets)


def start_by_reference(stack: Any, reference: str) -> dict[str, Any]:
    """StartSession through its function URL, signed as a backend signs it."""
    url = stack.function_url("StartSessionFunction")
    body = json.dumps({"reference": reference, "workflowDefinitionKey": 10013}).encode()
    headers = sigv4.sign(
        "POST", url, region="us-east-1", body=body, headers={"Content-Type": "application/json"}
    )
    answer = requests.post(url, data=body, headers=headers, timeout=60)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_status_by_reference_finds_the_session_through_its_start_claim(pipeline, poller, simulator):
    stack = pipeline
    started = start_by_reference(stack, "order-ops-7")
    wf_id = started["workflowExecutionId"]
    front = next(c for c in started["captures"] if c["classifier"] == "FRONT")
    put_capture(stack, wf_id, front["credentialId"], "FRONT.jpg", make_jpeg(300, 300))
    poller.drain("AddPartFunction")

    ran = ops(stack, "--json", "status", "order-ops-7")
    text = ops(stack, "status", "order-ops-7")

    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["workflowExecutionId"] == wf_id
    assert report["lookup"] == {"by": "reference", "reference": "order-ops-7", "claim": "STARTED"}
    session = report["session"]
    assert session["status"] == "REGISTERED"
    assert f"{front['credentialId']}/FRONT" in session["pendingParts"]
    [part] = session["parts"]
    assert (part["part"], part["status"], part["reason"]) == (
        f"{front['credentialId']}/FRONT",
        "REJECTED",
        "TOO_SMALL",
    )
    assert report["execution"]["status"] == "RUNNING"
    assert "reference order-ops-7 (start claim STARTED)" in text.out
    assert "REJECTED" in text.out
    assert "reason TOO_SMALL" in text.out
    assert_private(ran.out + text.out, never_printed(stack, simulator, wf_id))


def test_a_reference_without_a_claim_is_named_and_found_by_a_scan(pipeline, poller, simulator):
    stack = pipeline
    response = account_response(simulator, customer_internal_reference="queue-ref-9")
    register(stack, poller, registration_message(response, reference="queue-ref-9"))
    wf_id = workflow_execution_id(response)

    plain = ops(stack, "status", "queue-ref-9")
    scanned = ops(stack, "--json", "status", "queue-ref-9", "--scan")
    unknown = ops(stack, "status", "never-used-ref", "--scan")

    assert plain.code == 2
    assert "no reference claim for queue-ref-9" in plain.err
    assert scanned.code == 0, scanned.err
    assert scanned.json()["workflowExecutionId"] == wf_id
    assert scanned.json()["lookup"]["claim"] is None
    assert (unknown.code, unknown.err.strip()) == (
        2,
        "error: no session carries reference never-used-ref",
    )


def test_a_reference_whose_start_is_in_flight_or_uncertain_says_so(pipeline):
    ledger = Ledger(pipeline.physical("LedgerTable"))
    now = time.time()
    ledger.claim_start("order-starting", now=now, lease_seconds=60, uncertain_for=HOUR)
    # A holder that went quiet past its lease may have created the account: uncertain.
    ledger.claim_start("order-quiet", now=now - 120, lease_seconds=60, uncertain_for=HOUR)

    starting = ops(pipeline, "status", "order-starting")
    quiet = ops(pipeline, "status", "order-quiet")

    assert starting.code == 2
    assert "reference order-starting: a start is in progress (lease ends in" in starting.err
    assert quiet.code == 2
    assert "reference order-quiet: the outcome of its start is unknown" in quiet.err
    assert "the reference is free again in 5" in quiet.err  # ~59 minutes: uncertainUntil


# --- stuck -----------------------------------------------------------------------------------


def registered_by_hand(stack: Any, simulator: Any) -> str:
    """A session in the ledger with no execution (as if register_session died after the put)."""
    session = parse_registration(registration_message(account_response(simulator)))
    Ledger(stack.physical("LedgerTable")).register(session)
    return session.workflow_execution_id


def test_stuck_names_each_kind_of_stuck_session_with_its_reason(pipeline, poller, simulator):
    stack = pipeline
    response = account_response(simulator)
    register(stack, poller, registration_message(response))
    waiting = workflow_execution_id(response)
    wait_for_task_token(stack, waiting)
    no_execution = registered_by_hand(stack, simulator)
    undecided = registered_by_hand(stack, simulator)
    ledger = Ledger(stack.physical("LedgerTable"))
    assert ledger.mark_finalizing(undecided) is SessionStatus.FINALIZING
    assert ledger.record_outcome(undecided, SessionStatus.FINALIZED)

    now_ran = ops(stack, "--json", "stuck", "--older-than", "30m")
    later = ops(stack, "stuck", "--older-than", "30m", "--json", now=lambda: time.time() + HOUR)
    later_text = ops(stack, "stuck", now=lambda: time.time() + HOUR)

    assert now_ran.code == 0, now_ran.err
    assert now_ran.json()["stuck"] == []
    assert later.code == 0, later.err
    reasons = {entry["workflowExecutionId"]: entry["reasons"] for entry in later.json()["stuck"]}
    assert set(reasons) == {waiting, no_execution, undecided}
    [running] = reasons[waiting]
    assert running.startswith("execution running, no state change for ")
    assert running.endswith(" in WaitForAllParts")
    assert reasons[no_execution] == [reasons[no_execution][0]]
    assert "REGISTERED" in reasons[no_execution][0]
    assert "no execution" in reasons[no_execution][0]
    assert "FINALIZED" in reasons[undecided][0]
    assert "no decision" in reasons[undecided][0]
    lines = later_text.out.strip().splitlines()
    assert len(lines) == 3
    assert all(any(line.startswith(wf) for wf in reasons) for line in lines)


# --- DLQs ------------------------------------------------------------------------------------


def parked(stack: Any, dlq: str) -> list[dict[str, Any]]:
    """Every message in a DLQ with its attributes (a peek: made visible again)."""
    sqs = boto3.client("sqs")
    url = stack.physical(dlq)
    seen: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])
        if not batch:
            break
        seen += batch
    for message in seen:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return seen


def reasons_of(messages: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(m["MessageAttributes"]["reason"]["StringValue"] for m in messages))


def send(stack: Any, queue: str, body: Any, **extra: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    boto3.client("sqs").send_message(QueueUrl=stack.physical(queue), MessageBody=text, **extra)


def test_dlq_list_counts_every_dlq_by_reason_and_leaves_the_messages_there(
    pipeline, poller, simulator
):
    stack = pipeline
    send(stack, "SessionsQueue", "{not json")
    send(stack, "SessionsQueue", {"account": {"id": "nope"}})
    send(stack, "SessionsQueue", "[]")
    poller.drain("RegisterSessionFunction")
    send(stack, "PreparedDataQueue", {"data": FULL_DATA})  # no workflowExecutionId
    poller.drain("UploadPreparedDataFunction")
    sessions_before = reasons_of(parked(stack, "SessionsDLQ"))
    prepared_before = reasons_of(parked(stack, "PreparedDataDLQ"))
    assert sum(sessions_before.values()) == 3
    assert sum(prepared_before.values()) == 1

    ran = ops(stack, "--json", "dlq", "list")
    text = ops(stack, "dlq", "list")

    assert ran.code == 0, ran.err
    listed = {entry["queue"]: entry for entry in ran.json()["deadLetterQueues"]}
    assert set(listed) == {
        "CaptureEventsDLQ",
        "SessionsDLQ",
        "PreparedDataDLQ",
        "RetentionRequestsDLQ",
        "RetentionRunDLQ",
        "StartSessionsDLQ",
    }
    assert listed["SessionsDLQ"]["byReason"] == sessions_before
    assert listed["PreparedDataDLQ"]["byReason"] == prepared_before
    assert (listed["SessionsDLQ"]["counted"], listed["CaptureEventsDLQ"]["counted"]) == (3, 0)
    # Counting received every message: each is visible again, none was lost.
    assert reasons_of(parked(stack, "SessionsDLQ")) == sessions_before
    assert reasons_of(parked(stack, "PreparedDataDLQ")) == prepared_before
    [line] = [row for row in text.out.splitlines() if row.startswith("SessionsDLQ")]
    assert all(f"{reason} {count}" in line for reason, count in sessions_before.items())
    assert_private(ran.out + text.out, [*never_printed(stack, simulator, "-"), FULL_DATA["email"]])
    assert FULL_DATA["firstName"] not in ran.out + text.out


def test_dlq_redrive_by_reason_sends_only_those_back_and_they_are_processed(
    pipeline, poller, simulator
):
    stack = pipeline
    response = account_response(simulator)
    wf_id = workflow_execution_id(response)
    two_hours_ago = time.time() - 2 * HOUR  # longer than SessionMaxWaitSeconds: parked at once
    send(
        stack,
        "PreparedDataQueue",
        {"workflowExecutionId": wf_id, "data": FULL_DATA},
        MessageAttributes={
            "waitAttempt": {"DataType": "Number", "StringValue": "6"},
            "firstSeenAt": {"DataType": "Number", "StringValue": f"{two_hours_ago:.3f}"},
        },
    )
    send(stack, "PreparedDataQueue", "{not json")
    poller.drain("UploadPreparedDataFunction")
    before = reasons_of(parked(stack, "PreparedDataDLQ"))
    assert before.get("SESSION_NOT_REGISTERED") == 1
    assert sum(before.values()) == 2
    [other] = set(before) - {"SESSION_NOT_REGISTERED"}
    register(stack, poller, registration_message(response))  # the session came after all

    dry = ops(stack, "--json", "dlq", "redrive", "PreparedDataDLQ", "--dry-run")
    moved = ops(stack, "dlq", "redrive", "PreparedDataDLQ", "--reason", "SESSION_NOT_REGISTERED")

    assert dry.code == 0, dry.err
    assert dry.json()["wouldMove"] == before
    assert moved.code == 0, moved.err
    assert moved.out.startswith(
        "PreparedDataDLQ -> PreparedDataQueue (reason SESSION_NOT_REGISTERED only): moved 1"
    )
    assert f"left in the DLQ: {other} 1" in moved.out
    assert reasons_of(parked(stack, "PreparedDataDLQ")) == {other: 1}
    poller.drain("UploadPreparedDataFunction")
    data_credential = credential_of(response, "DATA")
    ledger = Ledger(stack.physical("LedgerTable"))
    landed = wait_until(
        lambda: [p for p in ledger.parts(wf_id) if p.part.classifier == "PREPARED_DATA"],
        within=20,
        what="the redriven prepared data to land",
    )
    assert [(p.part.credential_id, p.status.value) for p in landed] == [
        (data_credential, "UPLOADED")
    ]
    assert reasons_of(parked(stack, "PreparedDataDLQ")) == {other: 1}
    assert FULL_DATA["lastName"] not in dry.out + moved.out


def test_redrive_refuses_a_queue_that_is_not_a_dlq(pipeline):
    ran = ops(pipeline, "dlq", "redrive", "SessionsQueue")

    assert ran.code == 2
    assert "SessionsQueue is not a DLQ of stack jumio-local" in ran.err


# --- erase -----------------------------------------------------------------------------------


def test_erase_sends_the_request_and_waits_for_its_audit_record(pipeline, poller, simulator):
    stack = pipeline
    response = account_response(simulator, customer_internal_reference="case-ops-erase")
    register(stack, poller, registration_message(response, reference="case-ops-erase"))
    wf_id = workflow_execution_id(response)
    wait_for_task_token(stack, wf_id)
    front = credential_of(response, "ID")
    put_capture(stack, wf_id, front, "FRONT.jpg", make_jpeg(900, 600))
    poller.drain("AddPartFunction")
    secrets = never_printed(stack, simulator, wf_id)  # read before the erasure scrubs them
    request_id = f"ticket-{uuid.uuid4().hex[:8]}"

    poller.start()  # the deletion function runs while the CLI waits
    try:
        ran = ops(
            stack,
            "--json",
            "erase",
            "--scope",
            "SESSION",
            "--workflow-execution-id",
            wf_id,
            "--requested-by",
            "employee:4711",
            "--request-id",
            request_id,
            "--timeout",
            "90",
        )
    finally:
        poller.stop()

    assert ran.code == 0, ran.err
    record = ran.json()
    audited = (
        boto3.resource("dynamodb")
        .Table(stack.physical("AuditTable"))
        .query(
            KeyConditionExpression="requestId = :r", ExpressionAttributeValues={":r": request_id}
        )["Items"]
    )
    final = next(r for r in audited if r["outcome"] in ("COMPLETED", "NO_OP", "FAILED"))
    assert (record["requestId"], record["outcome"]) == (request_id, "COMPLETED")
    assert record["outcome"] == final["outcome"]
    assert record["workflowExecutionIds"] == [wf_id]
    assert record["requestedBy"] == "employee:4711"
    assert record["deleted"] == {name: int(count) for name, count in final["deleted"].items()}
    assert record["deleted"]["objectVersions"] >= 1
    assert {call["outcome"] for call in record["jumio"]} == {"CONFIRMED"}

    status = ops(stack, "--json", "status", wf_id)
    status_text = ops(stack, "status", wf_id)
    assert status.code == 0, status.err
    shown = status.json()
    assert shown["session"]["status"] == "DELETED"
    assert shown["session"]["deletionRequestId"] == request_id
    [erasure] = [e for e in shown["erasures"] if e["outcome"] == "COMPLETED"]
    assert (erasure["requestId"], erasure["scope"]) == (request_id, "SESSION")
    assert request_id in status_text.out
    assert "erased" in status_text.out
    assert f"{front}/FRONT" in status_text.out  # the part is listed as gone, not as awaited
    assert "ERASED" in status_text.out
    assert "NOT RECEIVED" not in status_text.out
    assert_private(ran.out + status.out + status_text.out, secrets)


def test_erase_checks_the_request_before_sending_it(pipeline):
    ran = ops(
        pipeline,
        "erase",
        "--scope",
        "PART",
        "--workflow-execution-id",
        str(uuid.uuid4()),
        "--credential-id",
        str(uuid.uuid4()),
        "--requested-by",
        "someone@example.com",
    )

    assert ran.code == 2
    assert "the request is not valid" in ran.err
    assert "someone@example.com" not in ran.err
    queue = pipeline.physical("RetentionRequestsQueue")
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


# --- against the local cloud's endpoint, as a process ----------------------------------------


@pytest.fixture
def local_cloud(monkeypatch) -> Iterator[Any]:
    """The local cloud as `make up` runs it: server, worker processes, pollers, simulator."""
    from local_cloud.runtime import running

    monkeypatch.delenv("MOTO_PORT", raising=False)
    with running(echo_logs=False, processing_delay=0.05) as runtime:
        yield runtime


def cli_process(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")  # any keys do
    return subprocess.run(
        [sys.executable, "-m", "jumio_pipeline_ops", "--endpoint", endpoint, *argv],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=env,
        check=False,
    )


@pytest.mark.e2e
def test_the_cli_finds_the_local_stack_by_its_endpoint(local_cloud):
    runtime = local_cloud
    sqs = runtime.client("sqs")
    sqs.send_message(QueueUrl=runtime.stack.physical("SessionsQueue"), MessageBody="{not json")
    dlq = runtime.stack.physical("SessionsDLQ")

    def parked_once() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == "1"

    wait_until(parked_once, within=60, what="the invalid registration to be parked")
    unknown = str(uuid.uuid4())

    listed = cli_process(runtime.endpoint_url, "--json", "dlq", "list")
    stuck = cli_process(runtime.endpoint_url, "stuck")
    missing = cli_process(runtime.endpoint_url, "status", unknown)
    erased = cli_process(
        runtime.endpoint_url,
        "--json",
        "erase",
        "--scope",
        "SESSION",
        "--workflow-execution-id",
        unknown,
        "--requested-by",
        "ticket:OPS-1",
        "--timeout",
        "120",
    )

    assert listed.returncode == 0, listed.stderr
    counts = {e["queue"]: e["byReason"] for e in json.loads(listed.stdout)["deadLetterQueues"]}
    assert counts["SessionsDLQ"] == {"INVALID_JSON": 1}
    assert stuck.returncode == 0, stuck.stderr
    assert stuck.stdout.strip() == "no session stuck for more than 30m"
    assert missing.returncode == 2
    assert f"no session {unknown} in the ledger" in missing.stderr
    assert erased.returncode == 0, erased.stderr
    record = json.loads(erased.stdout)
    assert (record["outcome"], record["requestedBy"]) == ("NO_OP", "ticket:OPS-1")


def test_redrive_of_the_retention_run_dlq_says_why_there_is_no_queue_to_send_to(pipeline):
    ran = ops(pipeline, "dlq", "redrive", "RetentionRunDLQ")

    assert ran.code == 2
    assert "no queue sends to this DLQ" in ran.err
