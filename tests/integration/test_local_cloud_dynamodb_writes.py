"""Conditional writes are atomic in the local cloud, as in AWS: of many threads racing to
claim the same item, exactly one wins — the pipeline's "exactly once" rests on it."""

import sys
import threading
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_cloud import dynamodb_writes, invoker
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"
RACERS = 8


@pytest.fixture
def table_name():
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield provision(FIXTURE, stack_name="lc-ddb").physical("LedgerTable")
    finally:
        invoker.uninstall()


@pytest.fixture
def eager_thread_switches():
    """Switch threads as often as the interpreter can: moto's check-then-write gap shows."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _winners(table_name: str, key: str) -> int:
    clients = [boto3.client("dynamodb", region_name="us-east-1") for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    wins: list[int] = []
    refusals: list[str] = []

    def claim(client) -> None:
        barrier.wait()
        try:
            client.update_item(
                TableName=table_name,
                Key={"pk": {"S": key}, "sk": {"S": "SESSION"}},
                UpdateExpression="SET claimedAt = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(claimedAt)",
                ExpressionAttributeValues={":now": {"N": "1"}},
            )
            wins.append(1)
        except ClientError as error:
            refusals.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=claim, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(refusals) <= {"ConditionalCheckFailedException"}
    return len(wins)


def test_exactly_one_of_many_racing_conditional_writers_wins(table_name, eager_thread_switches):
    assert dynamodb_writes.installed()
    client = boto3.client("dynamodb", region_name="us-east-1")
    results = []
    for trial in range(40):
        key = f"wf-{trial}"
        client.put_item(TableName=table_name, Item={"pk": {"S": key}, "sk": {"S": "SESSION"}})
        results.append(_winners(table_name, key))
    assert results == [1] * 40


def test_the_wrapped_methods_can_be_put_back():
    from moto.dynamodb.models import DynamoDBBackend

    dynamodb_writes.install()
    assert DynamoDBBackend.update_item.__module__ == "moto.dynamodb.models"  # functools.wraps
    assert DynamoDBBackend.update_item.__wrapped__ is not None
    dynamodb_writes.uninstall()
    assert not hasattr(DynamoDBBackend.update_item, "__wrapped__")
    dynamodb_writes.install()
    assert dynamodb_writes.installed()
