"""Sending the state machine's "all parts landed" signal exactly once.

Two events race: the last required part lands (a capture, prepared data, a token renewal) and
the wait state stores its task token (await_parts). Both call :class:`CompletionSignal`; the
ledger's conditional claim lets exactly one of them through, whichever comes second.
"""

from __future__ import annotations

from jumio_pipeline.services.ports import CompletionLedger, Executions


class CompletionSignal:
    """``signal(workflow_execution_id)``: True when this caller sent the signal."""

    def __init__(self, *, ledger: CompletionLedger, executions: Executions) -> None:
        self._ledger = ledger
        self._executions = executions

    def __call__(self, workflow_execution_id: str) -> bool:
        """Send SendTaskSuccess if this caller wins the claim."""
        task_token = self._ledger.claim_completion_signal(workflow_execution_id)
        if task_token is None:
            return False
        output = {"workflowExecutionId": workflow_execution_id, "allPartsLanded": True}
        try:
            return self._executions.send_task_success(task_token, output)
        except BaseException:
            # Not sent: give the claim back so that a retry (of this caller) can claim again.
            self._ledger.release_completion_claim(workflow_execution_id)
            raise
