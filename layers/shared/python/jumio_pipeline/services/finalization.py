"""Finalizing a session at Jumio: once, only while its token is valid, and never twice.

The state machine's Finalize step runs :class:`FinalizationService`; Step Functions retries it
on the transient error names, and may run it again after an answer was lost or the function
timed out. Jumio documents no error codes, so what an uncertain finalize did is found out the
documented way, by reading the workflow status (retrieval API): ACQUIRED or PROCESSED means it
was finalized (a success, counted once), INITIATED means it was not (retry), SESSION_EXPIRED or
TOKEN_EXPIRED ends the session as expired. A retry of a session already FINALIZING in the
ledger (an earlier attempt may have reached Jumio) reads the status before sending anything.

Once Jumio has the finalize, the ledger records FINALIZED here, and the first wait for the
verdict is planned on Jumio's poll schedule: both used to be states of their own, and every
state entered costs a Step Functions transition per session (README, Cost). A failed ledger
write after Jumio took the finalize is ``FinalizedNotRecorded``, which the state machine retries:
the retry finds the session FINALIZING, reads Jumio's status and records again.

Errors raised here are the names the state machine routes on (``SessionTokenExpired`` →
RecordExpired, the ``Jumio*`` names → Retry or RecordFailed); their messages carry ids only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jumio_pipeline.domain.errors import (
    FinalizedNotRecorded,
    JumioError,
    JumioThrottled,
    SessionDeleted,
    SessionNotFinalizable,
    SessionNotRegistered,
    SessionTokenExpired,
)
from jumio_pipeline.domain.session import Session
from jumio_pipeline.domain.session_state import SessionRecord, SessionStatus
from jumio_pipeline.domain.verdict import PollPlan, poll_plan
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS
from jumio_pipeline.services.ports import Clock, Finalizer, OutcomeLedger, WorkflowStatusReader

# (account_id, workflow_execution_id) -> the workflow-execution href built from the region.
HrefBuilder = Callable[[str, str], str]


@dataclass(frozen=True)
class FinalizeResult:
    """What the Finalize step returns to the state machine: ids, a time and the first wait for
    the verdict, never a token."""

    workflow_execution_id: str
    finalized_at: str
    already_finalized: bool
    first_wait: PollPlan
    # True: this call wrote FINALIZED in the ledger; False: the session was erased meanwhile
    # (the ledger keeps DELETED); None: the ledger said FINALIZED already, nothing written.
    recorded: bool | None = None

    def to_output(self) -> dict[str, Any]:
        """The task output as it appears in the execution history."""
        return {
            "workflowExecutionId": self.workflow_execution_id,
            "finalizedAt": self.finalized_at,
            "round": self.first_wait.round,
            "waitSeconds": self.first_wait.wait_seconds,
            "exhausted": self.first_wait.exhausted,
        }


@dataclass(frozen=True)
class ReconcileResult:
    """What ReconcileFinalize returns: whether Jumio has the finalize, and if so the first wait."""

    workflow_execution_id: str
    finalized: FinalizeResult | None

    def to_output(self) -> dict[str, Any]:
        """Always the same keys: the state machine's ResultSelector names them all."""
        plan = self.finalized.to_output() if self.finalized else _NOT_FINALIZED
        return {
            **plan,
            "workflowExecutionId": self.workflow_execution_id,
            "finalized": self.finalized is not None,
        }


_NOT_FINALIZED: dict[str, Any] = {
    "finalizedAt": None,
    "round": 0,
    "waitSeconds": None,
    "exhausted": False,
}


class FinalizationService:
    """``finalize(workflow_execution_id)``: exactly once across retries; ``reconcile`` after a
    timeout tells whether Jumio has it.

    ``build_href(account_id, workflow_execution_id)`` is used only when the account response
    carried no ``api.workflowExecution`` href (the contract says: take hrefs verbatim).
    """

    def __init__(
        self,
        *,
        ledger: OutcomeLedger,
        jumio: Finalizer,
        status: WorkflowStatusReader,
        build_href: HrefBuilder | None = None,
        schedule: tuple[int, ...] = POLL_SCHEDULE_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._jumio = jumio
        self._status = status
        self._build_href = build_href
        self._schedule = schedule
        self._clock = clock

    def finalize(self, workflow_execution_id: str) -> FinalizeResult:
        """Finalize the workflow execution at Jumio, or raise the name the state machine routes."""
        now = self._clock()
        record = self._registered(workflow_execution_id)
        if record.status is SessionStatus.FINALIZED:
            return self._result(workflow_execution_id, now, already_finalized=True)
        _refuse_ended(record.status, workflow_execution_id)
        if record.status is SessionStatus.REGISTERED and record.session.token_expires_at <= now:
            raise SessionTokenExpired(
                f"the Jumio token of workflow execution {workflow_execution_id} has expired"
            )
        href, token = _finalize_target(record.session, self._build_href)
        prior = self._ledger.mark_finalizing(workflow_execution_id)
        if prior is None:
            raise SessionNotRegistered(
                f"workflow execution {workflow_execution_id} is not registered"
            )
        if prior is SessionStatus.FINALIZED:
            return self._result(workflow_execution_id, now, already_finalized=True)
        _refuse_ended(prior, workflow_execution_id)
        if record.status is SessionStatus.FINALIZING and self._finalized_at_jumio(record):
            # An earlier attempt reached Jumio (its answer was lost, or the step timed out).
            return self._recorded(workflow_execution_id, now, already_finalized=True)
        try:
            self._jumio.finalize(href, token)
        except JumioThrottled:
            raise  # refused before anything was done: the state machine retries
        except JumioError as uncertain:
            if not self._finalized_at_jumio(record):
                raise uncertain from None  # INITIATED: it was not finalized; routed by name
            return self._recorded(workflow_execution_id, now, already_finalized=True)
        return self._recorded(workflow_execution_id, now, already_finalized=False)

    def reconcile(self, workflow_execution_id: str) -> ReconcileResult:
        """After Finalize timed out: Jumio has the finalize (recorded, as by ``finalize``), or
        it does not (INITIATED: finalize again); SessionTokenExpired when the execution expired."""
        now = self._clock()
        if not self._finalized_at_jumio(self._registered(workflow_execution_id)):
            return ReconcileResult(workflow_execution_id, None)
        finalized = self._recorded(workflow_execution_id, now, already_finalized=True)
        return ReconcileResult(workflow_execution_id, finalized)

    def _recorded(
        self, workflow_execution_id: str, now: float, *, already_finalized: bool
    ) -> FinalizeResult:
        """Jumio has the finalize: FINALIZED in the ledger (the task token of the wait for the
        parts dropped), or ``FinalizedNotRecorded`` for the state machine to retry."""
        try:
            recorded = self._ledger.record_outcome(
                workflow_execution_id, SessionStatus.FINALIZED, now=now
            )
        except Exception:
            raise FinalizedNotRecorded(
                f"workflow execution {workflow_execution_id} is finalized at Jumio; "
                "the ledger write failed"
            ) from None
        return self._result(
            workflow_execution_id, now, already_finalized=already_finalized, recorded=recorded
        )

    def _result(
        self,
        workflow_execution_id: str,
        now: float,
        *,
        already_finalized: bool,
        recorded: bool | None = None,
    ) -> FinalizeResult:
        finalized_at = datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds")
        first_wait = poll_plan(0, self._schedule)
        return FinalizeResult(
            workflow_execution_id, finalized_at, already_finalized, first_wait, recorded
        )

    def _finalized_at_jumio(self, record: SessionRecord) -> bool:
        """Jumio's status decides: finalized, not (yet), or expired (raised)."""
        status = self._status.workflow_status(
            record.session.account_id, record.session.workflow_execution_id
        )
        if status.expired:
            raise SessionTokenExpired(
                f"Jumio says workflow execution {record.session.workflow_execution_id} "
                f"is {status.value}"
            )
        return status.finalized

    def _registered(self, workflow_execution_id: str) -> SessionRecord:
        record = self._ledger.get(workflow_execution_id)
        if record is None:
            raise SessionNotRegistered(
                f"workflow execution {workflow_execution_id} is not registered"
            )
        return record


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
