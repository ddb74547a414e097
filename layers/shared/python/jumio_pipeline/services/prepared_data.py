"""Delivering one prepared-data message: validate, upload once, record, signal completion.

Each message ends in exactly one recorded outcome (README invariant 2, "nothing is lost silently"):

- **UPLOADED**: Jumio took the data; the ledger's part item holds its fingerprint (never a
  value) and completion is signalled through the same exactly-once claim as captures;
- **DUPLICATE**: the same data for the same credential already landed; nothing is sent again;
- **PARKED**: it can never succeed as it is (invalid data, unknown credential or ended
  session, token refused, Jumio refused it). The reason and the field path go to the ledger
  where there is a session to hold them, and the message goes to the DLQ at once, with the
  reason beside it.

Valid data that arrives before its session raises SessionNotRegistered: it waits for the
registration like a capture does. Transient failures (Jumio throttled or down, DynamoDB, an
upload of the same data already in flight) are raised too: the handler's failure policy
retries them soon and parks them with a reason on the last receive.

Same data is uploaded once by two guards, both keyed on the identity of the data and never on
the SQS message: the ledger (the part item already holds this fingerprint: a duplicate, however
late) and Powertools idempotency on (workflowExecutionId, credentialId, fingerprint), which holds
concurrent copies back and keeps a stale redelivery of data already corrected from undoing the
correction within its expiry window. Its record stores those ids and the outcome only.

The fingerprint is HMAC-SHA256 of the canonical JSON under a secret key
(:mod:`jumio_pipeline.adapters.secrets`), never a plain hash: a plain sha256 of a small payload
can be brute-forced back to the value. It is computed only once a message is worth delivering,
so an unreadable key fails (and retries) valid data only; invalid data is still parked at once.
Changing the key changes every fingerprint: data sent again after a key change is uploaded once
more (a harmless replace at Jumio), then recognised as before.

Corrected data (another fingerprint) for the same credential is sent again as a POST: Jumio's
contract has no update for PREPARED_DATA, and the simulator (like Jumio, as far as the
contract tells) replaces the part on a repeated POST (``local/jumio_simulator``: "a repeat
replaces it").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from jumio_pipeline.domain.errors import (
    InvalidMessage,
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioRejected,
    SessionDeleted,
    SessionNotRegistered,
)
from jumio_pipeline.domain.prepared_data import (
    MessageIds,
    ValidPreparedData,
    keyed_fingerprint,
    parse_message_ids,
    validate_prepared_data,
)
from jumio_pipeline.domain.session import Credential, PartId
from jumio_pipeline.domain.session_state import (
    PartEvidence,
    PartRecord,
    SessionRecord,
    SessionStatus,
)
from jumio_pipeline.services.ports import (
    Clock,
    DeadLetters,
    PartLedger,
    PreparedDataUploads,
    RunOnceGuard,
    SecretKey,
)
from jumio_pipeline.services.refusals import RefusalExplainer

CLASSIFIER = "PREPARED_DATA"
DATA_CATEGORY = "DATA"

# Reason codes (DLQ message attribute ``reason``, ledger ``reason``, metric dimension).
SESSION_FINALIZED = "SESSION_FINALIZED"
SESSION_FAILED = "SESSION_FAILED"
SESSION_DELETED = "SESSION_DELETED"
TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 (a reason code, not a secret)
UNKNOWN_CREDENTIAL = "UNKNOWN_CREDENTIAL"
NO_DATA_CREDENTIAL = "NO_DATA_CREDENTIAL"
JUMIO_NOT_FOUND = "JUMIO_NOT_FOUND"
JUMIO_REJECTED = "JUMIO_REJECTED"

_ENDED = {
    SessionStatus.FINALIZING: (SESSION_FINALIZED, "the session is finalizing"),
    SessionStatus.FINALIZED: (SESSION_FINALIZED, "the session is finalized"),
    SessionStatus.EXPIRED: (TOKEN_EXPIRED, "the session's token expired"),
    SessionStatus.FAILED: (SESSION_FAILED, "the session failed"),
    SessionStatus.DELETED: (SESSION_DELETED, "the session was deleted"),
}


class OutcomeStatus(StrEnum):
    UPLOADED = "UPLOADED"
    DUPLICATE = "DUPLICATE"
    PARKED = "PARKED"
    DISCARDED = "DISCARDED"


@dataclass(frozen=True)
class Outcome:
    """What became of one message: ids, codes and flags only, safe to log."""

    status: OutcomeStatus
    workflow_execution_id: str | None = None
    credential_id: str | None = None
    fingerprint: str | None = None
    reason: str | None = None
    field: str | None = None
    detail: str | None = None
    recorded_in_ledger: bool = False
    completion_signalled: bool = False

    def log_fields(self) -> dict[str, Any]:
        """The outcome as structured log fields (no value of the data is ever among them)."""
        fields = {
            "outcome": self.status.value,
            "workflowExecutionId": self.workflow_execution_id,
            "credentialId": self.credential_id,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "field": self.field,
            "detail": self.detail,
            "recordedInLedger": self.recorded_in_ledger,
            "completionSignalled": self.completion_signalled,
        }
        return {key: value for key, value in fields.items() if value not in (None, "")}


class _Parked(Exception):
    """Internal: this message ends in the DLQ; carries the reason to :meth:`_park`."""

    def __init__(self, reason: str, detail: str, *, field: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field


@dataclass
class _Attempt:
    """Set by the idempotent upload when it really ran (a cached answer leaves it False)."""

    ran: bool = False


@dataclass(frozen=True)
class _Target:
    """The resolved destination: session, credential and its PREPARED_DATA href."""

    record: SessionRecord | None
    credential_id: str | None
    credential: Credential | None = field(default=None)


class PreparedDataService:
    """Orchestrates one message; the collaborators are injected so tests use real ones."""

    def __init__(
        self,
        *,
        ledger: PartLedger,
        jumio: PreparedDataUploads,
        dead_letters: DeadLetters,
        signal_completion: Callable[[str], bool],
        once: RunOnceGuard,
        fingerprint_key: SecretKey,
        refusals: RefusalExplainer,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._jumio = jumio
        self._dead_letters = dead_letters
        self._signal_completion = signal_completion
        self._clock = clock
        self._fingerprint_key = fingerprint_key
        self._once = once
        self._refusals = refusals
        self._upload_once = once.guard(self._upload_and_record)

    # --- the one entry point --------------------------------------------------------------

    def process(self, body: str, message_id: str) -> Outcome:
        """Deliver one message body; transient failures are raised for SQS to retry.

        Valid data whose session is not registered yet raises SessionNotRegistered: the caller
        waits for the session like a capture does (services/session_wait.py).
        """
        try:
            ids, raw = parse_message_ids(body)
        except InvalidMessage as exc:
            self._to_dlq(body, message_id, exc.reason, str(exc), exc.field)
            return Outcome(
                OutcomeStatus.PARKED, reason=exc.reason, field=exc.field, detail=str(exc)
            )
        data, invalid = _validated(raw)
        target = _Target(record=None, credential_id=ids.credential_id)
        try:
            try:
                target = self._resolve(ids)
            except (_Parked, SessionNotRegistered):
                if invalid is None:
                    raise
            if invalid is not None:
                # Invalid data is the reason that matters: no redrive can fix it.
                raise _Parked(invalid.reason, str(invalid), field=invalid.field)
            assert data is not None
            return self._deliver(ids, target, data)
        except _Parked as parked:
            return self._park(ids, target, parked, body, message_id)

    # --- steps ------------------------------------------------------------------------------

    def _resolve(self, ids: MessageIds) -> _Target:
        """The session and the credential the data is for (default: the DATA credential)."""
        record = self._ledger.get(ids.workflow_execution_id)
        if record is None:
            raise SessionNotRegistered(
                f"workflow execution {ids.workflow_execution_id} is not registered yet"
            )
        session = record.session
        if ids.credential_id is None:
            credential = session.credential_of_category(DATA_CATEGORY)
            if credential is None:
                raise _Parked(NO_DATA_CREDENTIAL, "the session has no DATA credential")
        else:
            credential = session.credential(ids.credential_id)
            if credential is None or CLASSIFIER not in credential.parts or not credential.token:
                return _Target(record, ids.credential_id, None)
        return _Target(record, credential.id, credential)

    def _deliver(self, ids: MessageIds, target: _Target, data: ValidPreparedData) -> Outcome:
        """Upload once (or recognise a duplicate), then signal completion."""
        record, credential = target.record, target.credential
        if credential is None:
            raise _Parked(
                UNKNOWN_CREDENTIAL,
                "credentialId names no API credential with a PREPARED_DATA part in this session",
                field="credentialId",
            )
        assert record is not None
        wf_id = ids.workflow_execution_id
        # FingerprintKeyUnavailable propagates: a transient failure, retried by SQS.
        fingerprint = keyed_fingerprint(data.body, self._fingerprint_key.bytes())
        outcome = Outcome(
            OutcomeStatus.DUPLICATE,
            workflow_execution_id=wf_id,
            credential_id=credential.id,
            fingerprint=fingerprint,
        )
        current = self._ledger.get_part(wf_id, PartId(credential.id, CLASSIFIER))
        if _already_landed(current, fingerprint):
            return replace(outcome, completion_signalled=self._signal_completion(wf_id))
        if record.status in _ENDED:
            reason, detail = _ENDED[record.status]
            raise _Parked(reason, detail)
        if record.session.token_expires_at <= self._clock():
            raise _Parked(TOKEN_EXPIRED, "the session's Jumio token has expired")
        attempt = _Attempt()
        try:
            self._upload_once(
                upload={
                    "workflowExecutionId": wf_id,
                    "credentialId": credential.id,
                    "fingerprint": fingerprint,
                },
                credential=credential,
                data=data,
                attempt=attempt,
            )
        except SessionDeleted:
            # Erased while the data was in flight: nothing of it may be kept, not even a DLQ copy.
            return replace(outcome, status=OutcomeStatus.DISCARDED, reason=SESSION_DELETED)
        except (JumioAuthError, JumioNotFound, JumioRejected) as exc:
            raise self._refusal(record, exc) from None
        # Also after a duplicate: a signal that failed before is sent now (the claim is once).
        signalled = self._signal_completion(wf_id)
        status = OutcomeStatus.UPLOADED if attempt.ran else OutcomeStatus.DUPLICATE
        return replace(
            outcome, status=status, recorded_in_ledger=attempt.ran, completion_signalled=signalled
        )

    def _refusal(self, record: SessionRecord, refused: JumioError) -> _Parked:
        """Name a final refusal: by Jumio's workflow status if it shows the execution ended,
        else by the HTTP status (Jumio documents no error codes; none is read)."""
        ended = self._refusals.ended(record.session, refused.status)
        if ended is not None:
            return _Parked(ended.reason, ended.message)
        if isinstance(refused, JumioAuthError):
            return _Parked(
                TOKEN_EXPIRED,
                f"Jumio refused the token (HTTP {refused.status}): expired or not valid for this "
                "execution",
            )
        if isinstance(refused, JumioNotFound):
            return _Parked(
                JUMIO_NOT_FOUND,
                f"Jumio does not know the execution or credential (HTTP {refused.status})",
            )
        # Jumio's own ``detail`` may quote the data: only the status and title are kept.
        title = refused.title if isinstance(refused, JumioRejected) else ""
        return _Parked(JUMIO_REJECTED, f"Jumio refused the data (HTTP {refused.status} {title})")

    def _upload_and_record(
        self,
        upload: dict[str, str],
        credential: Credential,
        data: ValidPreparedData,
        attempt: _Attempt,
    ) -> dict[str, str]:
        """POST to Jumio and record the part landed; runs once per (ids, fingerprint).

        Returns ids and the outcome only: this is what the idempotency record stores.
        """
        wf_id = upload["workflowExecutionId"]
        self._jumio.upload_prepared_data(
            credential.parts[CLASSIFIER], credential.token or "", data.body
        )
        self._ledger.record_part_uploaded(
            wf_id,
            PartId(credential.id, CLASSIFIER),
            PartEvidence(
                fingerprint=upload["fingerprint"],
                # So that erasure can delete this upload's idempotency record too.
                idempotency_key=self._once.record_id(upload),
            ),
        )
        attempt.ran = True
        return {**upload, "outcome": OutcomeStatus.UPLOADED.value}

    # --- parking ----------------------------------------------------------------------------

    def _park(
        self, ids: MessageIds, target: _Target, parked: _Parked, body: str, message_id: str
    ) -> Outcome:
        """Record the reason where a session can hold it, then move the message to the DLQ.

        Data for an erased session is discarded instead: keeping a copy in the DLQ would undo
        the erasure the person asked for. The outcome (ids and reason) is still logged and
        counted by the handler, so nothing goes silently.
        """
        recorded = False
        record = target.record
        if record is not None and record.status is SessionStatus.DELETED:
            return Outcome(
                OutcomeStatus.DISCARDED,
                workflow_execution_id=ids.workflow_execution_id,
                credential_id=target.credential_id,
                reason=parked.reason,
                detail=parked.detail,
            )
        if record is not None and target.credential_id:
            self._record_rejection(ids.workflow_execution_id, target.credential_id, parked)
            recorded = True
        self._to_dlq(body, message_id, parked.reason, parked.detail, parked.field)
        return Outcome(
            OutcomeStatus.PARKED,
            workflow_execution_id=ids.workflow_execution_id,
            credential_id=target.credential_id,
            reason=parked.reason,
            field=parked.field,
            detail=parked.detail,
            recorded_in_ledger=recorded,
        )

    def _record_rejection(self, wf_id: str, credential_id: str, parked: _Parked) -> None:
        """The refusal in the ledger: the part's status, or beside data that already landed.

        Overwriting an UPLOADED record would make the ledger claim that Jumio holds nothing,
        while it holds the earlier (valid) data; the ledger's conditional write prevents it.
        """
        self._ledger.record_part_rejected(
            wf_id,
            PartId(credential_id, CLASSIFIER),
            reason=parked.reason,
            message=parked.detail,
            evidence=PartEvidence(field=parked.field or None),
            now=self._clock(),
        )

    def _to_dlq(self, body: str, message_id: str, reason: str, detail: str, field: str) -> None:
        self._dead_letters.park(
            body=body, reason=reason, message=detail, source_message_id=message_id, field=field
        )


def _validated(raw: dict[str, Any]) -> tuple[ValidPreparedData | None, InvalidMessage | None]:
    """Validate now, report later: an invalid message still needs its session to be recorded."""
    try:
        return validate_prepared_data(raw), None
    except InvalidMessage as exc:
        return None, exc


def _already_landed(part: PartRecord | None, fingerprint: str) -> bool:
    """This very data (by fingerprint) is what the part record says Jumio holds."""
    return part is not None and part.landed and part.fingerprint == fingerprint
