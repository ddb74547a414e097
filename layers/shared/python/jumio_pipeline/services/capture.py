"""Capture ingestion: one S3 object version becomes a Jumio part, or a recorded rejection.

The decisions live here, free of boto3 and requests: which part the key names, whether the
session accepts it, add or update, what a Jumio answer means. Everything with I/O comes in as
an injected port (the object store, the ledger, the Jumio client, the completion signal, the
metrics), so the same service runs in the Lambda, in tests and in the benchmark.

Every capture ends in one recorded outcome (README invariant 2, "nothing is lost silently"):
- UPLOADED: at Jumio (added, or updated for a retake) and recorded in the ledger, which tells
  atomically whether every required part has landed; then the completion signal is tried;
- REJECTED: a reason code and a plain message in the ledger part item, the object version
  tagged ``rejection-reason=<CODE>``, a ``CaptureRejected`` metric; never retried;
- SessionNotRegistered is raised for the caller to retry later (bounded by the event's age);
- SessionDeleted is raised for a capture of an erased session: the caller deletes it;
- JumioTransientError is raised for the caller to report a batch item failure.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jumio_pipeline.domain.capture_identity import CaptureIdentity, key_digest, sequencer_is_older
from jumio_pipeline.domain.capture_key import CaptureKey, parse_capture_key
from jumio_pipeline.domain.errors import (
    CaptureRejected,
    InvalidMessage,
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioRejected,
    SessionDeleted,
    SessionNotRegistered,
)
from jumio_pipeline.domain.image_validation import (
    MAX_BYTES,
    ImageInfo,
    check_pixel_data,
    inspect_capture,
)
from jumio_pipeline.domain.session_state import (
    PartEvidence,
    PartRecord,
    PartStatus,
    SessionRecord,
    SessionStatus,
)
from jumio_pipeline.services.document_pages import DocumentPages, PageUpload
from jumio_pipeline.services.ports import CaptureObjects, Clock, Metrics, PartLedger, PartUploads
from jumio_pipeline.services.refusals import RefusalExplainer

logger = logging.getLogger(__name__)

REJECTION_TAG = "rejection-reason"
DAY_SECONDS = 86400
# From this size on an image part's full decode (~120 ms at 15 MB) runs beside its upload, whose
# body cannot end before the decode passed (adapters/jumio/verified_upload.py). Below it the
# decode takes a few ms and runs first, so a broken small capture never opens a request.
CHECK_BESIDE_UPLOAD_FROM_BYTES = 1_000_000

# Session states that will never accept a part again, and the reason recorded for each.
_CLOSED_REASONS = {
    SessionStatus.FINALIZING: "SESSION_FINALIZED",
    SessionStatus.FINALIZED: "SESSION_FINALIZED",
    SessionStatus.FAILED: "SESSION_FINALIZED",
    SessionStatus.EXPIRED: "TOKEN_EXPIRED",
    SessionStatus.DELETED: "SESSION_DELETED",
}


# --- outcome --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureOutcome:
    """What happened to one capture: stored as the idempotency result, so ids and codes only."""

    status: str  # UPLOADED | REJECTED | SKIPPED
    reason: str | None = None
    operation: str | None = None  # add | update | document
    all_landed: bool = False
    completion_signalled: bool = False

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict for the idempotency record and the log."""
        return {
            "status": self.status,
            "reason": self.reason,
            "operation": self.operation,
            "allLanded": self.all_landed,
            "completionSignalled": self.completion_signalled,
        }


class _Rejection(Exception):
    """Internal: stop processing a capture with a reason code and a plain message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass
class _Context:
    """What is known about a capture as processing goes on (for the ledger's evidence)."""

    identity: CaptureIdentity
    key: CaptureKey | None = None
    record: SessionRecord | None = None
    info: ImageInfo | None = None
    size: int | None = None
    read_version_id: str | None = None
    previous_part: PartRecord | None = None

    def evidence(self, operation: str | None = None) -> PartEvidence:
        """Where the object is and what validation learned, for the ledger."""
        info = self.info
        return PartEvidence(
            bucket=self.identity.bucket,
            key=self.identity.key,
            version_id=self.identity.version_id or self.read_version_id,
            etag=self.identity.etag,
            sequencer=self.identity.sequencer,
            size_bytes=self.size,
            format=info.format if info else None,
            width=info.width if info else None,
            height=info.height if info else None,
            operation=operation,
        )


# --- the service ----------------------------------------------------------------------------


class CaptureService:
    """Processes one capture identity end to end; see the module docstring for the outcomes."""

    def __init__(
        self,
        *,
        ledger: PartLedger,
        objects: CaptureObjects,
        jumio: PartUploads,
        documents: DocumentPages,
        refusals: RefusalExplainer,
        signal_completion: Callable[[str], bool],
        metrics: Metrics,
        unmatched_retention_days: int = 30,
        clock: Clock = time.time,
    ) -> None:
        self._documents = documents
        self._refusals = refusals
        self._ledger = ledger
        self._objects = objects
        self._jumio = jumio
        self._signal_completion = signal_completion
        self._metrics = metrics
        self._unmatched_retention_days = unmatched_retention_days
        self._clock = clock

    def process(self, identity: CaptureIdentity) -> CaptureOutcome:
        """Deliver or reject the capture; raises SessionNotRegistered or JumioTransientError."""
        context = _Context(identity=identity)
        try:
            return self._deliver(context)
        except _Rejection as rejection:
            return self._reject(context, rejection.reason, rejection.message)

    # --- steps ---------------------------------------------------------------------------

    def _deliver(self, context: _Context) -> CaptureOutcome:
        identity = context.identity
        try:
            context.key = key = parse_capture_key(identity.encoded_key)
        except InvalidMessage as exc:
            raise _Rejection(exc.reason, exc.plain_message) from None
        context.record = record = self._ledger.get(key.workflow_execution_id)
        if record is None:
            raise SessionNotRegistered(
                f"workflow execution {key.workflow_execution_id} is not registered yet"
            )
        if record.status is SessionStatus.DELETED:
            # Not a rejection to keep: the capture itself must go (services/erasure.LateCaptures).
            raise SessionDeleted(f"workflow execution {key.workflow_execution_id} was erased")
        if not key.is_canonical:
            self._ledger.remember_capture_key(key.workflow_execution_id, key.key)
        context.previous_part = self._ledger.get_part(key.workflow_execution_id, key.part)
        if self._is_stale_or_done(context):
            return CaptureOutcome(status="SKIPPED", reason="ALREADY_RECORDED")
        href, token = self._check_session(record, key)
        is_update = _is_retake(context.previous_part, key)
        content = self._read(context)
        try:
            context.info = info = inspect_capture(
                content, classifier=key.classifier, for_update=is_update
            )
            verify = _pixel_check(content, info, key)
        except CaptureRejected as exc:
            raise _Rejection(exc.reason, exc.message) from None
        operation = self._upload(
            context, href, token, content, info, is_update=is_update, verify=verify
        )
        del content, verify
        landed = self._ledger.record_part_uploaded(
            key.workflow_execution_id, key.part, context.evidence(operation), now=self._clock()
        )
        self._metrics.count("PartUploaded", operation=operation)
        signalled = landed.all_landed and self._signal_completion(key.workflow_execution_id)
        return CaptureOutcome(
            status=PartStatus.UPLOADED.value,
            operation=operation,
            all_landed=landed.all_landed,
            completion_signalled=signalled,
        )

    def _check_session(self, record: SessionRecord, key: CaptureKey) -> tuple[str, str]:
        """The part's href and token, if the session still accepts this part."""
        credential = record.session.credential(key.credential_id)
        if credential is None or key.classifier not in credential.parts:
            raise _Rejection(
                "UNKNOWN_PART",
                f"credential {key.credential_id} has no {key.classifier} part in workflow "
                f"execution {key.workflow_execution_id}",
            )
        if record.status in _CLOSED_REASONS:
            raise _Rejection(
                _CLOSED_REASONS[record.status],
                f"the session is {record.status.value}; it accepts no more parts",
            )
        if not credential.token:
            raise _Rejection(
                "UNKNOWN_PART",
                f"credential {key.credential_id} does not allow the API channel",
            )
        if self._clock() >= record.session.token_expires_at:
            raise _Rejection(
                "TOKEN_EXPIRED",
                "the session's Jumio token has expired; a new account update is needed",
            )
        return credential.parts[key.classifier], credential.token

    def _is_stale_or_done(self, context: _Context) -> bool:
        """This version already landed, or a newer version of the key did (late notification)."""
        previous = context.previous_part
        if not previous or previous.key != context.identity.key:
            return False
        if _same_version(previous, context.identity) and previous.landed:
            return True
        return sequencer_is_older(context.identity.sequencer, previous.sequencer)

    def _read(self, context: _Context) -> bytes:
        """The original bytes of the version; the size is checked before the body is read."""
        identity = context.identity
        stored = self._objects.open_version(identity.bucket, identity.key, identity.version_id)
        if stored is None:
            raise _Rejection("OBJECT_NOT_FOUND", "the object version no longer exists in S3")
        context.size = stored.size
        context.read_version_id = stored.version_id
        if stored.size > MAX_BYTES:
            stored.close()
            raise _Rejection(
                "TOO_LARGE",
                f"{stored.size} bytes exceeds the limit of {MAX_BYTES} bytes (15 MB)",
            )
        try:
            return stored.read()
        finally:
            stored.close()

    def _upload(
        self,
        context: _Context,
        href: str,
        token: str,
        content: bytes,
        info: ImageInfo,
        *,
        is_update: bool,
        verify: Callable[[], None] | None,
    ) -> str:
        """Call Jumio; permanent refusals become rejections, transient errors propagate.

        ``verify`` is the pixel check still to pass: the client runs it beside the upload and
        raises its rejection if it fails (that upload was cut short and never landed).
        """
        key, record = context.key, context.record
        assert key is not None
        assert record is not None
        filename = key.key.rsplit("/", 1)[-1]
        try:
            if key.page is not None:
                page = PageUpload(content, info.content_type, filename)
                previous = context.previous_part
                return self._documents.deliver(
                    record.session,
                    key,
                    href,
                    token,
                    page,
                    retake=previous is not None and previous.landed,
                )
            if is_update:
                self._jumio.update_part(
                    href, token, content, info.content_type, filename, verify=verify
                )
                return "update"
            self._jumio.add_part(href, token, content, info.content_type, filename, verify=verify)
            return "add"
        except CaptureRejected as exc:
            raise _Rejection(exc.reason, exc.message) from None
        except (JumioAuthError, JumioNotFound, JumioRejected) as exc:
            raise self._rejection_for(record, exc) from None

    def _rejection_for(self, record: SessionRecord, refused: JumioError) -> _Rejection:
        """Name a final refusal: by Jumio's workflow status if it shows the execution ended,
        else by the HTTP status (Jumio documents no error codes; none is read)."""
        ended = self._refusals.ended(record.session, refused.status)
        if ended is not None:
            return _Rejection(ended.reason, ended.message)
        if isinstance(refused, JumioAuthError):
            if refused.status == 401:
                return _Rejection("TOKEN_EXPIRED", "Jumio refused the token (HTTP 401)")
            return _Rejection("JUMIO_FORBIDDEN", f"Jumio refused access (HTTP {refused.status})")
        if isinstance(refused, JumioNotFound):
            return _Rejection(
                "JUMIO_NOT_FOUND", "Jumio does not know this account, workflow or credential"
            )
        title = refused.title if isinstance(refused, JumioRejected) else ""
        return _Rejection(
            "JUMIO_REJECTED", f"Jumio refused the part (HTTP {refused.status}): {title}"
        )

    # --- rejection ------------------------------------------------------------------------

    def _reject(self, context: _Context, reason: str, message: str) -> CaptureOutcome:
        """Tag the object version, count it, and record it where an operator will look."""
        identity = context.identity
        self._objects.tag_version(
            identity.bucket, identity.key, identity.version_id, {REJECTION_TAG: reason}
        )
        self._metrics.count("CaptureRejected", reason=reason)
        key, record = context.key, context.record
        now = self._clock()
        evidence = context.evidence()
        if key is None or record is None:
            self._record_unmatched(identity, reason, message, evidence, now)
        else:
            # A part that landed stays landed: the ledger keeps this refusal beside it.
            self._ledger.record_part_rejected(
                key.workflow_execution_id,
                key.part,
                reason=reason,
                message=message,
                evidence=evidence,
                now=now,
            )
        return CaptureOutcome(status=PartStatus.REJECTED.value, reason=reason)

    def _record_unmatched(
        self,
        identity: CaptureIdentity,
        reason: str,
        message: str,
        evidence: PartEvidence,
        now: float,
    ) -> None:
        """A key that names no session part: recorded apart, expiring with the captures.

        Named by the key digest and version, so a duplicate overwrites itself.
        """
        digest = key_digest(identity.key)
        self._ledger.record_unmatched(
            f"{digest}#{identity.version_label}",
            reason=reason,
            message=message,
            evidence=evidence,
            expires_at=int(now) + self._unmatched_retention_days * DAY_SECONDS,
            now=now,
        )
        logger.warning("capture outside any session rejected: %s (key %s)", reason, digest)


def _pixel_check(content: bytes, info: ImageInfo, key: CaptureKey) -> Callable[[], None] | None:
    """The full decode of the pixel data: returned to run beside the upload for a large image
    part, else run here and now (None). Document pages are always checked first: a page is
    sent with the others when a document is rebuilt (services/document_pages.py)."""
    if key.page is None and len(content) >= CHECK_BESIDE_UPLOAD_FROM_BYTES:
        return functools.partial(check_pixel_data, content, info)
    check_pixel_data(content, info)
    return None


def _same_version(previous: PartRecord, identity: CaptureIdentity) -> bool:
    """The part record names this very object version (by versionId, else by eTag)."""
    if identity.version_id or previous.version_id:
        return previous.version_id == identity.version_id
    return bool(identity.etag) and previous.etag == identity.etag


def _is_retake(previous: PartRecord | None, key: CaptureKey) -> bool:
    """A new version of an image part that already landed: Jumio needs PUT, not POST."""
    return key.page is None and previous is not None and previous.landed
