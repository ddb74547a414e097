"""The ledger: one DynamoDB table that records every session, every part and every outcome.

Conditional writes here are what make the pipeline's effects happen once although every edge
delivers at least once: registering twice is a no-op, a part lands once in the completion set,
and exactly one caller wins the right to send the state machine's completion signal.

Layout (docs/interfaces.md): ``pk`` = workflowExecutionId; ``sk`` = ``SESSION`` for the session
item, ``PART#{credentialId}#{CLASSIFIER}`` (``...#DOCUMENT#{page}``) for part items.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import boto3
from botocore.exceptions import ClientError

from jumio_pipeline.dynamodb_pages import all_items
from jumio_pipeline.session import Credential, Session

SESSION_SK = "SESSION"


class SessionStatus(StrEnum):
    """Where a session stands; only REGISTERED sessions accept parts."""

    REGISTERED = "REGISTERED"
    FINALIZING = "FINALIZING"
    FINALIZED = "FINALIZED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    DELETED = "DELETED"


class PartStatus(StrEnum):
    """A part item's state; DELETED is the tombstone an erasure request leaves."""

    UPLOADED = "UPLOADED"
    REJECTED = "REJECTED"
    DELETED = "DELETED"


class RegisterOutcome(StrEnum):
    NEW = "NEW"
    DUPLICATE = "DUPLICATE"
    TOKENS_REPLACED = "TOKENS_REPLACED"
    IGNORED_ENDED = "IGNORED_ENDED"


@dataclass(frozen=True)
class SessionRecord:
    """A session as stored, with the ledger's own bookkeeping beside the Jumio data."""

    session: Session
    status: SessionStatus
    pending_parts: frozenset[str]
    has_task_token: bool
    completion_signalled: bool
    execution_arn: str | None
    registered_at: int

    @property
    def accepts_parts(self) -> bool:
        return self.status is SessionStatus.REGISTERED


@dataclass(frozen=True)
class PartLanded:
    """What recording a landed part tells the caller, read atomically from the same write."""

    all_landed: bool
    pending_parts: frozenset[str]


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Ledger:
    """DynamoDB adapter for sessions and parts; no Jumio and no S3 here."""

    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    @property
    def table(self) -> Any:
        """The boto3 Table, for adapters that extend the ledger (deletion) in their own module."""
        return self._table

    # --- sessions ---------------------------------------------------------------------

    def register(self, session: Session, *, now: float | None = None) -> RegisterOutcome:
        """Record a session once; a newer response for the same execution replaces its tokens."""
        now = time.time() if now is None else now
        item: dict[str, Any] = {
            "pk": session.workflow_execution_id,
            "sk": SESSION_SK,
            "accountId": session.account_id,
            "status": SessionStatus.REGISTERED.value,
            "issuedAt": session.issued_at.isoformat(),
            "tokenExpiresAt": session.token_expires_at,
            "credentials": {cid: c.to_item() for cid, c in session.credentials.items()},
            "registeredAt": int(now),
        }
        if session.required_parts:
            item["requiredParts"] = set(session.required_parts)
            item["pendingParts"] = set(session.required_parts)
        if session.reference:
            item["reference"] = session.reference
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return RegisterOutcome.NEW
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        return self._replace_tokens_if_newer(session)

    def _replace_tokens_if_newer(self, session: Session) -> RegisterOutcome:
        try:
            self._table.update_item(
                Key={"pk": session.workflow_execution_id, "sk": SESSION_SK},
                UpdateExpression="SET credentials = :c, tokenExpiresAt = :e, issuedAt = :i",
                ConditionExpression="issuedAt < :i AND #s = :registered",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":c": {cid: c.to_item() for cid, c in session.credentials.items()},
                    ":e": session.token_expires_at,
                    ":i": session.issued_at.isoformat(),
                    ":registered": SessionStatus.REGISTERED.value,
                },
            )
            return RegisterOutcome.TOKENS_REPLACED
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        current = self.get(session.workflow_execution_id)
        if current is not None and current.status is not SessionStatus.REGISTERED:
            return RegisterOutcome.IGNORED_ENDED
        return RegisterOutcome.DUPLICATE

    def record_execution(self, workflow_execution_id: str, execution_arn: str) -> None:
        self._table.update_item(
            Key={"pk": workflow_execution_id, "sk": SESSION_SK},
            UpdateExpression="SET executionArn = :a",
            ExpressionAttributeValues={":a": execution_arn},
        )

    def get(self, workflow_execution_id: str) -> SessionRecord | None:
        item = self._table.get_item(
            Key={"pk": workflow_execution_id, "sk": SESSION_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _record_from_item(item)

    # --- parts ------------------------------------------------------------------------

    def record_part_uploaded(
        self,
        workflow_execution_id: str,
        part: str,
        sort_key: str,
        *,
        details: dict[str, Any],
        now: float | None = None,
    ) -> PartLanded:
        """Record a part at Jumio and tell, from the same atomic update, whether all have landed."""
        now = time.time() if now is None else now
        self._table.put_item(
            Item={
                "pk": workflow_execution_id,
                "sk": sort_key,
                "status": PartStatus.UPLOADED.value,
                "updatedAt": int(now),
                **details,
            }
        )
        result = self._table.update_item(
            Key={"pk": workflow_execution_id, "sk": SESSION_SK},
            UpdateExpression="DELETE pendingParts :p ADD landedParts :p SET lastPartAt = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":p": {part}, ":now": int(now)},
            ReturnValues="ALL_NEW",
        )
        pending = frozenset(result["Attributes"].get("pendingParts") or ())
        return PartLanded(all_landed=not pending, pending_parts=pending)

    def record_part_rejected(
        self,
        workflow_execution_id: str,
        sort_key: str,
        *,
        reason: str,
        message: str,
        details: dict[str, Any],
        now: float | None = None,
    ) -> None:
        """Record why a part was refused; a later valid retake overwrites it."""
        self._table.put_item(
            Item={
                "pk": workflow_execution_id,
                "sk": sort_key,
                "status": PartStatus.REJECTED.value,
                "reason": reason,
                "message": message,
                "updatedAt": int(time.time() if now is None else now),
                **details,
            }
        )

    def get_part(self, workflow_execution_id: str, sort_key: str) -> dict[str, Any] | None:
        return self._table.get_item(
            Key={"pk": workflow_execution_id, "sk": sort_key}, ConsistentRead=True
        ).get("Item")

    def parts(self, workflow_execution_id: str) -> list[dict[str, Any]]:
        """Every part item of a session (for operators, the demo and deletion)."""
        return list(
            all_items(
                self._table.query,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :part)",
                ExpressionAttributeValues={":pk": workflow_execution_id, ":part": "PART#"},
                ConsistentRead=True,
            )
        )

    # --- completion signal ------------------------------------------------------------

    def store_task_token(self, workflow_execution_id: str, task_token: str) -> bool:
        """Keep the wait state's task token; False when the session no longer waits.

        A claim on an earlier token is dropped: the wait that token belonged to is over (it
        timed out and is waiting again after a token renewal), so its signal can never land.
        """
        try:
            self._table.update_item(
                Key={"pk": workflow_execution_id, "sk": SESSION_SK},
                UpdateExpression="SET taskToken = :t REMOVE completionSignalledAt",
                ConditionExpression="attribute_exists(pk) AND #s = :registered",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":t": task_token,
                    ":registered": SessionStatus.REGISTERED.value,
                },
            )
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def claim_completion_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None:
        """Win the right to send the completion signal: the task token, for exactly one caller.

        The condition is the whole race: every required part landed, the wait state stored its
        token, and nobody claimed before. Whichever of the two events comes second wins.
        """
        try:
            result = self._table.update_item(
                Key={"pk": workflow_execution_id, "sk": SESSION_SK},
                UpdateExpression="SET completionSignalledAt = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(pendingParts) "
                    "AND attribute_exists(taskToken) AND attribute_not_exists(completionSignalledAt)"
                ),
                ExpressionAttributeValues={":now": int(time.time() if now is None else now)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        return result["Attributes"]["taskToken"]

    def release_completion_claim(self, workflow_execution_id: str) -> None:
        """Undo a claim whose signal could not be sent, so that a retry can claim again."""
        self._table.update_item(
            Key={"pk": workflow_execution_id, "sk": SESSION_SK},
            UpdateExpression="REMOVE completionSignalledAt",
        )

    # --- outcomes ---------------------------------------------------------------------

    def mark_finalizing(self, workflow_execution_id: str) -> SessionStatus | None:
        """Close the session to new parts before finalize; returns the status it had.

        None when the session is unknown. FINALIZED is returned unchanged, so a retried
        Finalize step can tell that Jumio already accepted the finalize.
        """
        try:
            self._table.update_item(
                Key={"pk": workflow_execution_id, "sk": SESSION_SK},
                UpdateExpression="SET #s = :finalizing",
                ConditionExpression="attribute_exists(pk) AND #s IN (:registered, :finalizing)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":finalizing": SessionStatus.FINALIZING.value,
                    ":registered": SessionStatus.REGISTERED.value,
                },
            )
            return SessionStatus.FINALIZING
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        current = self.get(workflow_execution_id)
        return None if current is None else current.status

    def record_outcome(
        self,
        workflow_execution_id: str,
        status: SessionStatus,
        *,
        error: str | None = None,
        now: float | None = None,
    ) -> None:
        """Record how the session ended; the task token is no use any more and is dropped."""
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":s": status.value,
            ":now": int(time.time() if now is None else now),
        }
        expression = "SET #s = :s, outcomeAt = :now"
        if error:
            expression += ", outcomeError = :e"
            values[":e"] = error
        self._table.update_item(
            Key={"pk": workflow_execution_id, "sk": SESSION_SK},
            UpdateExpression=f"{expression} REMOVE taskToken",
            ConditionExpression="attribute_exists(pk) AND #s <> :deleted",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":deleted": SessionStatus.DELETED.value},
        )


def _record_from_item(item: dict[str, Any]) -> SessionRecord:
    from datetime import datetime

    credentials = {cid: Credential.from_item(cid, c) for cid, c in item["credentials"].items()}
    session = Session(
        account_id=item["accountId"],
        workflow_execution_id=item["pk"],
        credentials=credentials,
        required_parts=frozenset(item.get("requiredParts") or ()),
        issued_at=datetime.fromisoformat(item["issuedAt"]),
        token_expires_at=int(item["tokenExpiresAt"]),
        reference=item.get("reference"),
    )
    return SessionRecord(
        session=session,
        status=SessionStatus(item["status"]),
        pending_parts=frozenset(item.get("pendingParts") or ()),
        has_task_token="taskToken" in item,
        completion_signalled="completionSignalledAt" in item,
        execution_arn=item.get("executionArn"),
        registered_at=int(item.get("registeredAt", 0)),
    )
