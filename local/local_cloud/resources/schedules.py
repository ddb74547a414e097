"""EventBridge rules and Scheduler schedules: created in moto and recorded as Stack.schedules.

Why record them: moto neither fires schedules nor targets Lambda from EventBridge, so the
local cloud (or a test) triggers scheduled functions itself from this record.
"""

from __future__ import annotations

import json
from typing import Any

from local_cloud.resources.base import Creator, ProvisionContext
from local_cloud.stack import Resource, Schedule


def _function_for_target(ctx: ProvisionContext, target_arn: str) -> str | None:
    """The logical id of the stack function a target ARN names, if any."""
    for spec in ctx.stack.functions.values():
        if target_arn in (spec.arn, spec.name):
            return spec.logical_id
    return None


def create_events_rule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A rule with its targets; a scheduled one is recorded for the local cloud."""
    events = ctx.client("events")
    name = props.get("Name") or ctx.name(logical_id)
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
            ctx.stack.schedules.append(
                Schedule(
                    logical_id=logical_id,
                    kind="AWS::Events::Rule",
                    expression=props["ScheduleExpression"],
                    target_arn=target["Arn"],
                    function_logical_id=_function_for_target(ctx, target["Arn"]),
                    input=json.loads(target["Input"]) if "Input" in target else None,
                )
            )
    return Resource(logical_id, "AWS::Events::Rule", name, {"Arn": arn})


def create_schedule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A Scheduler schedule, recorded for the local cloud."""
    name = props.get("Name") or ctx.name(logical_id)
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
    arn = ctx.client("scheduler").create_schedule(
        Name=name,
        FlexibleTimeWindow=props.get("FlexibleTimeWindow") or {"Mode": "OFF"},
        Target=target,
        **args,
    )["ScheduleArn"]
    ctx.stack.schedules.append(
        Schedule(
            logical_id=logical_id,
            kind="AWS::Scheduler::Schedule",
            expression=props["ScheduleExpression"],
            target_arn=target["Arn"],
            function_logical_id=_function_for_target(ctx, target["Arn"]),
            input=json.loads(target["Input"]) if "Input" in target else None,
        )
    )
    return Resource(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})


CREATORS: dict[str, Creator] = {
    "AWS::Events::Rule": create_events_rule,
    "AWS::Scheduler::Schedule": create_schedule,
}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::Events::Rule": frozenset(
        {"Name", "ScheduleExpression", "EventPattern", "State", "Description", "Targets"}
    ),
    "AWS::Scheduler::Schedule": frozenset(
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
        }
    ),
}
IGNORED: dict[str, dict[str, str]] = {
    "AWS::Events::Rule": {
        "EventBusName": "the default bus only locally",
        "RoleArn": "IAM is not enforced",
    },
    "AWS::Scheduler::Schedule": {"KmsKeyArn": "schedule payloads are not encrypted locally"},
}
