"""Which stack the operator means, and the physical names of its resources.

Every command speaks in the template's logical ids (``LedgerTable``, ``SessionsDLQ``); this
module turns them into what ``Ref`` returns (a table name, a queue URL, an ARN), the same way
for the three kinds of stack an operator meets:

- a deployed stack, by name: its Outputs first (``LedgerTableName``,
  ``RetentionRequestsQueueUrl``, ...: what the stack publishes), and CloudFormation's
  ``ListStackResources`` for what no output names (the DLQs, the capture-events queue);
- the local cloud of ``make up``, by endpoint: the local provisioner names each resource
  ``{stack}-{LogicalId}`` unless the template names it, so queues, tables and state machines
  are found by that prefix on the moto server;
- a local ``Stack`` object handed in by a test (it has ``outputs`` and ``resources``), read
  as a deployed one is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from jumio_pipeline_ops.errors import OpsError

LOCAL_STACK_NAME = "jumio-local"
LOCAL_REGION = "us-east-1"  # the local cloud's (docs/local-cloud.md)
QUEUE_TYPE = "AWS::SQS::Queue"
# Resources the template names itself (template.yaml: `Name: !Sub ${AWS::StackName}-session`).
LOCAL_NAMED = {"SessionStateMachine": "{stack}-session"}
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The template's Outputs that name a resource the CLI uses, by its logical id; each is the
# resource's ``Ref`` (template.yaml, Outputs).
OUTPUT_OF = {
    "LedgerTable": "LedgerTableName",
    "AuditTable": "AuditTableName",
    "SessionStateMachine": "SessionStateMachineArn",
    "RetentionRequestsQueue": "RetentionRequestsQueueUrl",
    "SessionsQueue": "SessionsQueueUrl",
    "PreparedDataQueue": "PreparedDataQueueUrl",
    "StartSessionsQueue": "StartSessionsQueueUrl",
    "SessionStartedQueue": "SessionStartedQueueUrl",
}


class Resources(Protocol):
    """A stack's resources by logical id."""

    name: str

    def physical(self, logical_id: str) -> str:
        """What ``Ref`` returns for the resource; OpsError if the stack has none."""
        ...

    def queue_urls(self) -> dict[str, str]:
        """Every SQS queue of the stack: logical id → queue URL."""
        ...


@dataclass
class Cloud:
    """boto3 clients for one account, region and (local cloud) endpoint."""

    session: boto3.Session
    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def resource(self, service: str) -> Any:
        return self.session.resource(
            service, region_name=self.region, endpoint_url=self.endpoint_url
        )


def cloud_for(*, region: str | None, profile: str | None, endpoint_url: str | None) -> Cloud:
    """The operator's AWS session. Against a local endpoint any credentials do (the local
    cloud's test keys stand in when none are configured) and the region is the local cloud's;
    a deployed stack needs a region from ``--region`` or the AWS configuration."""
    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    if endpoint_url and session.get_credentials() is None:
        session = boto3.Session(**LOCAL_CREDENTIALS)
    chosen = region or session.region_name or (LOCAL_REGION if endpoint_url else None)
    if chosen is None:
        raise OpsError("no AWS region: pass --region or configure one (AWS_REGION, a profile)")
    return Cloud(session=session, region=chosen, endpoint_url=endpoint_url)


class _ByLogicalId:
    """Shared lookups: the stack's output where one names the resource, else its resource list
    (``logical id → (type, physical id)``)."""

    name: str

    def _resources(self) -> dict[str, tuple[str, str]]:
        raise NotImplementedError

    def _outputs(self) -> dict[str, str]:
        return {}

    def physical(self, logical_id: str) -> str:
        published = self._outputs().get(OUTPUT_OF.get(logical_id, ""))
        if published:
            return published
        found = self._resources().get(logical_id)
        if found is None:
            raise OpsError(f"stack {self.name} has no resource {logical_id}")
        return found[1]

    def queue_urls(self) -> dict[str, str]:
        return {
            logical_id: self.physical(logical_id)
            for logical_id, (rtype, _) in self._resources().items()
            if rtype == QUEUE_TYPE
        }


class CloudFormationStack(_ByLogicalId):
    """A deployed stack: its Outputs, and its resources as CloudFormation lists them."""

    def __init__(self, cloud: Cloud, name: str) -> None:
        self.name = name
        self._cloud = cloud
        self._cache: dict[str, tuple[str, str]] | None = None
        self._published: dict[str, str] | None = None

    def _outputs(self) -> dict[str, str]:
        if self._published is None:
            cfn = self._cloud.client("cloudformation")
            with _stack_errors(self.name):
                described = cfn.describe_stacks(StackName=self.name)["Stacks"][0]
            self._published = {
                output["OutputKey"]: output["OutputValue"]
                for output in described.get("Outputs", [])
            }
        return self._published

    def _resources(self) -> dict[str, tuple[str, str]]:
        if self._cache is None:
            cfn = self._cloud.client("cloudformation")
            with _stack_errors(self.name):
                pages = cfn.get_paginator("list_stack_resources").paginate(StackName=self.name)
                summaries = [s for page in pages for s in page["StackResourceSummaries"]]
            self._cache = {
                s["LogicalResourceId"]: (s["ResourceType"], s.get("PhysicalResourceId", ""))
                for s in summaries
                if s.get("PhysicalResourceId")
            }
        return self._cache


@contextmanager
def _stack_errors(name: str) -> Iterator[None]:
    """CloudFormation's refusal (no such stack, no permission) as one line naming the stack."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise OpsError(f"stack {name}: {error.get('Code')}: {error.get('Message')}") from None


class LocalEndpointStack(_ByLogicalId):
    """The local cloud's stack on a moto server, found by the provisioner's names."""

    def __init__(self, cloud: Cloud, name: str = LOCAL_STACK_NAME) -> None:
        self.name = name
        self._cloud = cloud
        self._cache: dict[str, tuple[str, str]] | None = None

    def _resources(self) -> dict[str, tuple[str, str]]:
        if self._cache is None:
            prefix = f"{self.name}-"
            found: dict[str, tuple[str, str]] = {}
            sqs = self._cloud.client("sqs")
            for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
                for url in page.get("QueueUrls", []):
                    found[url.rsplit("/", 1)[-1].removeprefix(prefix)] = (QUEUE_TYPE, url)
            dynamodb = self._cloud.client("dynamodb")
            for page in dynamodb.get_paginator("list_tables").paginate():
                for table in page.get("TableNames", []):
                    if table.startswith(prefix):
                        found[table.removeprefix(prefix)] = ("AWS::DynamoDB::Table", table)
            machines = {
                machine["name"]: machine["stateMachineArn"]
                for page in self._cloud.client("stepfunctions")
                .get_paginator("list_state_machines")
                .paginate()
                for machine in page["stateMachines"]
            }
            for logical_id, pattern in LOCAL_NAMED.items():
                arn = machines.get(pattern.format(stack=self.name))
                if arn:
                    found[logical_id] = ("AWS::StepFunctions::StateMachine", arn)
            if not found:
                raise OpsError(
                    f"no resource of stack {self.name} at {self._cloud.endpoint_url} "
                    "(is `make up` running, and is the stack name right?)"
                )
            self._cache = found
        return self._cache


class InjectedStack(_ByLogicalId):
    """A local ``Stack`` object from the provisioner (tests hand it in)."""

    def __init__(self, stack: Any) -> None:
        self.name = stack.name
        self._stack = stack

    def _outputs(self) -> dict[str, str]:
        return {key: str(value) for key, value in (self._stack.outputs or {}).items()}

    def _resources(self) -> dict[str, tuple[str, str]]:
        return {
            logical_id: (resource.type, resource.ref)
            for logical_id, resource in self._stack.resources.items()
        }
