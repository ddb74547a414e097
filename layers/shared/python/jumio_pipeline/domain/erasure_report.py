"""What an erasure request did, as its audit record tells it: outcome, counts, Jumio calls.

A company must be able to show a regulator what was erased, where, when and on whose request,
long after the data itself is gone. These values hold ids, counts, outcome names and reasons
written by this project, never a token, a body or a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuditOutcome(StrEnum):
    """How a request attempt ended."""

    COMPLETED = "COMPLETED"  # something was erased and every step confirmed
    NO_OP = "NO_OP"  # everything was already gone: a repeat
    RETRYING = "RETRYING"  # a transient failure; the message goes back to the queue
    FAILED = "FAILED"  # permanent; the message is parked in the DLQ with the reason


@dataclass
class ErasureCounts:
    """What one request removed, per place, to the exact item."""

    objectVersions: int = 0  # camelCase: the names as stored in the audit record
    deleteMarkers: int = 0
    ledgerItems: int = 0
    idempotencyRecords: int = 0
    executionsStopped: int = 0
    deadLetters: int = 0

    @property
    def total(self) -> int:
        return sum(vars(self).values())


@dataclass(frozen=True)
class JumioOutcome:
    """One Jumio deletion call and what came of it (CONFIRMED: 2xx or 404, already gone)."""

    operation: str
    outcome: str
    workflowExecutionId: str | None = None
    credentialId: str | None = None


@dataclass
class ErasureReport:
    """What a request did: the ids it covered, the counts and the Jumio calls."""

    requestId: str
    scope: str
    accountId: str | None = None
    workflowExecutionIds: list[str] = field(default_factory=list)
    credentialId: str | None = None
    classifier: str | None = None
    requestedBy: str | None = None
    counts: ErasureCounts = field(default_factory=ErasureCounts)
    jumio: list[JumioOutcome] = field(default_factory=list)

    @property
    def did_anything(self) -> bool:
        """False for a repeat: nothing was left to erase anywhere."""
        confirmed = any(call.outcome == "CONFIRMED" for call in self.jumio)
        return confirmed or self.counts.total > 0
