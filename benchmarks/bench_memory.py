"""Peak memory of every function on its worst case, and the MemorySize it leads to.

Each function runs as the local cloud runs it: in its own warm worker process (one execution
environment: the handler imported once, invocations served one after another), fed through
the real template, moto and the Jumio simulator. The run is ``make demo``'s story (register,
captures with a rejection and a retake, prepared data, finalize, callbacks and polling, the
decision, an erasure), which runs every function, followed by each input's worst case:

- add_part: a 15,000,000-byte 8000 x 8000 baseline JPEG (the largest capture accepted) and an
  8000 x 8000 progressive JPEG (libjpeg then keeps every coefficient: the most memory);
- upload_prepared_data: prepared data of about 250 KB (SQS's 256 KiB message limit);
- start_session (not in the story): one start request through its queue; check_token (runs
  only after a wait timed out): invoked once;
- the others: their inputs do not grow (ids, a status, a decision), so the story is their case.

The figure per function is the highest RSS high-water mark (VmHWM) of its workers, read just
before the cloud stops. A Lambda environment also holds the runtime's own process (the
bootstrap and its client), about 40-60 MB, and the memory setting buys CPU too (1 vCPU at
1,769 MB, in proportion below): ``suggested`` = peak x 1.5 + 60 MB, rounded up to 64 MB.

Run: ``.venv/bin/python benchmarks/bench_memory.py [--sessions 3]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "layers" / "shared" / "python", REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

HEADROOM = 1.5
RUNTIME_MB = 60
STEP_MB = 64
FULL_VCPU_MB = 1769
PREPARED_DATA_BYTES = 250_000
TIMEOUT_SECONDS = 600


def worker_peaks_mib() -> dict[str, float]:
    """Function name -> the highest VmHWM (MiB) among its live warm workers."""
    from local_cloud import invoker

    peaks: dict[str, float] = {}
    for name, pool in invoker.warm_pools().items():
        for worker in pool.live_workers():
            peak = _vm_hwm_mib(worker.process.pid)
            if peak is not None:
                peaks[name] = max(peaks.get(name, 0.0), peak)
    return peaks


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def worst_captures() -> dict[str, bytes]:
    """Classifier -> the capture that costs add_part the most memory."""
    from PIL import Image

    from jumio_pipeline.domain.image_validation import MAX_BYTES
    from tests.support import images

    baseline = images.jpeg_of_size(MAX_BYTES, 8000, 8000)
    progressive = io.BytesIO()
    with Image.open(io.BytesIO(baseline)) as picture:
        picture.save(progressive, "JPEG", quality=75, progressive=True)
    return {"FRONT": baseline, "BACK": progressive.getvalue()}


def large_prepared_data(workflow_execution_id: str) -> dict[str, Any]:
    """A prepared-data message of about PREPARED_DATA_BYTES (``kyc`` is passed through)."""
    notes = [f"note {index:06d} " + "x" * 80 for index in range(PREPARED_DATA_BYTES // 100)]
    return {
        "workflowExecutionId": workflow_execution_id,
        "data": {"firstName": "Worst", "lastName": "Case", "kyc": {"notes": notes}},
    }


def run_worst_cases(runtime: Any) -> dict[str, str]:
    """Register a fresh session, upload the worst captures and data; wait for their outcome."""
    from local_cloud.session_helper import SessionTarget, create_and_register

    stack = runtime.stack
    session = create_and_register(
        SessionTarget(
            endpoint_url=runtime.endpoint_url,
            jumio_url=runtime.simulator.base_url,
            sessions_queue_url=stack.physical("SessionsQueue"),
            bucket=stack.physical("CapturesBucket"),
            prepared_data_queue_url=stack.physical("PreparedDataQueue"),
        )
    )
    ledger = runtime.resource("dynamodb").Table(stack.physical("LedgerTable"))
    _wait(lambda: _item(ledger, session.workflow_execution_id, "SESSION") is not None)
    s3 = runtime.client("s3")
    for classifier, body in worst_captures().items():
        s3.put_object(
            Bucket=stack.physical("CapturesBucket"),
            Key=session.capture_key("ID", classifier),
            Body=body,
            ContentType="image/jpeg",
        )
    message = json.dumps(large_prepared_data(session.workflow_execution_id))
    runtime.client("sqs").send_message(
        QueueUrl=stack.physical("PreparedDataQueue"), MessageBody=message
    )
    outcomes: dict[str, str] = {}

    def parts_done() -> bool:
        for classifier in ("FRONT", "BACK"):
            sort_key = session.part_sort_key("ID", classifier)
            item = _item(ledger, session.workflow_execution_id, sort_key)
            if item is not None and item.get("status") in {"UPLOADED", "REJECTED"}:
                outcomes[classifier] = f"{item['status']} {item.get('reason', '')}".strip()
        data = [
            item
            for item in _items(ledger, session.workflow_execution_id)
            if "PREPARED_DATA" in item["sk"] and item.get("status")
        ]
        if data:
            outcomes["PREPARED_DATA"] = str(data[0]["status"])
        return len(outcomes) == 3

    _wait(parts_done)
    outcomes["message bytes"] = str(len(message))
    outcomes["check_token"] = _check_token(runtime, session.workflow_execution_id)
    outcomes["start_session"] = _start_session(runtime)
    return outcomes


def _check_token(runtime: Any, workflow_execution_id: str) -> str:
    """check_token runs only after a wait timed out: invoked here as its state would."""
    answer = runtime.client("lambda").invoke(
        FunctionName=runtime.stack.functions["CheckTokenFunction"].name,
        Payload=json.dumps({"workflowExecutionId": workflow_execution_id}),
    )
    return "seconds left " + str(json.load(answer["Payload"]).get("secondsUntilTokenExpiry"))


def _start_session(runtime: Any) -> str:
    """start_session through its queue (the same code as its function URL); its answer."""
    sqs = runtime.client("sqs")
    request = {"reference": f"memory-bench-{time.time_ns()}", "workflowDefinitionKey": 10013}
    sqs.send_message(
        QueueUrl=runtime.stack.physical("StartSessionsQueue"), MessageBody=json.dumps(request)
    )
    answered: list[str] = []

    def answered_or_parked() -> bool:
        for logical_id in ("SessionStartedQueue", "StartSessionsDLQ"):
            messages = sqs.receive_message(
                QueueUrl=runtime.stack.physical(logical_id), WaitTimeSeconds=1
            ).get("Messages", [])
            if messages:
                answered.append("answered" if logical_id == "SessionStartedQueue" else "parked")
        return bool(answered)

    _wait(answered_or_parked)
    return answered[0]


def _item(table: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")


def _items(table: Any, pk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    return table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]


def _wait(done: Any) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the worst cases to be processed")
        time.sleep(0.5)


def suggested_mb(peak_mib: float) -> int:
    """Peak x headroom + the runtime's own process, rounded up to a 64 MB step (128 at least)."""
    needed = peak_mib * 1.048576 * HEADROOM + RUNTIME_MB  # MiB -> MB
    return max(128, math.ceil(needed / STEP_MB) * STEP_MB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args()
    from local_cloud import demo
    from local_cloud.runtime import running
    from tests.support.lambda_env import functions

    configured = {spec["logical_id"]: (name, spec["memory"]) for name, spec in functions().items()}
    started = time.monotonic()
    with running(echo_logs=False, processing_delay=0) as runtime:
        story = demo.Demo(runtime, io.StringIO(), timeout=TIMEOUT_SECONDS).run(args.sessions)
        worst = run_worst_cases(runtime)
        peaks = worker_peaks_mib()
        names = {spec.name: logical_id for logical_id, spec in runtime.stack.functions.items()}
    print(
        f"memory: make demo's story ({args.sessions} sessions, {story.seconds:.0f} s) + worst "
        f"cases {worst}; {time.monotonic() - started:.0f} s in all"
    )
    header = (
        f"{'function':<22}{'peak RSS (MiB)':>16}{'MemorySize (MB)':>17}{'suggested':>11}{'vCPU':>7}"
    )
    print(header)
    print("-" * len(header))
    for function_name, peak in sorted(peaks.items(), key=lambda item: names.get(item[0], "")):
        name, memory = configured.get(names.get(function_name, ""), (function_name, 0))
        print(
            f"{name:<22}{peak:>16.1f}{memory:>17}{suggested_mb(peak):>11}"
            f"{memory / FULL_VCPU_MB:>7.2f}"
        )
    print(
        f"suggested = peak x {HEADROOM} + {RUNTIME_MB} MB (Lambda runtime), in {STEP_MB} MB steps; "
        f"vCPU = MemorySize / {FULL_VCPU_MB} (Lambda's CPU share)"
    )


if __name__ == "__main__":
    main()
