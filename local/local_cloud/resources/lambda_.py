"""Lambda layers, functions and SQS event source mappings.

Functions are created in moto (so Invoke, S3 notifications and Step Functions reach them) and
registered with the local invoker (code folder, layers, resolved environment, concurrency).
Event source mappings are not created in moto: they are recorded for local_cloud.poller.
"""

from __future__ import annotations

from typing import Any

from local_cloud import invoker
from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError, zip_folder
from local_cloud.stack import EventSource, FunctionSpec, Resource


def create_layer_version(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A published layer; its folder (python/ if present) is what handlers import."""
    folder = ctx.local_path(props["Content"], logical_id)
    args: dict[str, Any] = {
        "LayerName": props.get("LayerName") or ctx.name(logical_id),
        "Content": {"ZipFile": zip_folder(folder)},
    }
    for key in ("CompatibleRuntimes", "CompatibleArchitectures", "Description"):
        if key in props:
            args[key] = props[key]
    arn = ctx.client("lambda").publish_layer_version(**args)["LayerVersionArn"]
    ctx.layer_dirs[arn] = folder / "python" if (folder / "python").is_dir() else folder
    return Resource(logical_id, "AWS::Lambda::LayerVersion", arn, {"Arn": arn})


def create_function(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A function in moto, and its FunctionSpec for the local runners."""
    code_dir = ctx.local_path(props["Code"], logical_id)
    name = props.get("FunctionName") or ctx.name(logical_id, max_length=64)
    variables = {
        key: str(value)
        for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
    }
    variables.update(ctx.env_overrides)
    layers = list(props.get("Layers") or [])
    args: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": props.get("Runtime", "python3.12"),
        "Role": props["Role"],
        "Handler": props["Handler"],
        "Code": {"ZipFile": zip_folder(code_dir)},
        "Timeout": int(props.get("Timeout", 3)),
        "MemorySize": int(props.get("MemorySize", 128)),
        "Environment": {"Variables": variables},
        "Layers": layers,
    }
    for key in ("Description", "Architectures", "TracingConfig", "DeadLetterConfig"):
        if key in props:
            args[key] = props[key]
    function = ctx.client("lambda").create_function(**args)
    if "ReservedConcurrentExecutions" in props:
        reserved = int(props["ReservedConcurrentExecutions"])
        ctx.client("lambda").put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=reserved
        )
        if reserved > 0:
            invoker.limit_concurrency(name, reserved)
    spec = FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=function["FunctionArn"],
        handler=props["Handler"],
        code_dir=code_dir,
        layer_dirs=[ctx.layer_dirs[arn] for arn in layers if arn in ctx.layer_dirs],
        environment=variables,
        timeout=args["Timeout"],
        memory_size=args["MemorySize"],
    )
    ctx.stack.functions[logical_id] = spec
    invoker.register_function(spec)  # the registry the local runners read
    return Resource(logical_id, "AWS::Lambda::Function", name, {"Arn": spec.arn})


def record_event_source_mapping(
    ctx: ProvisionContext, logical_id: str, props: dict[str, Any]
) -> Resource:
    """An SQS mapping recorded for the poller; it caps the function's warm workers."""
    source_arn = props["EventSourceArn"]
    if ":sqs:" not in source_arn:
        raise ProvisionError(
            f"event source mapping {logical_id}: only SQS sources run locally, got {source_arn}"
        )
    function = ctx.stack.function(props["FunctionName"])
    queue_url = ctx.client("sqs").get_queue_url(QueueName=source_arn.rsplit(":", 1)[-1])["QueueUrl"]
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
    ctx.stack.event_sources.append(source)
    if source.maximum_concurrency:
        invoker.limit_concurrency(function.name, source.maximum_concurrency)
    uuid = f"{ctx.stack.name}-{logical_id}"
    return Resource(logical_id, "AWS::Lambda::EventSourceMapping", uuid, {"Id": uuid})


CREATORS: dict[str, Creator] = {
    "AWS::Lambda::LayerVersion": create_layer_version,
    "AWS::Lambda::Function": create_function,
    "AWS::Lambda::EventSourceMapping": record_event_source_mapping,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::Lambda::LayerVersion": frozenset(
        {"LayerName", "Content", "CompatibleRuntimes", "CompatibleArchitectures", "Description"}
    ),
    "AWS::Lambda::Function": frozenset(
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
        }
    ),
    "AWS::Lambda::EventSourceMapping": frozenset(
        {
            "FunctionName",
            "EventSourceArn",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
            "ScalingConfig",
            "Enabled",
        }
    ),
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::Lambda::LayerVersion": {"LicenseInfo": "no licensing locally"},
    "AWS::Lambda::Function": {
        "KmsKeyArn": "environment variables are not encrypted locally",
        "VpcConfig": "no VPC locally",
    },
    "AWS::Lambda::EventSourceMapping": {"FilterCriteria": "not supported by the local poller yet"},
}
