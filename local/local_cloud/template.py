"""Load a SAM template and turn it into plain CloudFormation, offline, plus resolve intrinsics.

Why: the local cloud provisions from the very `template.yaml` that is deployed, so the local
stack cannot drift from the real one. `aws-sam-translator` expands the SAM resources (roles,
event source mappings, rules, permissions) exactly as `sam deploy` would; the provisioner
then walks plain CloudFormation and needs the local folders the SAM resources pointed at,
which the translator replaces by S3 locations — so those are recorded here first.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DUMMY_CODE_BUCKET = "local-cloud-code"
NO_VALUE = object()  # marker for AWS::NoValue: the key or list item disappears

# Parameters a deployment must name (the template gives them no Default) but a local run may
# take as given: Jumio wants the business and application in every User-Agent, and locally
# the only Jumio is the simulator.
LOCAL_PARAMETER_VALUES = {"JumioUserAgent": "jumio-capture-pipeline local-cloud/0.1.0"}

# SAM property → (SAM type, the key that points at a local path).
_LOCAL_PATH_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}

# Managed policies SAM may reference by name; the real loader asks IAM, which we do not have.
_MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for name, path in {
        "AWSLambdaBasicExecutionRole": "service-role/",
        "AWSLambdaSQSQueueExecutionRole": "service-role/",
        "AWSLambdaVPCAccessExecutionRole": "service-role/",
        "AWSLambdaRole": "service-role/",
        "AWSXRayDaemonWriteAccess": "",
        "AWSXrayWriteOnlyAccess": "",
        "CloudWatchLambdaInsightsExecutionRolePolicy": "",
        "AWSStepFunctionsFullAccess": "",
    }.items()
}


class TemplateError(ValueError):
    """A template that cannot be loaded, translated or resolved; the message names the culprit."""


# --------------------------------------------------------------------------- YAML loading


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation short-form tags (!Ref, !GetAtt, !Sub...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML (or JSON) file into a dict with long-form intrinsics."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources mapping")
    return data


# --------------------------------------------------------------------------- translation


class _OfflinePolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which would call IAM."""

    def load(self) -> dict[str, str]:
        """Return the fixed name → ARN map of AWS managed policies SAM templates use."""
        return dict(_MANAGED_POLICIES)


@dataclass
class Translated:
    """A SAM template expanded to CloudFormation, with the local folders SAM pointed at."""

    template_path: Path
    raw: dict[str, Any]
    cfn: dict[str, Any]
    parameters: dict[str, Any]
    local_paths: dict[str, Path] = field(default_factory=dict)  # SAM logical id → local path

    def local_path_for_s3_key(self, key: str) -> Path:
        """Map the dummy S3 key the translator kept back to the local folder/file."""
        logical_id = key.split("/", 1)[-1]
        if logical_id not in self.local_paths:
            raise TemplateError(f"no local path recorded for code location {key!r}")
        return self.local_paths[logical_id]


def parameter_values(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge template parameter defaults with overrides; a missing value or stray name fails.

    A parameter with no Default takes its LOCAL_PARAMETER_VALUES entry, if it has one."""
    declared = raw.get("Parameters") or {}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        elif name in LOCAL_PARAMETER_VALUES:
            value = LOCAL_PARAMETER_VALUES[name]
        else:
            raise TemplateError(f"template parameter {name} has no Default and no value given")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in allowed:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = _typed(spec.get("Type"), value)
    return values


def _typed(parameter_type: str | None, value: Any) -> Any:
    """A parameter's value as CloudFormation resolves its Ref: a list for list types."""
    if parameter_type in ("String", "Number"):
        return str(value)
    if parameter_type in ("CommaDelimitedList", "List<Number>") and isinstance(value, str):
        # CloudFormation splits on commas and keeps every item as written (an empty value is
        # a list of one empty string); Fn::Join over a string would join its characters.
        return value.split(",")
    return value


def _inline_global_code_uri(template: dict[str, Any]) -> None:
    """Copy Globals.Function.CodeUri into each function that has none, so that every local
    code folder is recorded per function (the translator would otherwise see the folder)."""
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    code_uri = function_globals.get("CodeUri")
    if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
        return
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            props = resource.setdefault("Properties", {})
            if "CodeUri" not in props and "InlineCode" not in props and "ImageUri" not in props:
                props["CodeUri"] = code_uri
    del function_globals["CodeUri"]


def translate(
    template_path: Path | str,
    parameters: Mapping[str, Any] | None = None,
    *,
    region: str = DEFAULT_REGION,
) -> Translated:
    """Load a SAM template and expand it to CloudFormation with aws-sam-translator, offline."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    path = Path(template_path).resolve()
    raw = load_yaml(path)
    values = parameter_values(raw, parameters)
    sam_input = copy.deepcopy(raw)
    _inline_global_code_uri(sam_input)
    local_paths: dict[str, Path] = {}
    for logical_id, resource in sam_input["Resources"].items():
        key = _LOCAL_PATH_PROPERTIES.get(resource.get("Type", ""))
        props = resource.get("Properties") or {}
        local = props.get(key) if key else None
        if isinstance(local, str) and not local.startswith("s3://"):
            local_paths[logical_id] = (path.parent / local).resolve()
            props[key] = f"s3://{DUMMY_CODE_BUCKET}/{logical_id}"
    sam_values = {**values, "AWS::Region": region, "AWS::AccountId": ACCOUNT_ID}
    # Same steps as samtranslator.translator.transform.transform, but with an explicit region
    # session (that function reads the region from the ambient boto3 config, like `sam validate`).
    to_py27_compatible_template(sam_input, sam_values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    policies = _OfflinePolicyLoader().load()
    try:
        cfn = undo_mark_unicode_str_in_template(
            translator.translate(sam_input, sam_values, get_managed_policy_map=lambda: policies)
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes)
        raise TemplateError(f"SAM translation of {path} failed: {causes}") from exc
    return Translated(path, raw, cfn, values, local_paths)


# --------------------------------------------------------------------------- intrinsics


RefLookup = Callable[[str], Any]
GetAttLookup = Callable[[str, str], Any]

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class IntrinsicResolver:
    """Evaluates CloudFormation intrinsic functions against parameters and created resources.

    `ref` and `get_att` are supplied by the provisioner: they know physical names and ARNs.
    """

    parameters: Mapping[str, Any]
    ref: RefLookup
    get_att: GetAttLookup
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    stack_name: str = "jumio-local"
    _condition_values: dict[str, bool] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        """Value of a pseudo parameter (AWS::Region...), or raise naming it."""
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        """Evaluate (once) a named condition from the Conditions section."""
        if name not in self._condition_values:
            if name not in self.conditions:
                raise TemplateError(f"unknown condition {name}")
            self._condition_values[name] = bool(self.resolve(self.conditions[name]))
        return self._condition_values[name]

    def resolve_ref(self, name: str) -> Any:
        """Ref: parameters, pseudo parameters, then resources."""
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        return self.ref(name)

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside `value` (recursively); AWS::NoValue entries vanish."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.resolve_ref(self.resolve(arg))
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, key: str, arg: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda a: not self._bool_list(a, "Fn::Not", 1)[0],
            "Fn::And": lambda a: all(self._bool_list(a, "Fn::And")),
            "Fn::Or": lambda a: any(self._bool_list(a, "Fn::Or")),
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda a: base64.b64encode(str(self.resolve(a)).encode()).decode(),
            "Fn::ToJsonString": lambda a: json.dumps(self.resolve(a), separators=(",", ":")),
        }
        if key not in handlers:
            raise TemplateError(f"intrinsic function {key} is not supported by the local cloud")
        return handlers[key](arg)

    def _get_att(self, arg: Any) -> Any:
        arg = self.resolve(arg)
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"Fn::GetAtt needs [LogicalId, Attribute], got {arg!r}")
        return self.get_att(arg[0], arg[1])

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            template, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            template, variables = arg[0], self.resolve(arg[1])
        else:
            raise TemplateError(f"Fn::Sub needs a string or [string, {{vars}}], got {arg!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                value = self.get_att(logical_id, attribute)
            else:
                value = self.resolve_ref(name)
            return str(value)

        return _SUB_VARIABLE.sub(replace, template).replace("${!", "${")

    def _join(self, arg: Any) -> str:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"Fn::Join needs [delimiter, [values]], got {arg!r}")
        values = self.resolve(arg[1])
        return str(arg[0]).join(str(item) for item in values)

    def _select(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"Fn::Select needs [index, [values]], got {arg!r}")
        index, values = int(self.resolve(arg[0])), self.resolve(arg[1])
        if not 0 <= index < len(values):
            raise TemplateError(f"Fn::Select index {index} outside a list of {len(values)}")
        return values[index]

    def _split(self, arg: Any) -> list[str]:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"Fn::Split needs [delimiter, string], got {arg!r}")
        return str(self.resolve(arg[1])).split(arg[0])

    def _if(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 3:
            raise TemplateError(f"Fn::If needs [condition, then, else], got {arg!r}")
        return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])

    def _equals(self, arg: Any) -> bool:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"Fn::Equals needs two values, got {arg!r}")
        left, right = self.resolve(arg[0]), self.resolve(arg[1])
        return str(left) == str(right) if not isinstance(left, list | dict) else left == right

    def _bool_list(self, arg: Any, name: str, exactly: int | None = None) -> list[bool]:
        if not isinstance(arg, list) or (exactly is not None and len(arg) != exactly):
            raise TemplateError(f"{name} needs a list of conditions, got {arg!r}")
        return [bool(self.resolve(item)) for item in arg]

    def _find_in_map(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise TemplateError(f"Fn::FindInMap needs [map, key, key], got {arg!r}")
        map_name, first, second = (self.resolve(item) for item in arg[:3])
        try:
            return self.mappings[map_name][first][second]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"])
            raise TemplateError(f"Fn::FindInMap: no {map_name}.{first}.{second}") from None


def references(value: Any) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, ${X} / ${X.Attr} in Sub), for ordering."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                local_vars = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                for name in _SUB_VARIABLE.findall(text):
                    base = name.split(".", 1)[0]
                    if base not in local_vars:
                        found.add(base)
                if isinstance(arg, list) and len(arg) > 1:
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return {name for name in found if not name.startswith("AWS::")}
