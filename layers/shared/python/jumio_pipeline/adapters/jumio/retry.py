"""The retry policy of every Jumio call, as a subclass of urllib3's ``Retry``.

urllib3 already knows which failures happened before or after the request was sent, re-sends
the body and honours ``Retry-After``; this subclass only changes what urllib3 does not offer:
full-jitter backoff, a total time budget per call (a deadline, not only an attempt count),
``Retry-After`` bounded by that budget, and an injectable sleep, clock and random source so the
policy can be tested without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The only status Jumio documents as "nothing was done": safe to repeat any request after it.
NOTHING_DONE_STATUSES = frozenset({429})
_MAX_EXPONENT = 30  # 2**30 times any sane base is past every cap: keeps the float finite


def full_jitter_backoff(retry_number: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry_number`` (0 for the first retry).

    "Full jitter": uniform between 0 and the capped exponential ``base * 2**n``, so that many
    Lambdas throttled at the same moment do not come back at the same moment.
    """
    ceiling = min(cap, base * 2 ** min(max(retry_number, 0), _MAX_EXPONENT))
    return rng.uniform(0, ceiling)


@dataclass
class CallBudget:
    """What all the copies of one call's ``JumioRetry`` share: the deadline and the tools.

    urllib3 makes a new ``Retry`` object per attempt; this one object is shared by all of them,
    so it also counts the attempts for the log line of the call, and notes how each attempt
    that urllib3 judged (a retried status or a transport error) ended and how long it took,
    for the per-attempt metrics.
    """

    deadline: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    rng: random.Random
    backoff_base: float
    backoff_cap: float
    attempts: int = field(default=1)
    attempt_started: float | None = None
    judged: list[AttemptOutcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.attempt_started is None:
            self.attempt_started = self.clock()

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it passed)."""
        return self.deadline - self.clock()

    def attempt_ended(self, status: int | None) -> AttemptOutcome:
        """The current attempt ended now: with ``status``, or None for a transport error."""
        started = self.attempt_started if self.attempt_started is not None else self.clock()
        return AttemptOutcome(status, (self.clock() - started) * 1000)

    def next_attempt_starts(self) -> None:
        """The pause is over: the next attempt's time starts now."""
        self.attempt_started = self.clock()

    def outcomes(self, last: AttemptOutcome) -> list[AttemptOutcome]:
        """Every attempt of the call, in order, ``last`` being how the call itself ended.

        Each attempt that was retried was judged once in ``increment``; the last one may have
        been judged too (and refused a retry), so it is taken from the caller instead.
        """
        return [*self.judged[: self.attempts - 1], last]


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt ended: its HTTP status (None: no answer) and its duration."""

    status: int | None
    milliseconds: float

    @property
    def status_class(self) -> str:
        """``2xx``, ``3xx``, ``4xx``, ``429`` (Jumio's one documented "nothing done"), ``5xx``,
        or ``network`` when no answer came (refused, reset, timed out)."""
        if self.status is None:
            return "network"
        if self.status == 429:
            return "429"
        return f"{self.status // 100}xx"


class JumioRetry(Retry):
    """urllib3's ``Retry`` with full jitter, a deadline and a ``Retry-After`` bounded by it.

    Before each retry the pause is decided once (``Retry-After`` when Jumio sent one, else the
    full-jitter backoff). If that pause would end past the deadline the call stops retrying
    now: the last response (or error) is what the caller gets, so a long ``Retry-After`` is
    handed up as ``JumioThrottled.retry_after`` for the state machine or the queue to honour,
    instead of being cut short here.
    """

    def __init__(self, *args: Any, budget: CallBudget, pause: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.pause = pause

    def new(self, **kw: Any) -> JumioRetry:
        """Copy for the next attempt; the budget is shared, the decided pause is not."""
        kw.setdefault("budget", self.budget)
        kw.setdefault("pause", 0.0)
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> JumioRetry:
        """Count the failure like urllib3 does, then decide the pause and check the deadline."""
        self.budget.judged.append(
            self.budget.attempt_ended(response.status if response is not None else None)
        )
        following = super().increment(method, url, response, error, _pool, _stacktrace)
        pause = following.pause_before_next_attempt(response)
        if pause > self.budget.remaining():
            reason = error or ResponseError("the retry time budget would run out while waiting")
            raise MaxRetryError(_pool, url, reason) from reason  # type: ignore[arg-type]
        self.budget.attempts += 1
        return following.new(pause=pause)

    def pause_before_next_attempt(self, response: BaseHTTPResponse | None) -> float:
        """``Retry-After`` if Jumio sent one (and we respect it), else full-jitter backoff."""
        if response is not None and self.respect_retry_after_header:
            try:
                retry_after = self.get_retry_after(response)
            except InvalidHeader:
                retry_after = None  # an unreadable Retry-After: fall back to our own backoff
            if retry_after is not None:
                return retry_after
        budget = self.budget
        retry = len(self.history) - 1
        return full_jitter_backoff(retry, budget.backoff_base, budget.backoff_cap, budget.rng)

    def get_backoff_time(self) -> float:
        """The pause decided in ``increment`` (urllib3 calls this from its own paths)."""
        return self.pause

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        """Sleep the decided pause; ``Retry-After`` was already folded into it."""
        self.sleep(response)
        return True

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait the pause decided in ``increment`` with the injected sleep."""
        if self.pause > 0:
            self.budget.sleep(self.pause)
        self.budget.next_attempt_starts()


def build_retry(
    budget: CallBudget, *, max_attempts: int, retry_after_sent: bool = True
) -> JumioRetry:
    """The retry of one call: every method, the transient statuses, connection errors.

    ``retry_after_sent=False`` is for calls that must not be repeated once the request may have
    reached Jumio (an add, an upload, a document page, an account create or update): read
    timeouts, resets and 5xx answers are then not retried, because Jumio does not document
    that a 5xx means nothing was done; the caller settles the outcome by documented means.
    Connection failures (nothing sent) and 429 (documented: nothing was done) still are.
    """
    return JumioRetry(
        total=max_attempts - 1,
        connect=None,
        read=None if retry_after_sent else False,
        redirect=0,
        status=None,
        other=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES if retry_after_sent else NOTHING_DONE_STATUSES,
        raise_on_redirect=False,
        raise_on_status=False,
        respect_retry_after_header=True,
        budget=budget,
    )
