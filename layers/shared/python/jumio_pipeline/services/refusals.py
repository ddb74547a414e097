"""Naming a refusal by what Jumio says about the execution, never by its error body.

When Jumio refuses a part or the prepared data for good, the HTTP status alone does not say
why: Jumio documents no error codes, and an execution that was finalized or has expired may be
answered with 400, 403, 404 or 409. The workflow status (retrieval API) does say it. Asking it
once per refusal turns "HTTP 403" into "the session is finalized" or "the token expired",
which is what an operator needs to act on; when the status cannot be read, or says the
execution still accepts parts, the refusal keeps the name its HTTP status gives it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jumio_pipeline.domain.errors import PipelineError
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_pipeline.services.ports import WorkflowStatusReader

logger = logging.getLogger(__name__)

SESSION_FINALIZED = "SESSION_FINALIZED"
TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 (a reason code, not a secret)
SESSION_EXPIRED = "SESSION_EXPIRED"


@dataclass(frozen=True)
class EndedExecution:
    """Why the execution takes nothing more: a reason code and a plain message."""

    reason: str
    message: str


class RefusalExplainer:
    """Reads the workflow status after a final refusal; best effort, one call."""

    def __init__(self, status: WorkflowStatusReader) -> None:
        self._status = status

    def ended(self, session: Session, http_status: int | None) -> EndedExecution | None:
        """The execution's end if Jumio's status shows one; None if it still takes parts."""
        try:
            status = self._status.workflow_status(session.account_id, session.workflow_execution_id)
        except PipelineError as exc:
            logger.info(
                "the workflow status could not explain a refusal (%s): the HTTP status names it",
                type(exc).__name__,
            )
            return None
        refused = f"Jumio refused it (HTTP {http_status})"
        if status.finalized:
            return EndedExecution(
                SESSION_FINALIZED,
                f"{refused}; its status is {status}: the session is finalized",
            )
        if status is WorkflowStatus.TOKEN_EXPIRED:
            return EndedExecution(TOKEN_EXPIRED, f"{refused}; its status is {status}")
        if status is WorkflowStatus.SESSION_EXPIRED:
            return EndedExecution(SESSION_EXPIRED, f"{refused}; its status is {status}")
        return None
