"""Where Jumio says a workflow execution stands: the documented statuses and what they mean.

The status (retrieval API) is how the pipeline finds out what an uncertain call did: a
finalize whose answer was lost, a refusal whose meaning Jumio does not document. Jumio asks
clients that poll it to follow a schedule, kept here for every caller.
"""

from __future__ import annotations

from enum import StrEnum

# Jumio's retrieval guidance: at most ten polls, this many seconds apart.
POLL_SCHEDULE_SECONDS = (40, 60, 100, 160, 240, 340, 460, 600, 760, 940)


class WorkflowStatus(StrEnum):
    """The statuses of Jumio's status route (and callbacks)."""

    INITIATED = "INITIATED"
    ACQUIRED = "ACQUIRED"
    PROCESSED = "PROCESSED"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 (a status, not a secret)

    @property
    def finalized(self) -> bool:
        """Jumio took the finalize: acquisition is over, processing started or done."""
        return self in (WorkflowStatus.ACQUIRED, WorkflowStatus.PROCESSED)

    @property
    def expired(self) -> bool:
        """The execution ended without finalize; only a new account update can help."""
        return self in (WorkflowStatus.SESSION_EXPIRED, WorkflowStatus.TOKEN_EXPIRED)
