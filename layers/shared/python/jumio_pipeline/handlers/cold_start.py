"""A function's cold start with the cyclic garbage collector paused, then its heap frozen.

Importing a function's module creates a few hundred thousand objects (modules, classes,
functions, pydantic validators, botocore's loaders) that live as long as the execution
environment. CPython's collector runs whenever allocations outnumber deallocations, so during
the import it walks the growing heap again and again and finds almost nothing to free: tens of
milliseconds of every cold start (``benchmarks/bench_cold_start.py``). This is the pattern the
``gc`` documentation gives for long-lived state: disable early, then ``freeze``.

Every ``app.py`` imports this module first (before any library; ``pyproject.toml`` gives it
its own import section), which pauses collection, and calls :func:`cold_start_finished` as its last
statement: what the import built moves to the permanent generation, which later collections
never walk, and collection resumes for what the invocations create. A function whose import
fails is never invoked (Lambda discards the environment), so nothing else re-enables it.
"""

from __future__ import annotations

import gc

gc.disable()
_paused = True


def cold_start_finished() -> None:
    """The module is imported: freeze what it built and resume collecting.

    Once per process: in Lambda there is one import per execution environment. A process that
    imports handler after handler (the local cloud's workers, the tests) pauses and freezes
    only for the first; freezing again and again would keep every cycle alive at each freeze
    that becomes garbage later, for the life of the process.
    """
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
