"""The SQS poller and visibility, as handlers will use them: a failing record's visibility is
changed on its own receipt handle, ApproximateReceiveCount is read from the record, and the
poller leaves that visibility alone. drain() waits for hidden messages without spinning.

The fixture queue's visibility timeout is 600 s, so a message comes back within a drain only
if its handler shortened its visibility; no assertion here is about time."""

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_cloud import invoker
from local_cloud.poller import RECORD_ATTRIBUTES, EventSourcePoller, sqs_record
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "platform" / "template.yaml"


@pytest.fixture
def stack():
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield provision(FIXTURE, stack_name="lc-vis")
    finally:
        invoker.uninstall()


def _send(stack, *bodies, **options):
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in bodies:
        sqs.send_message(
            QueueUrl=stack.physical("RetryQueue"), MessageBody=json.dumps(body), **options
        )


def _receipts(stack):
    """id → the receive counts the handler saw, in order."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.physical("SeenTable"))
    seen: dict[str, list[int]] = {}
    for item in sorted(table.scan()["Items"], key=lambda i: (i["pk"], i["sk"])):
        seen.setdefault(item["pk"], []).append(int(item["sk"].removeprefix("RECEIVE#")))
    return seen


def _dlq(stack):
    messages = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=stack.physical("RetryDLQ"), MaxNumberOfMessages=10
    )
    return messages.get("Messages", [])


def test_a_shortened_visibility_brings_the_message_back_within_the_drain(stack):
    _send(stack, {"id": "short", "mode": "shorten"}, {"id": "fine", "mode": "ok"})

    report = EventSourcePoller(stack).drain("RetryingFunction")

    assert _receipts(stack) == {"short": [1, 2], "fine": [1]}
    assert (report.deleted, report.failed_records) == (2, 1)
    assert (report.left_visible, report.left_in_flight, report.left_delayed) == (0, 0, 0)
    assert _dlq(stack) == []


def test_without_the_handler_shortening_it_the_message_stays_hidden(stack):
    _send(stack, {"id": "kept", "mode": "keep"})

    report = EventSourcePoller(stack).drain("RetryingFunction", max_wait_seconds=2)

    assert _receipts(stack) == {"kept": [1]}  # the queue's 600 s are not over
    assert report.left_in_flight == 1
    assert report.deleted == 0


def test_a_lengthened_visibility_ends_the_drain_without_spinning(stack):
    _send(stack, {"id": "long", "mode": "lengthen"})

    report = EventSourcePoller(stack).drain("RetryingFunction", max_wait_seconds=3)

    assert _receipts(stack) == {"long": [1]}
    assert report.left_in_flight == 1
    # Idle rounds long-poll (a poll without a visible message lasts its full second), so the
    # number of receives is bounded by the wait, not by how fast this machine can ask.
    assert report.receives <= 12
    assert report.rounds <= 6


def test_a_delayed_message_is_waited_for_and_processed(stack):
    _send(stack, {"id": "later", "mode": "ok"}, DelaySeconds=1)

    report = EventSourcePoller(stack).drain("RetryingFunction")

    assert _receipts(stack) == {"later": [1]}
    assert report.left_delayed == 0


def test_filter_criteria_drop_what_does_not_match_without_invoking(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in ('{"id": "wanted", "mode": "ok"}', '{"id": "other", "mode": "keep"}', "not json"):
        sqs.send_message(QueueUrl=stack.physical("FilteredQueue"), MessageBody=body)

    report = EventSourcePoller(stack).drain("FilteredFunction")

    assert _receipts(stack) == {"wanted": [1]}
    assert (report.invocations, report.filtered, report.deleted) == (1, 2, 1)
    assert (report.left_visible, report.left_in_flight) == (0, 0)  # dropped ones are consumed


def test_records_carry_the_attributes_lambda_passes(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.send_message(
        QueueUrl=stack.physical("OrderedQueue"),
        MessageBody=json.dumps({"id": "fifo"}),
        MessageGroupId="group-1",
    )
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    _send(
        stack,
        {"id": "std"},
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    captured = {}

    def capture(function_name, event):
        for record in event["Records"]:
            captured[json.loads(record["body"])["id"]] = record["attributes"]
        return {"batchItemFailures": []}, False

    EventSourcePoller(stack, lambda_invoke=capture).drain("RetryingFunction")

    fifo, standard = captured["fifo"], captured["std"]
    assert fifo["MessageGroupId"] == "group-1"
    assert len(fifo["MessageDeduplicationId"]) == 64  # content-based: a SHA-256 of the body
    assert standard["AWSTraceHeader"] == trace
    for attributes in (fifo, standard):
        assert attributes["ApproximateReceiveCount"] == "1"
        assert attributes["SenderId"] == "AIDAIT2UOQQY3AUEKVGXU"
        assert attributes["SentTimestamp"].isdigit()
        assert attributes["ApproximateFirstReceiveTimestamp"].isdigit()
        assert set(attributes) <= set(RECORD_ATTRIBUTES)


def test_only_lambdas_attributes_reach_the_record():
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "Attributes": {
            "ApproximateReceiveCount": "3",
            "SenderId": "AIDA",
            "SentTimestamp": "1",
            "ApproximateFirstReceiveTimestamp": "2",
            "SomethingMotoAdded": "x",
        },
    }
    source = type("S", (), {"queue_arn": "arn:q"})()
    record = sqs_record(message, source, "us-east-1")
    assert record["attributes"] == {
        "ApproximateReceiveCount": "3",
        "SentTimestamp": "1",
        "SenderId": "AIDA",
        "ApproximateFirstReceiveTimestamp": "2",
    }
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ]
