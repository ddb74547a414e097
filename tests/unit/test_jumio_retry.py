"""The retry policy of the Jumio client, exercised through urllib3's own Retry protocol.

urllib3 drives a Retry by calling ``is_retry``, ``increment`` and ``sleep``; these tests do
the same with real urllib3 responses and errors, a fake clock and a recording sleep, so the
policy's numbers (backoff bounds, jitter range, deadline, Retry-After) are checked exactly and
without waiting. The end of the file sends real requests to a closed loopback port.
"""

from __future__ import annotations

import random
import socket

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.response import HTTPResponse

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings
from jumio_pipeline.adapters.jumio.retry import (
    CallBudget,
    JumioRetry,
    build_retry,
    full_jitter_backoff,
)
from jumio_pipeline.domain.errors import JumioUnavailable


class FakeTime:
    """A clock that only moves when someone sleeps, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """Current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock."""
        self.sleeps.append(seconds)
        self.now += seconds


def make_retry(
    fake: FakeTime,
    *,
    budget_seconds: float = 20.0,
    max_attempts: int = 5,
    base: float = 0.5,
    cap: float = 8.0,
    retry_after_sent: bool = True,
    seed: int = 7,
) -> JumioRetry:
    """A retry for one call, as JumioHttp builds it, on fake time."""
    budget = CallBudget(
        deadline=fake.now + budget_seconds,
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(seed),
        backoff_base=base,
        backoff_cap=cap,
    )
    return build_retry(budget, max_attempts=max_attempts, retry_after_sent=retry_after_sent)


def answer(status: int, retry_after: str | None = None) -> HTTPResponse:
    """A real urllib3 response with a status and an optional Retry-After header."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return HTTPResponse(body=b"", status=status, headers=headers, preload_content=False)


def read_timeout() -> ReadTimeoutError:
    """The error urllib3 raises when Jumio accepted the request but did not answer in time."""
    return ReadTimeoutError(None, "/api/v1/accounts", "Read timed out.")  # type: ignore[arg-type]


def test_full_jitter_stays_within_zero_and_the_capped_exponential() -> None:
    rng = random.Random(1)
    for retry_number, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        draws = [full_jitter_backoff(retry_number, 0.5, 8.0, rng) for _ in range(2000)]
        assert min(draws) >= 0.0
        assert max(draws) <= ceiling
        # Full jitter spreads over the whole range, not just the top of it.
        assert min(draws) < ceiling * 0.05
        assert max(draws) > ceiling * 0.95


def test_full_jitter_survives_huge_retry_numbers() -> None:
    assert 0.0 <= full_jitter_backoff(10_000, 0.5, 8.0, random.Random(3)) <= 8.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_transient_statuses_are_retried_for_every_method(status: int, method: str) -> None:
    assert make_retry(FakeTime()).is_retry(method, status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422])
def test_other_client_errors_are_not_retried(status: int) -> None:
    assert not make_retry(FakeTime()).is_retry("POST", status)


def test_pauses_follow_full_jitter_of_the_retry_number() -> None:
    fake = FakeTime()
    retry = make_retry(fake, budget_seconds=1000, max_attempts=5, base=1.0, cap=100.0)
    pauses = []
    for retry_number in range(4):
        retry = retry.increment("GET", "/x", response=answer(503))
        assert 0.0 <= retry.pause <= 2.0**retry_number
        pauses.append(retry.pause)
        retry.sleep()
    assert fake.sleeps == [pause for pause in pauses if pause > 0]
    assert retry.budget.attempts == 5


def test_the_same_seed_gives_the_same_pauses() -> None:
    def pauses(seed: int) -> list[float]:
        retry = make_retry(FakeTime(), budget_seconds=1000, seed=seed)
        found = []
        for _ in range(3):
            retry = retry.increment("GET", "/x", response=answer(500))
            found.append(retry.pause)
        return found

    assert pauses(11) == pauses(11)
    assert pauses(11) != pauses(12)


def test_attempts_are_bounded_by_max_attempts() -> None:
    retry = make_retry(FakeTime(), budget_seconds=1000, max_attempts=3)
    retry = retry.increment("GET", "/x", response=answer(503))
    retry = retry.increment("GET", "/x", response=answer(503))
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=answer(503))
    assert retry.budget.attempts == 3


def test_retry_after_is_honoured_when_it_fits_the_budget() -> None:
    fake = FakeTime()
    retry = make_retry(fake, budget_seconds=20).increment("POST", "/x", response=answer(429, "3"))
    assert retry.pause == 3.0
    retry.sleep(answer(429, "3"))
    assert fake.sleeps == [3.0]


def test_an_unreadable_retry_after_falls_back_to_the_backoff() -> None:
    retry = make_retry(FakeTime(), base=0.5).increment("GET", "/x", response=answer(503, "later"))
    assert 0.0 <= retry.pause <= 0.5


def test_retry_after_past_the_deadline_stops_retrying_instead_of_waiting() -> None:
    fake = FakeTime()
    retry = make_retry(fake, budget_seconds=20)
    fake.now += 15  # the first attempt took 15 of the 20 seconds
    with pytest.raises(MaxRetryError):
        retry.increment("POST", "/x", response=answer(429, "6"))
    assert fake.sleeps == []


def test_retry_after_equal_to_the_remaining_budget_is_still_waited() -> None:
    fake = FakeTime()
    retry = make_retry(fake, budget_seconds=20)
    fake.now += 15
    assert retry.increment("POST", "/x", response=answer(503, "5")).pause == 5.0


def test_backoff_that_would_pass_the_deadline_stops_retrying() -> None:
    fake = FakeTime()
    # base 10 s: the first pause is uniform in [0, 10]; seed 5 draws more than the 1 s left.
    retry = make_retry(fake, budget_seconds=2, base=10.0, cap=10.0, seed=5)
    assert full_jitter_backoff(0, 10.0, 10.0, random.Random(5)) > 1.0
    fake.now += 1
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=answer(502))


def test_retries_stop_at_the_deadline_even_with_attempts_left() -> None:
    fake = FakeTime()
    retry = make_retry(fake, budget_seconds=3, max_attempts=50, base=1.0, cap=1.0)

    def retry_until_refused() -> None:
        nonlocal retry
        while True:
            retry = retry.increment("GET", "/x", response=answer(503))
            retry.sleep()

    with pytest.raises(MaxRetryError):
        retry_until_refused()
    assert sum(fake.sleeps) <= 3.0
    assert retry.budget.attempts < 50


def test_read_errors_are_retried_by_default() -> None:
    retry = make_retry(FakeTime()).increment("POST", "/x", error=read_timeout())
    assert retry.budget.attempts == 2


def test_read_errors_are_not_retried_when_the_request_must_not_repeat() -> None:
    retry = make_retry(FakeTime(), retry_after_sent=False)
    with pytest.raises(ReadTimeoutError):
        retry.increment("POST", "/api/v1/accounts", error=read_timeout())
    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    with pytest.raises(ProtocolError):
        retry.increment("POST", "/api/v1/accounts", error=reset)


def test_connection_errors_are_retried_even_when_the_request_must_not_repeat() -> None:
    refused = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    retry = make_retry(FakeTime(), retry_after_sent=False)
    assert retry.increment("POST", "/api/v1/accounts", error=refused).budget.attempts == 2


def test_throttling_with_retry_after_is_still_retried_when_the_request_must_not_repeat() -> None:
    retry = make_retry(FakeTime(), retry_after_sent=False)
    assert retry.is_retry("POST", 429, has_retry_after=True)
    assert retry.increment("POST", "/x", response=answer(429, "1")).pause == 1.0


def closed_loopback_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_retried_then_reported_unavailable() -> None:
    fake = FakeTime()
    settings = JumioSettings(
        base_url=f"http://127.0.0.1:{closed_loopback_port()}", max_attempts=4, backoff_base=0.1
    )
    http = JumioHttp(settings, sleep=fake.sleep, clock=fake.clock, rng=random.Random(2))
    with http, pytest.raises(JumioUnavailable) as raised:
        http.send("finalize", "PUT", f"{settings.base_url}/api/v1/x", bearer="secret-token")
    assert raised.value.operation == "finalize"
    assert "after 4 attempt(s)" in str(raised.value)
    assert len(fake.sleeps) <= 3
    assert all(0.0 <= pause <= 0.4 for pause in fake.sleeps)
    assert "secret-token" not in repr(raised.value.__cause__)
    assert raised.value.__cause__.__context__ is None
