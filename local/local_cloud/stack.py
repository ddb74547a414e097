"""What a provisioned local stack is: physical ids, functions, event sources, schedules.

Why a separate module: the invoker, the poller, the demo and the tests all read a Stack, but
only the provisioner writes one; keeping the plain data apart keeps those readers light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Resource:
    """One created resource: its CFN type, what Ref returns, and its GetAtt attributes."""

    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FunctionSpec:
    """A Lambda function as the local runners need it (code folder, handler, resolved env)."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: list[Path]
    environment: dict[str, str]
    timeout: int = 3
    memory_size: int = 128


@dataclass
class EventSource:
    """An SQS → Lambda event source mapping, driven by the project's poller instead of moto."""

    logical_id: str
    function_logical_id: str
    function_name: str
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    maximum_batching_window_seconds: float = 0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None
    enabled: bool = True
    filter_patterns: list[str] = field(default_factory=list)  # FilterCriteria, JSON text each


@dataclass
class Schedule:
    """A scheduled trigger of a function (EventBridge rule or Scheduler schedule), recorded only."""

    logical_id: str
    kind: str  # "AWS::Events::Rule" | "AWS::Scheduler::Schedule"
    expression: str
    target_arn: str
    function_logical_id: str | None
    input: Any = None
    retry_policy: dict[str, Any] | None = None  # Scheduler target RetryPolicy, recorded only
    dead_letter_arn: str | None = None  # Scheduler target DeadLetterConfig.Arn, recorded only


@dataclass
class FunctionUrl:
    """A function URL served on loopback (AWS::Lambda::Url); `stop` ends its server."""

    logical_id: str  # the AWS::Lambda::Url resource
    function_logical_id: str
    function_name: str
    url: str  # http://127.0.0.1:<port>/
    auth_type: str  # "NONE" | "AWS_IAM"
    stop: Callable[[], None] = field(repr=False, compare=False)


@dataclass
class Stack:
    """The result of provisioning a template into moto."""

    name: str
    region: str
    endpoint_url: str | None
    resources: dict[str, Resource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by logical id
    event_sources: list[EventSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    function_urls: dict[str, FunctionUrl] = field(default_factory=dict)  # by function logical id
    skipped: dict[str, str] = field(default_factory=dict)  # logical id → why not created

    def physical(self, logical_id: str) -> Any:
        """What `Ref` returns for a resource (name, URL or ARN, as CloudFormation does)."""
        if logical_id not in self.resources:
            why = self.skipped.get(logical_id, "not in the template")
            raise KeyError(f"resource {logical_id} was not created: {why}")
        return self.resources[logical_id].ref

    def attribute(self, logical_id: str, name: str) -> Any:
        """What `Fn::GetAtt` returns for a resource attribute."""
        resource = self.resources.get(logical_id)
        if resource is None:
            raise KeyError(f"resource {logical_id} was not created")
        if name not in resource.attributes:
            raise KeyError(f"{resource.type} {logical_id} has no attribute {name}")
        return resource.attributes[name]

    def function(self, logical_id_or_name: str) -> FunctionSpec:
        """Look a function up by logical id or physical name."""
        if logical_id_or_name in self.functions:
            return self.functions[logical_id_or_name]
        for spec in self.functions.values():
            if logical_id_or_name in (spec.name, spec.arn):
                return spec
        raise KeyError(f"no function {logical_id_or_name} in stack {self.name}")

    def function_url(self, name: str) -> str:
        """The URL of a function's function URL, by the function's logical id or physical name,
        or by the AWS::Lambda::Url's logical id: `http://127.0.0.1:<port>/`."""
        for entry in self.function_urls.values():
            if name in (entry.function_logical_id, entry.function_name, entry.logical_id):
                return entry.url
        raise KeyError(f"no function URL for {name} in stack {self.name}")

    def close(self) -> None:
        """Stop what the stack serves itself (its function URLs); moto's state is untouched."""
        for entry in self.function_urls.values():
            entry.stop()
