"""Personal data never leaves the message: not in logs, metrics, the ledger, idempotency or SFN.

Why a test of its own: the proof is a whole run of the real path (registration through the
sessions queue, the state machine waiting, prepared data retried after a 429, a duplicate, an
invalid message, the completion signal and finalize), with every log line of it captured, and
then every place the pipeline writes searched for every value of the payload.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from tests.conftest import TEMPLATE, store_tenant_credentials

FAST_JUMIO = {
    "JUMIO_BACKOFF_BASE": "0.01",
    "JUMIO_BACKOFF_CAP": "0.05",
    "JUMIO_MAX_ATTEMPTS": "2",
    "RETRY_BACKOFF_BASE_SECONDS": "1",
    "RETRY_BACKOFF_CAP_SECONDS": "1",
}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

# Distinctive values, so that a find is a leak and not a coincidence.
PAYLOAD: dict[str, Any] = {
    "suffix": "Dr-Vq3",
    "firstName": "Zebulon-Qx7",
    "middleName": "Quirinus-Vb2",
    "lastName": "Okonkwo-Wd9",
    "sex": "F",
    "dateOfBirth": "1971-07-29",
    "socialSecurityNumber": "987-65-4329",
    "nationality": "NZL",
    "email": "zebulon.qx7@quokka-mail.example",
    "phoneNumber": "+64 21 555 0199",
    "phoneNumber2": "+64 21 555 0188",
    "personalNumber": "PN-77341-QX",
    "address": {
        "line1": "77 Xylophone Terrace",
        "line2": "Flat 7Q",
        "postalCode": "QX-6011",
        "city": "Wellingtonia-Qx",
        "subdivision": "Wairarapa-Qx",
        "country": "NZL",
    },
    "id": {
        "issuingDate": "2013-03-17",
        "expiryDate": "2033-03-16",
        "idNumber": "LQ773459Z",
        "type": "PASSPORT",
    },
    "kyc": {"occupation": "Zoologist-Kp4"},
    "bank": {"iban": "NZ7700001234567890QX"},
    "business": {"name": "Quokka Ventures Qx7"},
}
INVALID_PAYLOAD = {"firstName": "Ysolde-Rt5", "email": "ysolde-rt5@@nowhere", "sex": "Zq"}


def leaves(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in leaves(value)]
    return [str(data)]


def needles() -> list[str]:
    """What must not be found: long values as they are, short codes as quoted JSON strings."""
    values = leaves(PAYLOAD) + leaves(INVALID_PAYLOAD)
    return [value if len(value) >= 6 else json.dumps(value) for value in values]


def assert_no_value_in(where: str, text: str) -> None:
    leaked = [needle for needle in needles() if needle in text]
    assert not leaked, f"personal data found in {where}: {len(leaked)} value(s)"


@pytest.fixture
def stack(aws, simulator):
    from local_cloud.provisioner import provision

    provisioned = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "LogLevel": "DEBUG"},
        env=FAST_JUMIO,
    )
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=provisioned.physical("PreparedDataQueue"), Attributes={"VisibilityTimeout": "30"}
    )
    # Jumio's workflow status names a final refusal: read with the tenant's credentials.
    store_tenant_credentials(provisioned, simulator)
    return provisioned


def capture_every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """Capture stdlib logging at DEBUG for our code and Powertools, INFO for everything else.

    The handler's Powertools logger writes JSON to the stdout of its (in-process) cold start,
    which happens inside the test body, so capsys sees it.
    """
    caplog.set_level(logging.INFO)
    for name in ("jumio_pipeline", "aws_lambda_powertools", "upload_prepared_data"):
        caplog.set_level(logging.DEBUG, logger=name)


def wait_for(condition: Any, *, within: float, what: str) -> Any:
    """A bounded wait for moto's Step Functions threads; not a timing assertion."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
    return value


def scan(table_name: str) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(table_name).scan(ConsistentRead=True)["Items"]


def test_no_value_of_the_payload_leaves_the_message(
    stack, poller, simulator, capfd, caplog
) -> None:
    capture_every_log_line(caplog)
    sqs, sfn = boto3.client("sqs"), boto3.client("stepfunctions")
    response = simulator.create_account(10005)  # one DATA credential: PREPARED_DATA completes it
    wf_id = response["workflowExecution"]["id"]
    sqs.send_message(
        QueueUrl=stack.physical("SessionsQueue"),
        MessageBody=json.dumps({"account": response, "tokenLifetime": "30m"}),
    )
    poller.drain("RegisterSessionFunction", until_empty=False)
    ledger = Ledger(stack.physical("LedgerTable"))
    wait_for(
        lambda: (r := ledger.get(wf_id)) and r.has_task_token, within=20, what="the task token"
    )

    simulator.admin.set_faults(
        {"routes": {"prepared_data": {"retryAfter": 0}}, "script": {"prepared_data": ["429"] * 2}}
    )
    queue = stack.physical("PreparedDataQueue")
    for data in (PAYLOAD, INVALID_PAYLOAD):
        sqs.send_message(
            QueueUrl=queue, MessageBody=json.dumps({"workflowExecutionId": wf_id, "data": data})
        )
    report = poller.drain("UploadPreparedDataFunction", max_rounds=200, max_wait_seconds=120)
    sqs.send_message(
        QueueUrl=queue, MessageBody=json.dumps({"workflowExecutionId": wf_id, "data": PAYLOAD})
    )
    poller.drain("UploadPreparedDataFunction", max_rounds=200, max_wait_seconds=120)

    arn = ledger.get(wf_id).execution_arn
    described = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] in TERMINAL and d,
        within=60,
        what="the execution to end",
    )

    # The run did what it should: retried after 429, uploaded once, rejected the invalid one,
    # completed the set and finalized.
    assert report.failed_records >= 1
    statuses = [r["status"] for r in simulator.admin.requests() if r["route"] == "prepared_data"]
    assert statuses == [429, 429, 200]
    assert described["status"] == "SUCCEEDED"
    assert simulator.admin.state()["workflowExecutions"][wf_id]["finalizeCount"] == 1

    # Every log line of the run: stdout/stderr (Powertools JSON, EMF metrics) and stdlib.
    captured = capfd.readouterr()
    stdout_and_stderr = captured.out + captured.err
    assert '"message":"prepared data delivered"' in stdout_and_stderr  # the capture sees it
    assert '"outcome":"PARKED"' in stdout_and_stderr
    assert '"PreparedDataUploaded"' in stdout_and_stderr  # the metrics are in it too
    assert_no_value_in("stdout/stderr", stdout_and_stderr)
    stdlib = "\n".join(
        f"{r.name} {r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records
    )
    assert "prepared data delivered" in stdlib
    assert_no_value_in("stdlib log records", stdlib)

    # Every place the pipeline writes.
    assert_no_value_in("the ledger", json.dumps(scan(stack.physical("LedgerTable")), default=str))
    idempotency_items = scan(stack.physical("IdempotencyTable"))
    assert idempotency_items
    assert_no_value_in("the idempotency table", json.dumps(idempotency_items, default=str))
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert_no_value_in("the Step Functions history", json.dumps(history, default=str))
    assert_no_value_in("the execution's input/output", json.dumps(described, default=str))
    dlq = sqs.receive_message(
        QueueUrl=stack.physical("PreparedDataDLQ"),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )["Messages"]
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in dlq] == [
        "INVALID_PREPARED_DATA"
    ]
    assert_no_value_in("the DLQ attributes", json.dumps([m["MessageAttributes"] for m in dlq]))
