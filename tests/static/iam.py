"""Reads IAM statements out of a CloudFormation template, AWS managed policies included.

Why a table of managed policies: a role that names an AWS managed policy by ARN carries that
policy's statements, which the template does not show. SAM attaches some on its own (an SQS
event attaches AWSLambdaSQSQueueExecutionRole: every queue of the account), so the wildcard
check must know what each one grants, and refuse one it does not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# What each AWS managed policy grants (its Allow statements, all on Resource "*").
MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    "AWSLambdaBasicExecutionRole": (
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
    "AWSXrayWriteOnlyAccess": (
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ),
    "AWSLambdaSQSQueueExecutionRole": (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
}

# Actions IAM cannot scope to a resource, or that AWS documents only with Resource "*".
WILDCARD_RESOURCE_EXCEPTIONS: dict[str, str] = {
    # Task tokens are opaque: IAM has no resource for them.
    "states:SendTaskSuccess": "task tokens",
    "states:SendTaskFailure": "task tokens",
    "states:SendTaskHeartbeat": "task tokens",
    # Step Functions' log delivery to CloudWatch Logs (AWS documents these on "*").
    "logs:CreateLogDelivery": "log delivery",
    "logs:GetLogDelivery": "log delivery",
    "logs:UpdateLogDelivery": "log delivery",
    "logs:DeleteLogDelivery": "log delivery",
    "logs:ListLogDeliveries": "log delivery",
    "logs:PutResourcePolicy": "log delivery",
    "logs:DescribeResourcePolicies": "log delivery",
    "logs:DescribeLogGroups": "log delivery",
    # Lambda's own log writing (AWSLambdaBasicExecutionRole, which SAM attaches to every role).
    "logs:CreateLogGroup": "log delivery",
    "logs:CreateLogStream": "log delivery",
    "logs:PutLogEvents": "log delivery",
    # X-Ray has no resource-level permissions.
    "xray:PutTraceSegments": "X-Ray",
    "xray:PutTelemetryRecords": "X-Ray",
    "xray:GetSamplingRules": "X-Ray",
    "xray:GetSamplingTargets": "X-Ray",
    "xray:GetSamplingStatisticSummaries": "X-Ray",
    # CloudWatch metrics have no resource-level permissions.
    "cloudwatch:PutMetricData": "CloudWatch PutMetricData",
}


@dataclass(frozen=True)
class Grant:
    """One Allow statement's actions and resources, and where it comes from."""

    where: str
    actions: tuple[str, ...]
    resources: tuple[Any, ...]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [statement for statement in _as_tuple(document.get("Statement") or ())]


def _allows(where: str, document: dict[str, Any]) -> Iterator[Grant]:
    for index, statement in enumerate(_statements(document)):
        if statement.get("Effect") != "Allow":
            continue  # a Deny with wildcards only narrows what is allowed
        yield Grant(
            f"{where} statement {statement.get('Sid', index)}",
            tuple(str(action) for action in _as_tuple(statement.get("Action") or ())),
            _as_tuple(statement.get("Resource", "*")),
        )


def managed_policy_name(arn: Any) -> str:
    """The name of an AWS managed policy ARN; anything else is returned as text."""
    text = str(arn)
    return text.rsplit("/", 1)[-1] if text.startswith("arn:aws:iam::aws:policy/") else text


class UnknownManagedPolicy(ValueError):
    """A role names a managed policy whose grants the check does not know."""


def identity_grants(resources: dict[str, Any]) -> Iterator[Grant]:
    """Every Allow of every role and policy: inline documents and AWS managed policies."""
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        rtype = resource.get("Type")
        if rtype == "AWS::IAM::Role":
            for policy in props.get("Policies") or []:
                where = f"{logical_id} policy {policy.get('PolicyName')}"
                yield from _allows(where, policy["PolicyDocument"])
            for arn in props.get("ManagedPolicyArns") or []:
                name = managed_policy_name(arn)
                if name not in MANAGED_POLICIES:
                    raise UnknownManagedPolicy(f"{logical_id} attaches {arn}")
                yield Grant(f"{logical_id} managed {name}", MANAGED_POLICIES[name], ("*",))
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield from _allows(logical_id, props["PolicyDocument"])


def violations(grants: Iterator[Grant]) -> list[str]:
    """A wildcard in any action; Resource "*" on an action that is not a known exception.

    A resource scoped by a prefix (``captures/*``, the executions of one state machine) names
    the pipeline's own things and is not a wildcard here."""
    found: list[str] = []
    for grant in grants:
        for action in grant.actions:
            if "*" in action:
                found.append(f"{grant.where}: wildcard action {action}")
        if "*" in grant.resources:
            for action in grant.actions:
                if action not in WILDCARD_RESOURCE_EXCEPTIONS:
                    found.append(f"{grant.where}: {action} on Resource *")
    return found
