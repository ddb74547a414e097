"""Cold start of every handler against ``import boto3`` + one client, in the same run.

A Lambda cold start imports the handler's module before the first event; what the module does
at import (imports, clients, settings) is paid by every new execution environment. For each
function in ``template.yaml`` this imports its ``app`` in a fresh ``python`` process, with the
environment the template gives it and Lambda's own variables (tests/support/lambda_env.py:
tracing on, fake credentials, a region), and ``sys.path`` = the function's folder + the
layer's ``python/`` folder, as Lambda has it. The baseline process runs ``import boto3;
boto3.client("s3")`` with the same environment. One uncounted round first (page cache, missing
``.pyc``), then interleaved rounds (each runs the baseline and every handler once, in a rotating
order), so the machine's noise falls on all alike.

Figures per handler, medians: the wall time and the CPU time of the import itself (measured
inside the child, so the interpreter's own start-up, the same for all, is left out) with their
ratios to the baseline's, and the child's peak RSS (VmHWM: ``ru_maxrss`` survives ``exec`` on
Linux and would carry the parent's peak) with its ratio. Goal (issue 16): at most 1.5x the
baseline's wall time. On a shared machine the CPU time is the steadier of the two.

Run: ``.venv/bin/python benchmarks/bench_cold_start.py [--runs 7] [--only add_part]``;
``--profile add_part`` prints the slowest imports of one handler (``python -X importtime``).
``--no-bytecode`` measures every target without ``.pyc`` files, compiling each module at import,
as Lambda does for a package built without bytecode (``make build`` compiles it).
Every handler pauses the garbage collector for its import (jumio_pipeline/handlers/cold_start.py);
a second reference row runs the baseline with the same pause.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "layers" / "shared" / "python", REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tests.support.lambda_env import LAYER, functions, lambda_env  # noqa: E402

DEFAULT_RUNS = 7
GOAL_RATIO = 1.5
BASELINE = "baseline"
# The baseline with the garbage collector paused as every handler pauses it for its import
# (jumio_pipeline/handlers/cold_start.py): a second reference row, so the table shows how much
# of a handler's margin is that pause and how much is its own imports.
BASELINE_GC_PAUSED = "baseline, GC paused"

# What each child runs: set the path as Lambda does, time the import, print JSON.
_CHILD = """
import sys, time, json
sys.path[:0] = {paths!r}
started, cpu_started = time.perf_counter(), time.process_time()
{statement}
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
peak = 0.0
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
except OSError:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu, "peak_mib": peak}}))
"""
_BASELINE_STATEMENT = 'import boto3\nboto3.client("s3")'
_BASELINE_GC_PAUSED_STATEMENT = (
    f"import gc\ngc.disable()\n{_BASELINE_STATEMENT}\ngc.freeze()\ngc.enable()"
)
_HANDLER_STATEMENT = "import app"


def run_child(statement: str, paths: list[str], env: dict[str, str]) -> dict[str, float]:
    """One fresh process: the import's seconds and the process's peak RSS in MiB."""
    code = _CHILD.format(paths=paths, statement=statement)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def targets(only: list[str] | None) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """name -> (statement, sys.path prefix, environment); the baseline first."""
    every = functions()
    unknown = set(only or []) - set(every)
    if unknown:
        raise SystemExit(f"unknown function(s): {', '.join(sorted(unknown))}")
    chosen = {name: spec for name, spec in every.items() if not only or name in only}
    baseline_env = lambda_env(every["add_part"]["env"], BASELINE, REPO)
    found = {
        BASELINE: (_BASELINE_STATEMENT, [], baseline_env),
        BASELINE_GC_PAUSED: (_BASELINE_GC_PAUSED_STATEMENT, [], baseline_env),
    }
    for name, spec in chosen.items():
        paths = [str(spec["dir"]), str(LAYER)]
        found[name] = (_HANDLER_STATEMENT, paths, lambda_env(spec["env"], name, spec["dir"]))
    return found


def without_bytecode(
    chosen: dict[str, tuple[str, list[str], dict[str, str]]], empty_cache: str
) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """The same targets with no ``.pyc`` to read or write: every module compiled at import, as
    in Lambda when the package ships none (its file system is read-only)."""
    return {
        name: (
            statement,
            paths,
            {**env, "PYTHONPYCACHEPREFIX": empty_cache, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        for name, (statement, paths, env) in chosen.items()
    }


def measure(
    runs: int, only: list[str] | None, *, no_bytecode: bool = False
) -> dict[str, list[dict[str, float]]]:
    """Interleaved rounds: each round runs every target once, the order rotated by one."""
    chosen = targets(only)
    if no_bytecode:
        chosen = without_bytecode(chosen, tempfile.mkdtemp(prefix="no-pyc-"))
    names = list(chosen)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for target in chosen.values():  # not counted: warms the page cache, writes missing .pyc
        run_child(*target)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(run_child(*chosen[name]))
    return samples


def report(
    samples: dict[str, list[dict[str, float]]], runs: int, *, no_bytecode: bool = False
) -> bool:
    """Print the table; True when every handler meets the goal (median wall time)."""
    base = {key: _median(samples[BASELINE], key) for key in ("seconds", "cpu_seconds", "peak_mib")}
    print(
        f"cold start: {runs} fresh processes per target, interleaved; tracing on; "
        f"{'no bytecode (every module compiled); ' if no_bytecode else ''}"
        f"goal: import wall time <= {GOAL_RATIO}x baseline"
    )
    header = (
        f"{'target':<22}{'wall (s)':>9}{'ratio':>7}{'CPU (s)':>9}{'ratio':>7}"
        f"{'peak RSS (MiB)':>16}{'ratio':>7}  goal"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for name, values in samples.items():
        row = {key: _median(values, key) for key in base}
        ratio = {key: row[key] / base[key] for key in base}
        met = ratio["seconds"] <= GOAL_RATIO
        reference = name in (BASELINE, BASELINE_GC_PAUSED)
        all_met &= met or reference
        label = {BASELINE: "import boto3 + client", BASELINE_GC_PAUSED: "  the same, GC paused"}
        verdict = "" if reference else ("met" if met else "MISSED")
        print(
            f"{label.get(name, name):<22}{row['seconds']:>9.3f}{ratio['seconds']:>7.2f}"
            f"{row['cpu_seconds']:>9.3f}{ratio['cpu_seconds']:>7.2f}"
            f"{row['peak_mib']:>16.1f}{ratio['peak_mib']:>7.2f}  {verdict}"
        )
    return all_met


def _median(values: list[dict[str, float]], key: str) -> float:
    return statistics.median(value[key] for value in values)


def profile(name: str, top: int = 25) -> None:
    """The slowest imports (cumulative) of one handler, from ``python -X importtime``."""
    statement, paths, env = targets([name])[name]
    code = f"import sys\nsys.path[:0] = {paths!r}\n{statement}"
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stderr
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, module = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative_us), int(self_us), module.rstrip()))
    for cumulative_us, self_us, module in sorted(rows, reverse=True)[:top]:
        print(
            f"{cumulative_us / 1000:>9.1f} ms cumulative {self_us / 1000:>8.1f} ms self  {module}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--only", action="append", help="a function folder name (repeatable)")
    parser.add_argument("--profile", metavar="FUNCTION", help="print one handler's slow imports")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="every module compiled at import (no .pyc), as a package without bytecode in Lambda",
    )
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    samples = measure(args.runs, args.only, no_bytecode=args.no_bytecode)
    report(samples, args.runs, no_bytecode=args.no_bytecode)


if __name__ == "__main__":
    main()
