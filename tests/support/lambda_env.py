"""Each function of template.yaml as Lambda would start it: its code folder and environment.

Why: cold-start measurements (benchmarks/) and checks (tests/unit/test_cold_start.py) import a
handler in a fresh process, and what its module does at import depends on the environment the
template gives it (Globals + the function's variables) and on Lambda's own variables (tracing is
only on where ``LAMBDA_TASK_ROOT`` is set). Intrinsic functions are resolved to plausible values:
parameter defaults, queue URLs, secret ARNs, mapping values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "shared" / "python"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "jumio-bench"


def functions() -> dict[str, dict[str, Any]]:
    """Every function of the template: folder name -> {"dir", "env", "logical_id", "memory"}."""
    from local_cloud.template import load_yaml

    template = load_yaml(REPO / "template.yaml")
    resolve = _Resolver(template)
    global_env = template["Globals"]["Function"]["Environment"]["Variables"]
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = {**global_env, **properties.get("Environment", {}).get("Variables", {})}
        code_dir = REPO / properties["CodeUri"]
        found[code_dir.name] = {
            "dir": code_dir,
            "env": {name: resolve(value) for name, value in variables.items()},
            "logical_id": logical_id,
            "memory": int(
                properties.get("MemorySize", template["Globals"]["Function"]["MemorySize"])
            ),
        }
    return dict(sorted(found.items()))


class _Resolver:
    """Intrinsic functions to the strings a deployed stack would hand the function."""

    def __init__(self, template: dict[str, Any]) -> None:
        self._parameters = template.get("Parameters", {})
        self._mappings = template.get("Mappings", {})
        self._resources = template["Resources"]

    def __call__(self, value: Any) -> str:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):
            return ",".join(self(item) for item in value)
        (function, argument), *_ = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::FindInMap":
            mapping, key, name = (self(part) for part in argument)
            return str(self._mappings[mapping][key][name])
        if function == "Fn::Join":
            separator, parts = argument
            joined = [self(part) for part in (parts if isinstance(parts, list) else [parts])]
            return separator.join(part for part in joined if part)
        if function == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            for name, real in {
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": STACK,
            }.items():
                text = text.replace("${" + name + "}", real)
            return text
        if function == "Fn::GetAtt":
            return "https://bench0callback0url.lambda-url.us-east-1.on.aws/"
        raise ValueError(f"cannot resolve {function}")

    def _ref(self, name: str) -> str:
        if name in self._parameters:
            return str(self._parameters[name].get("Default", ""))
        kind = self._resources.get(name, {}).get("Type", "")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}"
        if kind == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{STACK}-{name}-AbCdEf"
        return f"{STACK}-{name}"


def lambda_env(function_env: dict[str, str], function_name: str, task_root: Path) -> dict[str, str]:
    """A Lambda-like environment: no inherited AWS settings, fake credentials, tracing on.

    LAMBDA_TASK_ROOT is what Powertools and the X-Ray SDK take for "running in Lambda": without
    it the tracer disables itself and the X-Ray recorder builds a sampler that runs in Lambda.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "SAM_", "_X_AMZN"))
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{function_name}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": "app.handler",
            **function_env,
        }
    )
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return env
