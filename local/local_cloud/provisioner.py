"""Create every resource of a SAM template in moto with plain boto3 calls.

Why not moto's CloudFormation: it has no SAM transform, ignores bucket notifications and
state machine substitutions (see local-aws-notes.md). Here the template is translated
offline, resources are created in dependency order, and each CloudFormation property is
either applied or listed as locally meaningless — a type or property nobody handles fails
loudly, naming it, instead of being skipped.

The same calls work in-process under `mock_aws` and against a moto server (`endpoint_url`).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3

from local_cloud.stack import EventSource, FunctionSpec, Resource, Schedule, Stack
from local_cloud.template import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    IntrinsicResolver,
    TemplateError,
    Translated,
    references,
    translate,
)

# Resource types that exist in the template but have no local effect, and why.
NO_LOCAL_MEANING: dict[str, str] = {
    "AWS::Lambda::Permission": "moto does not enforce resource policies; recorded only",
    "AWS::Lambda::EventSourceMapping": "driven by local_cloud.poller (moto's mapping drops "
    "failed messages); recorded as Stack.event_sources",
    "AWS::CloudFormation::WaitConditionHandle": "no deployment engine locally",
}

# Properties that are accepted everywhere but change nothing locally.
_ALWAYS_IGNORED = {"Tags": "tags have no behaviour locally"}

_ZIP_EXCLUDES = {"__pycache__", ".pytest_cache", ".aws-sam"}


class ProvisionError(TemplateError):
    """A resource that cannot be created locally; the message names its logical id and type."""


def _zip_folder(folder: Path) -> bytes:
    """Zip a folder's files (no caches) the way `sam build` packages code."""
    if not folder.is_dir():
        raise ProvisionError(f"code folder {folder} does not exist")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not _ZIP_EXCLUDES.intersection(path.parts):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


class _Clients:
    """boto3 clients for one endpoint (None: default resolution, which `mock_aws` intercepts)."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            extra: dict[str, Any] = {}
            if self._endpoint_url:
                extra = {
                    "endpoint_url": self._endpoint_url,
                    "aws_access_key_id": "testing",
                    "aws_secret_access_key": "testing",
                }
            self._cache[service] = boto3.client(service, region_name=self._region, **extra)
        return self._cache[service]


class Provisioner:
    """Walks a translated template in dependency order and creates each resource."""

    def __init__(
        self,
        translated: Translated,
        *,
        stack_name: str,
        region: str,
        endpoint_url: str | None,
        env: Mapping[str, str] | None,
    ) -> None:
        self.translated = translated
        self.cfn = translated.cfn
        self.stack = Stack(name=stack_name, region=region, endpoint_url=endpoint_url)
        self.client = _Clients(endpoint_url, region)
        self.env_overrides = dict(env or {})
        self.layer_dirs: dict[str, Path] = {}  # layer version ARN → folder put on sys.path
        self.resolver = IntrinsicResolver(
            parameters=translated.parameters,
            ref=self.stack.physical,
            get_att=self.stack.attribute,
            conditions=self.cfn.get("Conditions") or {},
            mappings=self.cfn.get("Mappings") or {},
            region=region,
            stack_name=stack_name,
        )
        self._creators: dict[str, Callable[[str, dict[str, Any]], Resource | None]] = {
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::SQS::Queue": self._sqs_queue,
            "AWS::SQS::QueuePolicy": self._sqs_queue_policy,
            "AWS::S3::Bucket": self._s3_bucket,
            "AWS::S3::BucketPolicy": self._s3_bucket_policy,
            "AWS::DynamoDB::Table": self._dynamodb_table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::SNS::Topic": self._sns_topic,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::IAM::Role": self._iam_role,
            "AWS::Lambda::LayerVersion": self._layer_version,
            "AWS::Lambda::Function": self._lambda_function,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::Lambda::Permission": self._recorded_only,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::Rule": self._events_rule,
            "AWS::Scheduler::Schedule": self._scheduler_schedule,
        }

    # ----------------------------------------------------------------------- driver

    def run(self) -> Stack:
        """Create everything, resolve outputs, return the Stack."""
        resources = self.cfn["Resources"]
        for logical_id in self._creation_order(resources):
            resource = resources[logical_id]
            condition = resource.get("Condition")
            if condition and not self.resolver.condition(condition):
                self.stack.skipped[logical_id] = f"condition {condition} is false"
                continue
            rtype = resource.get("Type", "")
            creator = self._creators.get(rtype)
            if creator is None:
                raise ProvisionError(
                    f"resource {logical_id} has type {rtype}, which the local cloud does not "
                    "provision; add a creator or list it in NO_LOCAL_MEANING with the reason"
                )
            try:
                props = self.resolver.resolve(resource.get("Properties") or {})
                created = creator(logical_id, props)
            except ProvisionError:
                raise
            except Exception as exc:
                raise ProvisionError(f"creating {rtype} {logical_id} failed: {exc}") from exc
            if created is not None:
                self.stack.resources[logical_id] = created
        self._resolve_outputs()
        return self.stack

    def _creation_order(self, resources: dict[str, Any]) -> list[str]:
        """Topological order over Ref/GetAtt/Sub references and DependsOn; cycles fail."""
        deps: dict[str, set[str]] = {}
        for logical_id, resource in resources.items():
            depends_on = resource.get("DependsOn") or []
            if isinstance(depends_on, str):
                depends_on = [depends_on]
            found = references(resource.get("Properties") or {}) | set(depends_on)
            unknown = found - set(resources) - set(self.translated.parameters)
            if unknown:
                raise ProvisionError(
                    f"resource {logical_id} refers to unknown name(s): {', '.join(sorted(unknown))}"
                )
            deps[logical_id] = found & set(resources)
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(node: str, path: list[str]) -> None:
            if state.get(node) == "done":
                return
            if state.get(node) == "visiting":
                raise ProvisionError(f"dependency cycle: {' -> '.join([*path, node])}")
            state[node] = "visiting"
            for dep in sorted(deps[node]):
                visit(dep, [*path, node])
            state[node] = "done"
            order.append(node)

        for logical_id in resources:
            visit(logical_id, [])
        return order

    def _resolve_outputs(self) -> None:
        for name, output in (self.cfn.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition and not self.resolver.condition(condition):
                continue
            self.stack.outputs[name] = self.resolver.resolve(output["Value"])

    # ----------------------------------------------------------------------- helpers

    def _check_props(
        self,
        logical_id: str,
        rtype: str,
        props: Mapping[str, Any],
        handled: set[str],
        ignored: Mapping[str, str] | None = None,
    ) -> None:
        """Fail on a property that is neither applied nor deliberately ignored."""
        allowed = handled | set(ignored or {}) | set(_ALWAYS_IGNORED)
        unknown = sorted(set(props) - allowed)
        if unknown:
            raise ProvisionError(
                f"{rtype} {logical_id}: property {', '.join(unknown)} is not handled by the "
                "local cloud; apply it in provisioner.py or list it as ignored with the reason"
            )

    def _name(self, logical_id: str, *, max_length: int = 64, lower: bool = False) -> str:
        """A stable physical name `{stack}-{LogicalId}`, as CloudFormation would generate one."""
        name = f"{self.stack.name}-{logical_id}"[:max_length]
        return name.lower() if lower else name

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.stack.region}:{ACCOUNT_ID}:{resource}"

    def _recorded_only(self, logical_id: str, props: dict[str, Any]) -> Resource:
        """Types in NO_LOCAL_MEANING: nothing to create; Ref returns a stable fake id."""
        rtype = self.cfn["Resources"][logical_id]["Type"]
        return Resource(logical_id, rtype, f"{self.stack.name}-{logical_id}", {"Properties": props})

    # ----------------------------------------------------------------------- KMS

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::KMS::Key",
            props,
            {"Description", "KeyPolicy", "KeyUsage", "KeySpec", "EnableKeyRotation", "Enabled"},
            {"PendingWindowInDays": "keys are never deleted locally", "MultiRegion": "one region"},
        )
        kms = self.client("kms")
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

    def _kms_alias(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(logical_id, "AWS::KMS::Alias", props, {"AliasName", "TargetKeyId"})
        target = str(props["TargetKeyId"]).rsplit("/", 1)[-1]  # accepts an id or a key ARN
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=target)
        return Resource(logical_id, "AWS::KMS::Alias", props["AliasName"])

    # ----------------------------------------------------------------------- SQS

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

    def _sqs_queue(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::SQS::Queue",
            props,
            {*self._QUEUE_ATTRIBUTES, "QueueName", "RedrivePolicy", "RedriveAllowPolicy"},
        )
        name = props.get("QueueName") or self._name(
            logical_id, max_length=75 if props.get("FifoQueue") else 80
        )
        if props.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {}
        for key in self._QUEUE_ATTRIBUTES:
            if key in props:
                value = props[key]
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                value = props[key]
                attributes[key] = value if isinstance(value, str) else json.dumps(value)
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return Resource(
            logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueUrl": url, "QueueName": name}
        )

    def _sqs_queue_policy(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(logical_id, "AWS::SQS::QueuePolicy", props, {"Queues", "PolicyDocument"})
        policy = json.dumps(props["PolicyDocument"])
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        return Resource(logical_id, "AWS::SQS::QueuePolicy", f"{self.stack.name}-{logical_id}")

    # ----------------------------------------------------------------------- S3

    def _s3_bucket(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::S3::Bucket",
            props,
            {
                "BucketName",
                "VersioningConfiguration",
                "BucketEncryption",
                "PublicAccessBlockConfiguration",
                "LifecycleConfiguration",
                "NotificationConfiguration",
                "OwnershipControls",
                "CorsConfiguration",
            },
            {
                "LoggingConfiguration": "server access logs are not produced locally",
                "ObjectLockEnabled": "object lock is not exercised locally",
                "MetricsConfigurations": "no request metrics locally",
            },
        )
        s3 = self.client("s3")
        name = props.get("BucketName") or self._name(logical_id, max_length=63, lower=True)
        args: dict[str, Any] = {"Bucket": name}
        if self.stack.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.stack.region}
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
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules}
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
            )
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=props["OwnershipControls"]
            )
        if "CorsConfiguration" in props:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={"CORSRules": props["CorsConfiguration"]["CorsRules"]},
            )
        if "LifecycleConfiguration" in props:
            rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": rules}
            )
        if "NotificationConfiguration" in props:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration=_notification_configuration(
                    props["NotificationConfiguration"], logical_id
                ),
            )
        region = self.stack.region
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

    def _s3_bucket_policy(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(logical_id, "AWS::S3::BucketPolicy", props, {"Bucket", "PolicyDocument"})
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
            self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
        return Resource(
            logical_id,
            "AWS::S3::BucketPolicy",
            f"{self.stack.name}-{logical_id}",
            {"LocallyDroppedStatements": dropped},
        )

    # ----------------------------------------------------------------------- DynamoDB

    def _dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::DynamoDB::Table",
            props,
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
            },
            {"ContributorInsightsSpecification": "no CloudWatch Contributor Insights locally"},
        )
        dynamodb = self.client("dynamodb")
        name = props.get("TableName") or self._name(logical_id, max_length=255)
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

    # ----------------------------------------------------------------------- secrets, SNS, logs

    def _secret(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::SecretsManager::Secret",
            props,
            {"Name", "Description", "KmsKeyId", "SecretString", "GenerateSecretString"},
            {"ReplicaRegions": "one region locally"},
        )
        secrets = self.client("secretsmanager")
        name = props.get("Name") or self._name(logical_id, max_length=256)
        if "SecretString" in props:
            value = props["SecretString"]
        else:
            value = self._generated_secret(props.get("GenerateSecretString") or {})
        args: dict[str, Any] = {"Name": name, "SecretString": value}
        for key in ("Description", "KmsKeyId"):
            if key in props:
                args[key] = props[key]
        arn = secrets.create_secret(**args)["ARN"]
        return Resource(logical_id, "AWS::SecretsManager::Secret", arn, {"Id": arn})

    def _generated_secret(self, spec: Mapping[str, Any]) -> str:
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
        password = self.client("secretsmanager").get_random_password(**options)["RandomPassword"]
        if "SecretStringTemplate" in spec:
            document = json.loads(spec["SecretStringTemplate"])
            document[spec.get("GenerateStringKey", "password")] = password
            return json.dumps(document)
        return password

    def _sns_topic(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::SNS::Topic",
            props,
            {"TopicName", "KmsMasterKeyId", "DisplayName", "FifoTopic", "Subscription"},
        )
        sns = self.client("sns")
        name = props.get("TopicName") or self._name(logical_id, max_length=256)
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

    def _alarm(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(logical_id, "AWS::CloudWatch::Alarm", props, set(self._ALARM_PROPERTIES))
        name = props.get("AlarmName") or self._name(logical_id, max_length=255)
        args = {key: props[key] for key in self._ALARM_PROPERTIES if key in props}
        args["AlarmName"] = name
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in args:
                args[key] = int(args[key])
        if "Threshold" in args:
            args["Threshold"] = float(args["Threshold"])
        self.client("cloudwatch").put_metric_alarm(**args)
        arn = self._arn("cloudwatch", f"alarm:{name}")
        return Resource(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": arn})

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Logs::LogGroup",
            props,
            {"LogGroupName", "RetentionInDays", "KmsKeyId"},
            {"LogGroupClass": "one class locally"},
        )
        logs = self.client("logs")
        name = props.get("LogGroupName") or self._name(logical_id, max_length=512)
        args: dict[str, Any] = {"logGroupName": name}
        if "KmsKeyId" in props:
            args["kmsKeyId"] = props["KmsKeyId"]
        logs.create_log_group(**args)
        if "RetentionInDays" in props:
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(props["RetentionInDays"])
            )
        return Resource(
            logical_id,
            "AWS::Logs::LogGroup",
            name,
            {"Arn": self._arn("logs", f"log-group:{name}:*")},
        )

    # ----------------------------------------------------------------------- IAM

    def _iam_role(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::IAM::Role",
            props,
            {
                "RoleName",
                "AssumeRolePolicyDocument",
                "Policies",
                "ManagedPolicyArns",
                "Path",
                "PermissionsBoundary",
                "Description",
                "MaxSessionDuration",
            },
        )
        iam = self.client("iam")
        name = props.get("RoleName") or self._name(logical_id, max_length=64)
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

    # ----------------------------------------------------------------------- Lambda

    def _local_path(self, location: Mapping[str, Any], logical_id: str) -> Path:
        key = location.get("S3Key") or location.get("Key")
        if not key:
            raise ProvisionError(f"{logical_id}: no local code location (inline code?)")
        return self.translated.local_path_for_s3_key(key)

    def _layer_version(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Lambda::LayerVersion",
            props,
            {
                "LayerName",
                "Content",
                "CompatibleRuntimes",
                "CompatibleArchitectures",
                "Description",
            },
            {"LicenseInfo": "no licensing locally"},
        )
        folder = self._local_path(props["Content"], logical_id)
        args: dict[str, Any] = {
            "LayerName": props.get("LayerName") or self._name(logical_id),
            "Content": {"ZipFile": _zip_folder(folder)},
        }
        for key in ("CompatibleRuntimes", "CompatibleArchitectures", "Description"):
            if key in props:
                args[key] = props[key]
        arn = self.client("lambda").publish_layer_version(**args)["LayerVersionArn"]
        self.layer_dirs[arn] = folder / "python" if (folder / "python").is_dir() else folder
        return Resource(logical_id, "AWS::Lambda::LayerVersion", arn, {"Arn": arn})

    def _lambda_function(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Lambda::Function",
            props,
            {
                "FunctionName",
                "Code",
                "Handler",
                "Runtime",
                "Role",
                "Timeout",
                "MemorySize",
                "Environment",
                "Layers",
                "Description",
                "Architectures",
                "ReservedConcurrentExecutions",
                "TracingConfig",
                "DeadLetterConfig",
                "EphemeralStorage",
                "LoggingConfig",
            },
            {
                "KmsKeyArn": "environment variables are not encrypted locally",
                "VpcConfig": "no VPC locally",
            },
        )
        code_dir = self._local_path(props["Code"], logical_id)
        name = props.get("FunctionName") or self._name(logical_id, max_length=64)
        variables = {
            key: str(value)
            for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
        }
        variables.update(self.env_overrides)
        layers = list(props.get("Layers") or [])
        args: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": props.get("Runtime", "python3.12"),
            "Role": props["Role"],
            "Handler": props["Handler"],
            "Code": {"ZipFile": _zip_folder(code_dir)},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Environment": {"Variables": variables},
            "Layers": layers,
        }
        for key in ("Description", "Architectures", "TracingConfig", "DeadLetterConfig"):
            if key in props:
                args[key] = props[key]
        function = self.client("lambda").create_function(**args)
        if "ReservedConcurrentExecutions" in props:
            self.client("lambda").put_function_concurrency(
                FunctionName=name,
                ReservedConcurrentExecutions=int(props["ReservedConcurrentExecutions"]),
            )
        spec = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=function["FunctionArn"],
            handler=props["Handler"],
            code_dir=code_dir,
            layer_dirs=[self.layer_dirs[arn] for arn in layers if arn in self.layer_dirs],
            environment=variables,
            timeout=args["Timeout"],
            memory_size=args["MemorySize"],
        )
        self.stack.functions[logical_id] = spec
        from local_cloud import invoker  # registry the runners read; no moto import here

        invoker.register_function(spec)
        return Resource(logical_id, "AWS::Lambda::Function", name, {"Arn": spec.arn})

    def _event_source_mapping(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Lambda::EventSourceMapping",
            props,
            {
                "FunctionName",
                "EventSourceArn",
                "BatchSize",
                "MaximumBatchingWindowInSeconds",
                "FunctionResponseTypes",
                "ScalingConfig",
                "Enabled",
            },
            {"FilterCriteria": "not supported by the local poller yet"},
        )
        source_arn = props["EventSourceArn"]
        if ":sqs:" not in source_arn:
            raise ProvisionError(
                f"event source mapping {logical_id}: only SQS sources run locally, got {source_arn}"
            )
        function = self.stack.function(props["FunctionName"])
        queue_url = self.client("sqs").get_queue_url(QueueName=source_arn.rsplit(":", 1)[-1])[
            "QueueUrl"
        ]
        scaling = props.get("ScalingConfig") or {}
        source = EventSource(
            logical_id=logical_id,
            function_logical_id=function.logical_id,
            function_name=function.name,
            queue_arn=source_arn,
            queue_url=queue_url,
            batch_size=int(props.get("BatchSize", 10)),
            maximum_batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures"
            in (props.get("FunctionResponseTypes") or []),
            maximum_concurrency=int(scaling["MaximumConcurrency"])
            if "MaximumConcurrency" in scaling
            else None,
            enabled=bool(props.get("Enabled", True)),
        )
        self.stack.event_sources.append(source)
        uuid = f"{self.stack.name}-{logical_id}"
        return Resource(logical_id, "AWS::Lambda::EventSourceMapping", uuid, {"Id": uuid})

    # ----------------------------------------------------------------------- Step Functions

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::StepFunctions::StateMachine",
            props,
            {
                "StateMachineName",
                "StateMachineType",
                "Definition",
                "DefinitionString",
                "DefinitionS3Location",
                "DefinitionSubstitutions",
                "RoleArn",
                "LoggingConfiguration",
                "TracingConfiguration",
            },
        )
        if "DefinitionS3Location" in props:
            path = self._local_path(props["DefinitionS3Location"], logical_id)
            definition = path.read_text(encoding="utf-8")
        elif "DefinitionString" in props:
            definition = props["DefinitionString"]
        elif "Definition" in props:
            definition = json.dumps(props["Definition"])
        else:
            raise ProvisionError(f"state machine {logical_id} has no definition")
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            text = value if isinstance(value, str) else json.dumps(value)
            definition = definition.replace("${" + key + "}", text)
        name = props.get("StateMachineName") or self._name(logical_id, max_length=80)
        args: dict[str, Any] = {
            "name": name,
            "definition": definition,
            "roleArn": props["RoleArn"],
            "type": props.get("StateMachineType", "STANDARD"),
        }
        logging = props.get("LoggingConfiguration")
        if logging:
            args["loggingConfiguration"] = {
                "level": logging.get("Level", "OFF"),
                "includeExecutionData": bool(logging.get("IncludeExecutionData", False)),
                "destinations": [
                    {
                        "cloudWatchLogsLogGroup": {
                            "logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]
                        }
                    }
                    for d in logging.get("Destinations") or []
                ],
            }
        if "TracingConfiguration" in props:
            args["tracingConfiguration"] = {
                "enabled": bool(props["TracingConfiguration"].get("Enabled"))
            }
        arn = self.client("stepfunctions").create_state_machine(**args)["stateMachineArn"]
        return Resource(
            logical_id,
            "AWS::StepFunctions::StateMachine",
            arn,
            {"Arn": arn, "Name": name, "StateMachineRevisionId": arn},
        )

    # ----------------------------------------------------------------------- schedules

    def _function_for_target(self, target_arn: str) -> str | None:
        for spec in self.stack.functions.values():
            if target_arn in (spec.arn, spec.name):
                return spec.logical_id
        return None

    def _events_rule(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Events::Rule",
            props,
            {"Name", "ScheduleExpression", "EventPattern", "State", "Description", "Targets"},
            {"EventBusName": "the default bus only locally", "RoleArn": "IAM is not enforced"},
        )
        events = self.client("events")
        name = props.get("Name") or self._name(logical_id)
        args: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "ScheduleExpression" in props:
            args["ScheduleExpression"] = props["ScheduleExpression"]
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "Description" in props:
            args["Description"] = props["Description"]
        arn = events.put_rule(**args)["RuleArn"]
        targets = props.get("Targets") or []
        if targets:
            events.put_targets(
                Rule=name,
                Targets=[
                    {k: t[k] for k in ("Id", "Arn", "Input", "InputPath", "RoleArn") if k in t}
                    for t in targets
                ],
            )
        for target in targets:
            if "ScheduleExpression" in props:
                self.stack.schedules.append(
                    Schedule(
                        logical_id=logical_id,
                        kind="AWS::Events::Rule",
                        expression=props["ScheduleExpression"],
                        target_arn=target["Arn"],
                        function_logical_id=self._function_for_target(target["Arn"]),
                        input=json.loads(target["Input"]) if "Input" in target else None,
                    )
                )
        return Resource(logical_id, "AWS::Events::Rule", name, {"Arn": arn})

    def _scheduler_schedule(self, logical_id: str, props: dict[str, Any]) -> Resource:
        self._check_props(
            logical_id,
            "AWS::Scheduler::Schedule",
            props,
            {
                "Name",
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "FlexibleTimeWindow",
                "Target",
                "State",
                "Description",
                "GroupName",
                "StartDate",
                "EndDate",
            },
            {"KmsKeyArn": "schedule payloads are not encrypted locally"},
        )
        name = props.get("Name") or self._name(logical_id)
        target = props["Target"]
        args = {
            key: props[key]
            for key in (
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "State",
                "Description",
                "GroupName",
            )
            if key in props
        }
        arn = self.client("scheduler").create_schedule(
            Name=name,
            FlexibleTimeWindow=props.get("FlexibleTimeWindow") or {"Mode": "OFF"},
            Target=target,
            **args,
        )["ScheduleArn"]
        self.stack.schedules.append(
            Schedule(
                logical_id=logical_id,
                kind="AWS::Scheduler::Schedule",
                expression=props["ScheduleExpression"],
                target_arn=target["Arn"],
                function_logical_id=self._function_for_target(target["Arn"]),
                input=json.loads(target["Input"]) if "Input" in target else None,
            )
        )
        return Resource(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})


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


def provision(
    template_path: Path | str,
    *,
    parameters: Mapping[str, Any] | None = None,
    stack_name: str = "jumio-local",
    env: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Stack:
    """Translate `template_path` and create all of it in moto; return the Stack.

    `env` overrides/extends every function's Environment.Variables (e.g. JUMIO_BASE_URL of the
    simulator). `endpoint_url` targets a moto server; None uses boto3's default resolution
    (intercepted by `mock_aws`, or AWS_ENDPOINT_URL).
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    translated = translate(template_path, parameters, region=region)
    return Provisioner(
        translated, stack_name=stack_name, region=region, endpoint_url=endpoint_url, env=env
    ).run()
