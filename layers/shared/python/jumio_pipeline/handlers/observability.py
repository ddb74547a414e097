"""The Powertools stack every handler wears, in one place: logger, tracer, metrics.

Why a function and not module-level objects here: the service name comes from each
function's environment, which is only known when that function's module is imported (and the
local runner imports several functions in one process). Each handler calls
:func:`observability` once at import and decorates its entry point with ``.entrypoint()``
(and its per-record functions with ``.traced``).

The layer's own modules log through stdlib ``logging``; while a handler runs their lines are
written by this function's Logger, as JSON with its correlation id (handlers/layer_logs.py).

Traces record no response and no exception object: a Jumio answer may carry a token, and an
exception's attributes are whatever its raiser kept. The X-Ray SDK still records the message
and type of an exception that leaves a subsegment, so every exception this project raises
carries only ids, statuses and codes (domain/errors.py, adapters/jumio/responses.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from aws_lambda_powertools import Logger, Tracer

from jumio_pipeline.adapters.metrics import EmfMetrics
from jumio_pipeline.handlers.layer_logs import layer_logs_written_by, route_layer_logs
from jumio_pipeline.handlers.settings import FunctionSettings

Handler = Callable[[Any, Any], Any]
Traced = TypeVar("Traced", bound=Callable[..., Any])


@dataclass(frozen=True)
class Observability:
    """One function's logger, tracer and metrics."""

    logger: Logger
    tracer: Tracer
    metrics: EmfMetrics

    def entrypoint(self, *, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Decorate a Lambda handler: context in every log line (never the event), the layer's
        lines written by this Logger, a trace segment without the response or the exception
        object, and the correlation id from the event when it names one."""

        def decorate(handler: Handler) -> Handler:
            traced = self.tracer.capture_lambda_handler(
                capture_response=False, capture_error=False
            )(handler)

            @wraps(handler)
            def with_layer_logs(event: Any, context: Any) -> Any:
                # Around the tracer too: it logs the exception that leaves the handler.
                with layer_logs_written_by(self.logger.handlers):
                    return traced(event, context)

            return self.logger.inject_lambda_context(
                log_event=False, clear_state=True, correlation_id_path=correlation_id_path
            )(with_layer_logs)

        return decorate

    def correlate_with_message(self, body: str) -> None:
        """Correlation id = the ``workflowExecutionId`` a JSON message names, before it is
        processed, so the layer's lines while it is carry it too; none if it names no UUID
        (the message is not trusted yet: nothing else of it is read, let alone logged)."""
        try:
            message = json.loads(body)
            named = message.get("workflowExecutionId") if isinstance(message, dict) else None
            correlation_id = str(UUID(named)) if isinstance(named, str) else None
        except (ValueError, RecursionError):
            correlation_id = None
        self.logger.set_correlation_id(correlation_id)

    def traced(self, method: Traced) -> Traced:
        """A subsegment per call of ``method`` (a record handler): no response, no exception
        object in its metadata."""
        return self.tracer.capture_method(capture_response=False, capture_error=False)(method)


def _traced_libraries() -> list[str]:
    """AWS calls (botocore) always; Jumio's (requests) where the function's code imported it.

    Called after the handler's imports. Patching everything X-Ray supports (the default) would
    import libraries the function never uses (requests, sqlite3, ...) on every cold start, and
    trace each Jumio call twice (requests, and the http.client under it).
    """
    return ["botocore", *(["requests"] if "requests" in sys.modules else [])]


def observability(settings: FunctionSettings) -> Observability:
    """The function's Powertools objects, named after its service; the layer logs through it."""
    # name: which module wrote the line (the handler's, or one of the layer's).
    logger = Logger(service=settings.service, name="%(name)s")
    route_layer_logs(logger.log_level)
    return Observability(
        logger=logger,
        tracer=Tracer(service=settings.service, patch_modules=_traced_libraries()),
        metrics=EmfMetrics(settings.metrics_namespace, settings.service),
    )
