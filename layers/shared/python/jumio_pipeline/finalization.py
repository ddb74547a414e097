"""Finalizing a session at Jumio: once, only while its token is valid, and never twice.

The state machine's Finalize step calls :func:`finalize_session`; Step Functions retries it on
the transient error names and may call it again after a response was lost. That is why a
``409 ALREADY_FINALIZED`` from Jumio after such a retry counts as success, and why the ledger
is moved to FINALIZING first (no part may land after finalize was sent).

Errors raised here are the names the state machine routes on (``SessionTokenExpired`` →
RecordExpired, the ``Jumio*`` names → Retry or RecordFailed); their messages carry ids only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from jumio_pipeline.errors import (
    JumioConflict,
    PipelineError,
    SessionDeleted,
    SessionNotRegistered,
    SessionTokenExpired,
)
from jumio_pipeline.ledger import Ledger, SessionStatus
from jumio_pipeline.session import Session

ALREADY_FINALIZED = "ALREADY_FINALIZED"

# (account_id, workflow_execution_id) -> the workflow-execution href built from the region.
HrefBuilder = Callable[[str, str], str]


class SessionNotFinalizable(PipelineError):
    """The session ended without finalize (failed) or has no credential able to finalize it."""


class FinalizeApi(Protocol):
    """What finalizing needs from the Jumio client (``CredentialsClient``)."""

    def finalize(self, workflow_execution_href: str, token: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FinalizeResult:
    """What the Finalize step returns to the state machine: ids and a time, never a token."""

    workflow_execution_id: str
    finalized_at: str
    already_finalized: bool

    def to_output(self) -> dict[str, str]:
        """The task output as it appears in the execution history."""
        return {"workflowExecutionId": self.workflow_execution_id, "finalizedAt": self.finalized_at}


def finalize_session(
    ledger: Ledger,
    jumio: FinalizeApi,
    workflow_execution_id: str,
    *,
    build_href: HrefBuilder | None = None,
    now: float | None = None,
) -> FinalizeResult:
    """Finalize the workflow execution at Jumio, exactly once across retries.

    ``build_href(account_id, workflow_execution_id)`` is used only when the account response
    carried no ``api.workflowExecution`` href (the contract says: take hrefs verbatim).
    """
    now = time.time() if now is None else now
    record = ledger.get(workflow_execution_id)
    if record is None:
        raise SessionNotRegistered(f"workflow execution {workflow_execution_id} is not registered")
    if record.status is SessionStatus.FINALIZED:
        return _result(workflow_execution_id, now, already_finalized=True)
    _refuse_ended(record.status, workflow_execution_id)
    if record.session.token_expires_at <= now:
        raise SessionTokenExpired(
            f"the Jumio token of workflow execution {workflow_execution_id} has expired"
        )
    href, token = _finalize_target(record.session, build_href)
    status = ledger.mark_finalizing(workflow_execution_id)
    if status is None:
        raise SessionNotRegistered(f"workflow execution {workflow_execution_id} is not registered")
    if status is SessionStatus.FINALIZED:
        return _result(workflow_execution_id, now, already_finalized=True)
    _refuse_ended(status, workflow_execution_id)
    try:
        jumio.finalize(href, token)
    except JumioConflict as exc:
        # A retry after a lost response: Jumio finalized on the first call.
        if not exc.detail.startswith(ALREADY_FINALIZED):
            raise
        return _result(workflow_execution_id, now, already_finalized=True)
    return _result(workflow_execution_id, now, already_finalized=False)


def _refuse_ended(status: SessionStatus, workflow_execution_id: str) -> None:
    """Raise the routed error name for a session that can no longer be finalized."""
    if status is SessionStatus.DELETED:
        raise SessionDeleted(f"workflow execution {workflow_execution_id} was deleted")
    if status is SessionStatus.EXPIRED:
        raise SessionTokenExpired(
            f"workflow execution {workflow_execution_id} already ended as expired"
        )
    if status is SessionStatus.FAILED:
        raise SessionNotFinalizable(
            f"workflow execution {workflow_execution_id} already ended as failed"
        )


def _finalize_target(session: Session, build_href: HrefBuilder | None) -> tuple[str, str]:
    """The workflow-execution href and a token bound to that execution (one credential's)."""
    for credential in session.credentials.values():
        if credential.token and credential.workflow_execution_href:
            return credential.workflow_execution_href, credential.token
    token = session.any_token()
    if token and build_href is not None:
        return build_href(session.account_id, session.workflow_execution_id), token
    raise SessionNotFinalizable(
        f"workflow execution {session.workflow_execution_id} has no API credential "
        "with a workflowExecution href"
    )


def _result(workflow_execution_id: str, now: float, *, already_finalized: bool) -> FinalizeResult:
    finalized_at = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
    return FinalizeResult(workflow_execution_id, finalized_at, already_finalized)
