"""One contract, two run-once guards: InMemoryRunOnce and the Powertools-backed RunOnce (moto).

The services rely on three answers of the guard (adapters/idempotency.py): the same data runs
once and later calls get the stored result; a call that raised leaves no record, so the retry
runs; a copy arriving while the first still runs is held back with Powertools'
IdempotencyAlreadyInProgressError. Both guards must give them, under the record id that erasure
recomputes. Each guard is built once per module (Powertools builds a boto3 client for each),
and every test uses data of its own, so the tests share the tables without meeting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from jumio_pipeline.adapters.idempotency import CAPTURE_KEY_PREFIX, PREPARED_DATA_KEY_PREFIX
from jumio_pipeline.domain.capture_identity import ObjectVersion
from tests.support.fakes import (
    InMemoryIdempotencyRecords,
    InMemoryIdempotencyTable,
    InMemoryRunOnce,
)

TEMPLATE_TABLE = "IdempotencyTable"
GUARDS = {
    "upload": (PREPARED_DATA_KEY_PREFIX, "upload", None),
    "capture": (CAPTURE_KEY_PREFIX, "capture", "[bucket, key, versionId]"),
}


class _Invocation:
    """The one method of a Lambda context that Powertools reads: the time left (60 s)."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Guards:
    """The two guards the handlers build (``upload``, ``capture``) over one table."""

    def __init__(self, make: Callable[..., Any], stored_ids: Callable[[], set[str]]) -> None:
        self._make = cache(make)
        self.stored_ids = stored_ids

    def __getitem__(self, name: str) -> Any:
        return self._make(*GUARDS[name])


@pytest.fixture(scope="module")
def powertools_guards() -> Iterator[Guards]:
    import boto3
    from moto import mock_aws

    from jumio_pipeline.adapters.idempotency import RunOnce
    from local_cloud.template import load_yaml
    from tests.conftest import TEMPLATE

    properties = load_yaml(TEMPLATE)["Resources"][TEMPLATE_TABLE]["Properties"]
    with mock_aws():
        table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName="idempotency",
            KeySchema=properties["KeySchema"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            BillingMode=properties["BillingMode"],
        )

        def make(key_prefix: str, data_keyword: str, selector: str | None) -> RunOnce:
            once = RunOnce(
                table_name="idempotency",
                key_prefix=key_prefix,
                data_keyword=data_keyword,
                event_key_jmespath=selector,
            )
            once.register_lambda_context(_Invocation())
            return once

        yield Guards(make, lambda: {item["id"] for item in table.scan()["Items"]})


@pytest.fixture(scope="module")
def in_memory_guards() -> Guards:
    table = InMemoryIdempotencyTable()

    def make(key_prefix: str, data_keyword: str, selector: str | None) -> InMemoryRunOnce:
        return InMemoryRunOnce(
            table, key_prefix=key_prefix, data_keyword=data_keyword, event_key_jmespath=selector
        )

    guards = Guards(make, table.ids)
    guards.table = table  # type: ignore[attr-defined]
    return guards


@pytest.fixture(params=["in-memory", "powertools"])
def guards(request) -> Guards:
    return request.getfixturevalue(f"{request.param.replace('-', '_')}_guards")


@pytest.fixture
def upload() -> dict[str, str]:
    """Ids of one upload, unique to the test."""
    return {"workflowExecutionId": str(uuid.uuid4()), "credentialId": "c", "fingerprint": "f" * 64}


def test_the_same_data_runs_once_and_later_calls_get_the_stored_result(guards, upload):
    runs: list[str] = []

    def send(upload: dict[str, str], attempt: str) -> dict[str, str]:
        runs.append(attempt)
        return {**upload, "outcome": "UPLOADED"}

    guarded = guards["upload"].guard(send)
    corrected = {**upload, "fingerprint": "e" * 64}
    first = guarded(upload=upload, attempt="first")
    second = guarded(upload=dict(upload), attempt="second")
    other = guarded(upload=corrected, attempt="other data")

    assert runs == ["first", "other data"]
    assert first == second == {**upload, "outcome": "UPLOADED"}
    assert other["fingerprint"] == "e" * 64
    record_ids = {guards["upload"].record_id(upload), guards["upload"].record_id(corrected)}
    assert len(record_ids) == 2
    assert record_ids <= guards.stored_ids()


def test_a_call_that_raised_leaves_no_record_and_the_retry_runs(guards, upload):
    runs: list[bool] = []

    def send(upload: dict[str, str], fail: bool) -> dict[str, str]:
        runs.append(fail)
        if fail:
            raise ConnectionError("Jumio unreachable")
        return {"outcome": "UPLOADED"}

    guarded = guards["upload"].guard(send)
    with pytest.raises(ConnectionError):
        guarded(upload=upload, fail=True)
    assert guards["upload"].record_id(upload) not in guards.stored_ids()

    assert guarded(upload=upload, fail=False) == {"outcome": "UPLOADED"}
    assert runs == [True, False]


def test_a_copy_arriving_while_the_first_runs_is_held_back(guards, upload):
    held_back: list[BaseException] = []

    def send(upload: dict[str, str], nested: bool) -> dict[str, str]:
        if not nested:
            try:
                guarded(upload=upload, nested=True)
            except IdempotencyAlreadyInProgressError as exc:
                held_back.append(exc)
        return {"outcome": "UPLOADED"}

    guarded = guards["upload"].guard(send)
    guarded(upload=upload, nested=False)

    assert len(held_back) == 1


def test_a_capture_is_keyed_on_bucket_key_and_version_only(guards):
    once = guards["capture"]
    capture = {"bucket": "b", "key": f"captures/{uuid.uuid4()}/c/FRONT.jpg", "versionId": "v1"}

    once.guard(lambda capture, note: {"status": "UPLOADED"})(capture=capture, note="x")

    assert once.record_id(capture) in guards.stored_ids()
    assert once.record_id(capture).startswith(f"{CAPTURE_KEY_PREFIX}#")
    assert once.record_id({**capture, "extra": "ignored"}) == once.record_id(capture)


def test_the_in_memory_records_are_deleted_by_the_ids_erasure_computes(in_memory_guards, upload):
    key = f"captures/{uuid.uuid4()}/c/FRONT.jpg"
    capture = {"bucket": "b", "key": key, "versionId": "v1"}
    in_memory_guards["capture"].guard(lambda capture: {"status": "UPLOADED"})(capture=capture)
    in_memory_guards["upload"].guard(lambda upload: {"outcome": "UPLOADED"})(upload=upload)
    created = {
        in_memory_guards["capture"].record_id(capture),
        in_memory_guards["upload"].record_id(upload),
    }

    removed = InMemoryIdempotencyRecords(in_memory_guards.table).delete_for(
        "b",
        [ObjectVersion(key, "v1", False, '"etag"')],
        [in_memory_guards["upload"].record_id(upload)],
    )

    assert removed == 2
    assert not created & in_memory_guards.stored_ids()
