"""The ledger: one DynamoDB table that records every session, every part and every outcome.

This module is the only code that knows the table's key layout and attribute names; the rest
of the pipeline sees :class:`SessionRecord` and :class:`PartRecord`. Conditional writes here
are what make the pipeline's effects happen once although every edge delivers at least once:
registering twice is a no-op, a part lands once in the completion set, and exactly one caller
wins the right to send the state machine's completion signal. A condition that does not hold
is an answer (``False``, ``None``, an outcome), never an exception.

Layout: ``pk`` = workflowExecutionId; ``sk`` = ``SESSION`` for the session item,
``PART#{credentialId}#{CLASSIFIER}`` (``...#DOCUMENT#{page}``) for part items; captures whose
key names no session live under ``pk = UNMATCHED``. docs/interfaces.md lists the attributes.
GSIs: ``byAccount`` (accountId) and ``byRetention``, a sparse index of the sessions whose data
is still kept (``retention = KEPT``, sorted by ``registeredAt``) that the daily retention run
queries, so it reads the sessions that are due and never those it keeps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.adapters.aws_errors import is_conditional_check_failure
from jumio_pipeline.adapters.dynamodb_pages import all_items
from jumio_pipeline.domain.errors import JumioThrottled, SessionDeleted
from jumio_pipeline.domain.session import Credential, PartId, Session
from jumio_pipeline.domain.session_state import (
    CallbackRecorded,
    PartEvidence,
    PartLanded,
    PartRecord,
    PartStatus,
    RegisterOutcome,
    SessionRecord,
    SessionStatus,
    StartClaim,
    StartState,
)
from jumio_pipeline.domain.session_view import PartView, Rejection, SessionView
from jumio_pipeline.domain.verdict import Decision, VerdictSource
from jumio_pipeline.domain.workflow_status import WorkflowStatus

SESSION_SK = "SESSION"
START_SK = "START"
REFERENCE_PREFIX = "REFERENCE#"
PACER_PK = "PACER"
ACCOUNT_SLOT_SK = "ACCOUNT_REQUESTS"
PACER_ATTEMPTS = 20
TTL_MARGIN_SECONDS = 86400  # DynamoDB deletes expired items within about a day
PART_PREFIX = "PART#"
UNMATCHED_PK = "UNMATCHED"
ACCOUNT_INDEX = "byAccount"
RETENTION_INDEX = "byRetention"
RETENTION_ATTRIBUTE = "retention"
KEPT = "KEPT"
# Written once the ledger holds no session item without the index attribute (see
# sessions_registered_before: items written before the index existed are backfilled).
RETENTION_INDEX_PK = "RETENTION"
RETENTION_INDEX_COMPLETE_SK = "INDEX_COMPLETE"

_EVIDENCE_ATTRIBUTES = {
    "bucket": "bucket",
    "key": "key",
    "version_id": "versionId",
    "etag": "eTag",
    "sequencer": "sequencer",
    "size_bytes": "bytes",
    "format": "format",
    "width": "width",
    "height": "height",
    "operation": "operation",
    "fingerprint": "fingerprint",
    "idempotency_key": "idempotencyKey",
    "field": "field",
}


def part_sort_key(part: PartId) -> str:
    """The sort key of a part item (one item per document page)."""
    suffix = f"#{part.page}" if part.page is not None else ""
    return f"{PART_PREFIX}{part.credential_id}#{part.classifier}{suffix}"


def _part_id(sort_key: str) -> PartId:
    """The part a sort key names (the inverse of :func:`part_sort_key`)."""
    fields = sort_key.removeprefix(PART_PREFIX).split("#")
    page = int(fields[2]) if len(fields) > 2 else None
    return PartId(fields[0], fields[1], page)


class Ledger:
    """DynamoDB adapter for sessions and parts; no Jumio and no S3 here."""

    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = aws_clients.dynamodb_table(table_name, resource)
        self._retention_index_complete = False

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
            "credentials": _credentials_item(session),
            "registeredAt": int(now),
            RETENTION_ATTRIBUTE: KEPT,
        }
        if session.required_parts:
            item["requiredParts"] = set(session.required_parts)
            item["pendingParts"] = set(session.required_parts)
        if session.reference:
            item["reference"] = session.reference
        if self._put_if_absent(item):
            return RegisterOutcome.NEW
        return self._replace_tokens_if_newer(session)

    def _replace_tokens_if_newer(self, session: Session) -> RegisterOutcome:
        replaced = self._update_if(
            session.workflow_execution_id,
            UpdateExpression="SET credentials = :c, tokenExpiresAt = :e, issuedAt = :i",
            ConditionExpression="issuedAt < :i AND #s = :registered",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":c": _credentials_item(session),
                ":e": session.token_expires_at,
                ":i": session.issued_at.isoformat(),
                ":registered": SessionStatus.REGISTERED.value,
            },
        )
        if replaced:
            return RegisterOutcome.TOKENS_REPLACED
        current = self.get(session.workflow_execution_id)
        if current is not None and current.status is not SessionStatus.REGISTERED:
            return RegisterOutcome.IGNORED_ENDED
        return RegisterOutcome.DUPLICATE

    def record_execution(self, workflow_execution_id: str, execution_arn: str) -> None:
        """Remember the state machine execution that follows the session."""
        self._table.update_item(
            Key=_session_key(workflow_execution_id),
            UpdateExpression="SET executionArn = :a",
            ExpressionAttributeValues={":a": execution_arn},
        )

    def remember_capture_key(self, workflow_execution_id: str, key: str) -> None:
        """Keep a capture key an erasure's prefix would miss (ids in another case)."""
        self._update_if(
            workflow_execution_id,
            UpdateExpression="ADD otherCaptureKeys :k",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":k": {key}},
        )

    def get(self, workflow_execution_id: str) -> SessionRecord | None:
        """The session as recorded now (strongly consistent), or None if never registered."""
        item = self._table.get_item(
            Key=_session_key(workflow_execution_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else _session_record(item)

    # --- parts ------------------------------------------------------------------------

    def get_part(self, workflow_execution_id: str, part: PartId) -> PartRecord | None:
        """The part's record, or None when nothing was recorded for it."""
        item = self._table.get_item(
            Key={"pk": workflow_execution_id, "sk": part_sort_key(part)}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _part_record(item)

    def parts(self, workflow_execution_id: str, of: PartId | None = None) -> list[PartRecord]:
        """Every part record of a session, or only those of one part (a document: its pages)."""
        prefix = (
            PART_PREFIX if of is None else part_sort_key(PartId(of.credential_id, of.classifier))
        )
        items = all_items(
            self._table.query,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :part)",
            ExpressionAttributeValues={":pk": workflow_execution_id, ":part": prefix},
            ConsistentRead=True,
        )
        return [_part_record(item) for item in items]

    def record_part_uploaded(
        self,
        workflow_execution_id: str,
        part: PartId,
        evidence: PartEvidence,
        *,
        now: float | None = None,
    ) -> PartLanded:
        """Record a part at Jumio and tell, from the same atomic update, whether all have landed."""
        now = time.time() if now is None else now
        # The session first, on the condition that it is not erased: a part landing while an
        # erasure runs must not leave a record behind the erasure's scrub.
        try:
            result = self._table.update_item(
                Key=_session_key(workflow_execution_id),
                UpdateExpression="DELETE pendingParts :p ADD landedParts :p SET lastPartAt = :now",
                ConditionExpression="attribute_exists(pk) AND #s <> :deleted",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":p": {part.ref},
                    ":now": int(now),
                    ":deleted": SessionStatus.DELETED.value,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_check_failure(exc):
                raise SessionDeleted(
                    f"workflow execution {workflow_execution_id} is unknown or erased"
                ) from None
            raise
        self._table.put_item(
            Item={
                **_part_key(workflow_execution_id, part),
                "status": PartStatus.UPLOADED.value,
                "updatedAt": int(now),
                **_evidence_attributes(evidence),
            }
        )
        pending = frozenset(result["Attributes"].get("pendingParts") or ())
        return PartLanded(all_landed=not pending, pending_parts=pending)

    def record_part_rejected(
        self,
        workflow_execution_id: str,
        part: PartId,
        *,
        reason: str,
        message: str,
        evidence: PartEvidence,
        now: float | None = None,
    ) -> bool:
        """Record why a version of a part was refused; True if it became the part's status.

        A part that landed stays landed: the refusal of a later version (a bad retake, invalid
        data racing a valid upload) is kept beside it as ``lastRejection``, never in its place,
        and the answer is False. Both writes are conditional, so no race can turn UPLOADED into
        REJECTED.
        """
        at = int(time.time() if now is None else now)
        for _ in range(3):
            try:
                self._table.put_item(
                    Item={
                        **_part_key(workflow_execution_id, part),
                        "status": PartStatus.REJECTED.value,
                        "reason": reason,
                        "message": message,
                        "updatedAt": at,
                        **_evidence_attributes(evidence),
                    },
                    ConditionExpression="attribute_not_exists(sk) OR #s <> :uploaded",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":uploaded": PartStatus.UPLOADED.value},
                )
                return True
            except ClientError as exc:
                if not is_conditional_check_failure(exc):
                    raise
            if self._note_beside_landed(workflow_execution_id, part, reason, message, evidence, at):
                return False
        raise RuntimeError("the part's record kept changing while a rejection was recorded")

    def _note_beside_landed(
        self,
        workflow_execution_id: str,
        part: PartId,
        reason: str,
        message: str,
        evidence: PartEvidence,
        at: int,
    ) -> bool:
        """``lastRejection`` on a landed part; False if it is not landed (any more)."""
        rejection = {"reason": reason, "message": message, "at": at}
        rejection.update(_evidence_attributes(evidence))
        try:
            self._table.update_item(
                Key={"pk": workflow_execution_id, "sk": part_sort_key(part)},
                UpdateExpression="SET lastRejection = :r",
                ConditionExpression="#s = :uploaded",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":r": rejection,
                    ":uploaded": PartStatus.UPLOADED.value,
                },
            )
        except ClientError as exc:
            if is_conditional_check_failure(exc):
                return False
            raise
        return True

    def record_unmatched(
        self,
        name: str,
        *,
        reason: str,
        message: str,
        evidence: PartEvidence,
        expires_at: int,
        now: float | None = None,
    ) -> None:
        """A capture whose key names no session part, under ``pk = UNMATCHED``; expires."""
        self._table.put_item(
            Item={
                "pk": UNMATCHED_PK,
                "sk": f"CAPTURE#{name}",
                "status": PartStatus.REJECTED.value,
                "reason": reason,
                "message": message,
                "updatedAt": int(time.time() if now is None else now),
                "expiresAt": expires_at,
                **_evidence_attributes(evidence),
            }
        )

    # --- documents ----------------------------------------------------------------------

    def take_document_lease(
        self, workflow_execution_id: str, credential_id: str, *, now: float, seconds: int
    ) -> int | None:
        """Hold the right to change this document at Jumio until ``now + seconds``; the end of
        the lease (to release it with), or None while another holder's lease runs."""
        until = int(now) + seconds
        taken = self._update_if(
            workflow_execution_id,
            UpdateExpression="SET #lease = :until",
            ConditionExpression="attribute_not_exists(#lease) OR #lease < :now",
            ExpressionAttributeNames={"#lease": _lease_attribute(credential_id)},
            ExpressionAttributeValues={":until": until, ":now": int(now)},
        )
        return until if taken else None

    def release_document_lease(
        self, workflow_execution_id: str, credential_id: str, until: int
    ) -> None:
        """Give the lease back, if it is still the one taken (it may have run out)."""
        self._update_if(
            workflow_execution_id,
            UpdateExpression="REMOVE #lease",
            ConditionExpression="#lease = :until",
            ExpressionAttributeNames={"#lease": _lease_attribute(credential_id)},
            ExpressionAttributeValues={":until": until},
        )

    # --- completion signal ------------------------------------------------------------

    def store_task_token(self, workflow_execution_id: str, task_token: str) -> bool:
        """Keep the wait state's task token; False when the session no longer waits.

        A claim on an earlier token is dropped: the wait that token belonged to is over (it
        timed out and is waiting again after a token renewal), so its signal can never land.
        """
        return self._update_if(
            workflow_execution_id,
            UpdateExpression="SET taskToken = :t REMOVE completionSignalledAt",
            ConditionExpression="attribute_exists(pk) AND #s = :registered",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":t": task_token,
                ":registered": SessionStatus.REGISTERED.value,
            },
        )

    def claim_completion_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None:
        """Win the right to send the completion signal: the task token, for exactly one caller.

        The condition is the whole race: every required part landed, the wait state stored its
        token, and nobody claimed before. Whichever of the two events comes second wins.
        """
        item = self._claim_once(
            workflow_execution_id,
            "completionSignalledAt",
            "attribute_not_exists(pendingParts) AND attribute_exists(taskToken)",
            now=now,
        )
        return None if item is None else item["taskToken"]

    def claim_parts_wait_end(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None:
        """Win the right to end the parts wait early (Jumio ended the execution): its token.

        The same claim as the completion signal, so the wait is ended once, by one of them.
        """
        item = self._claim_once(
            workflow_execution_id,
            "completionSignalledAt",
            "#s = :registered AND attribute_exists(taskToken)",
            now=now,
            names={"#s": "status"},
            values={":registered": SessionStatus.REGISTERED.value},
        )
        return None if item is None else item["taskToken"]

    def release_completion_claim(self, workflow_execution_id: str) -> None:
        """Undo a claim whose signal could not be sent, so that a retry can claim again."""
        self._table.update_item(
            Key=_session_key(workflow_execution_id),
            UpdateExpression="REMOVE completionSignalledAt",
        )

    # --- outcomes ---------------------------------------------------------------------

    def mark_finalizing(self, workflow_execution_id: str) -> SessionStatus | None:
        """Close the session to new parts before finalize; returns the status it had.

        None when the session is unknown. FINALIZED is returned unchanged, so a retried
        Finalize step can tell that Jumio already accepted the finalize.
        """
        closed = self._update_if(
            workflow_execution_id,
            UpdateExpression="SET #s = :finalizing",
            ConditionExpression="attribute_exists(pk) AND #s IN (:registered, :finalizing)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":finalizing": SessionStatus.FINALIZING.value,
                ":registered": SessionStatus.REGISTERED.value,
            },
        )
        if closed:
            return SessionStatus.FINALIZING
        current = self.get(workflow_execution_id)
        return None if current is None else current.status

    def record_outcome(
        self,
        workflow_execution_id: str,
        status: SessionStatus,
        *,
        error: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Record how the session ended, dropping the task token; False if it was erased.

        An erased session must stay erased: the write is refused over DELETED.
        """
        values: dict[str, Any] = {
            ":s": status.value,
            ":now": int(time.time() if now is None else now),
            ":deleted": SessionStatus.DELETED.value,
        }
        expression = "SET #s = :s, outcomeAt = :now"
        if error:
            expression += ", outcomeError = :e"
            values[":e"] = error
        return self._update_if(
            workflow_execution_id,
            UpdateExpression=f"{expression} REMOVE taskToken",
            ConditionExpression="attribute_exists(pk) AND #s <> :deleted",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )

    # --- verdict ----------------------------------------------------------------------

    def record_callback(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> CallbackRecorded:
        """Keep Jumio's callback (its status and when it came); the first one counts.

        A repeat with the same status is a duplicate; one with another status is kept aside as
        ``conflictingCallbackStatus`` (Jumio's order of delivery is not documented).
        """
        stamp = int(time.time() if now is None else now)
        first = self._update_if(
            workflow_execution_id,
            UpdateExpression="SET callbackStatus = :s, callbackReceivedAt = :now",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(callbackStatus)",
            ExpressionAttributeValues={":s": status.value, ":now": stamp},
        )
        if first:
            return CallbackRecorded.NEW
        record = self.get(workflow_execution_id)
        if record is None:
            return CallbackRecorded.UNKNOWN_SESSION
        if record.callback_status is status:
            return CallbackRecorded.DUPLICATE
        self._update_if(
            workflow_execution_id,
            UpdateExpression="SET conflictingCallbackStatus = :s",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":s": status.value},
        )
        return CallbackRecorded.CONFLICTING

    def store_verdict_token(self, workflow_execution_id: str, task_token: str) -> bool:
        """Keep the verdict wait's task token; False unless the session is finalized.

        A callback that already woke one wait does not wake the next (its claim stays): that
        wait ends on the poll schedule, so a stale or forged callback cannot loop the session.
        """
        return self._update_if(
            workflow_execution_id,
            UpdateExpression="SET verdictTaskToken = :t",
            ConditionExpression="attribute_exists(pk) AND #s = :finalized",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":t": task_token,
                ":finalized": SessionStatus.FINALIZED.value,
            },
        )

    def claim_verdict_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> tuple[str, WorkflowStatus] | None:
        """Win the right to wake the verdict wait: (task token, callback status), once.

        Whichever comes second of "the callback arrived" and "the wait stored its token" wins.
        """
        item = self._claim_once(
            workflow_execution_id,
            "verdictSignalledAt",
            "attribute_exists(callbackStatus) AND attribute_exists(verdictTaskToken)",
            now=now,
        )
        if item is None:
            return None
        return item["verdictTaskToken"], WorkflowStatus(item["callbackStatus"])

    def release_verdict_claim(self, workflow_execution_id: str) -> None:
        """Undo a claim whose signal could not be sent, so that a retry can claim again."""
        self._table.update_item(
            Key=_session_key(workflow_execution_id), UpdateExpression="REMOVE verdictSignalledAt"
        )

    def record_poll(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> None:
        """The status the last poll read, and when (an operator's view of a slow verdict)."""
        self._update_if(
            workflow_execution_id,
            UpdateExpression="SET lastPolledStatus = :s, lastPolledAt = :now ADD polls :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={
                ":s": status.value,
                ":now": int(time.time() if now is None else now),
                ":one": 1,
            },
        )

    def record_decision(
        self,
        workflow_execution_id: str,
        decision: Decision,
        source: VerdictSource,
        *,
        now: float | None = None,
    ) -> Decision | None:
        """Keep the decision once; returns the decision recorded (the first one), or None if
        the session is unknown or erased. Types and labels only: never extracted data."""
        stamp = int(time.time() if now is None else now)
        recorded = self._update_if(
            workflow_execution_id,
            UpdateExpression=(
                "SET decision = :d, decidedAt = :now, verdictSource = :src REMOVE verdictTaskToken"
            ),
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(decision) AND #s <> :deleted"
            ),
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":d": decision.as_record(),
                ":now": stamp,
                ":src": source.value,
                ":deleted": SessionStatus.DELETED.value,
            },
        )
        if recorded:
            return decision
        record = self.get(workflow_execution_id)
        if record is None or record.status is SessionStatus.DELETED:
            return None
        return record.decision

    def mark_verdict_published(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> bool:
        """Note that the verdict event went out; False if it had been noted already."""
        return self._update_if(
            workflow_execution_id,
            UpdateExpression="SET verdictPublishedAt = :now",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(verdictPublishedAt)",
            ExpressionAttributeValues={":now": int(time.time() if now is None else now)},
        )

    # --- starting sessions ------------------------------------------------------------

    def claim_start(
        self, reference: str, *, now: float, lease_seconds: int, uncertain_for: int
    ) -> StartClaim:
        """Take the right to create the account for ``reference``, or say why not.

        The claim is free when there is none, when the session it names has outlived its token,
        or when an uncertain create is old enough that whatever it created has expired unused
        (``uncertain_for``: the token's life). A claim whose holder went quiet (past its lease)
        is uncertain too: it may have sent the create.
        """
        stamp = int(now)
        item = {
            "pk": _reference_pk(reference),
            "sk": START_SK,
            "state": StartState.STARTING.value,
            "attemptAt": stamp,
            "leaseUntil": stamp + lease_seconds,
            "uncertainUntil": stamp + lease_seconds + uncertain_for,
            "expiresAt": stamp + lease_seconds + uncertain_for + TTL_MARGIN_SECONDS,
        }
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(pk) "
                    "OR (#st = :started AND tokenExpiresAt <= :now) "
                    "OR (#st <> :started AND uncertainUntil <= :now)"
                ),
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":started": StartState.STARTED.value, ":now": stamp},
            )
            return StartClaim(StartState.NEW)
        except ClientError as exc:
            if not is_conditional_check_failure(exc):
                raise
        held = self._table.get_item(
            Key={"pk": _reference_pk(reference), "sk": START_SK}, ConsistentRead=True
        ).get("Item")
        if held is None:  # released between the two calls: try once more
            return self.claim_start(
                reference, now=now, lease_seconds=lease_seconds, uncertain_for=uncertain_for
            )
        return _start_claim(held, stamp)

    def complete_start(self, reference: str, session: Session) -> None:
        """The session for ``reference`` exists: later starts answer it while its token lives."""
        self._table.put_item(
            Item={
                "pk": _reference_pk(reference),
                "sk": START_SK,
                "state": StartState.STARTED.value,
                "workflowExecutionId": session.workflow_execution_id,
                "accountId": session.account_id,
                "tokenExpiresAt": session.token_expires_at,
                "expiresAt": session.token_expires_at + TTL_MARGIN_SECONDS,
            }
        )

    def mark_start_uncertain(self, reference: str) -> None:
        """The create may have reached Jumio: no second create until ``uncertainUntil``."""
        self._table.update_item(
            Key={"pk": _reference_pk(reference), "sk": START_SK},
            UpdateExpression="SET #st = :uncertain",
            ConditionExpression="attribute_exists(pk) AND #st = :starting",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={
                ":uncertain": StartState.UNCERTAIN.value,
                ":starting": StartState.STARTING.value,
            },
        )

    def release_start(self, reference: str) -> None:
        """Nothing was created (Jumio refused, or nothing was sent): the reference is free."""
        self._table.delete_item(
            Key={"pk": _reference_pk(reference), "sk": START_SK},
            ConditionExpression="attribute_not_exists(pk) OR #st = :starting",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":starting": StartState.STARTING.value},
        )

    def take_account_slot(self, *, now: float, interval: float) -> float:
        """The time from which this caller may send an account create/update.

        Jumio allows the tenant one account request per second: every start, in any Lambda
        instance, reserves the next free second here (an optimistic, conditional update).
        """
        key = {"pk": PACER_PK, "sk": ACCOUNT_SLOT_SK}
        for _ in range(PACER_ATTEMPTS):
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            booked = None if item is None else item["nextSlot"]
            slot = max(now, float(booked)) if booked is not None else now
            try:
                self._table.put_item(
                    Item={**key, "nextSlot": _decimal(slot + interval)},
                    ConditionExpression=(
                        "attribute_not_exists(pk)" if booked is None else "nextSlot = :booked"
                    ),
                    **(
                        {} if booked is None else {"ExpressionAttributeValues": {":booked": booked}}
                    ),
                )
                return slot
            except ClientError as exc:
                if not is_conditional_check_failure(exc):
                    raise
        raise JumioThrottled(
            "account requests: the pacer stayed contended; try again",
            retry_after=1,
            operation="account_create",
        )

    # --- erasure ----------------------------------------------------------------------

    def close_for_erasure(self, workflow_execution_id: str, request_id: str) -> None:
        """Status DELETED before anything is erased: no part lands, no outcome overwrites it."""
        self._update_if(
            workflow_execution_id,
            UpdateExpression="SET #s = :deleted, deletionRequestId = :r",
            ConditionExpression="attribute_exists(pk) AND #s <> :deleted",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":deleted": SessionStatus.DELETED.value,
                ":r": request_id,
            },
        )

    def scrub_erased_session(
        self, workflow_execution_id: str, request_id: str, *, now: float | None = None
    ) -> bool:
        """Last step of an erasure: tokens and hrefs dropped, ``erasedAt`` set; False if done.

        The session item stays as a tombstone (ids, category names, status DELETED): it keeps
        a late capture or a replayed registration from bringing the session back.
        """
        record = self.get(workflow_execution_id)
        if record is None or record.erased:
            return False
        scrubbed = {
            credential_id: {"category": credential.category, "parts": {}}
            for credential_id, credential in record.session.credentials.items()
        }
        return self._update_if(
            workflow_execution_id,
            UpdateExpression=(
                "SET credentials = :c, erasedAt = :now, deletionRequestId = :r "
                "REMOVE taskToken, verdictTaskToken, pendingParts, landedParts, #retention"
            ),
            # Out of the retention index: nothing of the session is kept any more.
            ExpressionAttributeNames={"#retention": RETENTION_ATTRIBUTE},
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(erasedAt)",
            ExpressionAttributeValues={
                ":c": scrubbed,
                ":now": int(time.time() if now is None else now),
                ":r": request_id,
            },
        )

    def delete_part(self, workflow_execution_id: str, part: PartId) -> None:
        """Remove one part record."""
        self._table.delete_item(Key={"pk": workflow_execution_id, "sk": part_sort_key(part)})

    def leave_part_tombstone(
        self,
        workflow_execution_id: str,
        part: PartId,
        request_id: str,
        *,
        pending_again: bool,
        now: float | None = None,
    ) -> None:
        """An erased part of an open session: a DELETED record; a required part pending again."""
        self._table.put_item(
            Item={
                **_part_key(workflow_execution_id, part),
                "status": PartStatus.DELETED.value,
                "deletionRequestId": request_id,
                "updatedAt": int(time.time() if now is None else now),
            }
        )
        if not pending_again:
            return
        self._update_if(
            workflow_execution_id,
            UpdateExpression="ADD pendingParts :p DELETE landedParts :p",
            ConditionExpression="#s = :registered",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":p": {part.ref},
                ":registered": SessionStatus.REGISTERED.value,
            },
        )

    def sessions_of_account(self, account_id: str) -> list[str]:
        """Every session of an account, through the byAccount GSI (keys only, paginated)."""
        items = all_items(
            self._table.query,
            IndexName=ACCOUNT_INDEX,
            KeyConditionExpression="accountId = :a",
            ExpressionAttributeValues={":a": account_id},
        )
        return sorted({item["pk"] for item in items if item["sk"] == SESSION_SK})

    def sessions_registered_before(self, cutoff: int) -> list[str]:
        """Ids of sessions registered before ``cutoff`` (epoch s) and not yet fully erased.

        One Query of the sparse ``byRetention`` index: its partition holds only the sessions
        whose data is still kept (the erasure's scrub removes the attribute), sorted by
        ``registeredAt``, so the key condition ``registeredAt < cutoff`` reads exactly the due
        sessions, however many younger ones are kept and however many tombstones the ledger
        holds. Half-erased sessions (DELETED without ``erasedAt``) are still in it, and are
        selected again to be finished.

        Session items written before the index existed lack the attribute: until the ledger
        records that none is left, the run also Scans for them once, puts them in the index and
        selects the due ones among them (see :meth:`_backfill_retention_index`).
        """
        items = all_items(
            self._table.query,
            IndexName=RETENTION_INDEX,
            KeyConditionExpression="#retention = :kept AND registeredAt < :cutoff",
            ExpressionAttributeNames={"#retention": RETENTION_ATTRIBUTE},
            ExpressionAttributeValues={":kept": KEPT, ":cutoff": cutoff},
        )
        due = {item["pk"] for item in items}
        if not self._retention_index_is_complete():
            due |= self._backfill_retention_index(cutoff)
        return sorted(due)

    def _retention_index_is_complete(self) -> bool:
        if not self._retention_index_complete:
            marker = self._table.get_item(
                Key={"pk": RETENTION_INDEX_PK, "sk": RETENTION_INDEX_COMPLETE_SK},
                ConsistentRead=True,
            ).get("Item")
            self._retention_index_complete = marker is not None
        return self._retention_index_complete

    def _backfill_retention_index(self, cutoff: int) -> set[str]:
        """Once: every session item kept but not in the index is put in it; the due ones among
        them are returned (the index may not show them yet: GSIs are eventually consistent).

        A Scan of the whole ledger, as every run did before the index: it runs on each daily
        run until one finishes (the updates are conditional and idempotent, so an interrupted
        pass loses nothing), then the marker item ends it for good.
        """
        items = all_items(
            self._table.scan,
            FilterExpression=(
                "sk = :session AND attribute_exists(registeredAt) "
                "AND attribute_not_exists(#retention) AND attribute_not_exists(erasedAt)"
            ),
            ProjectionExpression="pk, registeredAt",
            ExpressionAttributeNames={"#retention": RETENTION_ATTRIBUTE},
            ExpressionAttributeValues={":session": SESSION_SK},
        )
        due: set[str] = set()
        for item in items:
            kept = self._update_if(
                item["pk"],
                UpdateExpression="SET #retention = :kept",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(erasedAt)",
                ExpressionAttributeNames={"#retention": RETENTION_ATTRIBUTE},
                ExpressionAttributeValues={":kept": KEPT},
            )
            if kept and int(item["registeredAt"]) < cutoff:
                due.add(item["pk"])
        self._table.put_item(
            Item={
                "pk": RETENTION_INDEX_PK,
                "sk": RETENTION_INDEX_COMPLETE_SK,
                "completedAt": int(time.time()),
            }
        )
        self._retention_index_complete = True
        return due

    # --- operators' reads (the ops CLI; the pipeline decides on SessionRecord) ---------------

    def view(self, workflow_execution_id: str) -> SessionView | None:
        """The session with its timeline and verdict bookkeeping, or None if never registered."""
        item = self._table.get_item(
            Key=_session_key(workflow_execution_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else _session_view(item)

    def part_views(self, workflow_execution_id: str) -> list[PartView]:
        """Every part of a session with when it changed and the refusal kept beside it."""
        items = all_items(
            self._table.query,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :part)",
            ExpressionAttributeValues={":pk": workflow_execution_id, ":part": PART_PREFIX},
            ConsistentRead=True,
        )
        return [_part_view(item) for item in items]

    def session_views(self, statuses: Iterable[SessionStatus]) -> list[SessionView]:
        """Every session in one of ``statuses``: a paginated Scan, for an operator's question
        (which sessions are stuck), never on the pipeline's path."""
        wanted = sorted({status.value for status in statuses})
        names = {f":s{index}": value for index, value in enumerate(wanted)}
        items = all_items(
            self._table.scan,
            FilterExpression=f"sk = :session AND #s IN ({', '.join(names)})",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":session": SESSION_SK, **names},
        )
        return [_session_view(item) for item in items]

    def sessions_with_reference(self, reference: str) -> list[str]:
        """Ids of the sessions whose item carries ``reference`` (a paginated Scan): a session
        registered from the sessions queue has no reference claim to look it up by."""
        items = all_items(
            self._table.scan,
            FilterExpression="sk = :session AND #r = :r",
            ProjectionExpression="pk",
            ExpressionAttributeNames={"#r": "reference"},
            ExpressionAttributeValues={":session": SESSION_SK, ":r": reference},
        )
        return sorted(item["pk"] for item in items)

    def start_claim(self, reference: str, *, now: float | None = None) -> StartClaim | None:
        """The claim a start by ``reference`` left, read as ``claim_start`` reads it; None if
        the reference was never started (or its claim expired)."""
        held = self._table.get_item(
            Key={"pk": _reference_pk(reference), "sk": START_SK}, ConsistentRead=True
        ).get("Item")
        stamp = int(time.time() if now is None else now)
        return None if held is None else _start_claim(held, stamp)

    # --- conditional writes -----------------------------------------------------------

    def _put_if_absent(self, item: dict[str, Any]) -> bool:
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if is_conditional_check_failure(exc):
                return False
            raise
        return True

    def _claim_once(
        self,
        workflow_execution_id: str,
        stamp: str,
        condition: str,
        *,
        now: float | None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Set ``stamp`` once, when ``condition`` holds: the session item after, or None.

        A once-only claim: whoever sets the stamp first owns what the item holds (a task token).
        """
        try:
            result = self._table.update_item(
                Key=_session_key(workflow_execution_id),
                UpdateExpression=f"SET {stamp} = :now",
                ConditionExpression=(
                    f"attribute_exists(pk) AND {condition} AND attribute_not_exists({stamp})"
                ),
                ExpressionAttributeValues={
                    ":now": int(time.time() if now is None else now),
                    **(values or {}),
                },
                **({"ExpressionAttributeNames": names} if names else {}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_check_failure(exc):
                return None
            raise
        return result["Attributes"]

    def _update_if(self, workflow_execution_id: str, **update: Any) -> bool:
        """A conditional update of the session item; False when its condition did not hold."""
        try:
            self._table.update_item(Key=_session_key(workflow_execution_id), **update)
        except ClientError as exc:
            if is_conditional_check_failure(exc):
                return False
            raise
        return True


# --- items <-> domain ------------------------------------------------------------------------


def _lease_attribute(credential_id: str) -> str:
    return f"documentLease#{credential_id}"


def _reference_pk(reference: str) -> str:
    return f"{REFERENCE_PREFIX}{reference}"


def _start_claim(held: dict[str, Any], stamp: int) -> StartClaim:
    """What a reference's claim item says at ``stamp``: a holder past its lease is uncertain."""
    state = StartState(held["state"])
    if state is StartState.STARTED:
        return StartClaim(
            StartState.STARTED,
            workflow_execution_id=held["workflowExecutionId"],
            account_id=held["accountId"],
            token_expires_at=int(held["tokenExpiresAt"]),
        )
    if state is StartState.STARTING and int(held["leaseUntil"]) > stamp:
        return StartClaim(
            StartState.STARTING, retry_after_seconds=max(1, int(held["leaseUntil"]) - stamp)
        )
    return StartClaim(
        StartState.UNCERTAIN,
        retry_after_seconds=max(1, int(held["uncertainUntil"]) - stamp),
    )


def _decimal(value: float) -> Decimal:
    """A float as DynamoDB stores it (milliseconds are enough for a pacer)."""
    return Decimal(str(round(value, 3)))


def _session_key(workflow_execution_id: str) -> dict[str, str]:
    return {"pk": workflow_execution_id, "sk": SESSION_SK}


def _part_key(workflow_execution_id: str, part: PartId) -> dict[str, str]:
    return {
        "pk": workflow_execution_id,
        "sk": part_sort_key(part),
        "credentialId": part.credential_id,
    }


def _credentials_item(session: Session) -> dict[str, Any]:
    """The credentials map as stored: category, token, part hrefs, execution href."""
    stored: dict[str, Any] = {}
    for credential_id, credential in session.credentials.items():
        item: dict[str, Any] = {"category": credential.category, "parts": dict(credential.parts)}
        if credential.token:
            item["token"] = credential.token
        if credential.workflow_execution_href:
            item["workflowExecutionHref"] = credential.workflow_execution_href
        stored[credential_id] = item
    return stored


def _evidence_attributes(evidence: PartEvidence) -> dict[str, Any]:
    values = {
        attribute: getattr(evidence, name) for name, attribute in _EVIDENCE_ATTRIBUTES.items()
    }
    return {attribute: value for attribute, value in values.items() if value is not None}


def _session_record(item: dict[str, Any]) -> SessionRecord:
    credentials = {
        credential_id: Credential(
            id=credential_id,
            category=stored["category"],
            token=stored.get("token"),
            parts=dict(stored.get("parts") or {}),
            workflow_execution_href=stored.get("workflowExecutionHref"),
        )
        for credential_id, stored in item["credentials"].items()
    }
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
        erased="erasedAt" in item,
        other_capture_keys=frozenset(item.get("otherCaptureKeys") or ()),
        callback_status=_workflow_status(item.get("callbackStatus")),
        decision=Decision.from_record(item["decision"]) if "decision" in item else None,
        verdict_source=_verdict_source(item.get("verdictSource")),
        verdict_published="verdictPublishedAt" in item,
        finalized_at=_int(item.get("outcomeAt")) if item["status"] == "FINALIZED" else None,
        decided_at=_int(item.get("decidedAt")),
    )


def _workflow_status(value: Any) -> WorkflowStatus | None:
    return None if value is None else WorkflowStatus(value)


def _verdict_source(value: Any) -> VerdictSource | None:
    return None if value is None else VerdictSource(value)


def _part_record(item: dict[str, Any]) -> PartRecord:
    return PartRecord(
        part=_part_id(item["sk"]),
        status=PartStatus(item["status"]),
        bucket=item.get("bucket"),
        key=item.get("key"),
        version_id=item.get("versionId"),
        etag=item.get("eTag"),
        sequencer=item.get("sequencer"),
        fingerprint=item.get("fingerprint"),
        idempotency_key=item.get("idempotencyKey"),
        reason=item.get("reason"),
        size_bytes=_int(item.get("bytes")),
        format=item.get("format"),
        width=_int(item.get("width")),
        height=_int(item.get("height")),
    )


def _session_view(item: dict[str, Any]) -> SessionView:
    return SessionView(
        record=_session_record(item),
        registered_at=_int(item.get("registeredAt")),
        last_part_at=_int(item.get("lastPartAt")),
        outcome_at=_int(item.get("outcomeAt")),
        outcome_error=item.get("outcomeError"),
        callback_received_at=_int(item.get("callbackReceivedAt")),
        conflicting_callback_status=item.get("conflictingCallbackStatus"),
        last_polled_status=item.get("lastPolledStatus"),
        last_polled_at=_int(item.get("lastPolledAt")),
        polls=_int(item.get("polls")) or 0,
        verdict_published_at=_int(item.get("verdictPublishedAt")),
        erased_at=_int(item.get("erasedAt")),
        deletion_request_id=item.get("deletionRequestId"),
    )


def _part_view(item: dict[str, Any]) -> PartView:
    rejection = item.get("lastRejection")
    return PartView(
        record=_part_record(item),
        updated_at=_int(item.get("updatedAt")),
        field=item.get("field"),
        last_rejection=(
            Rejection(
                reason=rejection["reason"],
                at=_int(rejection.get("at")),
                field=rejection.get("field"),
            )
            if rejection
            else None
        ),
    )


def _int(value: Any) -> int | None:
    """DynamoDB numbers come back as Decimal."""
    return None if value is None else int(value)
