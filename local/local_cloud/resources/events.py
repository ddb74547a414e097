"""EventBridge buses and rules, created in moto.

Rules with an event pattern are delivered by moto's events backend with AWS's SQS delivery
rules put in place by local_cloud.eventbridge; scheduled rules are recorded as Stack.schedules
(moto never fires a schedule, so the local cloud or a test triggers the function itself).
"""

from __future__ import annotations

import json
from typing import Any

from local_cloud import eventbridge
from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError
from local_cloud.stack import Resource, Schedule

TARGET_KEYS = frozenset(
    {
        "Id",
        "Arn",
        "RoleArn",
        "Input",
        "InputPath",
        "InputTransformer",
        "SqsParameters",
        "DeadLetterConfig",
        "RetryPolicy",
    }
)
# Target services an event-pattern rule can deliver to locally, and who delivers.
_DELIVERED = {
    "sqs": "local_cloud.eventbridge",
    "logs": "moto",
    "events": "moto",
}


def function_for_target(ctx: ProvisionContext, target_arn: str) -> str | None:
    """The logical id of the stack function a target ARN names, if any."""
    for spec in ctx.stack.functions.values():
        if target_arn in (spec.arn, spec.name):
            return spec.logical_id
    return None


def create_event_bus(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A custom event bus; its resource policy is applied as PutPermission would."""
    if props.get("EventSourceName"):
        raise ProvisionError(
            f"AWS::Events::EventBus {logical_id}: partner event sources do not exist locally"
        )
    events = ctx.client("events")
    name = props["Name"]
    args: dict[str, Any] = {"Name": name}
    for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
        if key in props:
            args[key] = props[key]
    arn = events.create_event_bus(**args)["EventBusArn"]
    policy = props.get("Policy")
    if policy:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        events.put_permission(EventBusName=name, Policy=text)
    eventbridge.install()
    attributes = {"Arn": arn, "Name": name, "Policy": policy}
    return Resource(logical_id, "AWS::Events::EventBus", name, attributes)


def _check_targets(logical_id: str, targets: list[dict[str, Any]], *, scheduled: bool) -> None:
    """Unknown target keys fail by name; a pattern rule's target must be deliverable locally."""
    for target in targets:
        unknown = sorted(set(target) - TARGET_KEYS)
        if unknown:
            raise ProvisionError(
                f"AWS::Events::Rule {logical_id}: target {target.get('Id')} property "
                f"{', '.join(unknown)} is not handled by the local cloud"
            )
        service = str(target["Arn"]).split(":")[2]
        if not scheduled and service not in _DELIVERED:
            raise ProvisionError(
                f"AWS::Events::Rule {logical_id}: target {target.get('Id')} is a {service} "
                f"target, which the local cloud does not deliver events to (only "
                f"{', '.join(sorted(_DELIVERED))})"
            )


def create_events_rule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A rule on the default or a custom bus, with its targets; scheduled ones are recorded."""
    events = ctx.client("events")
    name = props.get("Name") or ctx.name(logical_id)
    bus = props.get("EventBusName")
    targets = props.get("Targets") or []
    scheduled = "ScheduleExpression" in props
    _check_targets(logical_id, targets, scheduled=scheduled)
    args: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
    if bus:
        args["EventBusName"] = bus
    if scheduled:
        args["ScheduleExpression"] = props["ScheduleExpression"]
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    for key in ("Description", "RoleArn"):
        if key in props:
            args[key] = props[key]
    arn = events.put_rule(**args)["RuleArn"]
    if targets:
        bus_args = {"EventBusName": bus} if bus else {}
        events.put_targets(Rule=name, Targets=targets, **bus_args)
    if scheduled:
        for target in targets:
            ctx.stack.schedules.append(
                Schedule(
                    logical_id=logical_id,
                    kind="AWS::Events::Rule",
                    expression=props["ScheduleExpression"],
                    target_arn=target["Arn"],
                    function_logical_id=function_for_target(ctx, target["Arn"]),
                    input=json.loads(target["Input"]) if "Input" in target else None,
                    retry_policy=target.get("RetryPolicy"),
                    dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
                )
            )
    eventbridge.install()
    bus_name = str(bus).rsplit("/", 1)[-1] if bus else "default"
    # CloudFormation's Ref: the rule name on the default bus, "bus|rule" on a custom bus.
    ref = name if bus_name == "default" else f"{bus_name}|{name}"
    return Resource(logical_id, "AWS::Events::Rule", ref, {"Arn": arn})


CREATORS: dict[str, Creator] = {
    "AWS::Events::EventBus": create_event_bus,
    "AWS::Events::Rule": create_events_rule,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::Events::EventBus": frozenset(
        {"Name", "EventSourceName", "Description", "KmsKeyIdentifier", "DeadLetterConfig", "Policy"}
    ),
    "AWS::Events::Rule": frozenset(
        {
            "Name",
            "EventBusName",
            "ScheduleExpression",
            "EventPattern",
            "State",
            "Description",
            "RoleArn",
            "Targets",
        }
    ),
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::Events::EventBus": {"LogConfig": "EventBridge does not log locally"},
}
