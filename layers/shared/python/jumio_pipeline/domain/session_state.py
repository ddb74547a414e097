"""Where a session and its parts stand, as the ledger records them: statuses and answers.

These are the values the ledger adapter returns instead of DynamoDB items, so services reason
about sessions and parts without knowing how (or where) they are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.verdict import Decision, VerdictSource
from jumio_pipeline.domain.workflow_status import WorkflowStatus


class SessionStatus(StrEnum):
    """Where a session stands; only REGISTERED sessions accept parts."""

    REGISTERED = "REGISTERED"
    FINALIZING = "FINALIZING"
    FINALIZED = "FINALIZED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    DELETED = "DELETED"


class PartStatus(StrEnum):
    """A part's state; DELETED is the tombstone an erasure request leaves."""

    UPLOADED = "UPLOADED"
    REJECTED = "REJECTED"
    DELETED = "DELETED"


class CallbackRecorded(StrEnum):
    """What recording a Jumio callback did."""

    NEW = "NEW"
    DUPLICATE = "DUPLICATE"
    CONFLICTING = "CONFLICTING"  # another terminal status came first: kept aside, not applied
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class RegisterOutcome(StrEnum):
    """What recording a registration did."""

    NEW = "NEW"
    DUPLICATE = "DUPLICATE"
    TOKENS_REPLACED = "TOKENS_REPLACED"
    IGNORED_ENDED = "IGNORED_ENDED"


@dataclass(frozen=True)
class SessionRecord:
    """A session as recorded, with the pipeline's bookkeeping beside the Jumio data."""

    session: Session
    status: SessionStatus
    pending_parts: frozenset[str]
    has_task_token: bool
    completion_signalled: bool
    execution_arn: str | None
    erased: bool = False
    # Capture keys that spell the session's ids in another case (see CaptureKey.is_canonical).
    other_capture_keys: frozenset[str] = frozenset()
    # The verdict: Jumio's callback (its status), the decision and how it was learned.
    callback_status: WorkflowStatus | None = None
    decision: Decision | None = None
    verdict_source: VerdictSource | None = None
    verdict_published: bool = False
    finalized_at: int | None = None
    decided_at: int | None = None


@dataclass(frozen=True)
class PartRecord:
    """One part as recorded: what landed (or was refused), and which object version it was."""

    part: PartId
    status: PartStatus
    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    fingerprint: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None
    size_bytes: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None

    def evidence(self, operation: str) -> PartEvidence:
        """The same object version and facts, recorded again (a page sent once more)."""
        return PartEvidence(
            bucket=self.bucket,
            key=self.key,
            version_id=self.version_id,
            etag=self.etag,
            sequencer=self.sequencer,
            size_bytes=self.size_bytes,
            format=self.format,
            width=self.width,
            height=self.height,
            operation=operation,
        )

    @property
    def landed(self) -> bool:
        """Jumio holds this part (a later refused version does not change that)."""
        return self.status is PartStatus.UPLOADED

    @property
    def is_tombstone(self) -> bool:
        """An erased part that was not captured again since."""
        return self.status is PartStatus.DELETED


@dataclass(frozen=True)
class PartLanded:
    """What recording a landed part tells the caller, read atomically from the same write."""

    all_landed: bool
    pending_parts: frozenset[str]


@dataclass(frozen=True)
class PartEvidence:
    """Where a part came from and what was learned about it, recorded beside its status.

    Ids, sizes and codes only: a capture's object version and image facts, or the keyed
    fingerprint of prepared data (never a value of it).
    """

    bucket: str | None = None
    key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None
    size_bytes: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    operation: str | None = None
    fingerprint: str | None = None
    idempotency_key: str | None = None
    field: str | None = None


class StartState(StrEnum):
    """Where starting a session for one reference stands."""

    NEW = "NEW"  # this caller holds the claim: it may create the account
    STARTING = "STARTING"  # another caller is creating it now
    STARTED = "STARTED"  # a session exists for the reference and its token is alive
    UNCERTAIN = "UNCERTAIN"  # a create may have reached Jumio without an answer


@dataclass(frozen=True)
class StartClaim:
    """The answer to "may I start a session for this reference?"."""

    state: StartState
    workflow_execution_id: str | None = None
    account_id: str | None = None
    token_expires_at: int | None = None
    retry_after_seconds: int | None = None
