"""The layer's own log lines (``jumio_pipeline.*``) written by the running function's Logger.

The layer's modules log through stdlib ``logging`` (the services may not import Powertools,
see pyproject's import contracts). Left alone, Lambda would drop their INFO lines (the root
logger is at WARNING) and print their warnings as plain text without the correlation id. So
while a handler runs, every ``jumio_pipeline`` record goes to that function's Powertools
handler: the same JSON formatter, hence the same ``service``, Lambda context and
``correlation_id`` as the handler's own lines. Powertools' own package logger is routed the
same way (at the level the root logger gives it): its Tracer logs an exception that leaves a
handler, which would otherwise be a plain-text traceback.

Why a context variable and not Powertools' ``copy_config_to_registered_loggers``: that copies
one function's handler for good, while the local cloud (and the tests) run several functions in
one process, and a function can invoke another in the same thread. The variable is set per
invocation and reset after it, so a line belongs to the invocation that wrote it. Outside an
invocation (scripts, tests of the client) the records propagate as stdlib records always do.

Such a record still propagates to the root logger after it was written as JSON; a filter on
the root's handlers (Lambda's own among them) drops it there, as Powertools does for its own
logger, except pytest's capture handler, so ``caplog`` keeps seeing every record.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

LAYER_LOGGER = "jumio_pipeline"
POWERTOOLS_LOGGER = "aws_lambda_powertools"
_WRITTEN_AS_JSON = "_jumio_pipeline_written_as_json"

_current_handlers: contextvars.ContextVar[Sequence[logging.Handler]] = contextvars.ContextVar(
    "jumio_pipeline_function_log_handlers", default=()
)


class _RunningFunctionHandler(logging.Handler):
    """Hands each layer record to the handlers of the function running in this context."""

    def emit(self, record: logging.LogRecord) -> None:
        handlers = _current_handlers.get()
        for handler in handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        if handlers:
            setattr(record, _WRITTEN_AS_JSON, True)


class _SkipWrittenAsJson(logging.Filter):
    """On the root's handlers: drop a layer record the function's handler already wrote."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, _WRITTEN_AS_JSON, False)


_ROUTER = _RunningFunctionHandler()
_SKIP = _SkipWrittenAsJson()


def route_layer_logs(level: int | str) -> None:
    """At cold start: the layer's logger writes through the running function's handler.

    ``level`` (the function's log level) is applied only when nobody set the layer logger's
    level before (a test raising it to DEBUG keeps it); idempotent across functions.
    """
    for name in (LAYER_LOGGER, POWERTOOLS_LOGGER):
        routed = logging.getLogger(name)
        if _ROUTER not in routed.handlers:
            routed.addHandler(_ROUTER)
    layer = logging.getLogger(LAYER_LOGGER)
    if layer.level == logging.NOTSET:
        layer.setLevel(level)
    for handler in logging.getLogger().handlers:
        if _is_pytest_capture(handler):
            continue
        if _SKIP not in handler.filters:
            handler.addFilter(_SKIP)


@contextmanager
def layer_logs_written_by(handlers: Sequence[logging.Handler]) -> Iterator[None]:
    """For one invocation: the layer's records go to ``handlers`` (the function Logger's)."""
    token = _current_handlers.set(tuple(handlers))
    try:
        yield
    finally:
        _current_handlers.reset(token)


def _is_pytest_capture(handler: logging.Handler) -> bool:
    """pytest's caplog handler, which Powertools' own root filter also leaves alone."""
    kind = type(handler)
    return kind.__module__ == "_pytest.logging" and kind.__name__ == "LogCaptureHandler"
