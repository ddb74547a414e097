"""Deferred AWS clients: built on first use, once, and then the same object every time."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.adapters.queues import DeadLetterQueue


class _Client:
    def __init__(self, service_name: str) -> None:
        self.service_name = service_name

    def ping(self) -> str:
        return f"pong from {self.service_name}"


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []

    def fake_client(service_name: str, **_: Any) -> _Client:
        built.append(service_name)
        return _Client(service_name)

    monkeypatch.setattr(boto3, "client", fake_client)
    return built


def test_a_client_is_built_on_first_use_and_then_reused(builds: list[str]) -> None:
    sqs = aws_clients.client("sqs")
    assert builds == []
    assert sqs.ping() == "pong from sqs"
    assert sqs.ping() == "pong from sqs"
    assert builds == ["sqs"]
    assert sqs.built() is sqs.built()


def test_an_adapter_without_a_client_builds_none_until_it_calls(builds: list[str]) -> None:
    queue = DeadLetterQueue("https://sqs.us-east-1.amazonaws.com/123456789012/dlq")
    assert builds == []
    assert queue._sqs.ping() == "pong from sqs"  # the adapter's first call builds it
    assert builds == ["sqs"]


def test_a_table_of_a_given_resource_is_taken_at_once() -> None:
    class Resource:
        def Table(self, name: str) -> str:
            return f"table {name}"

    assert aws_clients.dynamodb_table("ledger", Resource()) == "table ledger"


def test_a_table_without_a_resource_is_deferred(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    monkeypatch.setattr(boto3, "resource", lambda name, **_: made.append(name) or _Resource())
    ledger = Ledger("ledger")
    assert made == []
    assert ledger._table.table_name == "ledger"
    assert made == ["dynamodb"]


class _Resource:
    def Table(self, name: str) -> Any:
        return type("Table", (), {"table_name": name})()


def test_threads_racing_for_the_first_use_build_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []

    def slow_client(service_name: str, **_: Any) -> _Client:
        builds.append(service_name)
        time.sleep(0.05)  # a real build takes tens of ms: long enough for the others to arrive
        return _Client(service_name)

    monkeypatch.setattr(boto3, "client", slow_client)
    sqs = aws_clients.client("sqs")
    start = threading.Barrier(8)
    seen: list[Any] = []

    def use() -> None:
        start.wait()
        seen.append(sqs.built())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["sqs"]
    assert len({id(client) for client in seen}) == 1


def test_the_stand_in_never_delegates_its_own_fields_or_dunders(builds: list[str]) -> None:
    sqs = aws_clients.client("sqs")
    with pytest.raises(AttributeError):
        sqs.__deepcopy_hook__  # noqa: B018 - probing, as copy and pickle do
    assert builds == []
    assert "not built yet" in repr(sqs)
