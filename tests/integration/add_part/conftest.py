"""Fixtures for capture ingestion: a small capture toolkit over the shared stack.

Captures go in through real S3 PutObject, so moto's bucket notification puts the real event on
the capture queue; the poller then runs the real add_part handler against the simulator.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import Session


@dataclass
class Captures:
    """Puts captures, drains add_part and reads back what the pipeline recorded."""

    stack: Any
    poller: Any
    simulator: Any

    def __post_init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.bucket = self.stack.physical("CapturesBucket")
        self.queue_url = self.stack.physical("CaptureEventsQueue")
        self.dlq_url = self.stack.physical("CaptureEventsDLQ")
        self.ledger = Ledger(self.stack.physical("LedgerTable"))
        # The stored items themselves, for assertions on what the ledger wrote.
        self.table = boto3.resource("dynamodb").Table(self.stack.physical("LedgerTable"))
        self.idempotency_table = boto3.resource("dynamodb").Table(
            self.stack.physical("IdempotencyTable")
        )

    def register(self, workflow_key: int = 10013, **options: Any) -> Session:
        """A Jumio account at the simulator, registered in the ledger."""
        session = parse_registration(self.simulator.create_account(workflow_key, **options))
        self.ledger.register(session)
        self.simulator.admin.clear_requests()  # the log then shows only what add_part sent
        return session

    def put(self, key: str, data: bytes) -> str:
        """PutObject; returns the new version id."""
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)["VersionId"]

    def drain(self, **options: Any) -> Any:
        return self.poller.drain("AddPartFunction", **options)

    def tag(self, key: str, version_id: str) -> dict[str, str]:
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key, VersionId=version_id)
        return {t["Key"]: t["Value"] for t in tags["TagSet"]}

    def dlq_messages(self) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])

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

    def take_event_body(self) -> str:
        """The body of the next S3 event on the queue, left on the queue (visible again)."""
        for _ in range(5):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            for message in messages:
                if '"Records"' in message["Body"]:
                    return message["Body"]
        raise AssertionError("no S3 event on the capture queue")

    def send(self, body: str | dict[str, Any]) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text)

    def part(self, session: Session, sort_key: str) -> dict[str, Any] | None:
        """The stored part item (attributes as docs/interfaces.md lists them)."""
        key = {"pk": session.workflow_execution_id, "sk": sort_key}
        return self.table.get_item(Key=key, ConsistentRead=True).get("Item")

    def jumio_parts(self, session: Session, credential_id: str) -> dict[str, Any]:
        state = self.simulator.admin.state()
        workflow = state["workflowExecutions"][session.workflow_execution_id]
        return workflow["credentials"][credential_id]

    def drain_until(self, predicate: Any, *, limit_seconds: float = 15.0) -> None:
        """Drain repeatedly until ``predicate()`` holds (delayed requeues become visible)."""
        deadline = time.monotonic() + limit_seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the capture was not delivered in time")
            self.drain(until_empty=False, max_rounds=1)
            time.sleep(0.2)


@pytest.fixture
def captures(stack, poller, simulator) -> Captures:
    return Captures(stack=stack, poller=poller, simulator=simulator)


def credential_of(session: Session, category: str) -> str:
    """The id of the session's credential of ``category`` (ID, SELFIE, DOCUMENT, ...)."""
    credential = session.credential_of_category(category)
    assert credential is not None, f"the account has no {category} credential"
    return credential.id


def capture_key(session: Session, category: str, name: str) -> str:
    """captures/{workflowExecutionId}/{credentialId}/{name}."""
    return f"captures/{session.workflow_execution_id}/{credential_of(session, category)}/{name}"
