"""Lambda layers, functions, function URLs, event invoke configs and SQS event source mappings.

Functions are created in moto (so Invoke, S3 notifications and Step Functions reach them) and
registered with the local invoker (code folder, layers, resolved environment, concurrency).
Function URLs are recorded in moto and served on loopback (local_cloud.function_urls).
Event source mappings — translated from SAM `SQS` events or declared explicitly — are not
created in moto: they are recorded for local_cloud.poller.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

from local_cloud import function_urls, invoker
from local_cloud.function_url_cors import CORS_KEYS
from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError, zip_folder
from local_cloud.stack import EventSource, FunctionSpec, FunctionUrl, Resource
from local_cloud.template import ACCOUNT_ID


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


def _check_sqs_mapping(logical_id: str, props: dict[str, Any], scaling: dict[str, Any]) -> None:
    """Refuse what Lambda's CreateEventSourceMapping would refuse for an SQS source."""
    where = f"AWS::Lambda::EventSourceMapping {logical_id}"
    unknown_scaling = sorted(set(scaling) - {"MaximumConcurrency"})
    if unknown_scaling:
        raise ProvisionError(f"{where}: unknown ScalingConfig key(s) {unknown_scaling}")
    if "MaximumConcurrency" in scaling and not 2 <= int(scaling["MaximumConcurrency"]) <= 1000:
        raise ProvisionError(f"{where}: ScalingConfig.MaximumConcurrency must be 2..1000")
    unknown_types = sorted(
        set(props.get("FunctionResponseTypes") or []) - {"ReportBatchItemFailures"}
    )
    if unknown_types:
        raise ProvisionError(f"{where}: unknown FunctionResponseTypes {unknown_types}")
    batch_size = int(props.get("BatchSize", 10))
    window = float(props.get("MaximumBatchingWindowInSeconds", 0))
    if not 1 <= batch_size <= 10000:
        raise ProvisionError(f"{where}: BatchSize must be 1..10000 for SQS")
    if batch_size > 10 and window < 1:
        raise ProvisionError(
            f"{where}: a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1"
        )


def _filter_patterns(logical_id: str, criteria: dict[str, Any] | None) -> list[str]:
    """FilterCriteria's patterns as JSON text, each checked by the matcher the poller uses."""
    from moto.events.models import EventPattern

    patterns: list[str] = []
    for item in (criteria or {}).get("Filters") or []:
        pattern = item.get("Pattern")
        text = pattern if isinstance(pattern, str) else json.dumps(pattern)
        try:
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise ValueError("a filter pattern is a JSON object")
            EventPattern.load(text)
        except Exception as exc:
            raise ProvisionError(
                f"AWS::Lambda::EventSourceMapping {logical_id}: invalid filter pattern: {exc}"
            ) from exc
        patterns.append(text)
    return patterns


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
    _check_sqs_mapping(logical_id, props, scaling)
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
        filter_patterns=_filter_patterns(logical_id, props.get("FilterCriteria")),
    )
    ctx.stack.event_sources.append(source)
    if source.maximum_concurrency:
        invoker.limit_concurrency(function.name, source.maximum_concurrency)
    uuid = f"{ctx.stack.name}-{logical_id}"
    return Resource(logical_id, "AWS::Lambda::EventSourceMapping", uuid, {"Id": uuid})


def _point_moto_record_at(function_name: str, region: str, url: str) -> None:
    """Make moto's GetFunctionUrlConfig return the URL that really answers.

    moto invents an https://<id>.lambda-url.<region>.on.aws URL that nothing serves. When moto
    runs in this process (mock_aws, or the local cloud's ThreadedMotoServer) its record is
    pointed at the loopback URL; a moto server in another process keeps its own.
    """
    from moto.awslambda.models import lambda_backends

    with contextlib.suppress(Exception):  # not in this process: nothing to point
        record = lambda_backends[ACCOUNT_ID][region].get_function(function_name).url_config
        if record is not None:
            record.url = url


def create_function_url(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A function URL: recorded in moto, served by its own loopback HTTP server."""
    if props.get("Qualifier"):
        raise ProvisionError(
            f"AWS::Lambda::Url {logical_id}: Qualifier {props['Qualifier']!r} needs aliases or "
            "versions, which the local cloud does not create"
        )
    invoke_mode = str(props.get("InvokeMode", "BUFFERED")).upper()
    if invoke_mode != "BUFFERED":
        raise ProvisionError(
            f"AWS::Lambda::Url {logical_id}: InvokeMode {invoke_mode} is not emulated (BUFFERED only)"
        )
    auth_type = str(props["AuthType"])
    if auth_type not in function_urls.AUTH_TYPES:
        raise ProvisionError(f"AWS::Lambda::Url {logical_id}: unknown AuthType {auth_type}")
    cors = props.get("Cors")
    if cors is not None:
        unknown = sorted(set(cors) - CORS_KEYS)
        if unknown:
            raise ProvisionError(f"AWS::Lambda::Url {logical_id}: unknown Cors key(s) {unknown}")
    function = ctx.stack.function(props["TargetFunctionArn"])
    args: dict[str, Any] = {"FunctionName": function.name, "AuthType": auth_type}
    if cors is not None:
        args["Cors"] = cors
    moto_url = ctx.client("lambda").create_function_url_config(**args)["FunctionUrl"]
    url_id = urlsplit(moto_url).hostname.split(".", 1)[0]  # type: ignore[union-attr]
    port = int(ctx.function_url_ports.get(function.logical_id, 0))
    server = function_urls.FunctionUrlServer("127.0.0.1", port)
    spec = function_urls.FunctionUrlSpec(
        logical_id=logical_id,
        function_logical_id=function.logical_id,
        function_name=function.name,
        auth_type=auth_type,
        url_id=url_id,
        region=ctx.stack.region,
        account_id=ACCOUNT_ID,
        cors=cors,
    )
    invoke = function_urls.lambda_invoke(ctx.stack.region, ctx.stack.endpoint_url)
    server.start(function_urls.FunctionUrlService(spec, invoke, port=server.port))
    ctx.stack.function_urls[function.logical_id] = FunctionUrl(
        logical_id=logical_id,
        function_logical_id=function.logical_id,
        function_name=function.name,
        url=server.url,
        auth_type=auth_type,
        stop=server.stop,
    )
    _point_moto_record_at(function.name, ctx.stack.region, server.url)
    return Resource(
        logical_id,
        "AWS::Lambda::Url",
        function.arn,
        {"FunctionArn": function.arn, "FunctionUrl": server.url},
    )


def create_event_invoke_config(
    ctx: ProvisionContext, logical_id: str, props: dict[str, Any]
) -> Resource:
    """Asynchronous-invocation settings, stored in moto; nothing invokes asynchronously locally."""
    function = ctx.stack.function(props["FunctionName"])
    args: dict[str, Any] = {"FunctionName": function.name}
    if str(props.get("Qualifier", "$LATEST")) != "$LATEST":
        raise ProvisionError(
            f"AWS::Lambda::EventInvokeConfig {logical_id}: Qualifier {props['Qualifier']!r} "
            "needs aliases or versions, which the local cloud does not create"
        )
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in props:
            args[key] = int(props[key])
    if "DestinationConfig" in props:
        args["DestinationConfig"] = props["DestinationConfig"]
    ctx.client("lambda").put_function_event_invoke_config(**args)
    return Resource(
        logical_id,
        "AWS::Lambda::EventInvokeConfig",
        f"{ctx.stack.name}-{logical_id}",
        {"Properties": props},
    )


CREATORS: dict[str, Creator] = {
    "AWS::Lambda::LayerVersion": create_layer_version,
    "AWS::Lambda::Function": create_function,
    "AWS::Lambda::EventSourceMapping": record_event_source_mapping,
    "AWS::Lambda::Url": create_function_url,
    "AWS::Lambda::EventInvokeConfig": create_event_invoke_config,
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
            "FilterCriteria",
        }
    ),
    "AWS::Lambda::Url": frozenset(
        {"TargetFunctionArn", "AuthType", "Cors", "InvokeMode", "Qualifier"}
    ),
    "AWS::Lambda::EventInvokeConfig": frozenset(
        {
            "FunctionName",
            "Qualifier",
            "MaximumRetryAttempts",
            "MaximumEventAgeInSeconds",
            "DestinationConfig",
        }
    ),
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::Lambda::LayerVersion": {"LicenseInfo": "no licensing locally"},
    "AWS::Lambda::Function": {
        "KmsKeyArn": "environment variables are not encrypted locally",
        "VpcConfig": "no VPC locally",
    },
    "AWS::Lambda::EventSourceMapping": {"MetricsConfig": "no event source metrics locally"},
}
