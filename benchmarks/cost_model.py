"""What 1,000 sessions cost in AWS (Jumio's fees excluded), from counts measured locally.

``make cost`` runs N sessions through the local cloud, registration to erasure, with no faults
(benchmarks/cost_measure.py says what is counted and how), then prices the counts per session
at the us-east-1 list prices below and prints a table per item, the total per 1,000 sessions
against the goal of $0.50, the item that dominates and what would lower it.

Run: ``.venv/bin/python benchmarks/cost_model.py [--sessions 10] [--save counts.json]`` or
``--counts counts.json`` to price a saved run again.

Not per session, so not in the total: the KMS key ($1/month), secrets ($0.40/month each),
custom metrics, alarms and the dashboard, the event source mappings' empty long polls (a few
per queue per minute whatever the traffic), DynamoDB storage (a session leaves a tombstone of a
few hundred bytes) and the free tiers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "local", REPO / "layers" / "shared" / "python", REPO / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

GOAL_PER_1000 = 0.50

# us-east-1 list prices (USD), as assumed here.
PRICES = {
    "lambda_gb_second": 0.0000133334,  # arm64
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,  # standard queues, per 64 KB chunk
    "state_transition": 0.025 / 1e3,  # Step Functions Standard
    # DynamoDB on-demand after the price cut of 1 Nov 2024 (before: $1.25/M WRU, $0.25/M RRU).
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "s3_put_request": 0.005 / 1e3,  # PUT, COPY, POST, LIST
    "s3_get_request": 0.0004 / 1e3,  # GET, HEAD and other reads; DELETE is free
    "s3_gb_month": 0.023,  # S3 Standard, first 50 TB
    "kms_request": 0.03 / 1e4,
    "logs_gb_ingested": 0.50,  # CloudWatch Logs standard ingestion (first tier)
    "eventbridge_event": 1.00 / 1e6,  # custom events published
    "secrets_request": 0.05 / 1e4,
    "xray_trace": 5.00 / 1e6,  # traces recorded (not in the list; X-Ray is on)
}
GIB = 1024**3
TYPICAL_CAPTURE_BYTES = 500_000  # a 1600x1200 phone JPEG (README, Benchmarks)

ADVICE = {
    "Step Functions transitions": (
        "every state on the common path costs $0.025 per 1,000 sessions: fold the bookkeeping "
        "states into the tasks around them (done for RecordFinalized and PlanVerdictWait, now "
        "part of Finalize's task; left: the Choice states VerdictPolled/DecisionIs into one "
        "task that returns the end state, PollVerdict skipped when the callback's wake-up "
        "already carries the status). "
        "An Express workflow would cost far less, but cannot wait for a task token or run "
        "longer than 5 minutes, which this machine does"
    ),
    "Lambda duration": (
        "shorter handlers (the Jumio round trips dominate), less memory where a function "
        "does not decode images, and fewer invocations (more records per SQS batch)"
    ),
    "Lambda requests": "larger SQS batches and fewer Task states (each is one invocation)",
    "DynamoDB writes": (
        "smaller session items (each update of the session item is billed for its whole size, "
        "1 KB per unit, and the tokens and hrefs make it several KB) or fewer updates "
        "per session (merge the bookkeeping writes of one step into one UpdateItem)"
    ),
    "DynamoDB reads": "eventually consistent reads where a stale answer is harmless",
    "CloudWatch Logs": "log less at INFO (one line per step), or a lower log level",
    "S3 requests": "fewer reads of each capture (one GET per validation)",
    "S3 storage": "a shorter RetentionDays",
    "X-Ray traces": "a sampling rule below 100% (the default samples 5% after 1/s)",
    "SQS requests": "larger batches (sends and deletes are billed per request)",
    "KMS requests": "S3 Bucket Keys (already on) and caching decrypted secrets longer",
}


def per_session(counts: dict[str, Any]) -> dict[str, Any]:
    """What each item amounts to per session, and the quantities behind it."""
    n = counts["sessions"]
    invocations = sum(counts["lambda_invocations"].values())
    gb_seconds = sum(
        counts["lambda_memory_mb"][name] / 1024 * statistics.median(samples) / 1000 * len(samples)
        for name, samples in counts["lambda_ms"].items()
    )
    s3 = counts["s3_requests"]
    put_requests = s3.get("PUT/COPY/POST/LIST", 0)
    get_requests = s3.get("GET/HEAD", 0)
    retention_days = counts.get("retention_days", 30)
    stored_gb_months = counts["s3_bytes_put"] / GIB * retention_days / 30
    return {
        "Lambda requests": (invocations / n, "invocations"),
        "Lambda duration": (gb_seconds / n, "GB-s (median duration per function)"),
        "SQS requests": (sum(counts["sqs_requests"].values()) / n, "requests"),
        "Step Functions transitions": (counts["state_transitions"] / n, "state transitions"),
        "DynamoDB writes": (sum(counts["write_units"].values()) / n, "write units"),
        "DynamoDB reads": (sum(counts["read_units"].values()) / n, "read units"),
        "S3 PUT/LIST requests": (put_requests / n, "requests"),
        "S3 GET requests": (get_requests / n, "requests"),
        "S3 storage": (stored_gb_months / n, f"GB-months ({retention_days} days)"),
        "KMS requests": (
            (counts["kms_requests"] + counts["secrets_requests"] + counts["s3_kms_requests"]) / n,
            "requests",
        ),
        "CloudWatch Logs": (counts["log_bytes"] / GIB / n, "GB ingested"),
        "EventBridge events": (counts["eventbridge_events"] / n, "events"),
        "Secrets Manager": (counts["secrets_requests"] / n, "API calls"),
        "X-Ray traces": (counts["entry_invocations"] / n, "traces (100% sampled)"),
    }


UNIT_PRICE = {
    "Lambda requests": "lambda_request",
    "Lambda duration": "lambda_gb_second",
    "SQS requests": "sqs_request",
    "Step Functions transitions": "state_transition",
    "DynamoDB writes": "dynamodb_write_unit",
    "DynamoDB reads": "dynamodb_read_unit",
    "S3 PUT/LIST requests": "s3_put_request",
    "S3 GET requests": "s3_get_request",
    "S3 storage": "s3_gb_month",
    "KMS requests": "kms_request",
    "CloudWatch Logs": "logs_gb_ingested",
    "EventBridge events": "eventbridge_event",
    "Secrets Manager": "secrets_request",
    "X-Ray traces": "xray_trace",
}


def price(counts: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    """(item, quantity per session, unit, dollars per 1,000 sessions), most expensive first."""
    rows = []
    for item, (quantity, unit) in per_session(counts).items():
        rows.append((item, quantity, unit, quantity * PRICES[UNIT_PRICE[item]] * 1000))
    return sorted(rows, key=lambda row: row[3], reverse=True)


def common_path(counts: dict[str, Any]) -> list[tuple[str, str, float]]:
    """States entered per execution, with their type, in the order statemachine/*.asl.json
    lists them."""
    types: dict[str, str] = {}
    for asl in sorted((REPO / "statemachine").glob("*.asl.json")):
        for name, state in json.loads(asl.read_text())["States"].items():
            types[name] = state["Type"]
    executions = max(1, counts["executions"])
    order = list(types)
    entered = sorted(
        counts["transitions_by_state"].items(),
        key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order),
    )
    return [(name, types.get(name, "?"), n / executions) for name, n in entered]


def report(counts: dict[str, Any], out: Any = sys.stdout) -> float:
    """Print the table and the verdict; return the total per 1,000 sessions."""
    rows = price(counts)
    total = sum(row[3] for row in rows)
    n = counts["sessions"]
    write = out.write
    write(
        f"AWS cost per 1,000 sessions, from {n} sessions run locally (registration to erasure, "
        "no faults; Jumio's fees excluded)\n\n"
    )
    write(f"{'item':<28} {'per session':>14}  {'unit':<38} {'$ / 1,000':>10} {'share':>6}\n")
    for item, quantity, unit, dollars in rows:
        share = dollars / total if total else 0
        write(f"{item:<28} {quantity:>14.6g}  {unit:<38} {dollars:>10.4f} {share:>6.1%}\n")
    write(f"{'total':<28} {'':>14}  {'':<38} {total:>10.4f}\n\n")
    path = common_path(counts)
    write(
        f"State machine, per execution: {sum(k for *_, k in path):.1f} transitions: "
        + ", ".join(
            f"{name} ({kind}{'' if share == 1 else f' x{share:.2g}'})" for name, kind, share in path
        )
        + "\n"
    )
    lambda_rows = ", ".join(
        f"{name} {len(samples) / n:.2g} x {statistics.median(samples):.0f} ms "
        f"@ {counts['lambda_memory_mb'][name]} MB"
        for name, samples in sorted(counts["lambda_ms"].items())
    )
    write(f"Lambda per session (invocations x median duration): {lambda_rows}\n")
    mean_gbs = counts["lambda_gb_seconds"] / n
    write(
        f"  (with the mean duration instead of the median: {mean_gbs:.3g} GB-s per session, "
        f"${mean_gbs * PRICES['lambda_gb_second'] * 1000:.4f} per 1,000)\n"
    )
    starts = [ms for samples in counts.get("lambda_init_ms", {}).values() for ms in samples]
    if starts:
        write(
            f"  worker starts (init phases): {len(starts)}, median "
            f"{statistics.median(starts):.0f} ms; not in the total: how many a deployment has "
            "depends on its traffic, not on its sessions\n"
        )
    if counts.get("load_average"):
        write(
            "  load average of this 2-core machine at the run's start and end: "
            + " / ".join(f"{load:.1f}" for load in counts["load_average"])
            + " (durations stretch with it: the figures are an upper bound)\n"
        )
    typical_gb_months = 3 * TYPICAL_CAPTURE_BYTES / GIB * counts.get("retention_days", 30) / 30
    write(
        f"S3 storage with 3 typical 500 KB captures instead of the demo's "
        f"{counts['s3_bytes_put'] / n / 1000:.0f} KB: "
        f"${typical_gb_months * PRICES['s3_gb_month'] * 1000:.4f} per 1,000 sessions\n"
    )
    write(
        f"S3 Bucket Keys: {'on' if counts['bucket_key_enabled'] else 'off'} in template.yaml"
        + (
            " (KMS is asked once per bucket key, not per object request)\n"
            if counts["bucket_key_enabled"]
            else " (one KMS request per object PUT and GET)\n"
        )
    )
    write(f"Verdicts arrived by: {counts['verdict_sources']}; end states: {counts['end_states']}\n")
    write("\nPrices assumed (us-east-1): " + _prices_line() + "\n\n")
    dominant = rows[0]
    write(
        f"Dominant item: {dominant[0]}, ${dominant[3]:.4f} of ${total:.4f} per 1,000 sessions "
        f"({dominant[3] / total:.0%}). What would lower it: {ADVICE.get(dominant[0], '-')}.\n"
    )
    for item, _, _, dollars in rows[1:3]:
        write(f"Next: {item}, ${dollars:.4f}: {ADVICE.get(item, '-')}.\n")
    if total <= GOAL_PER_1000:
        write(
            f"GOAL MET: ${total:.4f} per 1,000 sessions, at most ${GOAL_PER_1000:.2f} "
            f"(${GOAL_PER_1000 - total:.4f} to spare; each state on the common path is "
            "$0.025 of it).\n"
        )
    else:
        over = total - GOAL_PER_1000
        write(
            f"GOAL MISSED: ${total:.4f} per 1,000 sessions is ${over:.4f} over "
            f"${GOAL_PER_1000:.2f}: {_closing(rows, over)}\n"
        )
    return total


def _closing(rows: list[tuple[str, float, str, float]], over: float) -> str:
    """What change, alone, would close the gap: the share of the largest item to remove."""
    item, _, _, dollars = rows[0]
    if dollars <= over:
        return f"more than {item} alone costs; every item above must shrink."
    return (
        f"{item} would have to fall by {over / dollars:.0%} (to ${dollars - over:.4f}) with "
        "everything else as it is"
        + (
            f"; that is {int(-(-over // 0.025))} fewer state(s) per session"
            if item.startswith("Step Functions")
            else ""
        )
        + "."
    )


def _prices_line() -> str:
    return (
        "Lambda arm64 $0.0000133334/GB-s and $0.20/M requests; SQS $0.40/M; Step Functions "
        "Standard $0.025/1k transitions; DynamoDB on-demand $0.625/M WRU and $0.125/M RRU "
        "(the prices since Nov 2024; $1.25 and $0.25 before); S3 $0.005/1k PUT, $0.0004/1k GET, "
        "$0.023/GB-month; KMS $0.03/10k; CloudWatch Logs $0.50/GB; EventBridge $1/M events; "
        "Secrets Manager $0.05/10k calls; X-Ray $5/M traces"
    )


def bucket_key_enabled() -> bool:
    """Whether template.yaml turns S3 Bucket Keys on for the captures bucket."""
    from local_cloud.template import load_yaml

    bucket = load_yaml(REPO / "template.yaml")["Resources"]["CapturesBucket"]["Properties"]
    rules = bucket.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    return any(rule.get("BucketKeyEnabled") is True for rule in rules)


def measure(sessions: int) -> dict[str, Any]:
    import cost_measure

    from local_cloud.template import load_yaml

    counts = cost_measure.run(sessions).as_json()
    template = load_yaml(REPO / "template.yaml")
    counts["retention_days"] = int(template["Parameters"]["RetentionDays"]["Default"])
    counts["bucket_key_enabled"] = bucket_key_enabled()
    # SSE-KMS: without Bucket Keys, one KMS request per object PUT and GET.
    object_requests = counts["s3_requests"].get("PUT/COPY/POST/LIST", 0) + counts[
        "s3_requests"
    ].get("GET/HEAD", 0)
    counts["s3_kms_requests"] = 0 if counts["bucket_key_enabled"] else object_requests
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--counts", type=Path, help="price a saved run instead of running one")
    parser.add_argument("--save", type=Path, help="write the run's counts to this JSON file")
    args = parser.parse_args()
    if args.counts:
        counts = json.loads(args.counts.read_text())
    else:
        counts = measure(args.sessions)
        if args.save:
            args.save.write_text(json.dumps(counts, indent=1, sort_keys=True))
    report(counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
