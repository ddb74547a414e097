"""KMS keys and aliases, Secrets Manager secrets, SNS topics and subscriptions, CloudWatch
alarms and dashboards, log groups, IAM roles, and the types that are recorded only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError
from local_cloud.stack import Resource

# Resource types that exist in the template but have no local effect, and why.
NO_LOCAL_MEANING: dict[str, str] = {
    "AWS::Lambda::Permission": "moto does not enforce resource policies; recorded only",
    "AWS::Lambda::EventSourceMapping": "driven by local_cloud.poller (moto's mapping drops "
    "failed messages); recorded as Stack.event_sources",
    "AWS::CloudFormation::WaitConditionHandle": "no deployment engine locally",
}

_ALARM_PROPERTIES = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def record_only(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """Types in NO_LOCAL_MEANING: nothing to create; Ref returns a stable fake id."""
    rtype = ctx.cfn["Resources"][logical_id]["Type"]
    return Resource(logical_id, rtype, f"{ctx.stack.name}-{logical_id}", {"Properties": props})


def create_key(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A KMS key; rotation and the enabled flag are set after creation."""
    kms = ctx.client("kms")
    args: dict[str, Any] = {"Description": props.get("Description", logical_id)}
    if "KeyPolicy" in props:
        args["Policy"] = json.dumps(props["KeyPolicy"])
    for key in ("KeyUsage", "KeySpec"):
        if key in props:
            args[key] = props[key]
    meta = kms.create_key(**args)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    if props.get("Enabled") is False:
        kms.disable_key(KeyId=meta["KeyId"])
    return Resource(
        logical_id, "AWS::KMS::Key", meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]}
    )


def create_alias(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """An alias for a key given by id or ARN."""
    target = str(props["TargetKeyId"]).rsplit("/", 1)[-1]  # accepts an id or a key ARN
    ctx.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=target)
    return Resource(logical_id, "AWS::KMS::Alias", props["AliasName"])


def create_secret(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A secret with a given or generated value."""
    secrets = ctx.client("secretsmanager")
    name = props.get("Name") or ctx.name(logical_id, max_length=256)
    if "SecretString" in props:
        value = props["SecretString"]
    else:
        value = _generated_secret(ctx, props.get("GenerateSecretString") or {})
    args: dict[str, Any] = {"Name": name, "SecretString": value}
    for key in ("Description", "KmsKeyId"):
        if key in props:
            args[key] = props[key]
    arn = secrets.create_secret(**args)["ARN"]
    return Resource(logical_id, "AWS::SecretsManager::Secret", arn, {"Id": arn})


def _generated_secret(ctx: ProvisionContext, spec: Mapping[str, Any]) -> str:
    """GenerateSecretString, done with Secrets Manager's own GetRandomPassword."""
    options = {
        key: spec[key]
        for key in (
            "PasswordLength",
            "ExcludeCharacters",
            "ExcludeNumbers",
            "ExcludePunctuation",
            "ExcludeUppercase",
            "ExcludeLowercase",
            "IncludeSpace",
            "RequireEachIncludedType",
        )
        if key in spec
    }
    password = ctx.client("secretsmanager").get_random_password(**options)["RandomPassword"]
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec.get("GenerateStringKey", "password")] = password
        return json.dumps(document)
    return password


def create_topic(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A topic with its attributes and inline subscriptions."""
    sns = ctx.client("sns")
    name = props.get("TopicName") or ctx.name(logical_id, max_length=256)
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in ("KmsMasterKeyId", "DisplayName", "FifoTopic")
        if key in props
    }
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in props.get("Subscription") or []:
        sns.subscribe(
            TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
        )
    return Resource(logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})


# Subscription properties that are SNS subscription attributes (JSON documents as text).
_SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
)


def create_subscription(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A topic subscription; moto confirms it at once and delivers nothing to email."""
    if props.get("Region") not in (None, ctx.stack.region):
        raise ProvisionError(
            f"AWS::SNS::Subscription {logical_id}: Region {props['Region']} is not the stack's "
            f"region {ctx.stack.region}; the local cloud has one region"
        )
    attributes = {}
    for key in _SUBSCRIPTION_ATTRIBUTES:
        if key in props:
            value = props[key]
            attributes[key] = (
                json.dumps(value)
                if isinstance(value, dict | list)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    args: dict[str, Any] = {
        "TopicArn": props["TopicArn"],
        "Protocol": props["Protocol"],
        "ReturnSubscriptionArn": True,
    }
    if "Endpoint" in props:
        args["Endpoint"] = props["Endpoint"]
    if attributes:
        args["Attributes"] = attributes
    arn = ctx.client("sns").subscribe(**args)["SubscriptionArn"]
    return Resource(logical_id, "AWS::SNS::Subscription", arn, {"Arn": arn})


def create_dashboard(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A dashboard with its body; moto stores it, nothing renders it."""
    name = props.get("DashboardName") or ctx.name(logical_id, max_length=255)
    body = props["DashboardBody"]
    text = body if isinstance(body, str) else json.dumps(body)
    json.loads(text)  # CloudFormation refuses a body that is not JSON; so does this
    ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=text)
    return Resource(logical_id, "AWS::CloudWatch::Dashboard", name)


def create_alarm(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A metric alarm; CloudFormation's strings become the API's numbers."""
    name = props.get("AlarmName") or ctx.name(logical_id, max_length=255)
    args = {key: props[key] for key in _ALARM_PROPERTIES if key in props}
    args["AlarmName"] = name
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in args:
            args[key] = int(args[key])
    if "Threshold" in args:
        args["Threshold"] = float(args["Threshold"])
    ctx.client("cloudwatch").put_metric_alarm(**args)
    arn = ctx.arn("cloudwatch", f"alarm:{name}")
    return Resource(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": arn})


def create_log_group(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A log group with its retention."""
    logs = ctx.client("logs")
    name = props.get("LogGroupName") or ctx.name(logical_id, max_length=512)
    args: dict[str, Any] = {"logGroupName": name}
    if "KmsKeyId" in props:
        args["kmsKeyId"] = props["KmsKeyId"]
    logs.create_log_group(**args)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    return Resource(
        logical_id,
        "AWS::Logs::LogGroup",
        name,
        {"Arn": ctx.arn("logs", f"log-group:{name}:*")},
    )


def create_role(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A role with inline and customer-managed policies (IAM is not enforced)."""
    iam = ctx.client("iam")
    name = props.get("RoleName") or ctx.name(logical_id, max_length=64)
    args: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
    }
    for key in ("Path", "Description", "MaxSessionDuration", "PermissionsBoundary"):
        if key in props:
            args[key] = props[key]
    role = iam.create_role(**args)["Role"]
    for policy in props.get("Policies") or []:
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            # IAM defaults a missing Version (SAM policy templates omit it); moto insists.
            PolicyDocument=json.dumps({"Version": "2012-10-17", **policy["PolicyDocument"]}),
        )
    aws_managed: list[str] = []
    for policy_arn in props.get("ManagedPolicyArns") or []:
        if policy_arn.startswith("arn:aws:iam::aws:"):
            # moto does not preload AWS managed policies; IAM is not enforced locally.
            aws_managed.append(policy_arn)
        else:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return Resource(
        logical_id,
        "AWS::IAM::Role",
        name,
        {"Arn": role["Arn"], "RoleId": role["RoleId"], "AwsManagedPolicyArns": aws_managed},
    )


CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": create_key,
    "AWS::KMS::Alias": create_alias,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::SNS::Topic": create_topic,
    "AWS::SNS::Subscription": create_subscription,
    "AWS::CloudWatch::Alarm": create_alarm,
    "AWS::CloudWatch::Dashboard": create_dashboard,
    "AWS::Logs::LogGroup": create_log_group,
    "AWS::IAM::Role": create_role,
    "AWS::Lambda::Permission": record_only,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::KMS::Key": frozenset(
        {"Description", "KeyPolicy", "KeyUsage", "KeySpec", "EnableKeyRotation", "Enabled"}
    ),
    "AWS::KMS::Alias": frozenset({"AliasName", "TargetKeyId"}),
    "AWS::SecretsManager::Secret": frozenset(
        {"Name", "Description", "KmsKeyId", "SecretString", "GenerateSecretString"}
    ),
    "AWS::SNS::Topic": frozenset(
        {"TopicName", "KmsMasterKeyId", "DisplayName", "FifoTopic", "Subscription"}
    ),
    "AWS::SNS::Subscription": frozenset(
        {"TopicArn", "Protocol", "Endpoint", "Region", *_SUBSCRIPTION_ATTRIBUTES}
    ),
    "AWS::CloudWatch::Alarm": frozenset(_ALARM_PROPERTIES),
    "AWS::CloudWatch::Dashboard": frozenset({"DashboardName", "DashboardBody"}),
    "AWS::Logs::LogGroup": frozenset({"LogGroupName", "RetentionInDays", "KmsKeyId"}),
    "AWS::IAM::Role": frozenset(
        {
            "RoleName",
            "AssumeRolePolicyDocument",
            "Policies",
            "ManagedPolicyArns",
            "Path",
            "PermissionsBoundary",
            "Description",
            "MaxSessionDuration",
        }
    ),
    # AWS::Lambda::Permission: recorded only, any property accepted (see NO_LOCAL_MEANING).
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::KMS::Key": {
        "PendingWindowInDays": "keys are never deleted locally",
        "MultiRegion": "one region",
    },
    "AWS::SecretsManager::Secret": {"ReplicaRegions": "one region locally"},
    "AWS::Logs::LogGroup": {"LogGroupClass": "one class locally"},
}
