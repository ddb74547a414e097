"""Cold start of every handler against ``import boto3`` + one client, in the same run.

A Lambda cold start imports the handler's module before the first event; what the module does
at import (imports, clients, settings) is paid by every new execution environment. For each
function in ``template.yaml`` this imports its ``app`` in a fresh ``python`` process, with the
environment the template gives it (Globals + the function's variables, intrinsics resolved to
plausible values: parameter defaults, queue URLs, ARNs), tracing on (``AWS_LAMBDA_FUNCTION_NAME``
set, ``POWERTOOLS_TRACE_DISABLED`` unset), fake credentials and a region, and ``sys.path`` =
the function's folder + the layer's ``python/`` folder, as Lambda has it. The baseline process
runs ``import boto3; boto3.client("s3")`` with the same environment. Runs are interleaved
(every round runs the baseline and each handler once, in a rotating order), so the machine's
noise falls on all alike.

Figures per handler: the median time of the import itself (measured inside the child, so the
interpreter's own start-up, the same for all, is left out), its ratio to the baseline's, and
the peak RSS of the child (VmHWM: ``ru_maxrss`` survives ``exec`` on Linux and would carry the
parent's peak) with its ratio. Goal (issue 16): import at most 1.5x the baseline.

Run: ``.venv/bin/python benchmarks/bench_cold_start.py [--runs 7] [--only add_part]``;
``--profile add_part`` prints the slowest imports of one handler (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LAYER = REPO / "layers" / "shared" / "python"
for path in (REPO, LAYER, REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DEFAULT_RUNS = 7
GOAL_RATIO = 1.5
BASELINE = "baseline"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "jumio-bench"

# What each child runs: set the path as Lambda does, time the import, print JSON.
_CHILD = """
import sys, time, json
sys.path[:0] = {paths!r}
started = time.perf_counter()
{statement}
seconds = time.perf_counter() - started
peak = 0.0
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
except OSError:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mib": peak}}))
"""
_BASELINE_STATEMENT = 'import boto3\nboto3.client("s3")'
_HANDLER_STATEMENT = "import app"


def functions() -> dict[str, dict[str, Any]]:
    """Every function of the template: name -> {"dir": code folder, "env": its variables}."""
    from local_cloud.template import load_yaml

    template = load_yaml(REPO / "template.yaml")
    resolve = _Resolver(template)
    global_env = template["Globals"]["Function"]["Environment"]["Variables"]
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = {**global_env, **properties.get("Environment", {}).get("Variables", {})}
        code_dir = REPO / properties["CodeUri"]
        found[code_dir.name] = {
            "dir": code_dir,
            "env": {name: resolve(value) for name, value in variables.items()},
            "logical_id": logical_id,
        }
    return dict(sorted(found.items()))


class _Resolver:
    """Intrinsic functions to the strings a deployed stack would hand the function."""

    def __init__(self, template: dict[str, Any]) -> None:
        self._parameters = template.get("Parameters", {})
        self._mappings = template.get("Mappings", {})
        self._resources = template["Resources"]

    def __call__(self, value: Any) -> str:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):
            return ",".join(self(item) for item in value)
        (function, argument), *_ = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::FindInMap":
            mapping, key, name = (self(part) for part in argument)
            return str(self._mappings[mapping][key][name])
        if function == "Fn::Join":
            separator, parts = argument
            joined = [self(part) for part in (parts if isinstance(parts, list) else [parts])]
            return separator.join(part for part in joined if part)
        if function == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            for name, real in {
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": STACK,
            }.items():
                text = text.replace("${" + name + "}", real)
            return text
        if function == "Fn::GetAtt":
            return "https://bench0callback0url.lambda-url.us-east-1.on.aws/"
        raise ValueError(f"cannot resolve {function}")

    def _ref(self, name: str) -> str:
        if name in self._parameters:
            return str(self._parameters[name].get("Default", ""))
        kind = self._resources.get(name, {}).get("Type", "")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{STACK}-{name}-AbCdEf"
        return f"{STACK}-{name}"


def child_env(function_env: dict[str, str], function_name: str, task_root: Path) -> dict[str, str]:
    """A Lambda-like environment: no inherited AWS settings, fake credentials, tracing on.

    LAMBDA_TASK_ROOT is what Powertools and the X-Ray SDK take for "running in Lambda": without
    it the tracer disables itself and the X-Ray recorder builds a sampler that runs in Lambda.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "SAM_", "_X_AMZN"))
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{function_name}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": "app.handler",
            "PYTHONDONTWRITEBYTECODE": "1",
            **function_env,
        }
    )
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return env


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
    baseline_env = child_env(every["add_part"]["env"], BASELINE, REPO)
    found = {BASELINE: (_BASELINE_STATEMENT, [], baseline_env)}
    for name, spec in chosen.items():
        paths = [str(spec["dir"]), str(LAYER)]
        found[name] = (_HANDLER_STATEMENT, paths, child_env(spec["env"], name, spec["dir"]))
    return found


def measure(runs: int, only: list[str] | None) -> dict[str, list[dict[str, float]]]:
    """Interleaved rounds: each round runs every target once, the order rotated by one."""
    chosen = targets(only)
    names = list(chosen)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    run_child(*chosen[BASELINE])  # warm the page cache; not counted
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(run_child(*chosen[name]))
    return samples


def report(samples: dict[str, list[dict[str, float]]], runs: int) -> bool:
    """Print the table; True when every handler meets the goal."""
    base_s = statistics.median(s["seconds"] for s in samples[BASELINE])
    base_mib = statistics.median(s["peak_mib"] for s in samples[BASELINE])
    print(
        f"cold start: {runs} fresh processes per target, interleaved; tracing on; "
        f"goal: import <= {GOAL_RATIO}x baseline"
    )
    header = f"{'target':<22}{'import (s)':>11}{'ratio':>7}{'peak RSS (MiB)':>16}{'ratio':>7}  goal"
    print(header)
    print("-" * len(header))
    print(f"{'import boto3 + client':<22}{base_s:>11.3f}{1:>7.2f}{base_mib:>16.1f}{1:>7.2f}")
    all_met = True
    for name, values in samples.items():
        if name == BASELINE:
            continue
        seconds = statistics.median(v["seconds"] for v in values)
        mib = statistics.median(v["peak_mib"] for v in values)
        met = seconds / base_s <= GOAL_RATIO
        all_met &= met
        print(
            f"{name:<22}{seconds:>11.3f}{seconds / base_s:>7.2f}{mib:>16.1f}"
            f"{mib / base_mib:>7.2f}  {'met' if met else 'MISSED'}"
        )
    return all_met


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
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    samples = measure(args.runs, args.only)
    report(samples, args.runs)


if __name__ == "__main__":
    main()
