"""In-memory stand-ins for the ports in ``jumio_pipeline.services.ports``, for fast service tests.

Each fake keeps the semantics of the adapter it stands for (``jumio_pipeline.adapters``), so
a service test here means what it would mean in Lambda: conditions that do not hold are
answers (False, None, an outcome), never exceptions, exactly where the adapter says so.
``tests/unit/services/contracts/`` runs the same scenarios against :class:`InMemoryLedger`
and the DynamoDB ``Ledger``, and against :class:`InMemoryRunOnce` and the Powertools
``RunOnce`` (both on moto), so the fakes cannot drift from the adapters.

Unlike moto, every ledger method runs under one lock: a race between threads is decided by
the same conditions DynamoDB checks atomically, truly atomically.

Where the fakes record what they were given (Jumio calls, DLQ messages, metrics), they do so
for the tests to assert on; they hold ids and bytes in memory only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import jmespath
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore.exceptions import ClientError

from jumio_pipeline.adapters.idempotency import capture_idempotency_ids, idempotency_record_id
from jumio_pipeline.adapters.ledger import TTL_MARGIN_SECONDS
from jumio_pipeline.domain.capture_identity import ObjectVersion
from jumio_pipeline.domain.erasure_report import AuditOutcome, ErasureReport
from jumio_pipeline.domain.errors import (
    ErasureIncomplete,
    FingerprintKeyUnavailable,
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioRejected,
    JumioThrottled,
    JumioUnavailable,
    SessionDeleted,
)
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
from jumio_pipeline.domain.verdict import Decision, VerdictSource
from jumio_pipeline.domain.workflow_status import WorkflowStatus

Clock = Callable[[], float]


class FakeClock:
    """A clock that moves only when told to: ``clock()`` is the time, ``advance`` moves it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """A sleep that waits for nothing: it records each wait and moves the clock by it."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._clock.advance(seconds)


# --- the ledger ------------------------------------------------------------------------------

_PART_PREFIX = "PART#"
# PartEvidence field -> the attribute name the DynamoDB ledger stores it under.
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


def _sort_key(part: PartId) -> str:
    """The ledger's sort key of a part (one per document page), as the adapter builds it."""
    suffix = f"#{part.page}" if part.page is not None else ""
    return f"{_PART_PREFIX}{part.credential_id}#{part.classifier}{suffix}"


def _part_of(sort_key: str) -> PartId:
    fields = sort_key.removeprefix(_PART_PREFIX).split("#")
    return PartId(fields[0], fields[1], int(fields[2]) if len(fields) > 2 else None)


def _evidence(evidence: PartEvidence) -> dict[str, Any]:
    values = {attr: getattr(evidence, name) for name, attr in _EVIDENCE_ATTRIBUTES.items()}
    return {attr: value for attr, value in values.items() if value is not None}


def _as_stored(session: Session) -> Session:
    """The session as it reads back from the table: empty tokens, hrefs and references dropped."""
    credentials = {
        credential_id: Credential(
            id=credential_id,
            category=credential.category,
            token=credential.token or None,
            parts=dict(credential.parts),
            workflow_execution_href=credential.workflow_execution_href or None,
        )
        for credential_id, credential in session.credentials.items()
    }
    return Session(
        account_id=session.account_id,
        workflow_execution_id=session.workflow_execution_id,
        credentials=credentials,
        required_parts=frozenset(session.required_parts),
        issued_at=datetime.fromisoformat(session.issued_at.isoformat()),
        token_expires_at=int(session.token_expires_at),
        reference=session.reference or None,
    )


def _conditional_check_failed(operation: str) -> ClientError:
    """The error DynamoDB raises where the adapter lets a failed condition through."""
    return ClientError(
        {
            "Error": {
                "Code": "ConditionalCheckFailedException",
                "Message": "The conditional request failed",
            }
        },
        operation,
    )


@dataclass
class _SessionItem:
    """The session item's attributes (``sk = SESSION``) under their meaning, not their names."""

    session: Session
    status: SessionStatus
    issued_at: str  # isoformat: the adapter's condition compares the strings
    registered_at: int
    pending: set[str]  # pendingParts; empty = attribute absent
    landed: set[str] = field(default_factory=set)
    task_token: str | None = None
    signalled_at: int | None = None
    execution_arn: str | None = None
    erased_at: int | None = None
    deletion_request_id: str | None = None
    outcome_at: int | None = None
    outcome_error: str | None = None
    last_part_at: int | None = None
    other_capture_keys: set[str] = field(default_factory=set)
    document_leases: dict[str, int] = field(default_factory=dict)
    # The verdict's bookkeeping (the adapter's "# --- verdict ---" attributes).
    callback_status: WorkflowStatus | None = None
    callback_received_at: int | None = None
    conflicting_callback_status: WorkflowStatus | None = None
    verdict_task_token: str | None = None
    verdict_signalled_at: int | None = None
    last_polled_status: WorkflowStatus | None = None
    last_polled_at: int | None = None
    polls: int | None = None
    decision: dict[str, Any] | None = None  # as stored: Decision.as_record()
    decided_at: int | None = None
    verdict_source: VerdictSource | None = None
    verdict_published_at: int | None = None

    def record(self) -> SessionRecord:
        return SessionRecord(
            session=self.session,
            status=self.status,
            pending_parts=frozenset(self.pending),
            has_task_token=self.task_token is not None,
            completion_signalled=self.signalled_at is not None,
            execution_arn=self.execution_arn,
            erased=self.erased_at is not None,
            other_capture_keys=frozenset(self.other_capture_keys),
            callback_status=self.callback_status,
            decision=None if self.decision is None else Decision.from_record(self.decision),
            verdict_source=self.verdict_source,
            verdict_published=self.verdict_published_at is not None,
            finalized_at=self.outcome_at if self.status is SessionStatus.FINALIZED else None,
            decided_at=self.decided_at,
        )

    def verdict_attributes(self) -> dict[str, Any]:
        """The verdict attributes present, under the adapter's names and as it stores them."""
        values = {
            "callbackStatus": self.callback_status,
            "callbackReceivedAt": self.callback_received_at,
            "conflictingCallbackStatus": self.conflicting_callback_status,
            "verdictTaskToken": self.verdict_task_token,
            "verdictSignalledAt": self.verdict_signalled_at,
            "lastPolledStatus": self.last_polled_status,
            "lastPolledAt": self.last_polled_at,
            "polls": self.polls,
            "decision": self.decision,
            "decidedAt": self.decided_at,
            "verdictSource": self.verdict_source,
            "verdictPublishedAt": self.verdict_published_at,
        }
        return json.loads(
            json.dumps({name: value for name, value in values.items() if value is not None})
        )


class InMemoryLedger:
    """Every ledger role of ``services.ports`` (and ``services.start_session.StartLedger``),
    with ``adapters.ledger.Ledger``'s semantics.

    Part items are kept as attribute dicts with the DynamoDB names (``status``, ``versionId``,
    ``lastRejection``...), because the adapter puts and updates them attribute by attribute;
    the session item is a dataclass. One lock makes each method one atomic step.

    Where the adapter's unconditional ``update_item`` would create a stray session item for an
    id never registered (``record_execution``, ``release_completion_claim``,
    ``release_verdict_claim``), this fake raises LookupError instead: no service does that, and
    a test that did should hear about it.
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._sessions: dict[str, _SessionItem] = {}
        self._parts: dict[tuple[str, str], dict[str, Any]] = {}
        self._unmatched: dict[str, dict[str, Any]] = {}
        self._starts: dict[str, dict[str, Any]] = {}  # by reference: the START item's attributes
        self._next_account_slot: float | None = None

    def _now(self, now: float | None) -> int:
        return int(self._clock() if now is None else now)

    # --- sessions (SessionReader, RegistrationLedger) --------------------------------------

    def register(self, session: Session, *, now: float | None = None) -> RegisterOutcome:
        """NEW once; a newer ``issuedAt`` replaces tokens while REGISTERED; else DUPLICATE/ENDED."""
        stored = _as_stored(session)
        with self._lock:
            current = self._sessions.get(session.workflow_execution_id)
            if current is None:
                self._sessions[session.workflow_execution_id] = _SessionItem(
                    session=stored,
                    status=SessionStatus.REGISTERED,
                    issued_at=stored.issued_at.isoformat(),
                    registered_at=self._now(now),
                    pending=set(stored.required_parts),
                )
                return RegisterOutcome.NEW
            issued_at = stored.issued_at.isoformat()
            if current.issued_at < issued_at and current.status is SessionStatus.REGISTERED:
                current.session = replace(
                    current.session,
                    credentials=stored.credentials,
                    token_expires_at=stored.token_expires_at,
                    issued_at=stored.issued_at,
                )
                current.issued_at = issued_at
                return RegisterOutcome.TOKENS_REPLACED
            if current.status is not SessionStatus.REGISTERED:
                return RegisterOutcome.IGNORED_ENDED
            return RegisterOutcome.DUPLICATE

    def record_execution(self, workflow_execution_id: str, execution_arn: str) -> None:
        with self._lock:
            self._existing(workflow_execution_id).execution_arn = execution_arn

    def get(self, workflow_execution_id: str) -> SessionRecord | None:
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            return None if item is None else item.record()

    # --- parts (PartLedger) ----------------------------------------------------------------

    def get_part(self, workflow_execution_id: str, part: PartId) -> PartRecord | None:
        with self._lock:
            item = self._parts.get((workflow_execution_id, _sort_key(part)))
            return None if item is None else _part_record(_sort_key(part), item)

    def parts(self, workflow_execution_id: str, of: PartId | None = None) -> list[PartRecord]:
        """Every part record of a session in sort-key order, or those of one part (its pages)."""
        prefix = _PART_PREFIX if of is None else _sort_key(PartId(of.credential_id, of.classifier))
        with self._lock:
            found = sorted(
                (sk, item)
                for (wf, sk), item in self._parts.items()
                if wf == workflow_execution_id and sk.startswith(prefix)
            )
            return [_part_record(sk, item) for sk, item in found]

    def remember_capture_key(self, workflow_execution_id: str, key: str) -> None:
        """A key spelling the ids in another case, kept for the erasure (no-op if unknown)."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is not None:
                item.other_capture_keys.add(key)

    def record_part_uploaded(
        self,
        workflow_execution_id: str,
        part: PartId,
        evidence: PartEvidence,
        *,
        now: float | None = None,
    ) -> PartLanded:
        """The ref moves from pending to landed, then the part item is replaced by UPLOADED.

        As in the adapter, the session goes first and only if it exists and is not erased
        (SessionDeleted otherwise, and no part item is written).
        """
        stamp = self._now(now)
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.status is SessionStatus.DELETED:
                raise SessionDeleted(
                    f"workflow execution {workflow_execution_id} is unknown or erased"
                )
            item.pending.discard(part.ref)
            item.landed.add(part.ref)
            item.last_part_at = stamp
            pending = frozenset(item.pending)
            self._put_part(
                workflow_execution_id,
                part,
                {"status": PartStatus.UPLOADED.value, "updatedAt": stamp, **_evidence(evidence)},
            )
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
        """REJECTED in the part's place, unless it landed: then ``lastRejection`` beside it."""
        stamp = self._now(now)
        with self._lock:
            key = (workflow_execution_id, _sort_key(part))
            current = self._parts.get(key)
            if current is not None and current.get("status") == PartStatus.UPLOADED.value:
                current["lastRejection"] = {
                    "reason": reason,
                    "message": message,
                    "at": stamp,
                    **_evidence(evidence),
                }
                return False
            self._put_part(
                workflow_execution_id,
                part,
                {
                    "status": PartStatus.REJECTED.value,
                    "reason": reason,
                    "message": message,
                    "updatedAt": stamp,
                    **_evidence(evidence),
                },
            )
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
        with self._lock:
            self._unmatched[name] = {
                "status": PartStatus.REJECTED.value,
                "reason": reason,
                "message": message,
                "updatedAt": self._now(now),
                "expiresAt": expires_at,
                **_evidence(evidence),
            }

    # --- completion signal (CompletionLedger) ----------------------------------------------

    def store_task_token(self, workflow_execution_id: str, task_token: str) -> bool:
        """Only while REGISTERED; a claim made for an earlier token is dropped."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.status is not SessionStatus.REGISTERED:
                return False
            item.task_token = task_token
            item.signalled_at = None
            return True

    def claim_completion_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None:
        """The token, for the one caller that finds nothing pending, a token and no claim."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if (
                item is None
                or item.pending
                or item.task_token is None
                or item.signalled_at is not None
            ):
                return None
            item.signalled_at = self._now(now)
            return item.task_token

    def release_completion_claim(self, workflow_execution_id: str) -> None:
        with self._lock:
            self._existing(workflow_execution_id).signalled_at = None

    def claim_parts_wait_end(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None:
        """The parts wait's token, once, while REGISTERED; the same claim as the signal's."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if (
                item is None
                or item.status is not SessionStatus.REGISTERED
                or item.task_token is None
                or item.signalled_at is not None
            ):
                return None
            item.signalled_at = self._now(now)
            return item.task_token

    # --- the verdict (VerdictLedger) -------------------------------------------------------

    def record_callback(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> CallbackRecorded:
        """The first callback's status counts; the same again is a duplicate, another is kept
        aside (whatever the session's status: the adapter's condition does not look at it)."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None:
                return CallbackRecorded.UNKNOWN_SESSION
            if item.callback_status is None:
                item.callback_status = status
                item.callback_received_at = self._now(now)
                return CallbackRecorded.NEW
            if item.callback_status is status:
                return CallbackRecorded.DUPLICATE
            item.conflicting_callback_status = status
            return CallbackRecorded.CONFLICTING

    def store_verdict_token(self, workflow_execution_id: str, task_token: str) -> bool:
        """Only while FINALIZED; a claim that woke an earlier wait stays (it never wakes twice)."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.status is not SessionStatus.FINALIZED:
                return False
            item.verdict_task_token = task_token
            return True

    def claim_verdict_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> tuple[str, WorkflowStatus] | None:
        """(token, callback status) for the one caller finding both and no claim yet."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if (
                item is None
                or item.callback_status is None
                or item.verdict_task_token is None
                or item.verdict_signalled_at is not None
            ):
                return None
            item.verdict_signalled_at = self._now(now)
            return item.verdict_task_token, item.callback_status

    def release_verdict_claim(self, workflow_execution_id: str) -> None:
        with self._lock:
            self._existing(workflow_execution_id).verdict_signalled_at = None

    def record_poll(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> None:
        """The last status read and when, and one more poll counted (nothing if unknown)."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None:
                return
            item.last_polled_status = status
            item.last_polled_at = self._now(now)
            item.polls = (item.polls or 0) + 1

    def record_decision(
        self,
        workflow_execution_id: str,
        decision: Decision,
        source: VerdictSource,
        *,
        now: float | None = None,
    ) -> Decision | None:
        """The first decision is kept (and the verdict token dropped); the one recorded is
        returned, None when the session is unknown or erased."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.status is SessionStatus.DELETED:
                return None
            if item.decision is not None:
                return Decision.from_record(item.decision)
            item.decision = json.loads(json.dumps(decision.as_record()))
            item.decided_at = self._now(now)
            item.verdict_source = source
            item.verdict_task_token = None
            return decision

    def mark_verdict_published(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> bool:
        """Noted once; False when unknown or noted before."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.verdict_published_at is not None:
                return False
            item.verdict_published_at = self._now(now)
            return True

    # --- outcomes (OutcomeLedger) ----------------------------------------------------------

    def mark_finalizing(self, workflow_execution_id: str) -> SessionStatus | None:
        """FINALIZING from REGISTERED or FINALIZING; otherwise the status as it is (None: unknown)."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None:
                return None
            if item.status in (SessionStatus.REGISTERED, SessionStatus.FINALIZING):
                item.status = SessionStatus.FINALIZING
            return item.status

    def record_outcome(
        self,
        workflow_execution_id: str,
        status: SessionStatus,
        *,
        error: str | None = None,
        now: float | None = None,
    ) -> bool:
        """The outcome and no task token; refused (False) over DELETED or for an unknown id."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.status is SessionStatus.DELETED:
                return False
            item.status = status
            item.outcome_at = self._now(now)
            if error:
                item.outcome_error = error
            item.task_token = None
            return True

    # --- erasure (ErasureLedger) -----------------------------------------------------------

    def close_for_erasure(self, workflow_execution_id: str, request_id: str) -> None:
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is not None and item.status is not SessionStatus.DELETED:
                item.status = SessionStatus.DELETED
                item.deletion_request_id = request_id

    def scrub_erased_session(
        self, workflow_execution_id: str, request_id: str, *, now: float | None = None
    ) -> bool:
        """Tokens and hrefs dropped (categories kept), ``erasedAt`` set; False if already so."""
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None or item.erased_at is not None:
                return False
            item.session = replace(
                item.session,
                credentials={
                    credential_id: Credential(
                        id=credential_id, category=credential.category, token=None
                    )
                    for credential_id, credential in item.session.credentials.items()
                },
            )
            item.erased_at = self._now(now)
            item.deletion_request_id = request_id
            item.task_token = None
            item.verdict_task_token = None
            item.pending = set()
            item.landed = set()
            return True

    def delete_part(self, workflow_execution_id: str, part: PartId) -> None:
        with self._lock:
            self._parts.pop((workflow_execution_id, _sort_key(part)), None)

    def leave_part_tombstone(
        self,
        workflow_execution_id: str,
        part: PartId,
        request_id: str,
        *,
        pending_again: bool,
        now: float | None = None,
    ) -> None:
        """A DELETED part item; the ref pending again only while the session is REGISTERED."""
        with self._lock:
            self._put_part(
                workflow_execution_id,
                part,
                {
                    "status": PartStatus.DELETED.value,
                    "deletionRequestId": request_id,
                    "updatedAt": self._now(now),
                },
            )
            item = self._sessions.get(workflow_execution_id)
            if pending_again and item is not None and item.status is SessionStatus.REGISTERED:
                item.pending.add(part.ref)
                item.landed.discard(part.ref)

    def sessions_of_account(self, account_id: str) -> list[str]:
        with self._lock:
            return sorted(
                wf for wf, item in self._sessions.items() if item.session.account_id == account_id
            )

    def sessions_registered_before(self, cutoff: int) -> list[str]:
        """Registered before ``cutoff`` and not fully erased (half-erased ones come again)."""
        with self._lock:
            return sorted(
                wf
                for wf, item in self._sessions.items()
                if item.registered_at < cutoff
                and (item.status is not SessionStatus.DELETED or item.erased_at is None)
            )

    # --- documents --------------------------------------------------------------------------

    def take_document_lease(
        self, workflow_execution_id: str, credential_id: str, *, now: float, seconds: int
    ) -> int | None:
        """The end of the lease, or None while another holder's lease runs."""
        until = int(now) + seconds
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is None:
                return None
            held = item.document_leases.get(credential_id)
            if held is not None and held >= int(now):
                return None
            item.document_leases[credential_id] = until
            return until

    def release_document_lease(
        self, workflow_execution_id: str, credential_id: str, until: int
    ) -> None:
        with self._lock:
            item = self._sessions.get(workflow_execution_id)
            if item is not None and item.document_leases.get(credential_id) == until:
                del item.document_leases[credential_id]

    # --- starting sessions (StartLedger) ----------------------------------------------------

    def claim_start(
        self, reference: str, *, now: float, lease_seconds: int, uncertain_for: int
    ) -> StartClaim:
        """NEW for the caller that finds the reference free; else why not, as the adapter says.

        Free: no claim; a STARTED claim whose token has expired; any other claim past its
        ``uncertainUntil``. A STARTING claim past its lease answers UNCERTAIN.
        """
        stamp = int(now)
        with self._lock:
            held = self._starts.get(reference)
            if held is None or _start_claim_is_free(held, stamp):
                uncertain_until = stamp + lease_seconds + uncertain_for
                self._starts[reference] = {
                    "state": StartState.STARTING.value,
                    "attemptAt": stamp,
                    "leaseUntil": stamp + lease_seconds,
                    "uncertainUntil": uncertain_until,
                    "expiresAt": uncertain_until + TTL_MARGIN_SECONDS,
                }
                return StartClaim(StartState.NEW)
            state = StartState(held["state"])
            if state is StartState.STARTED:
                return StartClaim(
                    StartState.STARTED,
                    workflow_execution_id=held["workflowExecutionId"],
                    account_id=held["accountId"],
                    token_expires_at=held["tokenExpiresAt"],
                )
            if state is StartState.STARTING and held["leaseUntil"] > stamp:
                return StartClaim(
                    StartState.STARTING, retry_after_seconds=max(1, held["leaseUntil"] - stamp)
                )
            return StartClaim(
                StartState.UNCERTAIN, retry_after_seconds=max(1, held["uncertainUntil"] - stamp)
            )

    def complete_start(self, reference: str, session: Session) -> None:
        """STARTED, naming the session, whatever was there (an unconditional put)."""
        with self._lock:
            self._starts[reference] = {
                "state": StartState.STARTED.value,
                "workflowExecutionId": session.workflow_execution_id,
                "accountId": session.account_id,
                "tokenExpiresAt": int(session.token_expires_at),
                "expiresAt": int(session.token_expires_at) + TTL_MARGIN_SECONDS,
            }

    def mark_start_uncertain(self, reference: str) -> None:
        """STARTING becomes UNCERTAIN; any other state (or none) fails the condition."""
        with self._lock:
            held = self._starts.get(reference)
            if held is None or held["state"] != StartState.STARTING.value:
                raise _conditional_check_failed("UpdateItem")
            held["state"] = StartState.UNCERTAIN.value

    def release_start(self, reference: str) -> None:
        """A STARTING claim is deleted; none is fine; any other state fails the condition."""
        with self._lock:
            held = self._starts.get(reference)
            if held is None:
                return
            if held["state"] != StartState.STARTING.value:
                raise _conditional_check_failed("DeleteItem")
            del self._starts[reference]

    def take_account_slot(self, *, now: float, interval: float) -> float:
        """The next free slot from ``now``; the one after it is booked (kept in milliseconds)."""
        with self._lock:
            booked = self._next_account_slot
            slot = now if booked is None else max(now, booked)
            self._next_account_slot = round(slot + interval, 3)
            return slot

    # --- for tests: what the table holds beyond the records --------------------------------

    def task_token(self, workflow_execution_id: str) -> str | None:
        with self._lock:
            return self._existing(workflow_execution_id).task_token

    def verdict_task_token(self, workflow_execution_id: str) -> str | None:
        with self._lock:
            return self._existing(workflow_execution_id).verdict_task_token

    def verdict_item(self, workflow_execution_id: str) -> dict[str, Any]:
        """The verdict attributes of the session item, under the names the adapter stores."""
        with self._lock:
            return self._existing(workflow_execution_id).verdict_attributes()

    def part_item(self, workflow_execution_id: str, part: PartId) -> dict[str, Any] | None:
        """A copy of the part item's attributes (``lastRejection``, ``message``...)."""
        with self._lock:
            item = self._parts.get((workflow_execution_id, _sort_key(part)))
            return None if item is None else json.loads(json.dumps(item))

    def unmatched(self) -> dict[str, dict[str, Any]]:
        """The ``pk = UNMATCHED`` items by name (``CAPTURE#{name}`` in the table)."""
        with self._lock:
            return {name: dict(item) for name, item in self._unmatched.items()}

    def outcome_error(self, workflow_execution_id: str) -> str | None:
        with self._lock:
            return self._existing(workflow_execution_id).outcome_error

    def start_item(self, reference: str) -> dict[str, Any] | None:
        """A copy of the reference's START item (``state``, ``leaseUntil``...), if any."""
        with self._lock:
            held = self._starts.get(reference)
            return None if held is None else dict(held)

    def backdate_registration(self, workflow_execution_id: str, registered_at: int) -> None:
        """Move ``registeredAt`` (what the retention run selects on) into the past."""
        with self._lock:
            self._existing(workflow_execution_id).registered_at = registered_at

    # --- internals -------------------------------------------------------------------------

    def _existing(self, workflow_execution_id: str) -> _SessionItem:
        item = self._sessions.get(workflow_execution_id)
        if item is None:
            raise LookupError(f"no session item for {workflow_execution_id}")
        return item

    def _put_part(self, wf: str, part: PartId, attributes: dict[str, Any]) -> None:
        """``put_item``: the whole item replaced, as DynamoDB does."""
        self._parts[(wf, _sort_key(part))] = {"credentialId": part.credential_id, **attributes}


def _start_claim_is_free(held: dict[str, Any], stamp: int) -> bool:
    """The adapter's condition for taking a claim over an existing START item."""
    if held["state"] == StartState.STARTED.value:
        return held["tokenExpiresAt"] <= stamp
    return held["uncertainUntil"] <= stamp


def _part_record(sort_key: str, item: dict[str, Any]) -> PartRecord:
    """As the adapter reads it (an item without ``status`` fails the same way)."""
    return PartRecord(
        part=_part_of(sort_key),
        status=PartStatus(item["status"]),
        key=item.get("key"),
        version_id=item.get("versionId"),
        etag=item.get("eTag"),
        sequencer=item.get("sequencer"),
        fingerprint=item.get("fingerprint"),
        idempotency_key=item.get("idempotencyKey"),
        reason=item.get("reason"),
        bucket=item.get("bucket"),
        size_bytes=item.get("bytes"),
        format=item.get("format"),
        width=item.get("width"),
        height=item.get("height"),
    )


# --- S3: the captures bucket -----------------------------------------------------------------


@dataclass
class _Version:
    key: str
    version_id: str
    body: bytes | None  # None: a delete marker
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str | None:
        """The bare md5 hex, as S3 notifications carry it (listings add quotes)."""
        return None if self.body is None else hashlib.md5(self.body).hexdigest()


@dataclass
class FakeStoredObject:
    """One opened version: the size is known, the body is read (and counted) only on ``read``."""

    size: int
    version_id: str | None
    body: bytes
    reads: int = 0
    closed: bool = False

    def read(self) -> bytes:
        self.reads += 1
        return self.body

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class DeletedCounts:
    versions: int
    delete_markers: int


class InMemoryObjectStore:
    """A versioned bucket (or several): CaptureObjects and CaptureVersions, as ``S3ObjectStore``.

    A version that is gone is an answer (None, nothing tagged), as in the adapter. A delete
    marker is treated as gone too, where S3 would answer 405 and the adapter raise: no
    ObjectCreated notification names a marker. ``refuse_deletion`` makes S3 keep a key's
    versions, so ``delete_versions`` deletes the rest and raises ErasureIncomplete, as the
    adapter does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], list[_Version]] = {}  # oldest version first
        self._ids = itertools.count(1)
        self._refused: set[tuple[str, str]] = set()
        self.opened: list[FakeStoredObject] = []

    # --- writing, as an app or S3 would -------------------------------------------------

    def put(self, bucket: str, key: str, body: bytes) -> str:
        """A new version of ``key``; returns its version id."""
        return self._add(bucket, key, body)

    def delete(self, bucket: str, key: str) -> str:
        """A plain DeleteObject on a versioned bucket: a delete marker; returns its id."""
        return self._add(bucket, key, None)

    def etag(self, bucket: str, key: str, version_id: str) -> str | None:
        """The version's ETag as a notification carries it (no quotes)."""
        version = self._find(bucket, key, version_id)
        return None if version is None else version.etag

    def tags(self, bucket: str, key: str, version_id: str) -> dict[str, str]:
        version = self._find(bucket, key, version_id)
        return {} if version is None else dict(version.tags)

    def refuse_deletion(self, bucket: str, key: str) -> None:
        """DeleteObjects reports an error (AccessDenied) for every version of this key."""
        self._refused.add((bucket, key))

    # --- CaptureObjects ------------------------------------------------------------------

    def open_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> FakeStoredObject | None:
        version = self._find(bucket, key, version_id)
        if version is None or version.body is None:
            return None
        stored = FakeStoredObject(len(version.body), version.version_id, version.body)
        self.opened.append(stored)
        return stored

    def tag_version(
        self, bucket: str, key: str, version_id: str | None, tags: dict[str, str]
    ) -> None:
        """PutObjectTagging replaces the version's tag set; a gone version has none to tag."""
        version = self._find(bucket, key, version_id)
        if version is not None and version.body is not None:
            version.tags = dict(tags)

    # --- CaptureVersions -----------------------------------------------------------------

    def versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        """Versions (newest first per key, keys in order), then delete markers, like a page."""
        with self._lock:
            listed = [
                version
                for (b, key), versions in sorted(self._keys.items())
                if b == bucket and key.startswith(prefix)
                for version in reversed(versions)
            ]
        for version in listed:
            if version.body is not None:
                yield ObjectVersion(version.key, version.version_id, False, f'"{version.etag}"')
        for version in listed:
            if version.body is None:
                yield ObjectVersion(version.key, version.version_id, True)

    def delete_versions(self, bucket: str, versions: list[ObjectVersion]) -> DeletedCounts:
        """Delete each version for good; S3 reports a version already gone as deleted too."""
        removed = markers = refused = 0
        with self._lock:
            for target in versions:
                if (bucket, target.key) in self._refused:
                    refused += 1
                    continue
                kept = [
                    v
                    for v in self._keys.get((bucket, target.key), [])
                    if v.version_id != target.version_id
                ]
                self._keys[(bucket, target.key)] = kept
                if target.is_delete_marker:
                    markers += 1
                else:
                    removed += 1
        if refused:
            raise ErasureIncomplete(f"S3 kept {refused} object version(s): AccessDenied")
        return DeletedCounts(removed, markers)

    # --- internals -----------------------------------------------------------------------

    def _add(self, bucket: str, key: str, body: bytes | None) -> str:
        with self._lock:
            version_id = f"v{next(self._ids):06d}"
            self._keys.setdefault((bucket, key), []).append(_Version(key, version_id, body))
            return version_id

    def _find(self, bucket: str, key: str, version_id: str | None) -> _Version | None:
        with self._lock:
            versions = self._keys.get((bucket, key)) or []
            if version_id is None:
                return versions[-1] if versions else None
            return next((v for v in versions if v.version_id == version_id), None)


# --- S3: presigned POSTs for the app ----------------------------------------------------------


@dataclass(frozen=True)
class UploadPostCall:
    """One presigned POST asked for, with the limits its policy was given."""

    key: str
    content_type: str
    min_bytes: int
    max_bytes: int
    expires_in: int


class FakeUploadPosts:
    """UploadPosts (``S3UploadPosts``): records each call and answers ``{"url", "fields"}``.

    The fields carry the key and content type as S3's would, and a policy and signature
    numbered per call, so two answers for the same key are told apart (fresh POSTs).
    """

    def __init__(self, bucket: str = "captures-bucket") -> None:
        self._bucket = bucket
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.calls: list[UploadPostCall] = []

    def presigned_post(
        self, key: str, content_type: str, *, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        with self._lock:
            number = next(self._numbers)
            self.calls.append(UploadPostCall(key, content_type, min_bytes, max_bytes, expires_in))
        return {
            "url": f"https://{self._bucket}.s3.amazonaws.com/",
            "fields": {
                "Content-Type": content_type,
                "key": key,
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "policy": f"policy-{number}",
                "x-amz-signature": f"signature-{number}",
            },
        }


# --- SQS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkedMessage:
    body: str
    reason: str
    message: str
    source_message_id: str
    field: str = ""
    error_type: str = ""


class InMemoryDeadLetters:
    """A DLQ: ``parked`` lists what was parked, in order."""

    def __init__(self) -> None:
        self.parked: list[ParkedMessage] = []

    def park(
        self,
        *,
        body: str,
        reason: str,
        message: str,
        source_message_id: str,
        field: str = "",
        error_type: str = "",
    ) -> None:
        self.parked.append(
            ParkedMessage(body, reason, message, source_message_id, field, error_type)
        )

    @property
    def reasons(self) -> list[str]:
        return [message.reason for message in self.parked]


class InMemoryDeadLetterSweep:
    """Every DLQ of the stack as one list of bodies; an erasure removes its subject's."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def remove_mentioning(self, ids: set[str]) -> int:
        needles = {identifier.lower() for identifier in ids if identifier}
        kept = [b for b in self.bodies if not any(n in b.lower() for n in needles)]
        removed = len(self.bodies) - len(kept)
        self.bodies = kept
        return removed


@dataclass(frozen=True)
class RequeuedMessage:
    body: str
    delay_seconds: int
    attempt: int
    first_seen_at: float = 0.0


class InMemoryRequeue:
    """The delayed copy of a message put back on its queue (SQS caps the delay at 900 s)."""

    def __init__(self) -> None:
        self.sent: list[RequeuedMessage] = []

    def send(self, *, body: str, delay_seconds: int, attempt: int, first_seen_at: float) -> None:
        self.sent.append(
            RequeuedMessage(body, min(900, max(0, delay_seconds)), attempt, first_seen_at)
        )


class InMemoryRequestQueue:
    """The retention-requests queue as the daily run fills it; ``fail_with`` refuses the send."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail_with: Exception | None = None

    def send_all(self, bodies: list[str]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.extend(bodies)


# --- Step Functions --------------------------------------------------------------------------

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:session"


@dataclass(frozen=True)
class TaskFailure:
    """One ``send_task_failure`` that ended a wait."""

    task_token: str
    error: str
    cause: str


@dataclass
class FakeExecution:
    arn: str
    name: str
    input: dict[str, Any]
    status: str = "RUNNING"
    stop_error: str | None = None


class FakeExecutions:
    """Executions and task tokens, as ``StepFunctions`` answers.

    A second start under the same name returns the first execution; ``fail_starts_with``
    makes the next start raise (a crash between ledger and execution). ``send_task_success``
    and ``send_task_failure`` answer False once a token's wait is over (``end_wait`` or
    ``waits_are_over``; a token ends its wait once, with success or failure) and raise whatever
    ``fail_signals_with`` holds (AWS throttling, say); ``stop_if_running`` stops a RUNNING
    execution once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.executions: dict[str, FakeExecution] = {}  # by name
        self.start_calls: list[str] = []
        self.signals: list[tuple[str, dict[str, Any]]] = []  # (task token, output) delivered
        self.signal_attempts = 0
        self.failures: list[TaskFailure] = []  # send_task_failure calls that ended a wait
        self.failure_attempts = 0
        self.waits_are_over = False
        self.fail_signals_with: BaseException | None = None
        self.fail_starts_with: BaseException | None = None
        self._over: set[str] = set()

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> str:
        with self._lock:
            self.start_calls.append(name)
            if self.fail_starts_with is not None:
                error, self.fail_starts_with = self.fail_starts_with, None
                raise error
            if name not in self.executions:
                arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{name}"
                self.executions[name] = FakeExecution(arn, name, dict(execution_input))
            return self.executions[name].arn

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> bool:
        with self._lock:
            self.signal_attempts += 1
            if self.fail_signals_with is not None:
                raise self.fail_signals_with
            if self.waits_are_over or task_token in self._over:
                return False
            self.signals.append((task_token, dict(output)))
            self._over.add(task_token)  # a task token completes its wait once
            return True

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> bool:
        with self._lock:
            self.failure_attempts += 1
            if self.fail_signals_with is not None:
                raise self.fail_signals_with
            if self.waits_are_over or task_token in self._over:
                return False
            self.failures.append(TaskFailure(task_token, error, cause))
            self._over.add(task_token)
            return True

    def stop_if_running(self, execution_arn: str, *, error: str, cause: str) -> bool:
        with self._lock:
            execution = next((e for e in self.executions.values() if e.arn == execution_arn), None)
            if execution is None or execution.status != "RUNNING":
                return False
            execution.status = "ABORTED"
            execution.stop_error = error
            return True

    def end_wait(self, task_token: str) -> None:
        """The wait this token belongs to is over (timed out, stopped): it cannot be signalled."""
        with self._lock:
            self._over.add(task_token)


# --- metrics, secrets, audit -----------------------------------------------------------------


class FakeMetrics:
    """Counts by name and dimensions; ``total`` sums those whose dimensions include the given."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, float, dict[str, str]]] = []

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self.counts.append((name, value, dict(dimensions)))

    def total(self, name: str, **dimensions: str) -> float:
        return sum(
            value
            for counted, value, dims in self.counts
            if counted == name and dimensions.items() <= dims.items()
        )


class FakeSecretKey:
    """The fingerprint key; ``unreadable`` makes it fail as FingerprintKey does."""

    def __init__(self, value: bytes = b"k" * 32) -> None:
        self.value = value
        self.unreadable = False

    def bytes(self) -> bytes:
        if self.unreadable:
            raise FingerprintKeyUnavailable("the prepared-data hash key could not be read (Fake)")
        return self.value


class InMemoryAuditLog:
    """The append-only audit trail: one record per ``record`` call, never overwritten."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(
        self,
        report: ErasureReport,
        outcome: AuditOutcome,
        *,
        started_at: float,
        reason: str | None = None,
        detail: str | None = None,
        source_message_id: str | None = None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "requestId": report.requestId,
            "scope": report.scope,
            "outcome": outcome.value,
            "startedAt": started_at,
            "workflowExecutionIds": list(report.workflowExecutionIds),
            "deleted": dict(vars(report.counts)),
            "jumio": [{k: v for k, v in vars(c).items() if v is not None} for c in report.jumio],
        }
        optional = {
            "accountId": report.accountId,
            "credentialId": report.credentialId,
            "classifier": report.classifier,
            "requestedBy": report.requestedBy,
            "reason": reason,
            "detail": detail[:500] if detail else None,
            "sourceMessageId": source_message_id,
        }
        item.update({k: v for k, v in optional.items() if v is not None})
        self.records.append(item)
        return item

    def history(self, request_id: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["requestId"] == request_id]

    def final_record(self, request_id: str) -> dict[str, Any] | None:
        """The first record that ended the request (COMPLETED, NO_OP or FAILED), if any."""
        final = {AuditOutcome.COMPLETED.value, AuditOutcome.NO_OP.value, AuditOutcome.FAILED.value}
        return next((r for r in self.history(request_id) if r["outcome"] in final), None)


# --- idempotency (Powertools) ----------------------------------------------------------------


@dataclass
class _RunRecord:
    status: str  # INPROGRESS | COMPLETED
    expires_at: float
    result: Any = None


class InMemoryIdempotencyTable:
    """The idempotency table's records by id, shared by guards and the erasure's cleanup."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.records: dict[str, _RunRecord] = {}

    def put_completed(self, record_id: str, result: Any = None, *, ttl: float = 86400) -> None:
        """A completed record, as an earlier run would have left it."""
        with self.lock:
            self.records[record_id] = _RunRecord("COMPLETED", self.clock() + ttl, result)

    def ids(self) -> set[str]:
        with self.lock:
            return set(self.records)


class InMemoryRunOnce:
    """RunOnceGuard keyed like ``adapters.idempotency.RunOnce`` (prefix#md5 of the data).

    As Powertools does: a call whose record is in progress raises
    IdempotencyAlreadyInProgressError; a completed, unexpired record answers with the stored
    (JSON round-tripped) result without running the function; a function that raises leaves
    no record, so a retry runs it again.
    """

    def __init__(
        self,
        table: InMemoryIdempotencyTable,
        *,
        key_prefix: str,
        data_keyword: str,
        event_key_jmespath: str | None = None,
        expires_after_seconds: int = 86400,
    ) -> None:
        self._table = table
        self._key_prefix = key_prefix
        self._data_keyword = data_keyword
        self._selector = event_key_jmespath
        self._expires_after = expires_after_seconds

    def record_id(self, data: Any) -> str:
        selected = jmespath.search(self._selector, data) if self._selector else data
        return idempotency_record_id(self._key_prefix, selected)

    def guard(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self._data_keyword not in kwargs:
                raise RuntimeError(f"Unable to extract '{self._data_keyword}' from keyword args")
            record_id = self.record_id(kwargs[self._data_keyword])
            table = self._table
            with table.lock:
                record = table.records.get(record_id)
                if record is not None and record.expires_at > table.clock():
                    if record.status == "INPROGRESS":
                        raise IdempotencyAlreadyInProgressError(
                            f"Execution already in progress with idempotency key: {record_id}"
                        )
                    return json.loads(json.dumps(record.result))
                expires_at = table.clock() + self._expires_after
                table.records[record_id] = _RunRecord("INPROGRESS", expires_at)
            try:
                result = function(*args, **kwargs)
            except BaseException:
                with table.lock:
                    table.records.pop(record_id, None)
                raise
            with table.lock:
                table.records[record_id] = _RunRecord(
                    "COMPLETED", expires_at, json.loads(json.dumps(result))
                )
            return result

        return guarded


class InMemoryIdempotencyRecords:
    """IdempotencyRecordsStore over the same table: deletes by the ids ``IdempotencyRecords`` computes."""

    def __init__(self, table: InMemoryIdempotencyTable) -> None:
        self._table = table

    def delete_for(
        self, bucket: str, versions: Iterable[ObjectVersion], extra_ids: Iterable[str]
    ) -> int:
        ids: set[str] = set(extra_ids)
        for version in versions:
            if not version.is_delete_marker:
                ids |= capture_idempotency_ids(
                    bucket, version.key, version.version_id, version.etag
                )
        with self._table.lock:
            return sum(self._table.records.pop(record_id, None) is not None for record_id in ids)


# --- Jumio -----------------------------------------------------------------------------------


def jumio_refusal(status: int = 409, *, operation: str = "add_part") -> JumioRejected:
    """A refusal Jumio gives no meaning to (409, or a 400 of an opaque conflict)."""
    title = "Conflict" if status == 409 else "Bad Request"
    return JumioRejected(
        f"{operation}: HTTP {status} {title}", title=title, status=status, operation=operation
    )


def jumio_auth_error(status: int = 401, *, operation: str = "add_part") -> JumioAuthError:
    title = "Unauthorized" if status == 401 else "Forbidden"
    return JumioAuthError(f"{operation}: HTTP {status} {title}", status=status, operation=operation)


def jumio_not_found(*, operation: str = "add_part") -> JumioNotFound:
    return JumioNotFound(f"{operation}: HTTP 404 Not Found", status=404, operation=operation)


def jumio_rejected(
    status: int = 400, *, title: str = "Bad Request", operation: str = "add_part"
) -> JumioRejected:
    return JumioRejected(
        f"{operation}: HTTP {status} {title}", title=title, status=status, operation=operation
    )


def jumio_unavailable(status: int = 503, *, operation: str = "add_part") -> JumioUnavailable:
    return JumioUnavailable(
        f"{operation}: HTTP {status} Service Unavailable", status=status, operation=operation
    )


def jumio_throttled(
    retry_after: float | None = None, *, operation: str = "add_part"
) -> JumioThrottled:
    return JumioThrottled(
        f"{operation}: HTTP 429 Too Many Requests",
        retry_after=retry_after,
        status=429,
        operation=operation,
    )


@dataclass(frozen=True)
class JumioCall:
    """One call as the fake received it; ``failed`` names the error it answered with."""

    operation: str
    href: str | None = None
    token: str | None = None
    content: bytes | None = None
    content_type: str | None = None
    filename: str | None = None
    pages: int | None = None
    data: dict[str, Any] | None = None
    account_id: str | None = None
    workflow_execution_id: str | None = None
    failed: str | None = None
    checked_beside: bool = False  # the upload carried a ``verify`` to run beside it


class _ScriptedApi:
    """Records every call; ``fail(operation, *errors)`` makes the next calls raise, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: dict[str, deque[JumioError]] = {}
        self.calls: list[JumioCall] = []

    def fail(self, operation: str, *errors: JumioError) -> None:
        """The next ``len(errors)`` calls of ``operation`` raise these, one each."""
        with self._lock:
            self._script.setdefault(operation, deque()).extend(errors)

    def succeeded(self, operation: str | None = None) -> list[JumioCall]:
        return [c for c in self.calls if c.failed is None and operation in (None, c.operation)]

    def _call(self, call: JumioCall) -> None:
        with self._lock:
            queued = self._script.get(call.operation)
            error = queued.popleft() if queued else None
            self.calls.append(call if error is None else replace(call, failed=type(error).__name__))
        if error is not None:
            raise error


class FakeCredentialsApi(_ScriptedApi):
    """The Credentials API (``CredentialsClient``): PartUploads, PreparedDataUploads,
    Finalizer and PartDeletions. Answers like Jumio's 2xx unless scripted to fail."""

    def add_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        call = JumioCall("add_part", href, token, content, content_type, filename)
        self._verified_call(call, verify)
        return {"timestamp": "2024-05-01T10:00:00.000Z"}

    def update_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        call = JumioCall("update_part", href, token, content, content_type, filename)
        self._verified_call(call, verify)
        return {"timestamp": "2024-05-01T10:00:00.000Z"}

    def _verified_call(self, call: JumioCall, verify: Callable[[], None] | None) -> None:
        """As the real client: a ``verify`` that raises cuts the upload short, so the call is
        recorded as failed (nothing landed) and the check's error is raised."""
        if verify is None:
            self._call(call)
            return
        call = replace(call, checked_beside=True)
        try:
            verify()
        except Exception as exc:
            with self._lock:
                self.calls.append(replace(call, failed=type(exc).__name__))
            raise
        self._call(call)

    def upload_document(
        self, href: str, token: str, pages: list[tuple[bytes, str, str]]
    ) -> dict[str, Any]:
        content, content_type, filename = pages[0]
        self._call(
            JumioCall("upload_document", href, token, content, content_type, filename, len(pages))
        )
        return {"timestamp": "2024-05-01T10:00:00.000Z"}

    def upload_prepared_data(self, href: str, token: str, data: dict[str, Any]) -> dict[str, Any]:
        self._call(
            JumioCall("upload_prepared_data", href, token, data=json.loads(json.dumps(data)))
        )
        return {"timestamp": "2024-05-01T10:00:00.000Z"}

    def finalize(self, workflow_execution_href: str, token: str) -> dict[str, Any]:
        self._call(JumioCall("finalize", workflow_execution_href, token))
        return {"timestamp": "2024-05-01T10:00:00.000Z"}

    def delete_part(self, href: str, token: str) -> None:
        self._call(JumioCall("delete_part", href, token))

    def delete_all_pages(self, href: str, token: str) -> None:
        self._call(JumioCall("delete_all_pages", href, token))


class FakeTenantApi(_ScriptedApi):
    """TenantDeletions (``TenantClient``): 404 is "already gone" there, so never scripted here."""

    def delete_workflow_execution(self, account_id: str, wf_id: str) -> None:
        self._call(JumioCall("delete_workflow", account_id=account_id, workflow_execution_id=wf_id))

    def delete_account(self, account_id: str) -> None:
        self._call(JumioCall("delete_account", account_id=account_id))


class FakeAccountRequests(_ScriptedApi):
    """AccountRequests (``TenantClient``'s account create and update) with the tenant token.

    Each call is recorded with a copy of its body (``calls``: ``account_create`` or
    ``account_update`` with ``data`` and ``account_id``), then answered with
    ``answer(account_id)`` (None for a create): Jumio's documented response, which the test
    world builds. ``fail`` scripts errors as for every Jumio fake; ``answers`` lists what was
    returned.
    """

    def __init__(self, answer: Callable[[str | None], dict[str, Any]]) -> None:
        super().__init__()
        self._answer = answer
        self.answers: list[dict[str, Any]] = []

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        self._call(JumioCall("account_create", data=json.loads(json.dumps(body))))
        return self._answered(None)

    def update_account(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._call(
            JumioCall("account_update", data=json.loads(json.dumps(body)), account_id=account_id)
        )
        return self._answered(account_id)

    def _answered(self, account_id: str | None) -> dict[str, Any]:
        answer = json.loads(json.dumps(self._answer(account_id)))
        self.answers.append(answer)
        return answer


class FakeWorkflowStatus(_ScriptedApi):
    """Jumio's retrieval API: WorkflowStatusReader and WorkflowDetailsReader, per execution,
    as scripted (``statuses``, ``parts``, ``details``).

    ``present_parts`` and ``workflow_details`` read the same route (``details``): a failure
    scripted for it answers whichever comes next. Unscripted details are those of an
    execution that is not processed: ids and status, no decision.
    """

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, WorkflowStatus] = {}
        self.parts: dict[str, dict[str, frozenset[str]]] = {}
        self.details: dict[str, dict[str, Any]] = {}

    def workflow_status(self, account_id: str, workflow_execution_id: str) -> WorkflowStatus:
        self._call(
            JumioCall("status", account_id=account_id, workflow_execution_id=workflow_execution_id)
        )
        return self.statuses.get(workflow_execution_id, WorkflowStatus.INITIATED)

    def present_parts(
        self, account_id: str, workflow_execution_id: str
    ) -> dict[str, frozenset[str]]:
        self._call(
            JumioCall("details", account_id=account_id, workflow_execution_id=workflow_execution_id)
        )
        return dict(self.parts.get(workflow_execution_id, {}))

    def workflow_details(self, account_id: str, workflow_execution_id: str) -> dict[str, Any]:
        self._call(
            JumioCall("details", account_id=account_id, workflow_execution_id=workflow_execution_id)
        )
        scripted = self.details.get(workflow_execution_id)
        if scripted is None:
            status = self.statuses.get(workflow_execution_id, WorkflowStatus.INITIATED)
            scripted = {
                "workflow": {"id": workflow_execution_id, "status": status.value},
                "account": {"id": account_id},
            }
        return json.loads(json.dumps(scripted))


# --- EventBridge -----------------------------------------------------------------------------


class InMemoryVerdictEvents:
    """VerdictEvents: every detail published, in order (JSON round-tripped, as PutEvents
    would carry it); ``fail(*errors)`` makes the next publishes raise, one error each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[BaseException] = deque()
        self.published: list[dict[str, Any]] = []
        self.attempts = 0

    def fail(self, *errors: BaseException) -> None:
        with self._lock:
            self._script.extend(errors)

    def publish(self, detail: dict[str, Any]) -> None:
        with self._lock:
            self.attempts += 1
            if self._script:
                raise self._script.popleft()
            self.published.append(json.loads(json.dumps(detail)))
