"""Helpers shared by the registration and state-machine tests: register, land parts, watch.

Why a module of its own: both test files drive the same real path (SessionsQueue →
register_session → ledger + execution; parts landing through the ledger's completion claim)
and must wait for moto's Step Functions engine, which runs executions in threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.session import PartId, token_lifetime_seconds
from jumio_pipeline.domain.session_state import PartEvidence, SessionRecord
from jumio_pipeline.services.completion import CompletionSignal

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def account_response(
    simulator: Any,
    *,
    workflow_key: int = 10013,
    token_lifetime: str = "30m",
    seconds_left: int | None = None,
    **account: Any,
) -> dict[str, Any]:
    """A real account response from the simulator (``account``: its ``callback_url``,
    ``customer_internal_reference``, ...).

    ``seconds_left`` back-dates Jumio's ``timestamp`` so that the token has only that many
    seconds to live: Jumio's shortest tokenLifetime (5m) is too long to wait for in a test.
    """
    response = simulator.create_account(
        workflow_key=workflow_key, token_lifetime=token_lifetime, **account
    )
    if seconds_left is not None:
        lifetime = token_lifetime_seconds(token_lifetime)
        issued = datetime.now(UTC) - timedelta(seconds=lifetime - seconds_left)
        response["timestamp"] = issued.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return response


def registration_message(
    response: dict[str, Any], *, token_lifetime: str = "30m", **extra: Any
) -> dict[str, Any]:
    """The `sessions` message: the response wrapped with its tokenLifetime (and extras)."""
    return {"account": response, "tokenLifetime": token_lifetime, **extra}


def workflow_execution_id(response: dict[str, Any]) -> str:
    return response["workflowExecution"]["id"]


def api_tokens(response: dict[str, Any]) -> list[str]:
    """Every Jumio token of an account response (what must never leave the ledger)."""
    return [
        credential["api"]["token"]
        for credential in response["workflowExecution"]["credentials"]
        if credential.get("api")
    ]


def send_registration(stack: Any, body: dict[str, Any] | str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    boto3.client("sqs").send_message(QueueUrl=stack.physical("SessionsQueue"), MessageBody=text)


def register(stack: Any, poller: Any, *bodies: dict[str, Any] | str) -> Any:
    """Send registrations and run register_session on them; returns the drain report."""
    for body in bodies:
        send_registration(stack, body)
    return poller.drain("RegisterSessionFunction", until_empty=False)


def invoke_one_batch(
    stack: Any, function_logical_id: str, queue_logical_id: str, bodies: list[Any]
) -> Any:
    """Send ``bodies`` and hand them to the function as ONE batch event (see below)."""
    sqs = boto3.client("sqs")
    url = stack.physical(queue_logical_id)
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        sqs.send_message(QueueUrl=url, MessageBody=text)
    return invoke_queued_as_one_batch(stack, function_logical_id, queue_logical_id, len(bodies))


def invoke_queued_as_one_batch(
    stack: Any, function_logical_id: str, queue_logical_id: str, count: int
) -> Any:
    """Receive ``count`` queued messages and hand them to the function as ONE batch event.

    S3's own test event, if queued, rides along (the handler drops it, as in AWS).

    How SQS groups messages into batches is not something a test may rely on; when a test is
    about neighbours in a batch, it builds the batch itself, exactly as Lambda would.
    """
    from local_cloud.poller import sqs_record

    sqs = boto3.client("sqs")
    url = stack.physical(queue_logical_id)
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while sum('"s3:TestEvent"' not in m["Body"] for m in messages) < count:
        assert time.monotonic() < deadline, "the messages did not come back from the queue"
        messages += sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=300,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
    source = next(s for s in stack.event_sources if s.function_logical_id == function_logical_id)
    event = {"Records": [sqs_record(m, source, stack.region) for m in messages]}
    answer = boto3.client("lambda").invoke(
        FunctionName=source.function_name, Payload=json.dumps(event)
    )
    return json.loads(answer["Payload"].read())


def ledger_of(stack: Any) -> Ledger:
    return Ledger(stack.physical("LedgerTable"))


def ledger_table(stack: Any) -> Any:
    """The ledger's DynamoDB table, for tests that look at the stored items themselves."""
    return boto3.resource("dynamodb").Table(stack.physical("LedgerTable"))


def session_item(stack: Any, wf_id: str) -> dict[str, Any] | None:
    """The raw ledger item (to check tokens, hrefs and bookkeeping attributes)."""
    return (
        ledger_table(stack)
        .get_item(Key={"pk": wf_id, "sk": "SESSION"}, ConsistentRead=True)
        .get("Item")
    )


def executions(stack: Any) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    arn = stack.physical("SessionStateMachine")
    return sfn.list_executions(stateMachineArn=arn)["executions"]


def execution_arn(stack: Any, wf_id: str) -> str:
    machine = stack.physical("SessionStateMachine")
    prefix, name = machine.split(":stateMachine:", 1)
    return f"{prefix}:execution:{name}:{wf_id}"


def wait_until(condition: Callable[[], Any], *, within: float, what: str) -> Any:
    """Poll until ``condition()`` is truthy; a bounded wait, not a timing assertion."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {within} s")
        time.sleep(0.05)


def wait_for_end(arn: str, *, within: float = 60) -> dict[str, Any]:
    """describe_execution once the execution has left RUNNING."""
    sfn = boto3.client("stepfunctions")

    def ended() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=arn)
        return described if described["status"] in TERMINAL else None

    return wait_until(ended, within=within, what=f"execution {arn.rsplit(':', 1)[-1]} to end")


def wait_for_task_token(stack: Any, wf_id: str) -> SessionRecord:
    """Wait until the WaitForAllParts step has parked its task token in the ledger."""
    ledger = ledger_of(stack)

    def stored() -> SessionRecord | None:
        record = ledger.get(wf_id)
        return record if record and record.has_task_token else None

    return wait_until(stored, within=20, what="the wait state's task token")


def land_part(stack: Any, wf_id: str, part: str) -> bool:
    """Record one part as landed at Jumio and signal if it completes the set (as add_part does)."""
    ledger = ledger_of(stack)
    credential_id, _, classifier = part.partition("/")
    landed = ledger.record_part_uploaded(
        wf_id,
        PartId(credential_id, classifier),
        PartEvidence(bucket="test-bucket", key=f"captures/{wf_id}/{part}.jpg"),
    )
    if not landed.all_landed:
        return False
    return CompletionSignal(ledger=ledger, executions=StepFunctions())(wf_id)


def land_all_parts(stack: Any, wf_id: str) -> list[bool]:
    """Land every required part of the session; returns who sent the signal, per part."""
    record = ledger_of(stack).get(wf_id)
    assert record is not None, "the session must be registered first"
    return [land_part(stack, wf_id, part) for part in sorted(record.session.required_parts)]


def history(arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution."""
    sfn = boto3.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def finalize_count(simulator: Any, wf_id: str) -> int:
    return simulator.admin.state()["workflowExecutions"][wf_id]["finalizeCount"]


def dlq_messages(stack: Any) -> list[dict[str, Any]]:
    """Everything parked in SessionsDLQ, with its message attributes."""
    sqs = boto3.client("sqs")
    url = stack.physical("SessionsDLQ")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


@pytest.fixture(autouse=True)
def stop_running_executions(stack: Any) -> Iterator[None]:
    """Stop executions a test left waiting, before moto goes away under their threads.

    moto runs each execution in a daemon thread; one still parked in WaitForAllParts would
    otherwise wake up during a later test and hit that test's fresh backend. Import this
    fixture into a test module (whose tests all use ``stack``) to make it autouse there.
    """
    yield
    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(
        stateMachineArn=stack.physical("SessionStateMachine"), statusFilter="RUNNING"
    )["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"], cause="test finished")
