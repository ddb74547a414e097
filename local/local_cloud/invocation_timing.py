"""An optional timing record of every Lambda invocation the warm runner serves.

Why: a benchmark of the pipeline on the local cloud wants to know where a session's time goes
(queue waits, Lambda work, a worker to run on, Jumio calls). The runner knows when each
invocation started, how long it waited for a worker and how long it took; nothing else does.
Nothing is recorded unless a sink is added. A sink gets the event and the log lines of the
invocation and must keep only what it needs: events can carry tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InvocationTiming:
    """One invocation as the warm runner saw it."""

    function_name: str
    started_at: float  # epoch seconds, when the runner was asked to invoke
    duration_ms: float  # until the answer, worker_wait_ms included
    worker_wait_ms: float  # waiting for a free worker (concurrency cap), or a new one's init
    cold_start: bool
    errored: bool
    event: Any = field(repr=False)
    log_lines: tuple[str, ...] = field(repr=False, default=())


Sink = Callable[[InvocationTiming], None]
_sinks: list[Sink] = []
_lock = threading.Lock()


def active() -> bool:
    """Whether anyone listens (the runner builds no record otherwise)."""
    return bool(_sinks)


def publish(timing: InvocationTiming) -> None:
    """Hand one record to every sink; a failing sink never fails the invocation."""
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        try:
            sink(timing)
        except Exception as exc:  # a benchmark's bug must not change what the pipeline sees
            print(f"[invocation timing] sink failed: {type(exc).__name__}")


@contextmanager
def recording(sink: Sink) -> Iterator[None]:
    """Give `sink` every invocation's record while the block runs."""
    with _lock:
        _sinks.append(sink)
    try:
        yield
    finally:
        with _lock:
            _sinks.remove(sink)
