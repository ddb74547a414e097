"""How much the warm Lambda workers save over one cold child process per invocation.

Starts the local moto server, provisions the local-cloud fixture template, then times
sequential Lambda Invoke calls (through the real Lambda API of the server) of:
- ProbeFunction: a trivial handler that imports only the standard library;
- StepsFunction: a small handler that imports boto3 at module level, as the pipeline's do.
Each is run `--runs` times with workers="cold" and again with workers="warm" (the first warm
call includes starting the worker; the median hides it, and it is printed separately).

Run: ``.venv/bin/python benchmarks/bench_local_invoker.py [--runs 20]``
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import boto3  # noqa: E402

from local_cloud import invoker, server  # noqa: E402
from local_cloud.provisioner import provision  # noqa: E402

FIXTURE = REPO / "tests" / "integration" / "fixtures" / "local_cloud" / "template.yaml"
CASES = {"ProbeFunction": {}, "StepsFunction": {"action": "echo"}}


def time_invocations(client, function_name: str, event: dict, runs: int) -> list[float]:
    """Wall-clock seconds of `runs` sequential invocations; fails loudly on a function error."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.invoke(FunctionName=function_name, Payload=json.dumps(event))
        response["Payload"].read()
        samples.append(time.perf_counter() - started)
        if "FunctionError" in response:
            raise RuntimeError(f"{function_name} failed during the benchmark")
    return samples


def main() -> int:
    """Print the median per mode and function, and the cold/warm ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cloud = server.start(0, echo_logs=False)
    try:
        stack = provision(FIXTURE, stack_name="bench-invoker", endpoint_url=cloud.endpoint_url)
        client = boto3.client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        print(f"{args.runs} sequential invocations per case, wall time per invocation")
        for logical_id, event in CASES.items():
            name = stack.physical(logical_id)
            medians = {}
            for mode in ("cold", "warm"):
                invoker.install(
                    "subprocess", endpoint_url=cloud.endpoint_url, echo=False, workers=mode
                )
                samples = time_invocations(client, name, event, args.runs)
                medians[mode] = statistics.median(samples)
                print(
                    f"  {logical_id:14} {mode}: median {medians[mode] * 1000:8.1f} ms"
                    f"   first {samples[0] * 1000:8.1f} ms"
                )
            print(
                f"  {logical_id:14} cold/warm median ratio: {medians['cold'] / medians['warm']:.1f}x"
            )
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
