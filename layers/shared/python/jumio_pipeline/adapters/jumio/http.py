"""One pooled HTTP session for every Jumio call, with the retry policy and the error mapping.

Kept per Lambda container (create it at cold start): the connection pool then survives
between invocations, which saves a TLS handshake per call. Every call carries connect and read
timeouts, the User-Agent Jumio requires and ``Accept: application/json``; every final failure
leaves as one of the errors of ``jumio_pipeline.domain.errors``.

Every attempt, retries included, is counted here and only here: ``JumioCalls`` (Count, by
``service``, ``operation`` and ``statusClass``: 2xx, 4xx, 429, 5xx or network) and
``JumioCallLatency`` (Milliseconds, by ``service`` and ``operation``), so that Jumio's rate
limits and its bill can be watched. Operations are the code names below, never ids.
"""

from __future__ import annotations

import contextvars
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from jumio_pipeline.adapters.jumio.responses import error_for_response
from jumio_pipeline.adapters.jumio.retry import (
    CallBudget,
    JumioRetry,
    build_retry,
)
from jumio_pipeline.adapters.jumio.settings import JumioSettings
from jumio_pipeline.adapters.metrics import EmfMetrics
from jumio_pipeline.domain.errors import JumioUnavailable

if TYPE_CHECKING:
    from jumio_pipeline.adapters.jumio.verified_upload import StreamedBody

logger = logging.getLogger(__name__)

# The operation names the clients send (credentials.py, tenant.py): a metric dimension, so any
# other name is counted as "other" rather than let an id become a dimension value.
JUMIO_OPERATIONS = frozenset(
    {
        "token",
        "account_create",
        "account_update",
        "status",
        "details",
        "add_part",
        "update_part",
        "upload_prepared_data",
        "update_prepared_data",
        "upload_document",
        "finalize",
        "delete_part",
        "delete_all_pages",
        "delete_workflow",
        "delete_account",
    }
)
CALLS_METRIC = "JumioCalls"
LATENCY_METRIC = "JumioCallLatency"

# The Retry of the call running in this thread/context. requests' HTTPAdapter has one
# ``max_retries`` for all calls; a per-call Retry is what gives each call its own deadline.
_CALL_RETRY: contextvars.ContextVar[JumioRetry | None] = contextvars.ContextVar(
    "jumio_call_retry", default=None
)

_TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _CallScopedRetryAdapter(HTTPAdapter):
    """An HTTPAdapter whose ``max_retries`` is the Retry of the current call, if any."""

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        """The current call's Retry; outside a call, the adapter's own (no retries)."""
        return _CALL_RETRY.get() or self._fallback_retries

    @max_retries.setter
    def max_retries(self, value: Retry) -> None:
        self._fallback_retries = value


class JumioHttp:
    """Sends one Jumio request with retries, timeouts and headers; maps failures to errors.

    ``sleep``, ``clock`` and ``rng`` are injectable so the retry policy can be tested without
    real waits; production uses the defaults. ``metrics`` defaults to the function's namespace
    and service from Powertools' variables; without ``POWERTOOLS_SERVICE_NAME`` (a script, not
    a function: every function's settings require it) nothing is counted, so that no EMF line
    mixes into a script's own output.
    """

    def __init__(
        self,
        settings: JumioSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        metrics: EmfMetrics | None = None,
    ) -> None:
        self.settings = settings
        self._metrics = metrics if metrics is not None else _function_metrics()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._session = requests.Session()
        # No ~/.netrc (it would replace our Authorization header) and no proxy from the env.
        self._session.trust_env = False
        self._session.headers.update(
            {"User-Agent": settings.user_agent, "Accept": "application/json"}
        )
        adapter = _CallScopedRetryAdapter(
            pool_connections=settings.pool_size,
            pool_maxsize=settings.pool_size,
            max_retries=Retry(0, read=False),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self) -> str:
        """Name the settings, never a header."""
        return f"JumioHttp(region={self.settings.region!r}, base_url={self.settings.base_url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> JumioHttp:
        """Use as a context manager in scripts and tests."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the pool on leaving the block."""
        self.close()

    def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        bearer: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        retry_after_sent: bool = True,
        stream: StreamedBody | None = None,
    ) -> requests.Response:
        """Send one request (with retries) and return the 2xx response, or raise its error.

        ``retry_after_sent=False`` forbids repeating a request that may have reached Jumio
        (see ``retry.build_retry``). ``stream`` is a body sent as it is produced, under its own
        Content-Type (``verified_upload``); whatever it raises leaves the call unchanged.
        """
        headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
        if stream is not None:
            headers["Content-Type"] = stream.content_type
        budget = CallBudget(
            deadline=self._clock() + self.settings.max_retry_seconds,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
            backoff_base=self.settings.backoff_base,
            backoff_cap=self.settings.backoff_cap,
        )
        retry = build_retry(
            budget, max_attempts=self.settings.max_attempts, retry_after_sent=retry_after_sent
        )
        started = self._clock()
        transport_failure: OSError | None = None
        never_sent = False
        try:
            with _retry_for_this_call(retry):
                response = self._session.request(
                    method,
                    url,
                    headers=headers,
                    auth=basic_auth,
                    json=json_body,
                    data=form if stream is None else stream,
                    files=files,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    allow_redirects=False,
                )
        except _TRANSPORT_ERRORS as exc:
            transport_failure = _detached_cause(exc)
            # The error describes the last attempt only. A call that may be repeated after it
            # was sent may have had an earlier attempt reach Jumio; one that may not was only
            # ever retried after failed connects (or a 429, which Jumio documents as not done).
            never_sent = _never_connected(exc) and (budget.attempts == 1 or not retry_after_sent)
        if transport_failure is not None:
            self._count_attempts(operation, budget, status=None)
            # Raised outside the except block: requests' exception holds the prepared request
            # (Authorization header, body), so it must not even be the implicit __context__.
            kind = "timeout" if isinstance(transport_failure, TimeoutError) else "connection"
            logger.warning(
                "jumio %s %s failed: %s error after %d attempt(s) in %d ms",
                operation,
                method,
                kind,
                budget.attempts,
                int((self._clock() - started) * 1000),
            )
            raise JumioUnavailable(
                f"{operation}: {kind} error after {budget.attempts} attempt(s)",
                operation=operation,
                maybe_applied=not never_sent,
            ) from transport_failure
        elapsed_ms = int((self._clock() - started) * 1000)
        status = response.status_code
        self._count_attempts(operation, budget, status=status)
        log = logger.info if status < 400 else logger.warning
        log(
            "jumio %s %s -> HTTP %d after %d attempt(s) in %d ms",
            operation,
            method,
            status,
            budget.attempts,
            elapsed_ms,
        )
        if 200 <= status < 300:
            return response
        raise error_for_response(operation, response)

    def _count_attempts(self, operation: str, budget: CallBudget, *, status: int | None) -> None:
        """One ``JumioCalls`` and one ``JumioCallLatency`` per attempt of this call.

        A metric that cannot be written is logged, never raised: the call itself has happened
        (an add that reached Jumio must not look failed because stdout was closed).
        """
        if self._metrics is None:
            return
        name = operation if operation in JUMIO_OPERATIONS else "other"
        try:
            for attempt in budget.outcomes(budget.attempt_ended(status)):
                self._metrics.count(CALLS_METRIC, operation=name, statusClass=attempt.status_class)
                self._metrics.milliseconds(LATENCY_METRIC, attempt.milliseconds, operation=name)
        except Exception as exc:  # counting must not fail the call
            logger.warning("jumio %s: call metrics not written (%s)", name, type(exc).__name__)


def _function_metrics() -> EmfMetrics | None:
    """The running function's metrics, or None outside a function."""
    if not os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip():
        return None
    return EmfMetrics.from_env()


def _never_connected(exc: requests.RequestException) -> bool:
    """No connection was made, so the request cannot have reached Jumio."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(
        reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
    )


def _detached_cause(exc: requests.RequestException) -> OSError:
    """A plain copy of a transport error: its text (URL path of ids only), no request object."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError.
    timed_out = isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(reason, urllib3.exceptions.TimeoutError)
        and not isinstance(reason, urllib3.exceptions.NewConnectionError)
    )
    plain: type[OSError] = TimeoutError if timed_out else ConnectionError
    return plain(f"{type(exc).__name__}: {exc}")


@contextmanager
def _retry_for_this_call(retry: JumioRetry) -> Iterator[None]:
    """Make ``retry`` the adapter's ``max_retries`` for the duration of one call."""
    token = _CALL_RETRY.set(retry)
    try:
        yield
    finally:
        _CALL_RETRY.reset(token)
