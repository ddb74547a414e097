"""EventBridge Scheduler schedules: created in moto and recorded as Stack.schedules.

Why record them: moto never fires a schedule, so the local cloud (or a test) triggers
scheduled functions itself from this record. The target's RetryPolicy and DeadLetterConfig
are stored in moto and on the record; nothing retries or dead-letters locally, because nothing
fires.
"""

from __future__ import annotations

import json
from typing import Any

from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError
from local_cloud.resources.events import function_for_target
from local_cloud.stack import Resource, Schedule

TARGET_KEYS = frozenset({"Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig"})
RETRY_POLICY_KEYS = frozenset({"MaximumEventAgeInSeconds", "MaximumRetryAttempts"})


def _check_target(logical_id: str, target: dict[str, Any]) -> None:
    """Unknown keys of the target, its RetryPolicy or DeadLetterConfig fail by name."""
    where = f"AWS::Scheduler::Schedule {logical_id}"
    unknown = sorted(set(target) - TARGET_KEYS)
    if unknown:
        raise ProvisionError(f"{where}: Target property {', '.join(unknown)} is not handled")
    unknown = sorted(set(target.get("RetryPolicy") or {}) - RETRY_POLICY_KEYS)
    if unknown:
        raise ProvisionError(f"{where}: RetryPolicy property {', '.join(unknown)} is not handled")
    unknown = sorted(set(target.get("DeadLetterConfig") or {}) - {"Arn"})
    if unknown:
        raise ProvisionError(
            f"{where}: DeadLetterConfig property {', '.join(unknown)} is not handled"
        )


def _api_target(target: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's target → the Scheduler API's (numbers as numbers)."""
    out = dict(target)
    if "RetryPolicy" in out:
        out["RetryPolicy"] = {key: int(value) for key, value in out["RetryPolicy"].items()}
    return out


def create_schedule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A Scheduler schedule, recorded for the local cloud."""
    name = props.get("Name") or ctx.name(logical_id)
    target = props["Target"]
    _check_target(logical_id, target)
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
        Target=_api_target(target),
        **args,
    )["ScheduleArn"]
    ctx.stack.schedules.append(
        Schedule(
            logical_id=logical_id,
            kind="AWS::Scheduler::Schedule",
            expression=props["ScheduleExpression"],
            target_arn=target["Arn"],
            function_logical_id=function_for_target(ctx, target["Arn"]),
            input=json.loads(target["Input"]) if "Input" in target else None,
            retry_policy=_api_target(target).get("RetryPolicy"),
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
        )
    )
    return Resource(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})


CREATORS: dict[str, Creator] = {"AWS::Scheduler::Schedule": create_schedule}
HANDLED: dict[str, frozenset[str]] = {
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
    "AWS::Scheduler::Schedule": {"KmsKeyArn": "schedule payloads are not encrypted locally"},
}
