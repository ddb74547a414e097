"""Step Functions state machines, with DefinitionSubstitutions applied as SAM would."""

from __future__ import annotations

import json
from typing import Any

from local_cloud.resources.base import Creator, ProvisionContext, ProvisionError
from local_cloud.stack import Resource


def create_state_machine(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Resource:
    """A state machine from a local definition file, a string or an inline document."""
    if "DefinitionS3Location" in props:
        path = ctx.local_path(props["DefinitionS3Location"], logical_id)
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
    name = props.get("StateMachineName") or ctx.name(logical_id, max_length=80)
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
    arn = ctx.client("stepfunctions").create_state_machine(**args)["stateMachineArn"]
    return Resource(
        logical_id,
        "AWS::StepFunctions::StateMachine",
        arn,
        {"Arn": arn, "Name": name, "StateMachineRevisionId": arn},
    )


CREATORS: dict[str, Creator] = {"AWS::StepFunctions::StateMachine": create_state_machine}
HANDLED: dict[str, frozenset[str]] = {
    "AWS::StepFunctions::StateMachine": frozenset(
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
        }
    )
}
IGNORED: dict[str, dict[str, str]] = {}
