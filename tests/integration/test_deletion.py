"""Erasure requests and retention, end to end: moto stack + poller + the Jumio simulator.

Real state first: sessions registered from real simulator account responses, real JPEG
captures put into the versioned captures bucket (retakes make several versions, a delete
marker is added) and delivered by the real add_part function, so the idempotency records are
the ones Powertools wrote. Then a request goes on the retention-requests queue, the poller runs
the real deletion handler, and the tests look everywhere a trace could remain.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import SessionStatus
from tests.support.images import make_jpeg

FAST_RETRIES = {
    "JUMIO_BACKOFF_BASE": "0.01",
    "JUMIO_BACKOFF_CAP": "0.05",
    "JUMIO_MAX_ATTEMPTS": "3",
    "SESSION_WAIT_BASE_SECONDS": "1",
    "RETRY_BACKOFF_BASE_SECONDS": "1",
    "RETRY_BACKOFF_CAP_SECONDS": "1",
}
DAY = 86400
USER_AGENT = {"User-Agent": "deletion-tests/1.0"}


@pytest.fixture
def stack(aws, simulator):
    """The template in moto, Jumio pointed at the simulator, tenant credentials in the secret."""
    from local_cloud.provisioner import provision
    from tests.conftest import TEMPLATE, store_tenant_credentials

    provisioned = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "LogLevel": "DEBUG"},
        env=FAST_RETRIES,
    )
    store_tenant_credentials(provisioned, simulator)
    return provisioned


@dataclass
class Capture:
    """One version put into the bucket (what must be gone afterwards)."""

    key: str
    version_id: str
    etag: str


@dataclass
class World:
    """Builds realistic state and looks for every trace of it afterwards."""

    stack: Any
    poller: Any
    simulator: Any
    captures: list[Capture] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.bucket = self.stack.physical("CapturesBucket")
        self.ledger = Ledger(self.stack.physical("LedgerTable"))
        self.ledger_table = boto3.resource("dynamodb").Table(self.stack.physical("LedgerTable"))
        self.idempotency = boto3.resource("dynamodb").Table(self.stack.physical("IdempotencyTable"))
        self.audit = boto3.resource("dynamodb").Table(self.stack.physical("AuditTable"))

    # --- state ---------------------------------------------------------------------------

    def register(
        self, workflow_key: int = 10013, *, now: float | None = None, account_id: str | None = None
    ) -> tuple[Session, dict[str, Any]]:
        response = self.simulator.create_account(workflow_key=workflow_key, account_id=account_id)
        session = parse_registration(response)
        self.ledger.register(session, now=now)
        return session, response

    def put(self, key: str, data: bytes) -> Capture:
        put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        capture = Capture(key, put["VersionId"], put["ETag"].strip('"'))
        self.captures.append(capture)
        return capture

    def land(self) -> None:
        """Deliver the captures put so far through the real add_part function."""
        self.poller.drain("AddPartFunction")

    def credential(self, session: Session, category: str) -> str:
        found = session.credential_of_category(category)
        assert found is not None, f"no {category} credential"
        return found.id

    # --- requests ------------------------------------------------------------------------

    def request(self, **body: Any) -> None:
        self.sqs.send_message(
            QueueUrl=self.stack.physical("RetentionRequestsQueue"), MessageBody=json.dumps(body)
        )

    def drain(self) -> Any:
        return self.poller.drain("DeletionFunction")

    # --- traces --------------------------------------------------------------------------

    def versions(self, prefix: str) -> list[str]:
        """Every object version and delete marker under a prefix."""
        found: list[str] = []
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            found += [v["Key"] for v in page.get("Versions", [])]
            found += [f"marker:{m['Key']}" for m in page.get("DeleteMarkers", [])]
        return found

    def idempotency_records(self, captures: list[Capture]) -> list[str]:
        """Records of these capture versions, whatever their prefix: found by their hash.

        add_part keys a capture on [bucket, key, versionId], the versionId being ``etag:{eTag}``
        when the notification has none (moto's): both forms are looked for.
        """
        digests = {
            hashlib.md5(
                json.dumps([self.bucket, c.key, label], sort_keys=True).encode(),
                usedforsecurity=False,
            ).hexdigest()
            for c in captures
            for label in (c.version_id, f"etag:{c.etag}")
        }
        items = self.idempotency.scan(ConsistentRead=True)["Items"]
        return [i["id"] for i in items if i["id"].rsplit("#", 1)[-1] in digests]

    def audit_records(self, request_id: str) -> list[dict[str, Any]]:
        return self.audit.query(
            KeyConditionExpression="requestId = :r",
            ExpressionAttributeValues={":r": request_id},
            ConsistentRead=True,
        )["Items"]

    def session_item(self, wf: str) -> dict[str, Any]:
        return self.ledger_table.get_item(Key={"pk": wf, "sk": "SESSION"})["Item"]

    def all_dead_letters(self) -> list[str]:
        """The bodies in every DLQ of the stack (received, then made visible again)."""
        bodies: list[str] = []
        for name in ("CaptureEventsDLQ", "SessionsDLQ", "PreparedDataDLQ", "RetentionRequestsDLQ"):
            url = self.stack.physical(name)
            while batch := self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", []):
                bodies += [m["Body"] for m in batch]
        return bodies

    def part_item(self, wf: str, sort_key: str) -> dict[str, Any] | None:
        """A stored part item, as the ledger wrote it."""
        key = {"pk": wf, "sk": sort_key}
        return self.ledger_table.get_item(Key=key, ConsistentRead=True).get("Item")

    def part_items(self, wf: str) -> list[dict[str, Any]]:
        """Every stored part item of a session."""
        return self.ledger_table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :part)",
            ExpressionAttributeValues={":pk": wf, ":part": "PART#"},
            ConsistentRead=True,
        )["Items"]

    def dlq(self) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.stack.physical("RetentionRequestsDLQ"),
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def jumio_deletes(self) -> list[dict[str, Any]]:
        return [r for r in self.simulator.admin.requests() if r["route"].startswith("delete_")]

    def tenant_get(self, path: str) -> int:
        """Status of a tenant GET at the simulator (does Jumio still know the id?)."""
        token = requests.post(
            f"{self.simulator.base_url}/oauth2/token",
            auth=(self.simulator.client_id, self.simulator.client_secret),
            data={"grant_type": "client_credentials"},
            headers=USER_AGENT,
            timeout=5,
        ).json()["access_token"]
        return requests.get(
            f"{self.simulator.base_url}{path}",
            headers={**USER_AGENT, "Authorization": f"Bearer {token}"},
            timeout=5,
        ).status_code


@pytest.fixture
def world(stack, poller, simulator) -> World:
    return World(stack, poller, simulator)


def _front_back_face(world: World, session: Session) -> str:
    """FRONT twice (a retake), BACK, FACE, plus a delete marker on an extra FACE key."""
    wf = session.workflow_execution_id
    id_cred = world.credential(session, "ID")
    face_cred = world.credential(session, "SELFIE")
    world.put(f"captures/{wf}/{id_cred}/FRONT.jpg", make_jpeg(800, 600))
    world.land()
    world.put(f"captures/{wf}/{id_cred}/FRONT.jpg", make_jpeg(820, 600))
    world.put(f"captures/{wf}/{id_cred}/BACK.jpg", make_jpeg(800, 600))
    world.put(f"captures/{wf}/{face_cred}/FACE.jpg", make_jpeg(640, 640))
    world.land()
    world.put(f"captures/{wf}/{face_cred}/FACE.png", b"not even an image")
    world.land()  # rejected by add_part, with its own idempotency record
    world.s3.delete_object(Bucket=world.bucket, Key=f"captures/{wf}/{face_cred}/FACE.png")
    return id_cred


# --- SESSION --------------------------------------------------------------------------------


def test_session_erasure_leaves_no_trace_and_repeats_as_no_op(world: World) -> None:
    session, response = world.register()
    other, _ = world.register()
    wf, account = session.workflow_execution_id, session.account_id
    _front_back_face(world, session)
    other_capture = world.put(
        f"captures/{other.workflow_execution_id}/{world.credential(other, 'ID')}/FRONT.jpg",
        make_jpeg(800, 600),
    )
    world.land()
    assert len(world.versions(f"captures/{wf}/")) == 6  # 5 versions + 1 delete marker
    assert len(world.idempotency_records(world.captures[:-1])) >= 4  # add_part's own records
    assert world.simulator.admin.state()["workflowExecutions"][wf]["credentials"]

    world.request(
        requestId="req-session-1",
        scope="SESSION",
        workflowExecutionId=wf,
        requestedBy="dpo-ticket-42",
    )
    world.drain()

    assert world.versions(f"captures/{wf}/") == []
    assert world.idempotency_records([c for c in world.captures if c is not other_capture]) == []
    item = world.session_item(wf)
    assert item["status"] == SessionStatus.DELETED.value
    assert "erasedAt" in item
    for credential in item["credentials"].values():
        assert "token" not in credential
        assert credential["parts"] == {}
    assert world.part_items(wf) == []
    tokens = [
        c["api"]["token"] for c in response["workflowExecution"]["credentials"] if c.get("api")
    ]
    assert not any(token in json.dumps(item, default=str) for token in tokens)
    assert world.simulator.admin.state()["workflowExecutions"][wf]["deleted"] is True
    assert world.tenant_get(f"/api/v1/accounts/{account}/workflow-executions/{wf}/status") == 404

    # The other session is untouched.
    assert world.versions(f"captures/{other.workflow_execution_id}/") == [other_capture.key]
    assert world.session_item(other.workflow_execution_id)["status"] == "REGISTERED"

    [record] = world.audit_records("req-session-1")
    assert record["outcome"] == "COMPLETED"
    assert record["scope"] == "SESSION"
    assert record["workflowExecutionIds"] == [wf]
    assert record["accountId"] == account
    assert record["requestedBy"] == "dpo-ticket-42"
    assert record["deleted"]["objectVersions"] == 5
    assert record["deleted"]["deleteMarkers"] == 1
    assert record["deleted"]["idempotencyRecords"] >= 4
    assert record["deleted"]["ledgerItems"] >= 4  # part items + the session scrubbed
    assert record["jumio"] == [
        {"operation": "delete_workflow", "outcome": "CONFIRMED", "workflowExecutionId": wf}
    ]
    assert not any(token in json.dumps(record, default=str) for token in tokens)

    # The same request again is a replay: answered from its record, nothing runs again.
    world.simulator.admin.clear_requests()
    world.request(requestId="req-session-1", scope="SESSION", workflowExecutionId=wf)
    world.drain()
    assert world.audit_records("req-session-1") == [record]
    assert world.jumio_deletes() == []

    # Another request for the erased session finds nothing left: a NO_OP of its own.
    world.request(requestId="req-session-2", scope="SESSION", workflowExecutionId=wf)
    world.drain()
    [repeat] = world.audit_records("req-session-2")
    assert repeat["outcome"] == "NO_OP"
    assert set(repeat["deleted"].values()) == {0}
    assert repeat["jumio"][0]["outcome"] == "SKIPPED_ALREADY_ERASED"
    assert world.jumio_deletes() == []


def test_session_erasure_stops_the_running_execution(world: World) -> None:
    from tests.integration.session_support import register

    response = world.simulator.create_account(workflow_key=10013)
    register(world.stack, world.poller, {"account": response, "tokenLifetime": "30m"})
    wf = response["workflowExecution"]["id"]
    arn = world.session_item(wf)["executionArn"]
    sfn = boto3.client("stepfunctions")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    world.request(requestId="req-stop", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    # moto's ASL engine accepts StopExecution but leaves the status RUNNING (a moto gap), so
    # the proof is the successful call the audit counts (0 without the StopExecution step).
    [record] = world.audit_records("req-stop")
    assert record["deleted"]["executionsStopped"] == 1
    assert world.session_item(wf)["status"] == "DELETED"


def test_jumio_503_is_retried_by_the_client_and_then_by_the_queue(world: World) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    world.put(f"captures/{wf}/{world.credential(session, 'ID')}/FRONT.jpg", make_jpeg(800, 600))
    world.land()
    # One 503 is absorbed by the client; three (JUMIO_MAX_ATTEMPTS) make the record fail.
    world.simulator.admin.set_faults({"script": {"delete_workflow": ["503", "503", "503"]}})
    world.request(requestId="req-503", scope="SESSION", workflowExecutionId=wf)
    source = next(
        s for s in world.stack.event_sources if s.function_logical_id == "DeletionFunction"
    )
    message = world.sqs.receive_message(QueueUrl=source.queue_url, VisibilityTimeout=0)["Messages"][
        0
    ]
    from local_cloud.poller import sqs_record

    event = {"Records": [sqs_record(message, source, world.stack.region)]}
    answer = boto3.client("lambda").invoke(
        FunctionName=source.function_name, Payload=json.dumps(event)
    )
    # A batch whose every record failed is answered, not raised: SQS keeps the record and the
    # invocation does not count as a function error (the Errors alarm stays for real faults).
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {
        "batchItemFailures": [{"itemIdentifier": message["MessageId"]}]
    }
    # Half-way: the session is closed, its tokens and captures are still there for the retry.
    item = world.session_item(wf)
    assert item["status"] == "DELETED"
    assert "erasedAt" not in item
    assert any("token" in c for c in item["credentials"].values())
    assert len(world.versions(f"captures/{wf}/")) == 1

    world.simulator.admin.set_faults({"script": {"delete_workflow": ["503"]}})
    world.drain()  # the same message, delivered again

    routes = [(r["route"], r["status"]) for r in world.jumio_deletes()]
    assert routes[-2:] == [("delete_workflow", 503), ("delete_workflow", 200)]
    assert world.versions(f"captures/{wf}/") == []
    assert world.idempotency_records(world.captures) == []
    assert world.simulator.admin.state()["workflowExecutions"][wf]["deleted"] is True
    retrying, completed = sorted(world.audit_records("req-503"), key=lambda r: r["at"])
    assert retrying["outcome"] == "RETRYING"
    assert retrying["reason"] == "JumioUnavailable"
    assert completed["outcome"] == "COMPLETED"
    assert completed["deleted"]["objectVersions"] == 1


# --- PART and DOCUMENT_PAGES ----------------------------------------------------------------


def test_part_erasure_removes_the_part_everywhere_and_keeps_the_session_open(
    world: World,
) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    id_cred = _front_back_face(world, session)
    front = [c for c in world.captures if c.key.endswith("/FRONT.jpg")]
    others = [c for c in world.captures if not c.key.endswith("/FRONT.jpg")]
    assert len(world.idempotency_records(front)) == 2
    href = session.credentials[id_cred].parts["FRONT"]
    token = session.credentials[id_cred].token

    world.request(
        requestId="req-part",
        scope="PART",
        workflowExecutionId=wf,
        credentialId=id_cred,
        classifier="FRONT",
    )
    world.drain()

    assert world.versions(f"captures/{wf}/{id_cred}/FRONT.") == []
    assert world.idempotency_records(front) == []
    assert world.idempotency_records(others)  # the rest of the session is kept
    assert world.versions(f"captures/{wf}/{id_cred}/BACK.") != []
    state = world.simulator.admin.state()["workflowExecutions"][wf]["credentials"][id_cred]
    assert state["parts"]["FRONT"]["count"] == 0
    assert state["parts"]["FRONT"]["deletes"] == 1
    assert state["parts"]["BACK"]["count"] == 1
    refused = requests.delete(
        href, headers={**USER_AGENT, "Authorization": f"Bearer {token}"}, timeout=5
    )
    assert refused.status_code == 404
    tombstone = world.part_item(wf, f"PART#{id_cred}#FRONT")
    assert tombstone is not None
    assert tombstone["status"] == "DELETED"
    assert "key" not in tombstone
    assert "versionId" not in tombstone
    record = world.ledger.get(wf)
    assert record is not None
    assert record.status is SessionStatus.REGISTERED
    assert f"{id_cred}/FRONT" in record.pending_parts  # a retake is needed before finalize
    [audit] = world.audit_records("req-part")
    assert audit["outcome"] == "COMPLETED"
    assert audit["deleted"]["objectVersions"] == 2
    assert audit["deleted"]["idempotencyRecords"] == 2
    assert audit["jumio"][0]["operation"] == "delete_part"

    world.simulator.admin.clear_requests()
    world.request(
        requestId="req-part-again",
        scope="PART",
        workflowExecutionId=wf,
        credentialId=id_cred,
        classifier="FRONT",
    )
    world.drain()
    [repeat] = world.audit_records("req-part-again")
    assert repeat["outcome"] == "NO_OP"
    assert world.jumio_deletes() == []


def test_document_pages_erasure(world: World) -> None:
    session, _ = world.register(workflow_key=10026)
    wf = session.workflow_execution_id
    doc = world.credential(session, "DOCUMENT")
    world.put(f"captures/{wf}/{doc}/DOCUMENT/1.jpg", make_jpeg(800, 1100))
    world.land()
    world.put(f"captures/{wf}/{doc}/DOCUMENT/2.jpg", make_jpeg(800, 1100))
    world.land()
    assert world.simulator.admin.state()["workflowExecutions"][wf]["credentials"][doc]["pages"] >= 1

    world.request(
        requestId="req-pages", scope="DOCUMENT_PAGES", workflowExecutionId=wf, credentialId=doc
    )
    world.drain()

    assert world.versions(f"captures/{wf}/{doc}/DOCUMENT/") == []
    assert world.idempotency_records(world.captures) == []
    credential = world.simulator.admin.state()["workflowExecutions"][wf]["credentials"][doc]
    assert credential["pages"] == 0
    href = session.credentials[doc].parts["DOCUMENT"]
    refused = requests.delete(
        href,
        headers={**USER_AGENT, "Authorization": f"Bearer {session.credentials[doc].token}"},
        timeout=5,
    )
    assert refused.status_code == 404
    assert [p["sk"] for p in world.part_items(wf)] == [f"PART#{doc}#DOCUMENT"]
    [audit] = world.audit_records("req-pages")
    assert audit["outcome"] == "COMPLETED"
    assert audit["deleted"]["objectVersions"] == 2
    assert audit["jumio"][0]["operation"] == "delete_all_pages"


# --- ACCOUNT --------------------------------------------------------------------------------


def test_account_erasure_covers_every_session_of_the_account(world: World) -> None:
    first, _ = world.register()
    second, _ = world.register(account_id=first.account_id)
    bystander, _ = world.register()
    account = first.account_id
    assert second.account_id == account
    for session in (first, second, bystander):
        world.put(
            f"captures/{session.workflow_execution_id}/{world.credential(session, 'ID')}/FRONT.jpg",
            make_jpeg(800, 600),
        )
    world.land()

    world.request(requestId="req-account", scope="ACCOUNT", accountId=account)
    world.drain()

    state = world.simulator.admin.state()
    assert state["accounts"][account]["deleted"] is True
    for session in (first, second):
        wf = session.workflow_execution_id
        assert world.versions(f"captures/{wf}/") == []
        assert world.session_item(wf)["status"] == "DELETED"
        assert state["workflowExecutions"][wf]["deleted"] is True
    assert world.idempotency_records(world.captures[:2]) == []
    assert world.idempotency_records(world.captures[2:])
    assert world.session_item(bystander.workflow_execution_id)["status"] == "REGISTERED"
    assert (
        world.tenant_get(
            f"/api/v1/accounts/{account}/workflow-executions/{first.workflow_execution_id}/status"
        )
        == 404
    )
    [audit] = world.audit_records("req-account")
    assert audit["outcome"] == "COMPLETED"
    assert sorted(audit["workflowExecutionIds"]) == sorted(
        [first.workflow_execution_id, second.workflow_execution_id]
    )
    assert audit["jumio"] == [{"operation": "delete_account", "outcome": "CONFIRMED"}]

    world.simulator.admin.clear_requests()
    world.request(requestId="req-account-again", scope="ACCOUNT", accountId=account)
    world.drain()
    [repeat] = world.audit_records("req-account-again")
    assert repeat["outcome"] == "NO_OP"
    assert world.jumio_deletes() == []


# --- permanent failures ---------------------------------------------------------------------


def test_invalid_request_is_parked_with_the_field_and_audited(world: World) -> None:
    world.request(requestId="req-bad", scope="SESSION", accountId="not-a-uuid")
    world.drain()

    [parked] = world.dlq()
    attributes = parked["MessageAttributes"]
    assert attributes["reason"]["StringValue"] == "INVALID_REQUEST"
    assert attributes["field"]["StringValue"] == "accountId"
    [audit] = world.audit_records("req-bad")
    assert audit["outcome"] == "FAILED"
    assert audit["reason"] == "INVALID_REQUEST"
    assert "not-a-uuid" not in json.dumps(audit, default=str)


def test_rejected_tenant_credentials_are_parked_and_nothing_is_deleted_in_aws(
    world: World,
) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    world.put(f"captures/{wf}/{world.credential(session, 'ID')}/FRONT.jpg", make_jpeg(800, 600))
    world.land()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=world.stack.physical("JumioTenantCredentials"),
        SecretString=json.dumps({"clientId": "wrong", "clientSecret": "wrong"}),
    )

    world.request(requestId="req-auth", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    [parked] = world.dlq()
    assert parked["MessageAttributes"]["reason"]["StringValue"] == "JumioAuthError"
    [audit] = world.audit_records("req-auth")
    assert audit["outcome"] == "FAILED"
    assert "wrong" not in json.dumps(audit, default=str)
    # Jumio did not confirm, so the AWS copies (and the tokens a retry needs) are kept.
    assert len(world.versions(f"captures/{wf}/")) == 1
    assert any("token" in c for c in world.session_item(wf)["credentials"].values())


# --- retention ------------------------------------------------------------------------------


def test_daily_schedule_erases_exactly_the_sessions_past_retention(world: World) -> None:
    retention_days = int(world.stack.function("DeletionFunction").environment["RETENTION_DAYS"])
    now = time.time()
    old = [world.register(now=now - (retention_days + extra) * DAY)[0] for extra in (1, 90)]
    recent = [world.register(now=now - (retention_days - 1) * DAY)[0], world.register()[0]]
    for session in old + recent:
        world.put(
            f"captures/{session.workflow_execution_id}/{world.credential(session, 'ID')}/FRONT.jpg",
            make_jpeg(800, 600),
        )
    world.land()
    schedule = next(s for s in world.stack.schedules if s.function_logical_id == "DeletionFunction")

    answer = boto3.client("lambda").invoke(
        FunctionName=world.stack.function("DeletionFunction").name,
        Payload=json.dumps(schedule.input),
    )
    assert json.loads(answer["Payload"].read())["selected"] == 2
    world.drain()

    state = world.simulator.admin.state()["workflowExecutions"]
    for session in old:
        wf = session.workflow_execution_id
        assert world.session_item(wf)["status"] == "DELETED"
        assert state[wf]["deleted"] is True
        assert world.versions(f"captures/{wf}/") == []
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        [audit] = world.audit_records(f"retention:{day}:{wf}")
        assert audit["requestedBy"] == "retention-schedule"
        assert audit["outcome"] == "COMPLETED"
    for session in recent:
        wf = session.workflow_execution_id
        assert world.session_item(wf)["status"] == "REGISTERED"
        assert state[wf]["deleted"] is False
        assert len(world.versions(f"captures/{wf}/")) == 1


def test_session_erasure_removes_the_prepared_data_idempotency_record(world: World) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    world.sqs.send_message(
        QueueUrl=world.stack.physical("PreparedDataQueue"),
        MessageBody=json.dumps({"workflowExecutionId": wf, "data": {"firstName": "Erasable"}}),
    )
    world.poller.drain("UploadPreparedDataFunction")
    data_part = next(p for p in world.part_items(wf) if p["sk"].endswith("#PREPARED_DATA"))
    assert data_part["status"] == "UPLOADED"
    record_ids = {i["id"] for i in world.idempotency.scan(ConsistentRead=True)["Items"]}
    assert data_part["idempotencyKey"] in record_ids  # the id the ledger kept is Powertools' own

    world.request(requestId="req-prepared-data", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    remaining = {i["id"] for i in world.idempotency.scan(ConsistentRead=True)["Items"]}
    assert data_part["idempotencyKey"] not in remaining
    assert world.session_item(wf)["status"] == SessionStatus.DELETED.value


def test_prepared_data_for_an_erased_session_is_discarded_not_kept_in_the_dlq(
    world: World,
) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    world.request(requestId="req-before-data", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    world.sqs.send_message(
        QueueUrl=world.stack.physical("PreparedDataQueue"),
        MessageBody=json.dumps({"workflowExecutionId": wf, "data": {"firstName": "Late"}}),
    )
    world.poller.drain("UploadPreparedDataFunction")

    dlq = world.sqs.receive_message(
        QueueUrl=world.stack.physical("PreparedDataDLQ"), MaxNumberOfMessages=10
    ).get("Messages", [])
    assert dlq == []  # a copy in the DLQ would undo the erasure
    queue = world.sqs.get_queue_attributes(
        QueueUrl=world.stack.physical("PreparedDataQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert queue == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    assert world.part_items(wf) == []
    assert not any(r["route"] == "prepared_data" for r in world.simulator.admin.requests())


# --- nothing outlives an erasure ------------------------------------------------------------


def test_captures_whose_key_spells_the_ids_in_upper_case_are_erased_too(world: World) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    upper = f"captures/{wf.upper()}/{world.credential(session, 'ID').upper()}/FRONT.jpg"
    lower_back = f"captures/{wf}/{world.credential(session, 'ID')}/BACK.jpg"
    world.put(upper, make_jpeg(800, 600))
    world.put(lower_back, make_jpeg(800, 600))
    world.land()
    assert world.part_item(wf, f"PART#{world.credential(session, 'ID')}#FRONT")["key"] == upper

    world.request(requestId="req-upper", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    assert world.versions(upper) == []
    assert world.versions(f"captures/{wf}/") == []
    assert world.idempotency_records(world.captures) == []
    [audit] = world.audit_records("req-upper")
    assert audit["deleted"]["objectVersions"] == 2


def test_a_capture_arriving_after_its_session_was_erased_is_deleted_and_audited(
    world: World,
) -> None:
    session, _ = world.register()
    wf = session.workflow_execution_id
    world.request(requestId="req-early", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    late = world.put(
        f"captures/{wf}/{world.credential(session, 'ID')}/FRONT.jpg", make_jpeg(800, 600)
    )
    world.land()

    assert world.versions(late.key) == []
    assert world.idempotency_records([late]) == []
    assert world.part_items(wf) == []  # not recorded as UNKNOWN_PART or anything else
    [audit] = [
        r
        for r in world.audit.scan(ConsistentRead=True)["Items"]
        if r["requestId"].startswith(f"late-capture:{wf}:")
    ]
    assert (audit["outcome"], audit["scope"]) == ("COMPLETED", "CAPTURE")
    assert audit["deleted"]["objectVersions"] == 1
    assert audit["requestedBy"] == "pipeline:late-capture"


def test_a_session_erasure_removes_its_messages_from_every_dead_letter_queue(
    world: World,
) -> None:
    session, _ = world.register()
    other, _ = world.register()
    wf = session.workflow_execution_id
    for subject in (session, other):  # invalid data: parked at once, body and all
        world.sqs.send_message(
            QueueUrl=world.stack.physical("PreparedDataQueue"),
            MessageBody=json.dumps(
                {"workflowExecutionId": subject.workflow_execution_id, "data": {"sex": "Q"}}
            ),
        )
    world.poller.drain("UploadPreparedDataFunction")
    world.sqs.send_message(  # a capture event naming the session (any case) in a DLQ
        QueueUrl=world.stack.physical("CaptureEventsDLQ"),
        MessageBody=json.dumps(
            {"Records": [{"s3": {"object": {"key": f"captures/{wf.upper()}/x"}}}]}
        ),
    )

    world.request(requestId="req-dlq", scope="SESSION", workflowExecutionId=wf)
    world.drain()

    remaining = world.all_dead_letters()
    assert not any(wf in body.lower() for body in remaining)
    assert any(other.workflow_execution_id in body for body in remaining)  # others stay
    [audit] = world.audit_records("req-dlq")
    assert audit["deleted"]["deadLetters"] == 2


@pytest.mark.parametrize(
    ("retention_days", "dead_letters_keep", "queues_keep"),
    [("30", 14 * DAY, 4 * DAY), ("10", 10 * DAY, 4 * DAY), ("2", 2 * DAY, 2 * DAY)],
)
def test_queues_keep_messages_no_longer_than_the_data(
    aws, simulator, retention_days: str, dead_letters_keep: int, queues_keep: int
) -> None:
    from local_cloud.provisioner import provision
    from tests.conftest import TEMPLATE

    stack = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "RetentionDays": retention_days},
    )
    sqs = boto3.client("sqs")

    def kept(logical_id: str) -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.physical(logical_id), AttributeNames=["MessageRetentionPeriod"]
        )["Attributes"]
        return int(attributes["MessageRetentionPeriod"])

    for dlq in ("CaptureEventsDLQ", "SessionsDLQ", "PreparedDataDLQ", "RetentionRequestsDLQ"):
        assert kept(dlq) == dead_letters_keep
    for queue in ("CaptureEventsQueue", "SessionsQueue", "PreparedDataQueue"):
        assert kept(queue) == queues_keep
