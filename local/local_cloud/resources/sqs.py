"""SQS queues and queue policies."""

from __future__ import annotations

import json
from typing import Any

from local_cloud.resources.base import Creator, ProvisionContext, api_string
from local_cloud.stack import Resource

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def create_queue(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A queue with its attributes and redrive policy; Ref is the URL, as in CloudFormation."""
    name = props.get("QueueName") or ctx.name(
        logical_id, max_length=75 if props.get("FifoQueue") else 80
    )
    if props.get("FifoQueue") and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {key: api_string(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            value = props[key]
            attributes[key] = value if isinstance(value, str) else json.dumps(value)
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Resource(
        logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueUrl": url, "QueueName": name}
    )


def create_queue_policy(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """The same policy set on every listed queue."""
    policy = json.dumps(props["PolicyDocument"])
    for url in props["Queues"]:
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return Resource(logical_id, "AWS::SQS::QueuePolicy", f"{ctx.stack.name}-{logical_id}")


CREATORS: dict[str, Creator] = {
    "AWS::SQS::Queue": create_queue,
    "AWS::SQS::QueuePolicy": create_queue_policy,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::SQS::Queue": frozenset(
        {*_QUEUE_ATTRIBUTES, "QueueName", "RedrivePolicy", "RedriveAllowPolicy"}
    ),
    "AWS::SQS::QueuePolicy": frozenset({"Queues", "PolicyDocument"}),
}
IGNORED: dict[str, dict[str, str]] = {}
