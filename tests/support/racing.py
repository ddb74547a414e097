"""Run callables at the same instant, to prove a once-only claim holds under a race."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(*targets: Callable[[], object]) -> list[object]:
    """Start every target at the same barrier; return their results in order."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)

    def run(index: int, target: Callable[[], object]) -> None:
        barrier.wait()
        results[index] = target()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
