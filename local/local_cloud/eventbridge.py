"""EventBridge delivery to SQS targets as AWS does it, on top of moto's events backend.

Why: moto matches event patterns well and delivers to SQS targets, but what it delivers is not
what AWS delivers (checked against moto 5.2.5): a DISABLED rule still delivers; a rule with no
pattern (a scheduled rule) matches every event, and its Lambda target then makes PutEvents
fail; the target's `Input` and `InputPath` are ignored; the message body drops `account` and
is built by string substitution (a `"` in a detail-type breaks it). This module replaces
`moto.events.models.Rule.send_to_targets` — a private method, checked before it is replaced —
with AWS's rules for SQS targets and leaves every other target type to moto.

What AWS does that is still not done here: retries and the target's DeadLetterConfig (a local
delivery to an existing queue cannot fail), the 256 KB PutEvents size limit, and Lambda or
Step Functions targets (the provisioner refuses them by name on event-pattern rules).
"""

from __future__ import annotations

import copy
import inspect
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_EXPECTED_PARAMETERS = ["self", "original_event", "transform_input"]
_AWS_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources")
_LOCAL_ONLY_KEYS = {"ingestion-time"}  # moto's bookkeeping, never in a delivered event
_installed: dict[str, Any] = {}
_lock = threading.Lock()


class IncompatibleMotoError(RuntimeError):
    """moto changed the private method this module replaces."""


def check_moto_hook() -> Any:
    """moto's Rule class, if `send_to_targets(self, original_event, transform_input)` is as
    expected; otherwise fail loudly naming the moto version."""
    import moto
    from moto.events import models

    rule_class = getattr(models, "Rule", None)
    method = _installed.get("original") or getattr(rule_class, "send_to_targets", None)
    if method is None:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: moto.events.models.Rule.send_to_targets is gone; "
            "local_cloud.eventbridge must be adapted (tested with moto 5.2.5)"
        )
    parameters = list(inspect.signature(method).parameters)
    if parameters != _EXPECTED_PARAMETERS:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: Rule.send_to_targets takes {parameters}, expected "
            f"{_EXPECTED_PARAMETERS}; local_cloud.eventbridge must be adapted"
        )
    return rule_class


def install() -> None:
    """Replace moto's delivery (once per process; the provisioner calls this for every bus or
    rule it creates)."""
    with _lock:
        if "original" in _installed:
            return
        rule_class = check_moto_hook()
        _installed["original"] = rule_class.send_to_targets
        rule_class.send_to_targets = _send_to_targets


def uninstall() -> None:
    """Put moto's own delivery back."""
    with _lock:
        original = _installed.pop("original", None)
        if original is not None:
            from moto.events.models import Rule

            Rule.send_to_targets = original


def installed() -> bool:
    """Whether AWS's delivery rules are in place."""
    return "original" in _installed


def _iso_time(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def aws_event(original: Mapping[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it: AWS's fields in AWS's order, time in ISO 8601."""
    event: dict[str, Any] = {key: original[key] for key in _AWS_KEYS if key in original}
    event.setdefault("version", "0")
    event.setdefault("resources", [])
    if "time" in event:
        event["time"] = _iso_time(event["time"])
    event["detail"] = original.get("detail", {})
    for key, value in original.items():  # e.g. replay-name on a replayed event
        if key not in event and key not in _LOCAL_ONLY_KEYS:
            event[key] = value
    return event


def _input_path(path: str, event: Mapping[str, Any]) -> Any:
    from jsonpath_ng.ext import parse  # moto's own dependency

    matches = parse(path).find(event)
    return matches[0].value if matches else None


def target_body(
    target: Mapping[str, Any], event: dict[str, Any], original: Mapping[str, Any]
) -> str:
    """What a target receives: the constant Input, the InputPath selection, the
    InputTransformer's output (moto's template engine), or the whole event."""
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return _compact(_input_path(str(target["InputPath"]), event))
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        source = {**event, "ingestion-time": original.get("ingestion-time", 0)}
        return _compact(
            EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=source,  # type: ignore[arg-type]
            )
        )
    return _compact(event)


def _compact(value: Any) -> str:
    """JSON as EventBridge writes it: no spaces."""
    return json.dumps(value, separators=(",", ":"))


def _send_to_queue(queue_arn: str, body: str, target: Mapping[str, Any], event_id: str) -> None:
    """SendMessage into moto's queue, as EventBridge's SQS integration does."""
    from moto.sqs import sqs_backends

    _, _, _, region, account, queue_name = queue_arn.split(":", 5)
    backend = sqs_backends[account][region]
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    deduplication_id = None
    if queue_name.endswith(".fifo"):
        queue_attributes = backend.get_queue(queue_name).attributes
        content_based = queue_attributes.get("ContentBasedDeduplication") == "true"
        deduplication_id = None if content_based else event_id
    backend.send_message(
        queue_name=queue_name,
        message_body=body,
        group_id=group_id,
        deduplication_id=deduplication_id,
    )


def _send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
    """AWS's delivery: enabled rules with a pattern only; SQS targets here, others to moto."""
    if rule.state != "ENABLED" or not rule.event_pattern.get_pattern():
        return  # disabled, or a scheduled rule: scheduled rules never match events
    if not rule.event_pattern.matches_event(original_event):
        return
    event = aws_event(original_event)
    for target in rule.targets:
        if str(target["Arn"]).startswith("arn:aws:sqs:"):
            try:
                _send_to_queue(
                    target["Arn"], target_body(target, event, original_event), target, event["id"]
                )
            except Exception as exc:  # AWS retries, then the target DLQ; neither exists here
                print(f"[eventbridge {rule.name}] delivery to {target['Arn']} failed: {exc}")
            continue
        single = copy.copy(rule)
        single.targets = [target]
        _installed["original"](single, original_event, transform_input)
