"""A deployed stack, found by its name: Outputs first, CloudFormation's resource list for the rest.

moto's CloudFormation creates a small stack shaped like template.yaml's (a ledger table, a
queue whose RedrivePolicy names its DLQ, the Outputs the template publishes), so that the path
an operator takes against AWS (`--stack NAME`, no endpoint) runs without an account.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from jumio_pipeline_ops.cli import main
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.stack import Cloud, CloudFormationStack, cloud_for

REGION = "us-east-1"
STACK = "jumio-prod"
PUBLISHED_LEDGER = "ledger-published-by-output"


def _template() -> str:
    keys = {
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "LedgerTable": {"Type": "AWS::DynamoDB::Table", "Properties": keys},
                "SessionsDLQ": {"Type": "AWS::SQS::Queue", "Properties": {}},
                "SessionsQueue": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {
                        "RedrivePolicy": {
                            "deadLetterTargetArn": {"Fn::GetAtt": ["SessionsDLQ", "Arn"]},
                            "maxReceiveCount": 5,
                        }
                    },
                },
            },
            "Outputs": {
                # Published, not owned: an output may name what the stack imports.
                "LedgerTableName": {"Value": PUBLISHED_LEDGER},
                "SessionsQueueUrl": {"Value": {"Ref": "SessionsQueue"}},
            },
        }
    )


@pytest.fixture
def deployed() -> Iterator[Any]:
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=STACK, TemplateBody=_template()
        )
        yield boto3.client("sqs", region_name=REGION)


def resolver() -> CloudFormationStack:
    return CloudFormationStack(cloud_for(region=REGION, profile=None, endpoint_url=None), STACK)


def ops(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--stack", STACK, "--region", REGION, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_an_output_names_a_resource_before_the_resource_list_does(deployed):
    stack = resolver()
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in boto3.client("cloudformation", region_name=REGION).describe_stacks(
            StackName=STACK
        )["Stacks"][0]["Outputs"]
    }

    assert stack.physical("LedgerTable") == PUBLISHED_LEDGER
    assert stack.physical("SessionsQueue") == outputs["SessionsQueueUrl"]
    assert set(stack.queue_urls()) == {"SessionsQueue", "SessionsDLQ"}


def test_a_resource_no_output_names_comes_from_the_resource_list(deployed):
    stack = resolver()

    dlq = stack.physical("SessionsDLQ")

    assert dlq in deployed.list_queues()["QueueUrls"]
    with pytest.raises(OpsError, match="stack jumio-prod has no resource AuditTable"):
        stack.physical("AuditTable")


def test_dlq_list_and_redrive_work_on_a_stack_named_by_its_name(deployed):
    stack = resolver()
    dlq, source = stack.physical("SessionsDLQ"), stack.physical("SessionsQueue")
    for reason in ("INVALID_JSON", "INVALID_JSON", "MISSING_FIELD"):
        deployed.send_message(
            QueueUrl=dlq,
            MessageBody='{"account": "kept whole"}',
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
        )

    listed = ops("--json", "dlq", "list")
    moved = ops("--json", "dlq", "redrive", "SessionsDLQ", "--reason", "MISSING_FIELD")

    assert listed[0] == 0, listed[2]
    [entry] = json.loads(listed[1])["deadLetterQueues"]
    assert (entry["queue"], entry["byReason"]) == (
        "SessionsDLQ",
        {"INVALID_JSON": 2, "MISSING_FIELD": 1},
    )
    assert moved[0] == 0, moved[2]
    report = json.loads(moved[1])
    assert (report["source"], report["moved"], report["left"]) == (
        "SessionsQueue",
        {"MISSING_FIELD": 1},
        {"INVALID_JSON": 2},
    )
    back = deployed.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in back] == ['{"account": "kept whole"}']


def test_an_unknown_stack_is_one_line_naming_it(deployed):
    out, err = io.StringIO(), io.StringIO()

    code = main(["--stack", "no-such-stack", "--region", REGION, "stuck"], out=out, err=err)

    assert code == 2
    assert err.getvalue().startswith("error: stack no-such-stack: ValidationError")
    assert out.getvalue() == ""


class _Refusing:
    """The CLI's SQS client, with one operation refused as AWS refuses it (AccessDenied)."""

    def __init__(self, client: Any, refused: str) -> None:
        self._client, self._refused = client, refused

    def __getattr__(self, name: str) -> Any:
        if name != self._refused:
            return getattr(self._client, name)

        def refuse(**_: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, name)

        return refuse


def refusing(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    real = Cloud.client

    def client(self: Cloud, service: str) -> Any:
        made = real(self, service)
        return _Refusing(made, operation) if service == "sqs" else made

    monkeypatch.setattr(Cloud, "client", client)


def park(sqs: Any, dlq: str, reason: str) -> None:
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody="{}",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
    )


def waiting(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_a_message_whose_send_is_refused_stays_in_the_dlq(deployed, monkeypatch):
    stack = resolver()
    dlq, source = stack.physical("SessionsDLQ"), stack.physical("SessionsQueue")
    park(deployed, dlq, "INVALID_JSON")
    refusing(monkeypatch, "send_message")

    code, out, _ = ops("dlq", "redrive", "SessionsDLQ")

    assert code == 1
    assert "could not be sent (left in the DLQ): 1" in out
    assert (waiting(deployed, dlq), waiting(deployed, source)) == (1, 0)


def test_a_message_sent_but_not_deleted_is_reported_as_there_twice(deployed, monkeypatch):
    stack = resolver()
    dlq, source = stack.physical("SessionsDLQ"), stack.physical("SessionsQueue")
    park(deployed, dlq, "INVALID_JSON")
    refusing(monkeypatch, "delete_message")

    code, out, _ = ops("dlq", "redrive", "SessionsDLQ")

    assert code == 1
    assert "sent but not deleted from the DLQ (now twice): 1" in out
    assert (waiting(deployed, dlq), waiting(deployed, source)) == (1, 1)
