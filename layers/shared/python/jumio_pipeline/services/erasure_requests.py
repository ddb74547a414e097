"""One erasure request message, from arrival to its audit record; and the daily retention run.

Every attempt is audited: COMPLETED or NO_OP (a repeat) when the request was carried out,
FAILED (and the message parked in the DLQ with the reason) when it never can be, RETRYING (and
the error raised for SQS to deliver again) when a transient failure stopped it half-way; the
resumable steps of :class:`~jumio_pipeline.services.erasure.Eraser` then finish the job.

The daily run files one SESSION request per session past the retention period on the same
queue, so each gets the queue's retries, DLQ and audit like any other request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jumio_pipeline.domain.erasure_report import AuditOutcome, ErasureReport
from jumio_pipeline.domain.erasure_request import (
    DeletionRequest,
    DeletionScope,
    parse_request,
    retention_request,
)
from jumio_pipeline.domain.errors import (
    ErasureRefused,
    InvalidMessage,
    JumioError,
    JumioPermanentError,
    TenantCredentialsInvalid,
)
from jumio_pipeline.services.erasure import Eraser
from jumio_pipeline.services.ports import AuditLog, Clock, DeadLetters, RequestQueue, RunOnceGuard

PERMANENT = (InvalidMessage, ErasureRefused, JumioPermanentError, TenantCredentialsInvalid)


@dataclass(frozen=True)
class RequestOutcome:
    """How one request attempt ended: codes and counts for the log and the metric."""

    outcome: AuditOutcome
    scope: str
    request_id: str
    reason: str | None = None
    detail: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    replayed: bool = False  # answered from the audit record of an earlier delivery


class ErasureRequests:
    """``handle(body, message_id)``: erase and audit; transient failures are re-raised.

    A request is recognised by its ``requestId``: sent again after it ended (COMPLETED, NO_OP
    or FAILED), it is answered from its audit record and nothing runs again; delivered twice
    at once, one copy runs and the other meets the run-once guard (a transient failure,
    retried in seconds, then answered from the record the first copy wrote).
    """

    def __init__(
        self,
        *,
        eraser: Eraser,
        audit: AuditLog,
        dead_letters: DeadLetters,
        once: RunOnceGuard,
        clock: Clock = time.time,
    ) -> None:
        self._eraser = eraser
        self._audit = audit
        self._dead_letters = dead_letters
        self._clock = clock
        self._carry_out_once = once.guard(self._carry_out)

    def handle(self, body: str, message_id: str) -> RequestOutcome:
        """Carry out one request message; the outcome says what the audit record says."""
        started_at = self._clock()
        try:
            request = _parse(body)
        except InvalidMessage as exc:
            return self._park(
                body, message_id, _report_for_unparsed(body, message_id), exc, started_at
            )
        earlier = self._audit.final_record(request.requestId)
        if earlier is not None:
            return _replayed(earlier)
        outcome = self._carry_out_once(
            request_key={"requestId": request.requestId},
            request=request,
            body=body,
            message_id=message_id,
            started_at=started_at,
        )
        return RequestOutcome(**{**outcome, "outcome": AuditOutcome(outcome["outcome"])})

    def _carry_out(
        self,
        request_key: dict[str, str],
        request: DeletionRequest,
        body: str,
        message_id: str,
        started_at: float,
    ) -> dict[str, Any]:
        """Erase and audit, once per requestId at a time; returns the outcome's fields."""
        return vars(self._erase_and_audit(request, body, message_id, started_at))

    def _erase_and_audit(
        self, request: DeletionRequest, body: str, message_id: str, started_at: float
    ) -> RequestOutcome:
        """One attempt, audited: COMPLETED/NO_OP, FAILED (parked) or RETRYING (re-raised)."""
        try:
            report = self._eraser.erase(request)
        except PERMANENT as exc:
            return self._park(body, message_id, _subject(request), exc, started_at)
        except Exception as exc:
            # Transient (Jumio 429/5xx, AWS throttling, ...): recorded, then retried by SQS.
            reason = type(exc).__name__
            detail = str(exc) if isinstance(exc, JumioError) else reason
            self._audit.record(
                _subject(request),
                AuditOutcome.RETRYING,
                started_at=started_at,
                reason=reason,
                detail=detail,
                source_message_id=message_id,
            )
            raise
        outcome = AuditOutcome.COMPLETED if report.did_anything else AuditOutcome.NO_OP
        self._audit.record(report, outcome, started_at=started_at, source_message_id=message_id)
        return RequestOutcome(
            outcome, report.scope, report.requestId, counts=dict(vars(report.counts))
        )

    def _park(
        self,
        body: str,
        message_id: str,
        report: ErasureReport,
        exc: Exception,
        started_at: float,
    ) -> RequestOutcome:
        """A request that can never be carried out: audited FAILED, parked with its reason."""
        reason = getattr(exc, "reason", None) or type(exc).__name__
        detail = str(exc)
        self._audit.record(
            report,
            AuditOutcome.FAILED,
            started_at=started_at,
            reason=reason,
            detail=detail,
            source_message_id=message_id,
        )
        self._dead_letters.park(
            body=body,
            reason=reason,
            message=detail,
            source_message_id=message_id,
            field=getattr(exc, "field", ""),
        )
        return RequestOutcome(AuditOutcome.FAILED, report.scope, report.requestId, reason, detail)


def _replayed(record: dict[str, Any]) -> RequestOutcome:
    """The answer to a request that already ended: what its audit record says."""
    return RequestOutcome(
        outcome=AuditOutcome(record["outcome"]),
        scope=record.get("scope", "UNKNOWN"),
        request_id=record["requestId"],
        reason=record.get("reason"),
        counts={name: int(count) for name, count in (record.get("deleted") or {}).items()},
        replayed=True,
    )


@dataclass(frozen=True)
class RetentionRunResult:
    """What the daily run filed."""

    selected: int
    retention_days: int


class RetentionRun:
    """``file()``: one SESSION request per session registered more than retention_days ago."""

    def __init__(
        self,
        *,
        eraser: Eraser,
        requests: RequestQueue,
        retention_days: int,
        clock: Clock = time.time,
    ) -> None:
        self._eraser = eraser
        self._requests = requests
        self._retention_days = retention_days
        self._clock = clock

    def file(self) -> RetentionRunResult:
        """Select the sessions past the retention period and queue a request for each."""
        now = self._clock()
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        selected = self._eraser.sessions_past_retention(self._retention_days, now)
        self._requests.send_all(
            [retention_request(wf, day).model_dump_json(exclude_none=True) for wf in selected]
        )
        return RetentionRunResult(selected=len(selected), retention_days=self._retention_days)


def _parse(body: str) -> DeletionRequest:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        raise InvalidMessage("INVALID_JSON", "the message body is not JSON") from None
    return parse_request(document)


def _report_for_unparsed(body: str, message_id: str) -> ErasureReport:
    """An audit subject for a request that failed validation: its id if it has a usable one."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        document = None
    request_id = document.get("requestId") if isinstance(document, dict) else None
    scope = document.get("scope") if isinstance(document, dict) else None
    if not DeletionRequest.is_plain_id(request_id):
        request_id = f"invalid:{message_id}"
    known_scopes = {scope.value for scope in DeletionScope}
    return ErasureReport(
        requestId=str(request_id),
        scope=scope if scope in known_scopes else "UNKNOWN",
    )


def _subject(request: DeletionRequest) -> ErasureReport:
    """The request's ids for an audit record written before (or without) a full report."""
    return ErasureReport(
        requestId=request.requestId,
        scope=request.scope.value,
        accountId=request.account_id,
        workflowExecutionIds=[request.workflow_execution_id]
        if request.workflow_execution_id
        else [],
        credentialId=request.credential_id,
        classifier=request.classifier,
        requestedBy=request.requestedBy,
    )
