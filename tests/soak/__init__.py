"""The soak: N sessions racing through the whole pipeline on the local cloud, with faults.

Not part of `make test` (pyproject's `norecursedirs` keeps pytest out of this folder); run it
with `make soak N=50` or `python -m tests.soak --sessions 50`. See `tests/soak/run.py`.
"""
