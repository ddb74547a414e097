"""The Powertools stack every handler wears, in one place: logger, tracer, metrics.

Why a function and not module-level objects here: the service name comes from each
function's environment, which is only known when that function's module is imported (and the
local runner imports several functions in one process). Each handler calls
:func:`observability` once at import and decorates its entry point with ``.entrypoint()``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from jumio_pipeline.adapters.metrics import EmfMetrics
from jumio_pipeline.handlers.settings import FunctionSettings

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Observability:
    """One function's logger, tracer and metrics."""

    logger: Logger
    tracer: Tracer
    metrics: EmfMetrics

    def entrypoint(self, *, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Decorate a Lambda handler: context in every log line (never the event), a trace
        segment without the response (a Jumio answer may carry a token), and the correlation id
        from the event when it names one."""

        def decorate(handler: Handler) -> Handler:
            traced = self.tracer.capture_lambda_handler(capture_response=False)(handler)
            return self.logger.inject_lambda_context(
                log_event=False, clear_state=True, correlation_id_path=correlation_id_path
            )(traced)

        return decorate


def _traced_libraries() -> list[str]:
    """AWS calls (botocore) always; Jumio's (requests) where the function's code imported it.

    Called after the handler's imports. Patching everything X-Ray supports (the default) would
    import libraries the function never uses (requests, sqlite3, ...) on every cold start, and
    trace each Jumio call twice (requests, and the http.client under it).
    """
    return ["botocore", *(["requests"] if "requests" in sys.modules else [])]


def observability(settings: FunctionSettings) -> Observability:
    """The function's Powertools objects, named after its service."""
    return Observability(
        logger=Logger(service=settings.service),
        tracer=Tracer(service=settings.service, patch_modules=_traced_libraries()),
        metrics=EmfMetrics(settings.metrics_namespace, settings.service),
    )
