"""DynamoDB tables, with TTL and point-in-time recovery applied after creation; item writes are
made atomic as in AWS (local_cloud.dynamodb_writes)."""

from __future__ import annotations

from typing import Any

from local_cloud import dynamodb_writes
from local_cloud.resources.base import Creator, ProvisionContext
from local_cloud.stack import Resource


def create_table(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A table with its keys, indexes, streams and encryption; then TTL and PITR."""
    dynamodb_writes.install()
    dynamodb = ctx.client("dynamodb")
    name = props.get("TableName") or ctx.name(logical_id, max_length=255)
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            args[key] = props[key]
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        args["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    if "DeletionProtectionEnabled" in props:
        args["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
    table = dynamodb.create_table(**args)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    attributes = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Resource(logical_id, "AWS::DynamoDB::Table", name, attributes)


CREATORS: dict[str, Creator] = {"AWS::DynamoDB::Table": create_table}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::DynamoDB::Table": frozenset(
        {
            "TableName",
            "KeySchema",
            "AttributeDefinitions",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "BillingMode",
            "ProvisionedThroughput",
            "StreamSpecification",
            "SSESpecification",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
            "DeletionProtectionEnabled",
        }
    )
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::DynamoDB::Table": {
        "ContributorInsightsSpecification": "no CloudWatch Contributor Insights locally"
    }
}
