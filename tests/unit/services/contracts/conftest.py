"""The two ledgers every contract test runs against: InMemoryLedger and the DynamoDB Ledger.

The real adapter runs on moto, on a table built from template.yaml's LedgerTable definition
(keys and the byAccount index); the fake is the one the service tests use. A :class:`Probe`
reads what the ledger records beyond its records (raw part, unmatched, verdict and start-claim
attributes), from the table or from the fake, so both answer the same assertions.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import PartId, Session
from jumio_pipeline.domain.session_state import PartEvidence
from tests.support.fakes import InMemoryLedger
from tests.unit.services.conftest import Ids, registration

NOW = 1_714_557_660
VERDICT_ATTRIBUTES = frozenset(
    {
        "callbackStatus",
        "callbackReceivedAt",
        "conflictingCallbackStatus",
        "verdictTaskToken",
        "verdictSignalledAt",
        "lastPolledStatus",
        "lastPolledAt",
        "polls",
        "decision",
        "decidedAt",
        "verdictSource",
        "verdictPublishedAt",
    }
)


class Probe:
    """Reads what the ledger records beyond the records: raw part, unmatched, verdict attributes."""

    def __init__(self, ledger: Any, table: Any = None) -> None:
        self.ledger = ledger
        self._table = table

    @property
    def table(self) -> Any:
        """The moto table behind the DynamoDB ledger; None for the fake."""
        return self._table

    def part_item(self, wf: str, part: PartId) -> dict[str, Any] | None:
        if self._table is None:
            return self.ledger.part_item(wf, part)
        from jumio_pipeline.adapters.ledger import part_sort_key

        item = self._table.get_item(Key={"pk": wf, "sk": part_sort_key(part)}).get("Item")
        return None if item is None else _plain(item)

    def unmatched(self, name: str) -> dict[str, Any] | None:
        if self._table is None:
            return self.ledger.unmatched().get(name)
        item = self._table.get_item(Key={"pk": "UNMATCHED", "sk": f"CAPTURE#{name}"}).get("Item")
        return None if item is None else _plain(item)

    def start_item(self, reference: str) -> dict[str, Any] | None:
        """The reference's START item (claim state, lease, expiry), as stored."""
        if self._table is None:
            return self.ledger.start_item(reference)
        item = self._table.get_item(Key={"pk": f"REFERENCE#{reference}", "sk": "START"}).get("Item")
        return None if item is None else _plain(item)

    def verdict_item(self, wf: str) -> dict[str, Any]:
        """The session item's verdict attributes (callback, verdict token and claim, polls,
        decision, publication), as stored."""
        if self._table is None:
            return self.ledger.verdict_item(wf)
        item = self._table.get_item(Key={"pk": wf, "sk": "SESSION"})["Item"]
        return {name: _plain(value) for name, value in item.items() if name in VERDICT_ATTRIBUTES}


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints, and without the key attributes the fake does not keep."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("pk", "sk")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[tuple[Any, dict[str, Any]]]:
    """moto's DynamoDB and the LedgerTable definition, once per module (both take a while)."""
    import boto3
    from moto import mock_aws

    from tests.support.ledger_table import ledger_table_properties

    properties = ledger_table_properties()
    with mock_aws():
        yield boto3.resource("dynamodb", region_name="us-east-1"), properties


def _dynamodb_ledger(resource: Any, properties: dict[str, Any]) -> Probe:
    """A fresh table per test, keyed and indexed as template.yaml defines LedgerTable."""
    from jumio_pipeline.adapters.ledger import Ledger
    from tests.support.ledger_table import create_ledger_table

    name = create_ledger_table(resource, properties)
    return Probe(Ledger(name, resource=resource), resource.Table(name))


@pytest.fixture(params=["in-memory", "dynamodb"])
def probe(request) -> Probe:
    if request.param == "in-memory":
        return Probe(InMemoryLedger(clock=lambda: NOW))
    return _dynamodb_ledger(*request.getfixturevalue("dynamodb"))


@pytest.fixture
def ledger(probe):
    return probe.ledger


@pytest.fixture
def ids() -> Ids:
    return Ids()


def session_of(ids: Ids, categories=("ID", "SELFIE", "DATA"), **options) -> Session:
    return parse_registration(registration(ids, categories, **options))


def land_all(ledger, session: Session) -> None:
    for ref in session.required_parts:
        credential_id, _, classifier = ref.partition("/")
        ledger.record_part_uploaded(
            session.workflow_execution_id, PartId(credential_id, classifier), PartEvidence()
        )
