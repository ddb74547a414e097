"""Every Jumio operation the pipeline calls, with its answer lost and with a timeout after it
took effect: each ends applied exactly once at Jumio and recorded rightly in the ledger.

The whole pipeline runs (template.yaml in moto, the real functions, the simulator over HTTP in
its default opaque mode). One fault is armed per case with the simulator's per-route script:

- ``drop``: Jumio processes the request in full, then closes the connection unanswered;
- ``slow``: Jumio processes it, then answers after the function's read timeout.

Neither fault lets the client learn the outcome from the answer, so the pipeline has to settle
it by documented means: an add or upload is followed by an update (PUT) of the same bytes, a
document is rebuilt (every page deleted, the whole document sent again), finalize is settled by
the workflow status, and a repeated delete by the workflow details. The deletion cases run with a
seed under which Jumio answers a delete of something already gone with a status other than 404,
so nothing rests on the guess that it would say 404.

What is counted is the simulator's own state (parts, pages, finalize count, deletions), never
which requests were sent: a PUT or DELETE that goes out twice is idempotent by nature.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import PartStatus, SessionStatus
from tests.conftest import FAST_RETRIES, TEMPLATE, store_tenant_credentials
from tests.integration.session_support import (
    account_response,
    execution_arn,
    finalize_count,
    land_all_parts,
    register,
    registration_message,
    wait_for_end,
    wait_for_task_token,
    workflow_execution_id,
)
from tests.support.images import make_jpeg
from tests.support.prepared_data import FULL_DATA

FAULTS = pytest.mark.parametrize("fault", ["drop", "slow"], ids=["answer-lost", "timed-out"])
READ_TIMEOUT_SECONDS = 1.5
SLOW_ANSWER_MS = 3000  # longer than the read timeout: the client gives up on an applied request
# The repeat of a delete meets "nothing to delete", which Jumio answers in no documented way.
NOTHING_TO_DELETE = "NOTHING_TO_DELETE"


@pytest.fixture
def stack(aws, simulator) -> Any:
    """template.yaml in moto; every function gives up on a Jumio answer after 1.5 s."""
    from local_cloud.provisioner import provision

    provisioned = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "LogLevel": "DEBUG"},
        env={**FAST_RETRIES, "JUMIO_READ_TIMEOUT": str(READ_TIMEOUT_SECONDS)},
    )
    store_tenant_credentials(provisioned, simulator)
    return provisioned


@dataclass
class Pipeline:
    """Drives the real functions and reads back Jumio's state and the ledger."""

    stack: Any
    poller: Any
    simulator: Any

    def __post_init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.bucket = self.stack.physical("CapturesBucket")
        self.ledger = Ledger(self.stack.physical("LedgerTable"))
        self.audit = boto3.resource("dynamodb").Table(self.stack.physical("AuditTable"))

    # --- arranging -----------------------------------------------------------------------

    def register(self, workflow_key: int = 10013) -> Session:
        session = parse_registration(self.simulator.create_account(workflow_key))
        self.ledger.register(session)
        return session

    def arm(self, fault: str, *routes: str) -> None:
        """The next request on each route meets the fault; everything else is answered."""
        self.simulator.admin.set_faults(
            {
                "routes": {route: {"slowMs": SLOW_ANSWER_MS} for route in routes},
                "script": {route: [fault] for route in routes},
            }
        )

    def seed_where_a_repeated_delete_is_not_404(self) -> int:
        """A simulator seed under which 'nothing to delete' is answered 400, 403 or 409."""
        for seed in range(64):
            config = self.simulator.admin.set_config({"seed": seed})
            if config["undocumented"]["conflictStatus"][NOTHING_TO_DELETE] != 404:
                return seed
        raise AssertionError("no seed in 0..63 answers a repeated delete otherwise than 404")

    # --- acting --------------------------------------------------------------------------

    def capture(self, session: Session, category: str, name: str, content: bytes) -> str:
        """Put a capture and deliver it through add_part; returns the object's version id."""
        key = (
            f"captures/{session.workflow_execution_id}/{self.credential(session, category)}/{name}"
        )
        version = self.s3.put_object(Bucket=self.bucket, Key=key, Body=content)["VersionId"]
        self.poller.drain("AddPartFunction", max_wait_seconds=60)
        return version

    def prepared_data(self, session: Session, data: dict[str, Any]) -> None:
        body = {"workflowExecutionId": session.workflow_execution_id, "data": data}
        self.sqs.send_message(
            QueueUrl=self.stack.physical("PreparedDataQueue"), MessageBody=json.dumps(body)
        )
        self.poller.drain("UploadPreparedDataFunction", max_wait_seconds=60)

    def erase(self, **request: Any) -> str:
        request_id = f"fault-matrix-{uuid.uuid4()}"
        body = {"requestId": request_id, "requestedBy": "fault-matrix", **request}
        self.sqs.send_message(
            QueueUrl=self.stack.physical("RetentionRequestsQueue"), MessageBody=json.dumps(body)
        )
        self.poller.drain("DeletionFunction", max_wait_seconds=60)
        return request_id

    # --- reading -------------------------------------------------------------------------

    @staticmethod
    def credential(session: Session, category: str) -> str:
        found = session.credential_of_category(category)
        assert found is not None, f"the account has no {category} credential"
        return found.id

    def jumio_execution(self, session: Session) -> dict[str, Any]:
        return self.simulator.admin.state()["workflowExecutions"][session.workflow_execution_id]

    def jumio_credential(self, session: Session, category: str) -> dict[str, Any]:
        credential = self.credential(session, category)
        return self.jumio_execution(session)["credentials"][credential]

    def jumio_part(self, session: Session, category: str, classifier: str) -> dict[str, int]:
        return self.jumio_credential(session, category)["parts"][classifier]

    def ledger_part(self, session: Session, category: str, classifier: str) -> Any:
        part = PartId(self.credential(session, category), classifier)
        return self.ledger.get_part(session.workflow_execution_id, part)

    def ledger_pages(self, session: Session) -> list[Any]:
        part = PartId(self.credential(session, "DOCUMENT"), "DOCUMENT")
        return self.ledger.parts(session.workflow_execution_id, part)

    def audit_outcome(self, request_id: str) -> str:
        [record] = self.audit.query(
            KeyConditionExpression="requestId = :r",
            ExpressionAttributeValues={":r": request_id},
            ConsistentRead=True,
        )["Items"]
        return record["outcome"]

    def dead_letters(self) -> list[str]:
        bodies = []
        for name in ("CaptureEventsDLQ", "PreparedDataDLQ", "RetentionRequestsDLQ"):
            messages = self.sqs.receive_message(
                QueueUrl=self.stack.physical(name), MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            bodies += [message["Body"] for message in messages]
        return bodies

    def faults_spent(self) -> bool:
        """Every armed fault met a request (else the case proved nothing)."""
        remaining = self.simulator.admin.faults().get("remainingScript") or {}
        return not any(remaining.values())


@pytest.fixture
def pipeline(stack, poller, simulator) -> Pipeline:
    return Pipeline(stack=stack, poller=poller, simulator=simulator)


# --- image parts ------------------------------------------------------------------------------


@FAULTS
def test_add_part(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.arm(fault, "add_part")

    version = pipeline.capture(session, "ID", "FRONT.jpg", make_jpeg(800, 500))

    assert pipeline.faults_spent()
    front = pipeline.jumio_part(session, "ID", "FRONT")
    assert (front["count"], front["adds"]) == (1, 1)  # added once, then settled by an update
    part = pipeline.ledger_part(session, "ID", "FRONT")
    assert (part.status, part.version_id) == (PartStatus.UPLOADED, version)
    assert pipeline.dead_letters() == []


@FAULTS
def test_update_part(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.capture(session, "ID", "FRONT.jpg", make_jpeg(800, 500))
    pipeline.arm(fault, "update_part")

    retake = pipeline.capture(session, "ID", "FRONT.jpg", make_jpeg(840, 520))

    assert pipeline.faults_spent()
    front = pipeline.jumio_part(session, "ID", "FRONT")
    assert (front["count"], front["adds"]) == (1, 1)
    assert front["updates"] >= 1  # a PUT may go out again: it replaces with the same bytes
    part = pipeline.ledger_part(session, "ID", "FRONT")
    assert (part.status, part.version_id) == (PartStatus.UPLOADED, retake)
    assert pipeline.dead_letters() == []


# --- prepared data ---------------------------------------------------------------------------


@FAULTS
def test_upload_prepared_data(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.arm(fault, "prepared_data")

    pipeline.prepared_data(session, FULL_DATA)

    assert pipeline.faults_spent()
    data = pipeline.jumio_part(session, "DATA", "PREPARED_DATA")
    assert (data["count"], data["adds"]) == (1, 1)  # one POST, then settled by a PUT
    part = pipeline.ledger_part(session, "DATA", "PREPARED_DATA")
    assert part.status is PartStatus.UPLOADED
    assert part.fingerprint
    assert pipeline.dead_letters() == []


# --- document pages --------------------------------------------------------------------------


@FAULTS
def test_upload_document_page(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register(10026)
    pipeline.capture(session, "DOCUMENT", "DOCUMENT/1.jpg", make_jpeg(700, 900))
    pipeline.arm(fault, "document")

    pipeline.capture(session, "DOCUMENT", "DOCUMENT/2.jpg", make_jpeg(710, 900))

    assert pipeline.faults_spent()
    assert pipeline.jumio_credential(session, "DOCUMENT")["pages"] == 2  # never 3: rebuilt
    pages = pipeline.ledger_pages(session)
    assert [page.status for page in pages] == [PartStatus.UPLOADED] * 2
    assert pipeline.dead_letters() == []


@FAULTS
def test_delete_all_pages_and_read_details_when_a_retaken_page_rebuilds_the_document(
    pipeline: Pipeline, fault: str
) -> None:
    """The DELETE goes out again, meets 'nothing to delete' (not a 404): the details settle it."""
    session = pipeline.register(10026)
    pipeline.seed_where_a_repeated_delete_is_not_404()
    pipeline.capture(session, "DOCUMENT", "DOCUMENT/1.jpg", make_jpeg(700, 900))
    pipeline.capture(session, "DOCUMENT", "DOCUMENT/2.jpg", make_jpeg(710, 900))
    pipeline.arm(fault, "delete_pages", "details")

    retake = pipeline.capture(session, "DOCUMENT", "DOCUMENT/1.jpg", make_jpeg(720, 900))

    assert pipeline.faults_spent()
    assert pipeline.jumio_credential(session, "DOCUMENT")["pages"] == 2
    first, second = pipeline.ledger_pages(session)
    assert (first.status, first.version_id) == (PartStatus.UPLOADED, retake)
    assert second.status is PartStatus.UPLOADED
    assert pipeline.dead_letters() == []


# --- finalize ----------------------------------------------------------------------------------


@FAULTS
def test_finalize_settled_by_the_status_read_with_a_fresh_tenant_token(
    stack, poller, simulator, fault: str
) -> None:
    response = account_response(simulator)
    register(stack, poller, registration_message(response))
    wf_id = workflow_execution_id(response)
    wait_for_task_token(stack, wf_id)
    pipeline = Pipeline(stack, poller, simulator)
    pipeline.arm(fault, "finalize", "token", "status")

    land_all_parts(stack, wf_id)

    assert wait_for_end(execution_arn(stack, wf_id))["status"] == "SUCCEEDED"
    assert pipeline.faults_spent()
    assert finalize_count(simulator, wf_id) == 1
    record = Ledger(stack.physical("LedgerTable")).get(wf_id)
    assert record is not None
    assert record.status is SessionStatus.FINALIZED


# --- erasure at Jumio -----------------------------------------------------------------------


@FAULTS
def test_delete_part(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.seed_where_a_repeated_delete_is_not_404()
    pipeline.capture(session, "ID", "FRONT.jpg", make_jpeg(800, 500))
    pipeline.arm(fault, "delete_part")

    request_id = pipeline.erase(
        scope="PART",
        workflowExecutionId=session.workflow_execution_id,
        credentialId=pipeline.credential(session, "ID"),
        classifier="FRONT",
    )

    assert pipeline.faults_spent()
    front = pipeline.jumio_part(session, "ID", "FRONT")
    assert (front["count"], front["deletes"]) == (0, 1)
    assert pipeline.ledger_part(session, "ID", "FRONT").status is PartStatus.DELETED
    assert pipeline.audit_outcome(request_id) == "COMPLETED"
    assert pipeline.dead_letters() == []


@FAULTS
def test_delete_all_pages_on_request(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register(10026)
    pipeline.seed_where_a_repeated_delete_is_not_404()
    pipeline.capture(session, "DOCUMENT", "DOCUMENT/1.jpg", make_jpeg(700, 900))
    pipeline.arm(fault, "delete_pages")

    request_id = pipeline.erase(
        scope="DOCUMENT_PAGES",
        workflowExecutionId=session.workflow_execution_id,
        credentialId=pipeline.credential(session, "DOCUMENT"),
    )

    assert pipeline.faults_spent()
    assert pipeline.jumio_credential(session, "DOCUMENT")["pages"] == 0
    assert pipeline.jumio_part(session, "DOCUMENT", "DOCUMENT")["deletes"] == 1
    assert [page.status for page in pipeline.ledger_pages(session)] == [PartStatus.DELETED]
    assert pipeline.audit_outcome(request_id) == "COMPLETED"
    assert pipeline.dead_letters() == []


@FAULTS
def test_delete_workflow_execution(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.capture(session, "ID", "FRONT.jpg", make_jpeg(800, 500))
    pipeline.arm(fault, "delete_workflow")

    request_id = pipeline.erase(scope="SESSION", workflowExecutionId=session.workflow_execution_id)

    assert pipeline.faults_spent()
    assert pipeline.jumio_execution(session)["deleted"] is True
    record = pipeline.ledger.get(session.workflow_execution_id)
    assert record is not None
    assert (record.status, record.erased) == (SessionStatus.DELETED, True)
    assert pipeline.audit_outcome(request_id) == "COMPLETED"
    assert pipeline.dead_letters() == []


@FAULTS
def test_delete_account(pipeline: Pipeline, fault: str) -> None:
    session = pipeline.register()
    pipeline.arm(fault, "delete_account")

    request_id = pipeline.erase(scope="ACCOUNT", accountId=session.account_id)

    assert pipeline.faults_spent()
    state = pipeline.simulator.admin.state()
    assert state["accounts"][session.account_id]["deleted"] is True
    record = pipeline.ledger.get(session.workflow_execution_id)
    assert record is not None
    assert (record.status, record.erased) == (SessionStatus.DELETED, True)
    assert pipeline.audit_outcome(request_id) == "COMPLETED"
    assert pipeline.dead_letters() == []
