"""upload_prepared_data end to end: PreparedDataQueue → handler → Jumio simulator → ledger → DLQ.

Why these tests: each outcome of issue 5 is driven through the real path (template.yaml in
moto, the project's SQS poller with batch-failure semantics, the real handler, real HTTP to the
simulator) and checked where it lands: at Jumio (the simulator's state and request log), in the
ledger, in the idempotency table and in the DLQ with its reason attributes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.prepared_data import canonical_json
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import SessionStatus
from tests.conftest import TEMPLATE, store_tenant_credentials
from tests.support.prepared_data import FULL_DATA

FUNCTION = "UploadPreparedDataFunction"
FAST_JUMIO = {
    # The client's own retries stay short (and few) so SQS's retries are what the tests see.
    "JUMIO_BACKOFF_BASE": "0.01",
    "JUMIO_BACKOFF_CAP": "0.05",
    "JUMIO_MAX_ATTEMPTS": "2",
    "SESSION_WAIT_BASE_SECONDS": "1",
    "RETRY_BACKOFF_BASE_SECONDS": "1",
    "RETRY_BACKOFF_CAP_SECONDS": "1",
}

MINIMAL_DATA = {"personalNumber": "52998224725"}


@pytest.fixture
def stack(aws, simulator):
    """template.yaml in moto with short Jumio backoffs; failed messages come back within seconds.

    A failed record comes back after the function's own 1 s retry backoff, so retries and the
    park on the last receive run in seconds. The queue's visibility timeout only covers a
    message in flight: 30 s, so a handler slowed by a loaded machine is never received twice.
    """
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


@dataclass
class Rig:
    """Sends prepared data, drains the function and reads back every place it may land."""

    stack: Any
    poller: Any
    simulator: Any

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.secrets = boto3.client("secretsmanager")
        self.queue_url = self.stack.physical("PreparedDataQueue")
        self.dlq_url = self.stack.physical("PreparedDataDLQ")
        self.ledger_table = boto3.resource("dynamodb").Table(self.stack.physical("LedgerTable"))
        self.ledger = Ledger(self.stack.physical("LedgerTable"))
        self.idempotency = boto3.resource("dynamodb").Table(self.stack.physical("IdempotencyTable"))

    def register(self, workflow_key: int = 10005, **options: Any) -> Session:
        """A real account at the simulator, registered in the ledger."""
        session = parse_registration(self.simulator.create_account(workflow_key, **options))
        self.ledger.register(session)
        return session

    def send(self, body: dict[str, Any] | str) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text)

    def drain(self) -> Any:
        # Generous: draining stops when the queue is empty; the limit only bounds retries that
        # take longer on a loaded machine.
        return self.poller.drain(FUNCTION, max_rounds=200, max_wait_seconds=120)

    def deliver(self, *bodies: dict[str, Any] | str) -> Any:
        for body in bodies:
            self.send(body)
        return self.drain()

    def drain_until(self, predicate: Any, *, limit_seconds: float = 30.0) -> None:
        """Drain repeatedly until ``predicate()`` holds (delayed requeues become visible)."""
        deadline = time.monotonic() + limit_seconds
        while not predicate():
            assert time.monotonic() < deadline, "the data was not delivered in time"
            self.poller.drain(FUNCTION, until_empty=False, max_rounds=1)
            time.sleep(0.2)

    def queue_counts(self) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {name.removeprefix("ApproximateNumberOf"): int(v) for name, v in attributes.items()}

    def part(self, session: Session, credential_id: str | None = None) -> dict[str, Any] | None:
        credential_id = credential_id or data_credential(session)
        key = {"pk": session.workflow_execution_id, "sk": f"PART#{credential_id}#PREPARED_DATA"}
        return self.ledger_table.get_item(Key=key, ConsistentRead=True).get("Item")

    def dlq(self) -> list[dict[str, Any]]:
        """Everything in the DLQ, each with its attributes flattened to {name: value}."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                attributes = {
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                }
                found.append({"body": message["Body"], **attributes})

    def hash_key(self) -> str:
        """The fingerprint key as the provisioned PreparedDataHashKey secret holds it."""
        return self.secrets.get_secret_value(SecretId=self.stack.physical("PreparedDataHashKey"))[
            "SecretString"
        ]

    def fingerprint(self, data: dict[str, Any]) -> str:
        """HMAC-SHA256 of the canonical JSON under the current key, computed independently."""
        key = self.hash_key().encode("utf-8")
        return hmac.new(key, canonical_json(data), hashlib.sha256).hexdigest()

    def jumio_part(self, session: Session) -> dict[str, int]:
        state = self.simulator.admin.state()["workflowExecutions"][session.workflow_execution_id]
        parts = state["credentials"][data_credential(session)]["parts"]
        return parts.get("PREPARED_DATA", {"count": 0, "adds": 0, "updates": 0})

    def jumio_data(self, session: Session) -> Any:
        """What the simulator holds as the PREPARED_DATA body (read in-process)."""
        execution = self.simulator.simulator.state.executions[session.workflow_execution_id]
        return execution.credentials[data_credential(session)].prepared_data

    def uploads(self) -> list[dict[str, Any]]:
        return [r for r in self.simulator.admin.requests() if r["route"] == "prepared_data"]

    def queue_is_empty(self) -> bool:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(v) == 0 for v in attributes.values())


@pytest.fixture
def rig(stack, poller, simulator) -> Rig:
    return Rig(stack=stack, poller=poller, simulator=simulator)


def data_credential(session: Session) -> str:
    credential = session.credential_of_category("DATA")
    assert credential is not None, "the account has no DATA credential"
    return credential.id


def message(session: Session, data: Any, **fields: Any) -> dict[str, Any]:
    return {"workflowExecutionId": session.workflow_execution_id, "data": data, **fields}


# --- valid data ---------------------------------------------------------------------------


def test_full_payload_is_uploaded_exactly_and_recorded_by_fingerprint_only(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))

    assert rig.jumio_data(session) == FULL_DATA
    assert rig.jumio_part(session)["adds"] == 1
    part = rig.part(session)
    assert part is not None
    assert part["status"] == "UPLOADED"
    assert part["fingerprint"] == rig.fingerprint(FULL_DATA)
    assert part["fingerprint"] != hashlib.sha256(canonical_json(FULL_DATA)).hexdigest()
    assert set(part) == {
        "pk",
        "sk",
        "status",
        "updatedAt",
        "credentialId",
        "fingerprint",
        "idempotencyKey",
    }
    assert part["sk"] == f"PART#{data_credential(session)}#PREPARED_DATA"
    record = rig.ledger.get(session.workflow_execution_id)
    assert record is not None
    assert record.pending_parts == frozenset()
    assert rig.dlq() == []
    assert rig.queue_is_empty()


def test_minimal_payload_goes_to_the_default_data_credential(rig: Rig) -> None:
    session = rig.register(10013)  # ID, SELFIE, DATA: the DATA credential is found by category
    rig.deliver(message(session, MINIMAL_DATA))

    assert rig.jumio_data(session) == MINIMAL_DATA
    assert rig.part(session)["status"] == "UPLOADED"
    record = rig.ledger.get(session.workflow_execution_id)
    assert f"{data_credential(session)}/PREPARED_DATA" not in record.pending_parts
    assert record.pending_parts  # the images are still missing


def test_explicit_credential_id_and_null_fields_dropped(rig: Rig) -> None:
    session = rig.register()
    data = {**MINIMAL_DATA, "middleName": None, "address": {"country": "BRA", "city": None}}
    rig.deliver(message(session, data, credentialId=data_credential(session)))

    assert rig.jumio_data(session) == {**MINIMAL_DATA, "address": {"country": "BRA"}}


# --- invalid data: recorded with reason and field, parked at once, never sent -------------

INVALID = {
    "bad date": ({"dateOfBirth": "1985-02-30"}, "data.dateOfBirth"),
    "bad email": ({"email": "zebulon-qx7@"}, "data.email"),
    "bad sex": ({"sex": "Zebulon-Qx7"}, "data.sex"),
    "bad nationality": ({"nationality": "QX7"}, "data.nationality"),
    "bad address.country": ({"address": {"country": "Qx7"}}, "data.address.country"),
    "bad id.type": ({"id": {"type": "Zebulon-Qx7"}}, "data.id.type"),
    "unknown top-level field": ({"nickname": "Zeb-Qx7"}, "data.nickname"),
    "wrong type": ({"phoneNumber": 5550199}, "data.phoneNumber"),
    "missing data": (None, "data"),
    "data not an object": (["Zebulon-Qx7"], "data"),
}


def test_each_kind_of_invalid_data_is_rejected_and_parked_without_retry(rig: Rig) -> None:
    sessions = {}
    for case, (data, _) in INVALID.items():
        session = rig.register()
        sessions[case] = session
        body = message(session, {**MINIMAL_DATA, **data} if isinstance(data, dict) else data)
        if data is None:
            del body["data"]
        rig.send(body)
    report = rig.drain()

    assert report.failed_records == 0  # parked at once: not a batch failure, not retried
    assert rig.uploads() == []
    parked = {m["body"]: m for m in rig.dlq()}
    assert len(parked) == len(INVALID)
    for case, (_, field) in INVALID.items():
        session = sessions[case]
        part = rig.part(session)
        assert part is not None, case
        assert (part["status"], part["reason"], part["field"]) == (
            "REJECTED",
            "INVALID_PREPARED_DATA",
            field,
        ), case
        assert "Zebulon" not in json.dumps(part, default=str), case
        assert "52998224725" not in json.dumps(part, default=str), case
        dlq = next(m for body, m in parked.items() if session.workflow_execution_id in body)
        assert (dlq["reason"], dlq["field"]) == ("INVALID_PREPARED_DATA", field), case
        assert "Zebulon" not in dlq["detail"], case


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ("{not json", "INVALID_MESSAGE", None),
        (json.dumps({"data": MINIMAL_DATA}), "INVALID_MESSAGE", "workflowExecutionId"),
    ],
    ids=["not JSON", "no workflowExecutionId"],
)
def test_message_without_a_session_id_is_parked_with_its_reason(
    rig: Rig, body: str, reason: str, field: str | None
) -> None:
    rig.deliver(body)

    [parked] = rig.dlq()
    assert parked["body"] == body
    assert parked["reason"] == reason
    assert parked.get("field") == field
    assert rig.uploads() == []


# --- duplicates and corrections -----------------------------------------------------------


def test_same_data_twice_is_uploaded_once(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))
    reordered = dict(reversed(list(FULL_DATA.items())))
    rig.deliver(message(session, FULL_DATA), message(session, reordered))

    assert rig.jumio_part(session) == {"count": 1, "adds": 1, "updates": 0, "deletes": 0}
    assert len(rig.uploads()) == 1
    assert rig.dlq() == []


def test_same_data_in_one_batch_is_uploaded_once(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(*[message(session, FULL_DATA)] * 3)

    assert len(rig.uploads()) == 1
    assert rig.queue_is_empty()


def test_corrected_data_is_uploaded_again(rig: Rig) -> None:
    session = rig.register()
    corrected = {**FULL_DATA, "lastName": "Okonkwo-Wd8"}
    rig.deliver(message(session, FULL_DATA))
    rig.deliver(message(session, corrected))

    assert rig.jumio_part(session)["adds"] + rig.jumio_part(session)["updates"] == 2
    assert rig.jumio_data(session) == corrected
    assert rig.part(session)["fingerprint"] == rig.fingerprint(corrected)


def test_stale_redelivery_does_not_undo_a_correction(rig: Rig) -> None:
    """A-B-A within the idempotency window: the late copy of A is recognised, not re-sent."""
    session = rig.register()
    corrected = {**FULL_DATA, "lastName": "Okonkwo-Wd8"}
    for data in (FULL_DATA, corrected, FULL_DATA):
        rig.deliver(message(session, data))

    assert len(rig.uploads()) == 2
    assert rig.jumio_data(session) == corrected


def test_idempotency_record_holds_ids_and_fingerprint_only(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))

    [item] = rig.idempotency.scan()["Items"]
    assert item["id"].startswith("upload_prepared_data#")
    assert item["status"] == "COMPLETED"
    assert json.loads(item["data"]) == {
        "workflowExecutionId": session.workflow_execution_id,
        "credentialId": data_credential(session),
        "fingerprint": rig.fingerprint(FULL_DATA),
        "outcome": "UPLOADED",
    }
    assert "Zebulon" not in json.dumps(item, default=str)


# --- sessions that cannot take the data -----------------------------------------------------


def test_data_that_comes_before_its_session_waits_for_it_and_lands_once_registered(
    rig: Rig,
) -> None:
    """Two independent queues race: the data must wait for its registration, not be parked."""
    session = parse_registration(rig.simulator.create_account(10005))
    rig.deliver(message(session, FULL_DATA))

    assert rig.dlq() == []
    assert rig.uploads() == []
    assert rig.queue_counts()["MessagesDelayed"] == 1  # requeued with a delay, not lost
    rig.ledger.register(session)
    rig.drain_until(lambda: rig.part(session) is not None)

    assert rig.part(session)["status"] == "UPLOADED"
    assert len(rig.uploads()) == 1
    assert rig.dlq() == []


def test_data_whose_session_never_comes_is_parked_with_the_reason_after_the_wait(
    rig: Rig, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "0b7d6a9e-3f51-4c43-9a1e-5f2a8d1c6e70"
    caplog.set_level(logging.INFO, logger="upload_prepared_data")
    two_hours_ago = time.time() - 7200  # longer than SessionMaxWaitSeconds (3600 s)
    rig.sqs.send_message(
        QueueUrl=rig.queue_url,
        MessageBody=json.dumps({"workflowExecutionId": unknown, "data": FULL_DATA}),
        MessageAttributes={
            "waitAttempt": {"DataType": "Number", "StringValue": "6"},
            "firstSeenAt": {"DataType": "Number", "StringValue": f"{two_hours_ago:.3f}"},
        },
    )
    rig.drain()

    parked = rig.dlq()  # at least once: a redelivered copy may be parked a second time
    assert parked
    assert {p["reason"] for p in parked} == {"SESSION_NOT_REGISTERED"}
    assert all("3600 s" in p["detail"] for p in parked)
    assert rig.ledger.parts(unknown) == []
    assert rig.uploads() == []
    lines = [r for r in caplog.records if r.getMessage() == "prepared data waits for its session"]
    assert lines
    assert all(line.parked is True for line in lines)
    metrics = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert any(m.get("PreparedDataParked") == [1.0] for m in metrics)


def test_unknown_credential_is_rejected(rig: Rig) -> None:
    session = rig.register()
    other = "0b7d6a9e-3f51-4c43-9a1e-5f2a8d1c6e70"
    rig.deliver(message(session, FULL_DATA, credentialId=other))

    [parked] = rig.dlq()
    assert (parked["reason"], parked["field"]) == ("UNKNOWN_CREDENTIAL", "credentialId")
    assert rig.part(session, other)["reason"] == "UNKNOWN_CREDENTIAL"
    assert rig.uploads() == []


def test_finalized_session_is_rejected_without_calling_jumio(rig: Rig) -> None:
    session = rig.register()
    rig.ledger.record_outcome(session.workflow_execution_id, SessionStatus.FINALIZED)
    rig.deliver(message(session, FULL_DATA))

    [parked] = rig.dlq()
    assert parked["reason"] == "SESSION_FINALIZED"
    assert rig.part(session)["reason"] == "SESSION_FINALIZED"
    assert rig.uploads() == []


def test_session_finalized_at_jumio_is_rejected(rig: Rig) -> None:
    """The ledger still says REGISTERED; Jumio refuses in a way it does not explain, and its
    workflow status (ACQUIRED) names the cause."""
    session = rig.register()
    credential = session.credential(data_credential(session))
    jumio = CredentialsClient(JumioHttp(JumioSettings(base_url=rig.simulator.base_url)))
    jumio.finalize(credential.workflow_execution_href, credential.token)
    rig.deliver(message(session, FULL_DATA))

    [parked] = rig.dlq()
    assert parked["reason"] == "SESSION_FINALIZED"
    assert rig.part(session)["status"] == "REJECTED"


def test_duplicate_after_finalize_is_not_a_rejection(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))
    rig.ledger.record_outcome(session.workflow_execution_id, SessionStatus.FINALIZED)
    rig.deliver(message(session, FULL_DATA))

    assert rig.dlq() == []
    assert rig.part(session)["status"] == "UPLOADED"


def test_correction_after_finalize_keeps_the_uploaded_record(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))
    rig.ledger.record_outcome(session.workflow_execution_id, SessionStatus.FINALIZED)
    rig.deliver(message(session, {**FULL_DATA, "lastName": "Okonkwo-Wd8"}))

    [parked] = rig.dlq()
    assert parked["reason"] == "SESSION_FINALIZED"
    part = rig.part(session)
    assert part["status"] == "UPLOADED"
    assert part["fingerprint"] == rig.fingerprint(FULL_DATA)
    assert part["lastRejection"]["reason"] == "SESSION_FINALIZED"


def test_token_expired_at_jumio_is_rejected(rig: Rig) -> None:
    session = rig.register()
    rig.simulator.admin.advance_clock(3600)  # past the 30 min token lifetime
    rig.deliver(message(session, FULL_DATA))

    [parked] = rig.dlq()
    assert parked["reason"] == "TOKEN_EXPIRED"
    assert rig.part(session)["reason"] == "TOKEN_EXPIRED"
    assert [r["status"] for r in rig.uploads()] == [401]


def test_token_expired_by_the_ledger_is_rejected_without_calling_jumio(rig: Rig) -> None:
    session = parse_registration(rig.simulator.create_account(10005))
    rig.ledger.register(replace(session, token_expires_at=1))
    rig.deliver(message(session, FULL_DATA))

    [parked] = rig.dlq()
    assert parked["reason"] == "TOKEN_EXPIRED"
    assert rig.uploads() == []


# --- Jumio throttled or unavailable: retried through SQS, then the DLQ ---------------------


def test_throttled_jumio_is_retried_through_sqs(rig: Rig) -> None:
    """429 is documented: nothing was done. The POST is tried again, never turned into a PUT."""
    session = rig.register()
    # Both client attempts are throttled: the first invocation reports a batch item failure.
    rig.simulator.admin.set_faults(
        {"routes": {"prepared_data": {"retryAfter": 0}}, "script": {"prepared_data": ["429"] * 2}}
    )
    report = rig.deliver(message(session, FULL_DATA))

    assert report.failed_records >= 1
    uploads = rig.uploads()
    assert [(r["method"], r["status"]) for r in uploads] == [
        ("POST", 429),
        ("POST", 429),
        ("POST", 200),
    ]
    assert rig.jumio_data(session) == FULL_DATA
    assert rig.part(session)["status"] == "UPLOADED"
    assert rig.dlq() == []


def test_an_unavailable_jumio_is_settled_by_an_update_of_the_same_data(rig: Rig) -> None:
    """A 503 says nothing about whether the POST took effect: the same data goes out as a PUT
    (which the client may retry), never as a second POST."""
    session = rig.register()
    rig.simulator.admin.set_faults(
        {"routes": {"prepared_data": {"retryAfter": 0}}, "script": {"prepared_data": ["503"] * 2}}
    )
    rig.deliver(message(session, FULL_DATA))

    uploads = rig.uploads()
    assert [(r["method"], r["status"]) for r in uploads] == [
        ("POST", 503),
        ("PUT", 503),
        ("PUT", 200),
    ]
    assert rig.jumio_data(session) == FULL_DATA
    assert rig.part(session)["status"] == "UPLOADED"
    assert rig.dlq() == []


def test_jumio_down_for_good_is_parked_with_a_reason_on_the_last_receive(rig: Rig) -> None:
    session = rig.register()
    rig.simulator.admin.set_faults({"routes": {"prepared_data": {"p503": 1.0}}})
    report = rig.deliver(message(session, FULL_DATA))

    assert report.failed_records == 9  # every receive but the last, which parks it
    [parked] = rig.dlq()
    assert session.workflow_execution_id in parked["body"]
    assert (parked["reason"], parked["errorType"]) == ("RETRIES_EXHAUSTED", "JumioUnavailable")
    assert rig.part(session) is None
    assert rig.queue_is_empty()


def test_a_bad_record_does_not_fail_its_neighbours(rig: Rig) -> None:
    good, throttled = rig.register(), rig.register()
    rig.simulator.admin.set_faults({"routes": {"prepared_data": {"retryAfter": 0}}})
    report = rig.deliver(
        "{not json",
        message(good, FULL_DATA),
        message(throttled, {"sex": "Q"}),
    )

    assert report.failed_records == 0
    assert rig.part(good)["status"] == "UPLOADED"
    assert rig.part(throttled)["status"] == "REJECTED"
    assert len(rig.dlq()) == 2


@pytest.mark.parametrize(
    ("event", "reasons"),
    [
        ("upload_prepared_data_full.json", ["SESSION_NOT_REGISTERED"]),
        ("upload_prepared_data_minimal.json", ["SESSION_NOT_REGISTERED"]),
        ("upload_prepared_data_invalid.json", ["INVALID_MESSAGE", "INVALID_PREPARED_DATA"]),
    ],
)
def test_sample_events_run_through_the_handler(rig: Rig, event: str, reasons: list[str]) -> None:
    """The events/ samples are real SQS events: invoked directly, each record is parked."""
    payload = (Path(TEMPLATE).parent / "events" / event).read_text()
    response = boto3.client("lambda").invoke(
        FunctionName=rig.stack.function(FUNCTION).name, Payload=payload
    )

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"batchItemFailures": []}
    assert sorted(m["reason"] for m in rig.dlq()) == reasons


def test_invalid_data_after_a_valid_upload_is_recorded_beside_it(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))
    rig.deliver(message(session, {**FULL_DATA, "sex": "X"}))

    [parked] = rig.dlq()
    assert (parked["reason"], parked["field"]) == ("INVALID_PREPARED_DATA", "data.sex")
    part = rig.part(session)
    assert (part["status"], part["fingerprint"]) == ("UPLOADED", rig.fingerprint(FULL_DATA))
    assert (part["lastRejection"]["reason"], part["lastRejection"]["field"]) == (
        "INVALID_PREPARED_DATA",
        "data.sex",
    )


def test_data_too_large_for_a_message_is_parked_naming_the_size_limit(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    session = rig.register()
    caplog.set_level(logging.INFO, logger="upload_prepared_data")
    kyc = {f"k{i}": "x" * 100 for i in range(2600)}  # ~270 KB: more than SQS takes
    rig.deliver(message(session, {**FULL_DATA, "kyc": kyc}))

    [parked] = rig.dlq()
    assert parked["reason"] == "MESSAGE_TOO_LARGE"  # the body is kept whole: no room for more
    [line] = [r for r in caplog.records if r.getMessage() == "prepared data parked in the DLQ"]
    assert "more than the limit of 262144 bytes" in line.detail
    assert rig.uploads() == []
