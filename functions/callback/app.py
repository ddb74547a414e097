"""callback: Jumio's callback endpoint, a Lambda function URL (AuthType NONE).

Jumio cannot sign its callbacks, so three checks stand in for authentication: the request path
must be the secret kept in the ``CallbackSecret`` secret (compared in constant time), the
source address must be in ``CALLBACK_SOURCE_IPS`` when that is set (Jumio publishes its
callback addresses per region), and the body must be the documented payload of an execution
this stack registered, for the account that owns it. A valid callback is recorded (ids and
status only) and wakes the session's execution (services/verdict.py); it is answered 200 at
once. Everything else gets a 4xx, a ``CallbackRefused`` metric with the reason and a log line
with the reason only: never the body, the path or the secret.
"""

from __future__ import annotations

# First: the garbage collector pauses until cold_start_finished() below.
from jumio_pipeline.handlers.cold_start import cold_start_finished

import hmac
import ipaddress
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.secrets import cached_secret
from jumio_pipeline.adapters.step_functions import StepFunctions
from jumio_pipeline.domain.callback import parse_callback
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import CallbackSettings
from jumio_pipeline.services.verdict import (
    CallbackReceiver,
    PartsWaitEnder,
    UnknownExecution,
    VerdictSignal,
)

settings = CallbackSettings.from_env()
observed = observability(settings)
logger, metrics = observed.logger, observed.metrics

ledger = Ledger(settings.ledger_table)
executions = StepFunctions()
receiver = CallbackReceiver(
    ledger=ledger,
    executions=executions,
    signal=VerdictSignal(ledger=ledger, executions=executions),
    end_parts_wait=PartsWaitEnder(ledger=ledger, executions=executions),
)
read_path_secret = cached_secret(settings.callback_secret_arn)
allowed_networks = settings.source_networks
app = LambdaFunctionUrlResolver()


def _answer(status: int, **body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _refused(status: int, reason: str, *, field: str | None = None) -> Response:
    metrics.count("CallbackRefused", reason=reason)
    logger.warning("callback refused", extra={"reason": reason, "field": field})
    return _answer(status, error=reason, **({"field": field} if field else {}))


def _source_allowed(source_ip: str | None) -> bool:
    if not allowed_networks:
        return True
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks)


def _secret_matches(path_secret: str) -> bool:
    expected = read_path_secret()
    return isinstance(expected, str) and hmac.compare_digest(
        path_secret.encode("utf-8"), expected.encode("utf-8")
    )


@app.post("/<path_secret>")
def receive_callback(path_secret: str) -> Response:
    event = app.current_event
    if not _source_allowed(event.request_context.http.source_ip):
        return _refused(403, "SOURCE_NOT_ALLOWED")
    if not _secret_matches(path_secret):
        return _refused(404, "NOT_FOUND")
    body = event.decoded_body or ""
    try:
        callback = parse_callback(body.encode("utf-8") if isinstance(body, str) else body)
        logger.set_correlation_id(callback.workflow_execution_id)
        receipt = receiver.receive(callback)
    except InvalidMessage as exc:
        return _refused(400, exc.reason, field=exc.field or None)
    except UnknownExecution:
        return _refused(404, "UNKNOWN_EXECUTION")
    metrics.count("CallbackReceived", outcome=receipt.outcome.value, status=receipt.status.value)
    logger.info(
        "callback received",
        extra={
            "workflowExecutionId": callback.workflow_execution_id,
            "outcome": receipt.outcome.value,
            "status": receipt.status.value,
            "wokeVerdictWait": receipt.woke_verdict_wait,
            "endedPartsWait": receipt.ended_parts_wait,
        },
    )
    return _answer(200, outcome=receipt.outcome.value)


@app.not_found
def not_found(_: Exception) -> Response:
    return _refused(404, "NOT_FOUND")


@observed.entrypoint()
def handler(event: dict, context: LambdaContext) -> dict:
    """Route the function URL request; the body and path never reach a log."""
    return app.resolve(event, context)


cold_start_finished()  # last: the imported objects frozen, collection resumed
