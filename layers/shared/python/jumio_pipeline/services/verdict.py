"""Carrying a finalized session to Jumio's verdict: callback, polling, decision, event.

After Finalize the state machine waits in ``WaitForVerdict`` (its task token parked in the
ledger). Jumio's callback wakes it; if none comes, ``PollVerdict`` reads the workflow status on
Jumio's schedule between waits. Either way, once the status is PROCESSED, ``RecordDecision``
reads the details, keeps the decisions (types and labels only) and publishes the verdict.

Callbacks are hints, not facts: Jumio does not sign them, does not document redelivery, and
may send them late, twice or out of order. A callback only records a status and wakes the wait
(once: a callback never wakes a later wait); the workflow status read right after decides, and
the decision is always read from the retrieval API. Waking the wait has the same race as the
parts' completion signal (the callback may come before the wait stores its token, or while a
poll runs): whichever of the two comes second sends the signal, decided by the ledger's
conditional claim.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jumio_pipeline.domain.callback import JumioCallback
from jumio_pipeline.domain.errors import (
    InvalidMessage,
    JumioUnavailable,
    SessionDeleted,
    SessionNotRegistered,
    SessionNotWaiting,
)
from jumio_pipeline.domain.session_state import CallbackRecorded, SessionRecord, SessionStatus
from jumio_pipeline.domain.verdict import (
    Decision,
    DecisionUnreadable,
    PollPlan,
    Verdict,
    VerdictSource,
    parse_decision,
    poll_plan,
)
from jumio_pipeline.domain.verdict_event import verdict_event
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS, WorkflowStatus
from jumio_pipeline.services.ports import (
    Clock,
    Executions,
    VerdictEvents,
    VerdictLedger,
    WorkflowDetailsReader,
    WorkflowStatusReader,
)

logger = logging.getLogger(__name__)

# The error the parts wait's Catch routes to RecordExpired (statemachine/session.asl.json).
EXPIRED_AT_JUMIO_ERROR = "SessionTokenExpired"


class VerdictSignal:
    """``signal(workflow_execution_id)``: wake the verdict wait once; True if this call did."""

    def __init__(self, *, ledger: VerdictLedger, executions: Executions) -> None:
        self._ledger = ledger
        self._executions = executions

    def __call__(self, workflow_execution_id: str) -> bool:
        claim = self._ledger.claim_verdict_signal(workflow_execution_id)
        if claim is None:
            return False
        task_token, status = claim
        output = {"workflowExecutionId": workflow_execution_id, "status": status.value}
        try:
            sent = self._executions.send_task_success(task_token, output)
        except BaseException:
            self._ledger.release_verdict_claim(workflow_execution_id)
            raise
        if not sent:
            # That wait had timed out (a poll is running): the next wait may take the signal.
            self._ledger.release_verdict_claim(workflow_execution_id)
        return sent


class CallbackOutcome(StrEnum):
    """What a callback did; the HTTP answer and the metric follow from it."""

    ACCEPTED = "ACCEPTED"
    DUPLICATE = "DUPLICATE"
    CONFLICTING = "CONFLICTING"
    ERASED = "ERASED"  # the session was erased: nothing is kept


@dataclass(frozen=True)
class CallbackReceipt:
    """A callback's effect: ids, codes and flags, safe to log."""

    outcome: CallbackOutcome
    status: WorkflowStatus
    woke_verdict_wait: bool = False
    ended_parts_wait: bool = False


class UnknownExecution(LookupError):
    """A callback for an execution this stack never registered."""


class CallbackReceiver:
    """Records one valid callback and wakes whichever wait it ends."""

    def __init__(
        self,
        *,
        ledger: VerdictLedger,
        executions: Executions,
        signal: VerdictSignal,
        end_parts_wait: PartsWaitEnder,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._executions = executions
        self._signal = signal
        self._end_parts_wait = end_parts_wait
        self._clock = clock

    def receive(self, callback: JumioCallback) -> CallbackReceipt:
        """Record the callback's status once and wake the wait it concerns."""
        wf = callback.workflow_execution_id
        record = self._ledger.get(wf)
        if record is None:
            raise UnknownExecution(wf)
        if record.status is SessionStatus.DELETED:
            return CallbackReceipt(CallbackOutcome.ERASED, callback.status)
        if record.session.account_id != callback.account_id:
            raise InvalidMessage(
                "INVALID_CALLBACK",
                "account.id is not the account of this workflow execution",
                field="account.id",
            )
        recorded = self._ledger.record_callback(wf, callback.status, now=self._clock())
        if recorded is CallbackRecorded.UNKNOWN_SESSION:
            raise UnknownExecution(wf)
        if recorded is CallbackRecorded.CONFLICTING:
            return CallbackReceipt(CallbackOutcome.CONFLICTING, callback.status)
        ended = False
        if callback.status.expired and record.status is SessionStatus.REGISTERED:
            # Jumio ended the execution while it waited for parts: none can land any more.
            ended = self._end_parts_wait(wf, callback.status)
        woke = self._signal(wf)
        outcome = (
            CallbackOutcome.ACCEPTED
            if recorded is CallbackRecorded.NEW
            else CallbackOutcome.DUPLICATE
        )
        return CallbackReceipt(outcome, callback.status, woke, ended)


class PartsWaitEnder:
    """Ends a session's parts wait with the error its Catch sends to RecordExpired."""

    def __init__(self, *, ledger: VerdictLedger, executions: Executions) -> None:
        self._ledger = ledger
        self._executions = executions

    def __call__(self, workflow_execution_id: str, status: WorkflowStatus) -> bool:
        task_token = self._ledger.claim_parts_wait_end(workflow_execution_id)
        if task_token is None:
            return False
        try:
            return self._executions.send_task_failure(
                task_token,
                error=EXPIRED_AT_JUMIO_ERROR,
                cause=f"Jumio reported the workflow execution {status.value} by callback",
            )
        except BaseException:
            # As for every signal: a claim whose send failed is given back for the retry.
            self._ledger.release_completion_claim(workflow_execution_id)
            raise


class VerdictWait:
    """``WaitForVerdict``: park the task token; signal at once if the callback came first."""

    def __init__(self, *, ledger: VerdictLedger, signal: VerdictSignal) -> None:
        self._ledger = ledger
        self._signal = signal

    def await_verdict(self, workflow_execution_id: str, task_token: str) -> bool:
        if not self._ledger.store_verdict_token(workflow_execution_id, task_token):
            raise SessionNotWaiting(
                f"workflow execution {workflow_execution_id} is unknown or not finalized"
            )
        return self._signal(workflow_execution_id)


@dataclass(frozen=True)
class PollResult:
    """One step of polling: the status read and the next wait."""

    status: WorkflowStatus
    plan: PollPlan

    def to_output(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "round": self.plan.round,
            "waitSeconds": self.plan.wait_seconds,
            "exhausted": self.plan.exhausted,
        }


class VerdictPolling:
    """``PollVerdict``: Jumio's status, read no more often than its schedule allows."""

    def __init__(
        self,
        *,
        ledger: VerdictLedger,
        status: WorkflowStatusReader,
        schedule: tuple[int, ...] = POLL_SCHEDULE_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._status = status
        self._schedule = schedule
        self._clock = clock

    def poll(self, workflow_execution_id: str, completed_rounds: int) -> PollResult:
        """Read the status (poll ``completed_rounds + 1``) and plan the next wait."""
        record = _session(self._ledger, workflow_execution_id)
        status = self._status.workflow_status(record.session.account_id, workflow_execution_id)
        self._ledger.record_poll(workflow_execution_id, status, now=self._clock())
        return PollResult(status, poll_plan(completed_rounds + 1, self._schedule))


@dataclass(frozen=True)
class DecisionOutcome:
    """What RecordDecision returns to the state machine: the verdict and labels, no data."""

    decision: Decision
    source: VerdictSource
    published: bool

    def to_output(self) -> dict[str, Any]:
        return {
            "verdict": self.decision.verdict.value,
            "decision": self.decision.type.value,
            "label": self.decision.label,
            "source": self.source.value,
            "published": self.published,
        }


class VerdictPublisher:
    """Publishes a session's verdict once it is recorded: at least once, noted in the ledger."""

    def __init__(
        self, *, ledger: VerdictLedger, events: VerdictEvents, clock: Clock = time.time
    ) -> None:
        self._ledger = ledger
        self._events = events
        self._clock = clock

    def publish_once(self, record: SessionRecord, verdict: Verdict | None = None) -> bool:
        """The event goes out, then is noted; a retry after a lost note sends it again (at
        least once: subscribers key on workflowExecutionId). True if this call sent it."""
        if record.verdict_published:
            return False
        self._events.publish(verdict_event(record, verdict, now=self._clock()))
        self._ledger.mark_verdict_published(record.session.workflow_execution_id, now=self._clock())
        return True

    def expired(self, workflow_execution_id: str) -> bool:
        """Publish that the session expired (after RecordExpired); True if this call did."""
        record = self._ledger.get(workflow_execution_id)
        if record is None or record.status is not SessionStatus.EXPIRED:
            return False
        return self.publish_once(record, Verdict.EXPIRED)


class Decisions:
    """``RecordDecision``: read the decision, keep it once, publish it once."""

    def __init__(
        self,
        *,
        ledger: VerdictLedger,
        details: WorkflowDetailsReader,
        publisher: VerdictPublisher,
        clock: Clock = time.time,
    ) -> None:
        self._ledger = ledger
        self._details = details
        self._publisher = publisher
        self._clock = clock

    def decide(self, workflow_execution_id: str) -> DecisionOutcome:
        """The decision of a PROCESSED execution, kept in the ledger and published."""
        record = _session(self._ledger, workflow_execution_id)
        decision = record.decision
        if decision is None:
            details = self._details.workflow_details(
                record.session.account_id, workflow_execution_id
            )
            try:
                read = parse_decision(details)
            except DecisionUnreadable as exc:
                raise JumioUnavailable(
                    f"details: {exc} although the status is PROCESSED", operation="details"
                ) from None
            source = VerdictSource.CALLBACK if record.callback_status else VerdictSource.POLLING
            decision = self._ledger.record_decision(
                workflow_execution_id, read, source, now=self._clock()
            )
            if decision is None:
                raise SessionDeleted(f"workflow execution {workflow_execution_id} was erased")
            record = _session(self._ledger, workflow_execution_id)
        published = self._publisher.publish_once(record)
        return DecisionOutcome(decision, record.verdict_source or VerdictSource.POLLING, published)


def _session(ledger: VerdictLedger, workflow_execution_id: str) -> SessionRecord:
    record = ledger.get(workflow_execution_id)
    if record is None:
        raise SessionNotRegistered(f"workflow execution {workflow_execution_id} is not registered")
    if record.status is SessionStatus.DELETED:
        raise SessionDeleted(f"workflow execution {workflow_execution_id} was erased")
    return record
