"""The SQS poller gives AWS's batch semantics: partial failures, DLQ redrive, concurrency."""

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_cloud import invoker
from local_cloud.poller import EventSourcePoller, failed_message_ids, sqs_record
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"


@pytest.fixture
def stack():
    invoker.install("inprocess")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield provision(FIXTURE, stack_name="lc-poll")
    invoker.uninstall()


def _send(stack, bodies):
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in bodies:
        sqs.send_message(
            QueueUrl=stack.physical("WorkQueue"),
            MessageBody=json.dumps(body),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )


def _seen(stack):
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.physical("LedgerTable"))
    return table.scan()["Items"]


def _count(stack, logical_id):
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=stack.physical(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_partial_failure_deletes_only_successes_and_poison_reaches_dlq(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.purge_queue(QueueUrl=stack.physical("WorkQueue"))
    _send(stack, [{"id": "ok-1"}, {"id": "bad-1", "fail": True}, {"id": "ok-2"}])

    report = EventSourcePoller(stack).drain("WorkerFunction")

    receives = {(item["pk"], item["sk"]) for item in _seen(stack)}
    assert {("ok-1", "RECEIVE#1"), ("ok-2", "RECEIVE#1")} <= receives
    assert ("ok-1", "RECEIVE#2") not in receives  # a success is never delivered again
    assert {("bad-1", "RECEIVE#1"), ("bad-1", "RECEIVE#2")} <= receives  # maxReceiveCount 2
    assert _count(stack, "WorkQueue") == 0
    dlq = sqs.receive_message(QueueUrl=stack.physical("WorkDLQ"))["Messages"]
    assert [json.loads(m["Body"])["id"] for m in dlq] == ["bad-1"]
    assert report.deleted == 2
    assert report.failed_records == 2


def test_events_look_like_lambda_sqs_events(stack):
    boto3.client("sqs", region_name="us-east-1").purge_queue(QueueUrl=stack.physical("WorkQueue"))
    _send(stack, [{"id": "shape"}])
    captured = []

    def capture(function_name, event):
        captured.append((function_name, event))
        return {"batchItemFailures": []}, False

    EventSourcePoller(stack, lambda_invoke=capture).drain()
    ((function_name, event),) = captured
    (record,) = event["Records"]
    assert function_name == "lc-poll-WorkerFunction"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.attribute("WorkQueue", "Arn")
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test",
        "binaryValue": None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert len(record["md5OfBody"]) == 32
    assert json.loads(record["body"]) == {"id": "shape"}


def test_invalid_batch_report_fails_the_whole_batch(stack):
    boto3.client("sqs", region_name="us-east-1").purge_queue(QueueUrl=stack.physical("WorkQueue"))
    _send(stack, [{"id": "a", "badReport": True}])
    report = EventSourcePoller(stack).drain(until_empty=False)
    assert report.deleted == 0
    assert report.failed_records == 1
    assert failed_message_ids(
        {"batchItemFailures": [{}]}, ["m1", "m2"], report_batch_item_failures=True
    ) == {"m1", "m2"}
    assert failed_message_ids(None, ["m1"], report_batch_item_failures=True) == set()


def test_maximum_concurrency_is_respected_and_reached(stack):
    boto3.client("sqs", region_name="us-east-1").purge_queue(QueueUrl=stack.physical("WorkQueue"))
    # Each handler waits (bounded) until 3 run at once; the limit of 2 must keep it at 2.
    _send(stack, [{"id": f"c-{i}", "holdUntilInflight": 3, "holdSeconds": 0.8} for i in range(4)])
    source = stack.event_sources[0]
    source.batch_size = 1
    EventSourcePoller(stack).drain()
    peaks = {int(item["peakInflight"]) for item in _seen(stack)}
    assert max(peaks) == 2


def test_sqs_record_encodes_binary_attributes():
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "MessageAttributes": {"bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }
    source = type("S", (), {"queue_arn": "arn:q"})()
    record = sqs_record(message, source, "eu-west-1")
    assert record["messageAttributes"]["bin"]["binaryValue"] == "AAE="
    assert record["awsRegion"] == "eu-west-1"
