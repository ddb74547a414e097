"""The daily retention run's selection: the byRetention index vs the Scan it replaced.

For each size, a fresh LedgerTable (as template.yaml defines it, on moto in-process) holds
``--due`` sessions registered before the retention cutoff and N sessions kept (registered
after it), all written by the real ``Ledger.register``. Then, alternately in the same run:
- the pipeline's selection, ``Ledger.sessions_registered_before(cutoff)`` (a Query of the
  sparse index; the one-off backfill check has run once before timing);
- the reference Scan the ledger used before the index (kept here only, for comparison).

Printed per size: items DynamoDB examined (the ScannedCount of every page), requests (pages),
read units estimated as AWS bills them (eventually consistent: 0.5 RRU per 4 KB of items
examined per page; the Scan is billed for whole items even with a projection) and the median
wall-clock time. moto's time is no measure of DynamoDB's, so the ratio of items examined is the
figure that carries over; the times show the same trend on this machine.

Run: ``.venv/bin/python benchmarks/bench_retention.py [--sizes 1000,10000,50000] [--due 100]``
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "local", REPO / "layers" / "shared" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.utilities import bytesize  # noqa: E402

from jumio_pipeline.adapters.dynamodb_pages import all_items  # noqa: E402
from jumio_pipeline.adapters.ledger import Ledger  # noqa: E402
from jumio_pipeline.domain.registration import parse_registration  # noqa: E402
from tests.support.ledger_table import create_ledger_table, ledger_table_properties  # noqa: E402

DAY = 86400
NOW = 1_780_000_000
RETENTION_DAYS = 30
CUTOFF = NOW - RETENTION_DAYS * DAY
READ_UNIT_BYTES = 4096


@dataclass
class Reads:
    """What one selection cost DynamoDB: items examined, pages, bytes examined per page."""

    items: int = 0
    requests: int = 0
    page_bytes: list[int] = field(default_factory=list)

    @property
    def read_units(self) -> float:
        return sum(0.5 * max(1, math.ceil(b / READ_UNIT_BYTES)) for b in self.page_bytes)


class ReadCounter:
    """Counts Query/Scan pages on a client; the bytes of a page are its items' stored sizes."""

    def __init__(self, table: Any, item_bytes: dict[str, int]) -> None:
        self.current = Reads()
        self._item_bytes = item_bytes
        table.meta.client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, http_response: Any, model: Any, **_: Any) -> None:
        if model.name not in ("Query", "Scan"):
            return
        body = json.loads(http_response.content)
        self.current.items += int(body.get("ScannedCount", 0))
        self.current.requests += 1
        if model.name == "Scan":  # billed for the whole items examined, whatever is projected
            examined = int(body.get("ScannedCount", 0))
            self.current.page_bytes.append(examined * self._item_bytes["session"])
        else:  # KEYS_ONLY index: the projected keys are what is read
            self.current.page_bytes.append(sum(_size(i) for i in body.get("Items", [])))

    def measure(self, select: Any) -> tuple[Reads, float, list[str]]:
        self.current = Reads()
        started = time.perf_counter()
        selected = select()
        return self.current, time.perf_counter() - started, selected


def _size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (moto's own rules)."""
    return sum(bytesize(name) + DynamoType(value).size() for name, value in item.items())


def reference_scan(table: Any, cutoff: int) -> list[str]:
    """The selection before the index: a paginated Scan of the whole ledger with a filter."""
    items = all_items(
        table.scan,
        FilterExpression=(
            "sk = :session AND registeredAt < :cutoff "
            "AND (#s <> :deleted OR attribute_not_exists(erasedAt))"
        ),
        ProjectionExpression="pk",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":session": "SESSION", ":cutoff": cutoff, ":deleted": "DELETED"},
    )
    return sorted(item["pk"] for item in items)


def registration(index: int) -> dict[str, Any]:
    """An account response as Jumio returns it: ID + SELFIE + DATA credentials with tokens."""
    workflow, account = str(uuid.uuid4()), str(uuid.uuid4())

    def credential(category: str, parts: list[str]) -> dict[str, Any]:
        credential_id = str(uuid.uuid4())
        return {
            "id": credential_id,
            "category": category,
            "allowedChannels": ["API"],
            "api": {
                "token": "t" * 600,  # Jumio's JWTs are several hundred bytes
                "parts": {
                    p: f"https://api.amer-1.jumio.ai/api/v1/accounts/{account}/workflow-executions/"
                    f"{workflow}/credentials/{credential_id}/parts/{p}"
                    for p in parts
                },
                "workflowExecution": f"https://api.amer-1.jumio.ai/api/v1/accounts/{account}"
                f"/workflow-executions/{workflow}",
            },
        }

    response = {
        "timestamp": "2026-05-01T10:00:00.000Z",
        "account": {"id": account},
        "workflowExecution": {
            "id": workflow,
            "credentials": [
                credential("ID", ["front", "back"]),
                credential("SELFIE", ["face"]),
                credential("DATA", ["prepared_data"]),
            ],
        },
    }
    return {"account": response, "tokenLifetime": "30m", "reference": f"order-{index}"}


def fill(ledger: Ledger, kept: int, due: int) -> set[str]:
    """Register `due` sessions before the cutoff and `kept` after it; the due ids."""
    due_ids = set()
    for index in range(due + kept):
        session = parse_registration(registration(index))
        is_due = index < due
        at = CUTOFF - DAY - index if is_due else CUTOFF + 1 + index % (RETENTION_DAYS * DAY - 2)
        ledger.register(session, now=at)
        if is_due:
            due_ids.add(session.workflow_execution_id)
    return due_ids


def run_size(resource: Any, properties: dict[str, Any], kept: int, due: int, runs: int) -> dict:
    name = create_ledger_table(resource, properties)
    ledger = Ledger(name, resource=resource)
    table = resource.Table(name)
    started = time.perf_counter()
    due_ids = fill(ledger, kept, due)
    filled_in = time.perf_counter() - started
    client = boto3.client("dynamodb", region_name="us-east-1")
    any_session = client.scan(TableName=name, Limit=1)["Items"][0]
    counter = ReadCounter(table, {"session": _size(any_session)})
    ledger.sessions_registered_before(CUTOFF)  # the one-off backfill check (writes the marker)
    results: dict[str, list] = {"index": [], "scan": []}
    for _ in range(runs):
        for label, select in (
            ("index", lambda: ledger.sessions_registered_before(CUTOFF)),
            ("scan", lambda: reference_scan(table, CUTOFF)),
        ):
            reads, seconds, selected = counter.measure(select)
            if set(selected) != due_ids:
                raise RuntimeError(f"{label} selected {len(selected)} sessions, not the {due} due")
            results[label].append((reads, seconds))
    table.delete()
    return {"kept": kept, "due": due, "filled_s": filled_in, **results}


def describe(label: str, samples: list[tuple[Reads, float]]) -> tuple[str, float]:
    reads = samples[0][0]
    median = statistics.median(seconds for _, seconds in samples)
    return (
        f"{label:<6} items examined {reads.items:>6}  requests {reads.requests:>4}  "
        f"~RRU {reads.read_units:>7.1f}  median {median * 1000:8.1f} ms",
        median,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="kept sessions per run")
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    properties = ledger_table_properties()
    print(
        f"retention selection, {args.due} sessions due, medians of {args.runs} alternating runs "
        "(moto in-process)"
    )
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        for kept in sizes:
            result = run_size(resource, properties, kept, args.due, args.runs)
            index_line, index_median = describe("index", result["index"])
            scan_line, scan_median = describe("scan", result["scan"])
            print(f"\n{kept} kept + {args.due} due (written in {result['filled_s']:.0f} s)")
            print(f"  {index_line}")
            print(f"  {scan_line}")
            index_reads, scan_reads = result["index"][0][0], result["scan"][0][0]
            print(
                f"  scan / index: items examined x{scan_reads.items / index_reads.items:.0f}, "
                f"time x{scan_median / index_median:.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
