"""Carrying out an erasure request at Jumio and in AWS, in an order a retry can always finish.

The order is the whole design: every step keeps what the next one needs, and every step is
harmless to repeat.

1. close the session (status DELETED; tokens still there) so that no new part lands and the
   state machine's outcome cannot overwrite it; stop its running execution;
2. delete at Jumio, with the token or href the ledger still holds (404 = already gone; a
   part deletion refused in a way Jumio does not explain is settled by the workflow details);
3. remove the idempotency records of every listed S3 version (their ids are derived from the
   versions, so this happens before the versions go);
4. delete every object version and delete marker under the scope's prefix;
5. last, scrub the ledger: part records removed, tokens and hrefs dropped, the session marked
   erased.

A fully erased session makes a repeated request skip Jumio and find nothing left in AWS, and
the audit records the repeat as a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jumio_pipeline.domain.capture_identity import CaptureIdentity, key_digest
from jumio_pipeline.domain.capture_key import parse_capture_key
from jumio_pipeline.domain.erasure_report import (
    AuditOutcome,
    ErasureCounts,
    ErasureReport,
    JumioOutcome,
)
from jumio_pipeline.domain.erasure_request import (
    DeletionRequest,
    DeletionScope,
    JumioCall,
    JumioOperation,
    SessionErasure,
    part_jumio_call,
    retention_cutoff,
    session_erasure,
    tenant_jumio_call,
)
from jumio_pipeline.domain.errors import (
    ErasureRefused,
    InvalidMessage,
    JumioError,
    JumioTransientError,
)
from jumio_pipeline.domain.session_state import PartRecord, SessionRecord, SessionStatus
from jumio_pipeline.services.ports import (
    AuditLog,
    CaptureVersions,
    Clock,
    DeadLetterSweep,
    ErasureLedger,
    Executions,
    IdempotencyRecordsStore,
    PartDeletions,
    TenantDeletions,
    WorkflowStatusReader,
)

CONFIRMED = "CONFIRMED"
DOCUMENT_CLASSIFIER = "DOCUMENT"
LATE_CAPTURE_SCOPE = "CAPTURE"
LATE_CAPTURE_REQUESTER = "pipeline:late-capture"
SKIPPED_ALREADY_ERASED = "SKIPPED_ALREADY_ERASED"
SKIPPED_NOT_REGISTERED = "SKIPPED_NOT_REGISTERED"
SKIPPED_SESSION_DELETED = "SKIPPED_SESSION_DELETED"

_OPERATION_OF_SCOPE = {
    DeletionScope.PART: JumioOperation.DELETE_PART,
    DeletionScope.DOCUMENT_PAGES: JumioOperation.DELETE_ALL_PAGES,
    DeletionScope.SESSION: JumioOperation.DELETE_WORKFLOW,
    DeletionScope.ACCOUNT: JumioOperation.DELETE_ACCOUNT,
}


class Eraser:
    """Erases what a request covers; ``erase(request)`` returns the report for the audit."""

    def __init__(
        self,
        *,
        ledger: ErasureLedger,
        objects: CaptureVersions,
        bucket: str,
        idempotency: IdempotencyRecordsStore,
        executions: Executions,
        parts_at_jumio: PartDeletions,
        tenant: Callable[[], TenantDeletions],
        dead_letters: DeadLetterSweep,
        status: WorkflowStatusReader,
        clock: Clock = time.time,
    ) -> None:
        self._dead_letters = dead_letters
        self._status = status
        self._ledger = ledger
        self._objects = objects
        self._bucket = bucket
        self._idempotency = idempotency
        self._executions = executions
        self._parts_at_jumio = parts_at_jumio
        self._tenant = tenant
        self._clock = clock

    # --- entry points -------------------------------------------------------------------

    def erase(self, request: DeletionRequest) -> ErasureReport:
        """Carry the request out completely, or raise (transient: retry; permanent: park)."""
        report = ErasureReport(
            requestId=request.requestId,
            scope=request.scope.value,
            accountId=request.account_id,
            credentialId=request.credential_id,
            classifier=request.classifier,
            requestedBy=request.requestedBy,
        )
        if request.scope in (DeletionScope.PART, DeletionScope.DOCUMENT_PAGES):
            self._erase_part(request, report)
        elif request.scope is DeletionScope.SESSION:
            self._erase_sessions(request, report, [request.workflow_execution_id or ""])
        else:
            self._erase_account(request, report)
        return report

    def sessions_past_retention(self, retention_days: int, now: float) -> list[str]:
        """Ids of the sessions registered before the retention cutoff and not yet erased."""
        return self._ledger.sessions_registered_before(retention_cutoff(now, retention_days))

    # --- scopes -------------------------------------------------------------------------

    def _erase_part(self, request: DeletionRequest, report: ErasureReport) -> None:
        """PART / DOCUMENT_PAGES: a redo before finalize; the session stays open."""
        wf = request.workflow_execution_id or ""
        report.workflowExecutionIds.append(wf)
        plan = session_erasure(request, wf)
        record = self._ledger.get(wf)
        parts = self._ledger.parts(wf, plan.part)
        if record is None:
            report.jumio.append(_skipped(request, SKIPPED_NOT_REGISTERED))
        else:
            report.accountId = record.session.account_id
            if record.status is SessionStatus.DELETED:
                report.jumio.append(_skipped(request, SKIPPED_SESSION_DELETED))
            elif record.status is not SessionStatus.REGISTERED:
                raise ErasureRefused(
                    "SESSION_NOT_ACTIVE",
                    f"the session is {record.status.value}: parts can be deleted at Jumio only "
                    "before finalize; request scope SESSION to erase it",
                )
            elif _only_tombstone(parts):
                report.jumio.append(_skipped(request, SKIPPED_ALREADY_ERASED))
            else:
                report.jumio.append(self._delete_part_at_jumio(request, record))
        other_keys = record.other_capture_keys if record is not None else frozenset()
        self._erase_objects(plan, parts, report.counts, other_keys)
        self._forget_part(plan, parts, record, request, report.counts)

    def _erase_sessions(
        self, request: DeletionRequest, report: ErasureReport, workflow_ids: list[str]
    ) -> None:
        """SESSION (one id) and the sessions of an ACCOUNT: close, Jumio, AWS, ledger."""
        records = {wf: self._ledger.get(wf) for wf in workflow_ids}
        report.workflowExecutionIds.extend(workflow_ids)
        for wf, record in records.items():
            if record is not None:
                report.accountId = report.accountId or record.session.account_id
                report.counts.executionsStopped += self._close(wf, record, request.requestId)
        if request.scope is DeletionScope.SESSION:
            first = records[workflow_ids[0]]
            report.jumio.append(self._delete_workflow_at_jumio(request, first))
        for wf, record in records.items():
            plan = session_erasure(request, wf)
            parts = self._ledger.parts(wf)
            other_keys = record.other_capture_keys if record is not None else frozenset()
            self._erase_objects(plan, parts, report.counts, other_keys)
            self._scrub_session(wf, parts, request.requestId, report.counts)
        subjects = set(workflow_ids) | ({request.account_id} if request.account_id else set())
        # Bodies in the DLQs (captures, data, registrations, requests) name their subject.
        report.counts.deadLetters += self._dead_letters.remove_mentioning(subjects)

    def _erase_account(self, request: DeletionRequest, report: ErasureReport) -> None:
        """ACCOUNT: Jumio deletes the account and its workflows; every ledger session goes too."""
        account_id = request.account_id or ""
        workflow_ids = self._ledger.sessions_of_account(account_id)
        records = [self._ledger.get(wf) for wf in workflow_ids]
        if workflow_ids and all(record is not None and record.erased for record in records):
            report.jumio.append(_skipped(request, SKIPPED_ALREADY_ERASED))
        else:
            # Close and stop first, so nothing lands while Jumio deletes the account.
            for wf, record in zip(workflow_ids, records, strict=True):
                if record is not None:
                    report.counts.executionsStopped += self._close(wf, record, request.requestId)
            self._tenant().delete_account(account_id)
            report.jumio.append(JumioOutcome(JumioOperation.DELETE_ACCOUNT.value, CONFIRMED))
        self._erase_sessions(request, report, workflow_ids)

    # --- Jumio --------------------------------------------------------------------------

    def _delete_part_at_jumio(
        self, request: DeletionRequest, record: SessionRecord
    ) -> JumioOutcome:
        credential = record.session.credential(request.credential_id or "")
        if credential is None:
            raise InvalidMessage(
                "UNKNOWN_CREDENTIAL",
                "credentialId is not a credential of this workflow execution",
                field="credentialId",
            )
        call = part_jumio_call(request, record.session.account_id, dict(credential.parts))
        if not credential.token:
            raise ErasureRefused("NO_API_TOKEN", "the credential has no API token to delete with")
        pages = call.operation is JumioOperation.DELETE_ALL_PAGES
        try:
            if pages:
                self._parts_at_jumio.delete_all_pages(call.href or "", credential.token)
            else:
                self._parts_at_jumio.delete_part(call.href or "", credential.token)
        except JumioTransientError:
            raise
        except JumioError:
            # Refused in a way Jumio does not explain (a repeat after a lost answer may meet
            # 400, 403 or 409 as well as 404): the details say whether the part is gone.
            classifier = DOCUMENT_CLASSIFIER if pages else request.classifier or ""
            held = self._status.present_parts(
                record.session.account_id, record.session.workflow_execution_id
            )
            if classifier in held.get(credential.id, frozenset()):
                raise
        return _confirmed(call)

    def _delete_workflow_at_jumio(
        self, request: DeletionRequest, record: SessionRecord | None
    ) -> JumioOutcome:
        if record is not None and record.erased:
            return _skipped(request, SKIPPED_ALREADY_ERASED)
        account_id = record.session.account_id if record is not None else request.account_id
        if account_id is None:
            # Never registered here: nothing was sent to Jumio by this pipeline.
            return _skipped(request, SKIPPED_NOT_REGISTERED)
        call = tenant_jumio_call(request, account_id)
        self._tenant().delete_workflow_execution(account_id, call.workflow_execution_id or "")
        return _confirmed(call)

    # --- ledger and Step Functions ------------------------------------------------------

    def _close(self, wf: str, record: SessionRecord, request_id: str) -> int:
        """Close the session (DELETED) and stop its execution; 1 when one was stopped."""
        if record.status is not SessionStatus.DELETED:
            self._ledger.close_for_erasure(wf, request_id)
        if not record.execution_arn:
            return 0
        stopped = self._executions.stop_if_running(
            record.execution_arn, error="SessionDeleted", cause="erased on request"
        )
        return int(stopped)

    def _scrub_session(
        self, wf: str, parts: list[PartRecord], request_id: str, counts: ErasureCounts
    ) -> None:
        """Last step: part records gone, tokens and hrefs dropped, the session marked erased.

        The session record stays as a tombstone (ids, category names, status DELETED): it keeps
        a late capture or a replayed registration from bringing the session back.
        """
        for part in parts:
            self._ledger.delete_part(wf, part.part)
            counts.ledgerItems += 1
        if self._ledger.scrub_erased_session(wf, request_id, now=self._clock()):
            counts.ledgerItems += 1

    def _forget_part(
        self,
        plan: SessionErasure,
        parts: list[PartRecord],
        record: SessionRecord | None,
        request: DeletionRequest,
        counts: ErasureCounts,
    ) -> None:
        """PART scope, last step: part records replaced by a tombstone, the part pending again."""
        wf = plan.workflow_execution_id
        for part in parts:
            if part.part == plan.part and part.is_tombstone:
                continue
            self._ledger.delete_part(wf, part.part)
            counts.ledgerItems += 1
        if record is None or record.status is not SessionStatus.REGISTERED or plan.part is None:
            return
        self._ledger.leave_part_tombstone(
            wf,
            plan.part,
            request.requestId,
            pending_again=plan.part.ref in record.session.required_parts,
            now=self._clock(),
        )

    # --- S3 and idempotency -------------------------------------------------------------

    def _erase_objects(
        self,
        plan: SessionErasure,
        parts: list[PartRecord],
        counts: ErasureCounts,
        other_keys: frozenset[str],
    ) -> None:
        """Idempotency records first (their ids come from the versions), then the versions.

        The versions are those under the scope's canonical prefix, and those of the keys the
        ledger remembered because they spell the ids in another case (S3 prefixes are case
        sensitive, UUIDs are not).
        """
        versions = list(self._objects.versions(self._bucket, plan.object_prefix))
        for key in sorted(k for k in other_keys if _in_scope(k, plan)):
            versions += [v for v in self._objects.versions(self._bucket, key) if v.key == key]
        recorded_ids = [part.idempotency_key for part in parts if part.idempotency_key]
        counts.idempotencyRecords += self._idempotency.delete_for(
            self._bucket, versions, recorded_ids
        )
        deleted = self._objects.delete_versions(self._bucket, versions)
        counts.objectVersions += deleted.versions
        counts.deleteMarkers += deleted.delete_markers


def _in_scope(key: str, plan: SessionErasure) -> bool:
    """Whether a remembered capture key belongs to what the plan erases."""
    try:
        parsed = parse_capture_key(key)
    except InvalidMessage:
        return False
    if parsed.workflow_execution_id != plan.workflow_execution_id:
        return False
    if plan.part is None:
        return True
    return (parsed.credential_id, parsed.classifier) == (
        plan.part.credential_id,
        plan.part.classifier,
    )


def _only_tombstone(parts: list[PartRecord]) -> bool:
    """A part erased before and not captured again since: Jumio has nothing of it."""
    return bool(parts) and all(part.is_tombstone and part.part.page is None for part in parts)


def _skipped(request: DeletionRequest, outcome: str) -> JumioOutcome:
    return JumioOutcome(
        _OPERATION_OF_SCOPE[request.scope].value,
        outcome,
        workflowExecutionId=request.workflow_execution_id,
        credentialId=request.credential_id,
    )


def _confirmed(call: JumioCall) -> JumioOutcome:
    return JumioOutcome(
        call.operation.value,
        CONFIRMED,
        workflowExecutionId=call.workflow_execution_id,
        credentialId=call.credential_id,
    )


class LateCaptures:
    """A capture that arrives after its session was erased: every version of its key deleted.

    The session's erasure is over, so nothing else would remove it (the bucket's lifecycle
    only expires it after the retention period). Its idempotency records go too, and the
    deletion is audited like a request, under an id derived from the capture, so a repeated
    notification is recognised instead of audited twice.
    """

    def __init__(
        self,
        *,
        objects: CaptureVersions,
        idempotency: IdempotencyRecordsStore,
        audit: AuditLog,
        clock: Clock = time.time,
    ) -> None:
        self._objects = objects
        self._idempotency = idempotency
        self._audit = audit
        self._clock = clock

    def erase(self, identity: CaptureIdentity, workflow_execution_id: str) -> ErasureReport | None:
        """Delete the key's versions and audit it; None when this capture was handled before."""
        request_id = (
            f"late-capture:{workflow_execution_id}:{key_digest(identity.key)}:"
            f"{identity.version_label.removeprefix('etag:')[:64]}"
        )
        if self._audit.final_record(request_id) is not None:
            return None
        started_at = self._clock()
        report = ErasureReport(
            requestId=request_id,
            scope=LATE_CAPTURE_SCOPE,
            workflowExecutionIds=[workflow_execution_id],
            requestedBy=LATE_CAPTURE_REQUESTER,
        )
        versions = [
            version
            for version in self._objects.versions(identity.bucket, identity.key)
            if version.key == identity.key
        ]
        report.counts.idempotencyRecords += self._idempotency.delete_for(
            identity.bucket, versions, []
        )
        deleted = self._objects.delete_versions(identity.bucket, versions)
        report.counts.objectVersions += deleted.versions
        report.counts.deleteMarkers += deleted.delete_markers
        outcome = AuditOutcome.COMPLETED if report.did_anything else AuditOutcome.NO_OP
        self._audit.record(report, outcome, started_at=started_at)
        return report
