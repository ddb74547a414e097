"""EventBridge on the stack's bus: a function's PutEvents reaches the rule's SQS target as AWS
delivers it, in-process and through the moto server; what should not be delivered is not."""

import json
import re
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_cloud import eventbridge, invoker, server
from local_cloud.provisioner import ProvisionError, provision

FIXTURE = Path(__file__).parent / "fixtures" / "platform" / "template.yaml"
SCHEDULED = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"
SOURCE = "jumio.capture-pipeline"
COMPLETED = {
    "source": SOURCE,
    "detailType": "Verification Completed",
    "detail": {"workflowExecutionId": "wf-1", "outcome": "FINALIZED"},
}


class Cloud:
    """The provisioned fixture and clients for wherever it lives."""

    def __init__(self, stack, **client_options):
        self.stack = stack
        self.options = {"region_name": "us-east-1", **client_options}

    def client(self, name):
        return boto3.client(name, **self.options)

    def publish(self, *entries):
        response = self.client("lambda").invoke(
            FunctionName=self.stack.function("PublisherFunction").name,
            Payload=json.dumps({"entries": list(entries)}),
        )
        assert "FunctionError" not in response, response["Payload"].read()
        return json.loads(response["Payload"].read())

    def bodies(self, logical_id):
        messages = self.client("sqs").receive_message(
            QueueUrl=self.stack.physical(logical_id), MaxNumberOfMessages=10
        )
        return [m["Body"] for m in messages.get("Messages", [])]


@pytest.fixture
def inprocess():
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield Cloud(provision(FIXTURE, stack_name="lc-eb"))
    finally:
        invoker.uninstall()


@pytest.fixture
def served(monkeypatch):
    monkeypatch.delenv("MOTO_PORT", raising=False)
    cloud = server.start(0, echo_logs=False)
    try:
        stack = provision(FIXTURE, stack_name="lc-ebsrv", endpoint_url=cloud.endpoint_url)
        yield Cloud(
            stack,
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        cloud.stop()


def _check_delivery(cloud):
    published = cloud.publish(COMPLETED)
    assert published["failed"] == 0
    (body,) = cloud.bodies("CompletedQueue")
    event = json.loads(body)
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["id"] == published["ids"][0]
    assert (event["version"], event["source"], event["detail-type"]) == (
        "0",
        SOURCE,
        "Verification Completed",
    )
    assert (event["account"], event["region"], event["resources"]) == (
        "123456789012",
        "us-east-1",
        [],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["detail"] == COMPLETED["detail"]
    assert body == json.dumps(event, separators=(",", ":"))  # compact, as EventBridge sends


def test_a_matching_event_reaches_the_target_queue_in_process(inprocess):
    _check_delivery(inprocess)


def test_a_matching_event_reaches_the_target_queue_through_the_server(served):
    _check_delivery(served)


def test_a_non_matching_event_is_not_delivered(inprocess):
    inprocess.publish({**COMPLETED, "detailType": "Verification Started"})
    inprocess.publish({**COMPLETED, "source": "someone.else", "detailType": "Other"})
    assert inprocess.bodies("CompletedQueue") == []
    assert inprocess.bodies("DetailOnlyQueue") == []


def test_a_disabled_rule_delivers_nothing(inprocess):
    inprocess.publish(COMPLETED)
    assert inprocess.bodies("DisabledRuleQueue") == []
    assert len(inprocess.bodies("CompletedQueue")) == 1  # the same event did match elsewhere


def test_input_path_delivers_only_the_selected_part(inprocess):
    expired = {**COMPLETED, "detail": {"workflowExecutionId": "wf-2", "outcome": "EXPIRED"}}
    inprocess.publish(COMPLETED, expired)
    assert inprocess.bodies("DetailOnlyQueue") == [
        '{"workflowExecutionId":"wf-1","outcome":"FINALIZED"}'
    ]


def test_rule_and_bus_resolve_as_cloudformation_does(inprocess):
    stack = inprocess.stack
    assert (
        stack.outputs["BusArn"]
        == "arn:aws:events:us-east-1:123456789012:event-bus/lc-eb-verifications"
    )
    assert stack.outputs["CompletedRule"] == "lc-eb-verifications|lc-eb-VerificationCompletedRule"
    targets = inprocess.client("events").list_targets_by_rule(
        Rule="lc-eb-VerificationCompletedRule", EventBusName="lc-eb-verifications"
    )["Targets"]
    assert targets[0]["RetryPolicy"] == {
        "MaximumRetryAttempts": 4,
        "MaximumEventAgeInSeconds": 3600,
    }


def test_a_scheduled_rule_does_not_catch_events_on_the_default_bus():
    # moto alone matches a pattern-less (scheduled) rule to every event and fails PutEvents on
    # its Lambda target; AWS never matches a scheduled rule to an event.
    invoker.install("inprocess")
    try:
        with mock_aws():
            stack = provision(SCHEDULED, stack_name="lc-ebsched")
            assert any(s.kind == "AWS::Events::Rule" for s in stack.schedules)
            response = boto3.client("events", region_name="us-east-1").put_events(
                Entries=[{"Source": "x", "DetailType": "y", "Detail": "{}"}]
            )
            assert response["FailedEntryCount"] == 0
    finally:
        invoker.uninstall()


def test_the_delivery_hook_checks_moto_and_can_be_put_back():
    from moto.events.models import Rule

    eventbridge.install()
    assert eventbridge.installed()
    assert eventbridge.check_moto_hook() is Rule
    eventbridge.uninstall()
    assert not eventbridge.installed()
    assert Rule.send_to_targets.__module__ == "moto.events.models"
    eventbridge.install()
    assert Rule.send_to_targets.__module__ == "local_cloud.eventbridge"


def _rule_template(tmp_path, target):
    resources = {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "b"}},
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["x"]},
                "Targets": [target],
            },
        },
    }
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
            r"Rule: target fn is a lambda target",
        ),
        (
            {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "Colour": "blue"},
            r"Rule: target q property Colour",
        ),
    ],
)
def test_what_cannot_be_delivered_locally_fails_by_name(tmp_path, target, message):
    with mock_aws(), pytest.raises(ProvisionError, match=message):
        provision(_rule_template(tmp_path, target))
