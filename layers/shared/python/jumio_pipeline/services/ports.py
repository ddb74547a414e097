"""The small protocols through which services reach the world, one per collaborator role.

Every service takes its collaborators as keyword arguments typed with these protocols: the
adapters (DynamoDB, S3, SQS, Step Functions, Jumio) satisfy them in Lambda, in-memory fakes
satisfy them in the fast service tests (tests/unit/services). A protocol lists only what its
callers use, so a fake stays small and a service's needs are read off its signature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from jumio_pipeline.domain.capture_identity import ObjectVersion
from jumio_pipeline.domain.erasure_report import AuditOutcome, ErasureReport
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import (
    CallbackRecorded,
    PartEvidence,
    PartLanded,
    PartRecord,
    RegisterOutcome,
    SessionRecord,
    SessionStatus,
)
from jumio_pipeline.domain.verdict import Decision, VerdictSource
from jumio_pipeline.domain.workflow_status import WorkflowStatus

Clock = Callable[[], float]


# --- the ledger, by role ---------------------------------------------------------------------


class SessionReader(Protocol):
    """Reads a session as recorded."""

    def get(self, workflow_execution_id: str) -> SessionRecord | None: ...


class RegistrationLedger(SessionReader, Protocol):
    """What registering a session writes."""

    def register(self, session: Session, *, now: float | None = None) -> RegisterOutcome: ...

    def record_execution(self, workflow_execution_id: str, execution_arn: str) -> None: ...


class CompletionLedger(Protocol):
    """The race-free claim on the completion signal (see services.completion)."""

    def store_task_token(self, workflow_execution_id: str, task_token: str) -> bool: ...

    def claim_completion_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None: ...

    def release_completion_claim(self, workflow_execution_id: str) -> None: ...


class VerdictLedger(SessionReader, Protocol):
    """What waiting for Jumio's verdict reads and writes (see services.verdict)."""

    def record_callback(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> CallbackRecorded: ...

    def store_verdict_token(self, workflow_execution_id: str, task_token: str) -> bool: ...

    def claim_verdict_signal(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> tuple[str, WorkflowStatus] | None: ...

    def release_verdict_claim(self, workflow_execution_id: str) -> None: ...

    def record_poll(
        self, workflow_execution_id: str, status: WorkflowStatus, *, now: float | None = None
    ) -> None: ...

    def record_decision(
        self,
        workflow_execution_id: str,
        decision: Decision,
        source: VerdictSource,
        *,
        now: float | None = None,
    ) -> Decision | None: ...

    def mark_verdict_published(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> bool: ...

    def claim_parts_wait_end(
        self, workflow_execution_id: str, *, now: float | None = None
    ) -> str | None: ...

    def release_completion_claim(self, workflow_execution_id: str) -> None: ...


class PartLedger(SessionReader, Protocol):
    """What delivering a part (capture or prepared data) reads and writes."""

    def remember_capture_key(self, workflow_execution_id: str, key: str) -> None: ...

    def get_part(self, workflow_execution_id: str, part: PartId) -> PartRecord | None: ...

    def record_part_uploaded(
        self,
        workflow_execution_id: str,
        part: PartId,
        evidence: PartEvidence,
        *,
        now: float | None = None,
    ) -> PartLanded: ...

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
        """True if the refusal became the part's status; False if noted beside a landed part."""
        ...

    def record_unmatched(
        self,
        name: str,
        *,
        reason: str,
        message: str,
        evidence: PartEvidence,
        expires_at: int,
        now: float | None = None,
    ) -> None: ...


class DocumentLedger(Protocol):
    """What rebuilding a document reads and writes: its pages and the lease on it."""

    def parts(self, workflow_execution_id: str, of: PartId | None = None) -> list[PartRecord]: ...

    def record_part_uploaded(
        self,
        workflow_execution_id: str,
        part: PartId,
        evidence: PartEvidence,
        *,
        now: float | None = None,
    ) -> PartLanded: ...

    def delete_part(self, workflow_execution_id: str, part: PartId) -> None: ...

    def take_document_lease(
        self, workflow_execution_id: str, credential_id: str, *, now: float, seconds: int
    ) -> int | None: ...

    def release_document_lease(
        self, workflow_execution_id: str, credential_id: str, until: int
    ) -> None: ...


class OutcomeLedger(SessionReader, Protocol):
    """What finalizing and recording an outcome write."""

    def mark_finalizing(self, workflow_execution_id: str) -> SessionStatus | None: ...

    def record_outcome(
        self,
        workflow_execution_id: str,
        status: SessionStatus,
        *,
        error: str | None = None,
        now: float | None = None,
    ) -> bool: ...


class ErasureLedger(SessionReader, Protocol):
    """What an erasure reads and removes in the ledger."""

    def parts(self, workflow_execution_id: str, of: PartId | None = None) -> list[PartRecord]: ...

    def close_for_erasure(self, workflow_execution_id: str, request_id: str) -> None: ...

    def scrub_erased_session(
        self, workflow_execution_id: str, request_id: str, *, now: float | None = None
    ) -> bool: ...

    def delete_part(self, workflow_execution_id: str, part: PartId) -> None: ...

    def leave_part_tombstone(
        self,
        workflow_execution_id: str,
        part: PartId,
        request_id: str,
        *,
        pending_again: bool,
        now: float | None = None,
    ) -> None: ...

    def sessions_of_account(self, account_id: str) -> list[str]: ...

    def sessions_registered_before(self, cutoff: int) -> list[str]: ...


# --- AWS beside the ledger -------------------------------------------------------------------


class StoredObject(Protocol):
    """An object version whose size is known before its body is read."""

    size: int
    version_id: str | None

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class CaptureObjects(Protocol):
    """Where captures live (S3): read one version, tag one version."""

    def open_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> StoredObject | None: ...

    def tag_version(
        self, bucket: str, key: str, version_id: str | None, tags: dict[str, str]
    ) -> None: ...


class DeletedCounts(Protocol):
    """How many versions and delete markers a deletion removed."""

    versions: int
    delete_markers: int


class CaptureVersions(Protocol):
    """Listing and deleting every version of captures (erasure)."""

    def versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]: ...

    def delete_versions(self, bucket: str, versions: list[ObjectVersion]) -> DeletedCounts: ...


class DeadLetters(Protocol):
    """A DLQ: a message that can never succeed is parked there with its reason."""

    def park(
        self,
        *,
        body: str,
        reason: str,
        message: str,
        source_message_id: str,
        field: str = "",
        error_type: str = "",
    ) -> None: ...


class Requeue(Protocol):
    """Puts a message back on its queue, visible again after a delay."""

    def send(
        self, *, body: str, delay_seconds: int, attempt: int, first_seen_at: float
    ) -> None: ...


class Executions(Protocol):
    """The session state machine's executions and task tokens (Step Functions)."""

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> str: ...

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> bool: ...

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> bool: ...

    def stop_if_running(self, execution_arn: str, *, error: str, cause: str) -> bool: ...


class Metrics(Protocol):
    """Counts outcomes by name and dimensions; never receives ids, tokens or content."""

    def count(self, name: str, value: float = 1, **dimensions: str) -> None: ...


class RunOnceGuard(Protocol):
    """Makes a function run once per identity of its data (Powertools idempotency)."""

    def guard(self, function: Callable[..., Any]) -> Callable[..., Any]: ...

    def record_id(self, data: Any) -> str:
        """The id of the record guarding ``data`` (so that erasure can delete it)."""
        ...


class SecretKey(Protocol):
    """A secret key read when needed (the prepared-data fingerprint key)."""

    def bytes(self) -> bytes: ...


class IdempotencyRecordsStore(Protocol):
    """Deletes the run-once records of erased captures and data."""

    def delete_for(
        self, bucket: str, versions: Iterable[ObjectVersion], extra_ids: Iterable[str]
    ) -> int: ...


class DeadLetterSweep(Protocol):
    """Removes the messages that mention an erased subject from every dead-letter queue."""

    def remove_mentioning(self, ids: set[str]) -> int:
        """Delete every DLQ message whose body names one of ``ids``; how many went."""
        ...


class AuditLog(Protocol):
    """The append-only audit trail of erasure requests."""

    def record(
        self,
        report: ErasureReport,
        outcome: AuditOutcome,
        *,
        started_at: float,
        reason: str | None = None,
        detail: str | None = None,
        source_message_id: str | None = None,
    ) -> dict[str, Any]: ...

    def final_record(self, request_id: str) -> dict[str, Any] | None:
        """The record that says how the request ended (COMPLETED, NO_OP, FAILED), if any."""
        ...


class RequestQueue(Protocol):
    """Files messages on a queue in batches (the daily retention run)."""

    def send_all(self, bodies: list[str]) -> None: ...


# --- Jumio -----------------------------------------------------------------------------------


class PartUploads(Protocol):
    """Credentials-API uploads with a credential's api.token (``CredentialsClient``).

    ``verify``, when given, is a check the upload's body may not end before: it runs beside
    the upload; if it raises, the upload is cut short (nothing lands) and its error is raised.
    """

    def add_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]: ...

    def update_part(
        self,
        href: str,
        token: str,
        content: bytes,
        content_type: str,
        filename: str,
        *,
        verify: Callable[[], None] | None = None,
    ) -> dict[str, Any]: ...

    def upload_document(
        self, href: str, token: str, pages: list[tuple[bytes, str, str]]
    ) -> dict[str, Any]: ...


class DocumentUploads(Protocol):
    """Document pages at Jumio (``CredentialsClient``): add pages, delete them all."""

    def upload_document(
        self, href: str, token: str, pages: list[tuple[bytes, str, str]]
    ) -> dict[str, Any]: ...

    def delete_all_pages(self, href: str, token: str) -> None: ...


class PreparedDataUploads(Protocol):
    """The PREPARED_DATA upload (``CredentialsClient``)."""

    def upload_prepared_data(
        self, href: str, token: str, data: dict[str, Any]
    ) -> dict[str, Any]: ...


class Finalizer(Protocol):
    """Finalize (``CredentialsClient``)."""

    def finalize(self, workflow_execution_href: str, token: str) -> dict[str, Any]: ...


class PartDeletions(Protocol):
    """Pre-finalize part deletions (``CredentialsClient``)."""

    def delete_part(self, href: str, token: str) -> None: ...

    def delete_all_pages(self, href: str, token: str) -> None: ...


class TenantDeletions(Protocol):
    """Deletions with the tenant's OAuth token (``TenantClient``)."""

    def delete_workflow_execution(self, account_id: str, wf_id: str) -> None: ...

    def delete_account(self, account_id: str) -> None: ...


class WorkflowDetailsReader(Protocol):
    """Jumio's retrieval API: the details of an execution (decisions when PROCESSED)."""

    def workflow_details(self, account_id: str, workflow_execution_id: str) -> dict[str, Any]: ...


class VerdictEvents(Protocol):
    """Where a session's verdict is published (EventBridge)."""

    def publish(self, detail: dict[str, Any]) -> None: ...


class WorkflowStatusReader(Protocol):
    """Jumio's retrieval API with the tenant token: what an execution's state is now."""

    def workflow_status(self, account_id: str, workflow_execution_id: str) -> WorkflowStatus: ...

    def present_parts(
        self, account_id: str, workflow_execution_id: str
    ) -> dict[str, frozenset[str]]:
        """Credential id → the classifiers Jumio holds for it now."""
        ...
