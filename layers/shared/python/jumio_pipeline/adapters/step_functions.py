"""Step Functions as the pipeline uses it: start a session's execution, signal its wait, stop it.

Errors that only mean "already so" are answers here: an execution that exists under the
session's name is the session's execution; a task token whose wait is over cannot be signalled
any more; an execution that does not run any more needs no stop.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.adapters.aws_errors import error_code

# The wait already ended (token expiry, execution stopped or deleted): nothing left to signal.
_WAIT_IS_OVER = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class StepFunctions:
    """The session state machine's executions and task tokens."""

    def __init__(self, *, state_machine_arn: str | None = None, client: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = client or aws_clients.client("stepfunctions")

    def start_execution(self, name: str, execution_input: dict[str, Any]) -> str:
        """Start the execution named ``name``, or return the one already started under it."""
        if not self._arn:
            raise ValueError("a state machine ARN is needed to start executions")
        try:
            return self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(execution_input)
            )["executionArn"]
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
        prefix, machine_name = self._arn.split(":stateMachine:", 1)
        return f"{prefix}:execution:{machine_name}:{name}"

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> bool:
        """Let the waiting state go on; False when its wait is already over."""
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            if error_code(exc) in _WAIT_IS_OVER:
                return False
            raise
        return True

    def send_task_failure(self, task_token: str, *, error: str, cause: str) -> bool:
        """End the waiting state with ``error`` (which its Catch routes); False if it is over."""
        try:
            self._client.send_task_failure(taskToken=task_token, error=error, cause=cause)
        except ClientError as exc:
            if error_code(exc) in _WAIT_IS_OVER:
                return False
            raise
        return True

    def stop_if_running(self, execution_arn: str, *, error: str, cause: str) -> bool:
        """Stop the execution if it still runs; True when this call stopped it."""
        try:
            status = self._client.describe_execution(executionArn=execution_arn)["status"]
            if status != "RUNNING":
                return False
            self._client.stop_execution(executionArn=execution_arn, error=error, cause=cause)
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return False
            raise
        return True
