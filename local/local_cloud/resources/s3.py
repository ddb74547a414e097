"""S3 buckets (versioning, encryption, public access block, lifecycle, notifications) and
bucket policies; form (presigned POST) uploads to them are held to their POST policy by
local_cloud.s3_post_uploads, installed with the first bucket."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local_cloud import s3_post_uploads
from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError
from local_cloud.stack import Resource


def create_bucket(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A bucket and each of its configurations, in the order S3 accepts them."""
    s3 = ctx.client("s3")
    name = props.get("BucketName") or ctx.name(logical_id, max_length=63, lower=True)
    args: dict[str, Any] = {"Bucket": name}
    if ctx.stack.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.stack.region}
    s3.create_bucket(**args)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=name,
            VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]},
        )
    if "BucketEncryption" in props:
        rules = [
            {
                (
                    "ApplyServerSideEncryptionByDefault"
                    if k == "ServerSideEncryptionByDefault"
                    else k
                ): v
                for k, v in rule.items()
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "CorsConfiguration" in props:
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={"CORSRules": props["CorsConfiguration"]["CorsRules"]},
        )
    if "LifecycleConfiguration" in props:
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "NotificationConfiguration" in props:
        s3.put_bucket_notification_configuration(
            Bucket=name,
            NotificationConfiguration=_notification_configuration(
                props["NotificationConfiguration"], logical_id
            ),
        )
    s3_post_uploads.install()
    region = ctx.stack.region
    return Resource(
        logical_id,
        "AWS::S3::Bucket",
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
        },
    )


def create_bucket_policy(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """The policy, minus conditional Deny statements moto would apply unconditionally."""
    document = dict(props["PolicyDocument"])
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    # moto applies Principal "*" statements but ignores their Condition, so a conditional
    # Deny (e.g. aws:SecureTransport=false) would deny every request; those stay off locally.
    kept = [s for s in statements if not (s.get("Effect") == "Deny" and s.get("Condition"))]
    dropped = [s.get("Sid", "(no Sid)") for s in statements if s not in kept]
    if kept:
        document["Statement"] = kept
        ctx.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    return Resource(
        logical_id,
        "AWS::S3::BucketPolicy",
        f"{ctx.stack.name}-{logical_id}",
        {"LocallyDroppedStatements": dropped},
    )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape → the S3 API's."""
    out: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "Prefix" in rule:
        out["Filter"] = {"Prefix": rule["Prefix"]}
    elif "TagFilters" in rule:
        out["Filter"] = {"And": {"Tags": rule["TagFilters"]}}
    else:
        out["Filter"] = {"Prefix": ""}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        out["Expiration"] = expiration
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])
        }
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            key: int(value) for key, value in rule["NoncurrentVersionExpiration"].items()
        }
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            )
        }
    if "Transitions" in rule:
        out["Transitions"] = [
            {
                "StorageClass": t["StorageClass"],
                **({"Days": int(t["TransitionInDays"])} if "TransitionInDays" in t else {}),
                **({"Date": t["TransitionDate"]} if "TransitionDate" in t else {}),
            }
            for t in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        out["NoncurrentVersionTransitions"] = [
            {"StorageClass": t["StorageClass"], "NoncurrentDays": int(t["TransitionInDays"])}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    return out


def _notification_filter(spec: Mapping[str, Any]) -> dict[str, Any]:
    rules = spec.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


def _notification_configuration(spec: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration shape → the S3 API's."""
    unknown = set(spec) - {
        "QueueConfigurations",
        "LambdaConfigurations",
        "TopicConfigurations",
        "EventBridgeConfiguration",
    }
    if unknown:
        raise ProvisionError(f"bucket {logical_id}: unknown notification kind(s) {sorted(unknown)}")
    out: dict[str, Any] = {}
    if "QueueConfigurations" in spec:
        out["QueueConfigurations"] = [
            {"QueueArn": c["Queue"], "Events": [c["Event"]], **_notification_filter(c)}
            for c in spec["QueueConfigurations"]
        ]
    if "LambdaConfigurations" in spec:
        out["LambdaFunctionConfigurations"] = [
            {"LambdaFunctionArn": c["Function"], "Events": [c["Event"]], **_notification_filter(c)}
            for c in spec["LambdaConfigurations"]
        ]
    if "TopicConfigurations" in spec:
        out["TopicConfigurations"] = [
            {"TopicArn": c["Topic"], "Events": [c["Event"]], **_notification_filter(c)}
            for c in spec["TopicConfigurations"]
        ]
    if spec.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
        out["EventBridgeConfiguration"] = {}
    return out


CREATORS: dict[str, Creator] = {
    "AWS::S3::Bucket": create_bucket,
    "AWS::S3::BucketPolicy": create_bucket_policy,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::S3::Bucket": frozenset(
        {
            "BucketName",
            "VersioningConfiguration",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "LifecycleConfiguration",
            "NotificationConfiguration",
            "OwnershipControls",
            "CorsConfiguration",
        }
    ),
    "AWS::S3::BucketPolicy": frozenset({"Bucket", "PolicyDocument"}),
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::S3::Bucket": {
        "LoggingConfiguration": "server access logs are not produced locally",
        "ObjectLockEnabled": "object lock is not exercised locally",
        "MetricsConfigurations": "no request metrics locally",
    }
}
