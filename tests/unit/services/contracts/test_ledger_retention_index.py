"""The daily retention run reads the sessions that are due, not those the ledger keeps.

DynamoDB only (moto, the LedgerTable of template.yaml with its ``byRetention`` index): what is
asserted is how many items DynamoDB examined for the selection — the ``ScannedCount`` of every
Query and Scan page, counted on the client — never how long it took.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from jumio_pipeline.adapters.ledger import Ledger
from tests.unit.services.conftest import Ids
from tests.unit.services.contracts.conftest import NOW, _dynamodb_ledger, session_of

DAY = 86400
CUTOFF = NOW - 30 * DAY


@contextmanager
def reads(ledger: Ledger) -> Iterator[Counter[str]]:
    """Items examined per operation (Query and Scan pages' ScannedCount, items got) while open."""
    counted: Counter[str] = Counter()
    events = ledger._table.meta.client.meta.events

    def count(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            counted[model.name] += int(parsed.get("ScannedCount", 0))
            counted[f"{model.name} requests"] += 1
        elif model.name == "GetItem":
            counted["GetItem"] += 1

    events.register("after-call.dynamodb", count, unique_id="count-reads")
    try:
        yield counted
    finally:
        events.unregister("after-call.dynamodb", unique_id="count-reads")


@pytest.fixture
def probe(dynamodb):
    return _dynamodb_ledger(*dynamodb)


@pytest.fixture
def ledger(probe) -> Ledger:
    return probe.ledger


def register(ledger: Ledger, count: int, *, at: int) -> list[str]:
    ids = [Ids() for _ in range(count)]
    for one in ids:
        ledger.register(session_of(one), now=at)
    return [one.workflow for one in ids]


def forget_the_index(probe, workflow_ids: list[str]) -> None:
    """Make session items look as they did before the index existed."""
    for wf in workflow_ids:
        probe.table.update_item(
            Key={"pk": wf, "sk": "SESSION"},
            UpdateExpression="REMOVE #r",
            ExpressionAttributeNames={"#r": "retention"},
        )


def test_the_selection_examines_only_the_due_sessions_however_many_are_kept(ledger):
    due = register(ledger, 5, at=CUTOFF - 10 * DAY) + register(ledger, 3, at=CUTOFF - 1)
    register(ledger, 200, at=CUTOFF)  # registered exactly at the cutoff: kept
    register(ledger, 200, at=NOW)
    ledger.sessions_registered_before(CUTOFF)  # the first run's one-off check of old items

    with reads(ledger) as counted:
        selected = ledger.sessions_registered_before(CUTOFF)

    assert selected == sorted(due)
    assert counted["Query"] == len(due)
    assert "Scan requests" not in counted


def test_erased_sessions_leave_the_index_and_half_erased_ones_stay_in_it(ledger):
    erased, half_erased, old = (register(ledger, 1, at=CUTOFF - DAY)[0] for _ in range(3))
    register(ledger, 50, at=NOW)
    for wf in (erased, half_erased):
        ledger.close_for_erasure(wf, "req-1")
    ledger.scrub_erased_session(erased, "req-1")
    ledger.sessions_registered_before(CUTOFF)

    with reads(ledger) as counted:
        selected = ledger.sessions_registered_before(CUTOFF)

    assert selected == sorted([half_erased, old])
    assert counted["Query"] == 2


def test_sessions_written_before_the_index_are_backfilled_by_the_first_run(dynamodb, probe, ledger):
    legacy_due = register(ledger, 4, at=CUTOFF - DAY)
    legacy_kept = register(ledger, 6, at=NOW)
    legacy_erased = register(ledger, 1, at=CUTOFF - DAY)
    ledger.close_for_erasure(legacy_erased[0], "req-1")
    ledger.scrub_erased_session(legacy_erased[0], "req-1")
    forget_the_index(probe, legacy_due + legacy_kept + legacy_erased)
    new_due = register(ledger, 2, at=CUTOFF - DAY)

    with reads(ledger) as first_run:
        first = ledger.sessions_registered_before(CUTOFF)
    # A fresh instance (another Lambda environment) reads the marker instead of scanning.
    later_ledger = Ledger(probe.table.name, resource=dynamodb[0])
    with reads(later_ledger) as later_run:
        later = later_ledger.sessions_registered_before(CUTOFF)

    assert first == later == sorted(legacy_due + new_due)
    assert first_run["Scan requests"] >= 1
    assert "Scan requests" not in later_run
    assert later_run["Query"] == len(legacy_due + new_due)
    for wf in legacy_kept:
        item = probe.table.get_item(Key={"pk": wf, "sk": "SESSION"})["Item"]
        assert item["retention"] == "KEPT"
    erased_item = probe.table.get_item(Key={"pk": legacy_erased[0], "sk": "SESSION"})["Item"]
    assert "retention" not in erased_item
