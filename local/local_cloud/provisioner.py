"""Create every resource of a SAM template in moto with plain boto3 calls.

Why not moto's CloudFormation: it has no SAM transform, ignores bucket notifications and
state machine substitutions (see local-aws-notes.md). Here the template is translated
offline, resources are created in dependency order, and each CloudFormation property is
either applied or listed as locally meaningless — a type or property nobody handles fails
loudly, naming it, instead of being skipped.

This module is the orchestration (order, conditions, property checks, outputs); the
per-service creators and their property tables live in local_cloud.resources.

The same calls work in-process under `mock_aws` and against a moto server (`endpoint_url`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_cloud.resources import CREATORS, HANDLED, IGNORED, OWNER
from local_cloud.resources.base import Clients, ProvisionError, zip_folder
from local_cloud.resources.misc import NO_LOCAL_MEANING, record_only
from local_cloud.stack import Stack
from local_cloud.template import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    IntrinsicResolver,
    Translated,
    references,
    translate,
)

__all__ = ["NO_LOCAL_MEANING", "ProvisionError", "Provisioner", "provision"]

# Properties that are accepted everywhere but change nothing locally.
_ALWAYS_IGNORED = {"Tags": "tags have no behaviour locally"}
_zip_folder = zip_folder  # the name this module used to define; kept for callers


def _check_properties(logical_id: str, rtype: str, props: Mapping[str, Any]) -> None:
    """Fail on a property that is neither applied nor deliberately ignored (with a reason)."""
    if rtype not in HANDLED:
        return  # recorded-only types accept anything (NO_LOCAL_MEANING)
    allowed = HANDLED[rtype] | set(IGNORED.get(rtype, {})) | set(_ALWAYS_IGNORED)
    unknown = sorted(set(props) - allowed)
    if unknown:
        module = OWNER[rtype].replace(".", "/") + ".py"
        raise ProvisionError(
            f"{rtype} {logical_id}: property {', '.join(unknown)} is not handled by the "
            f"local cloud; apply it in {module} or list it as ignored with the reason"
        )


class Provisioner:
    """Walks a translated template in dependency order and creates each resource.

    It is also the `ProvisionContext` the creators in local_cloud.resources receive."""

    def __init__(
        self,
        translated: Translated,
        *,
        stack_name: str,
        region: str,
        endpoint_url: str | None,
        env: Mapping[str, str] | None,
        function_url_ports: Mapping[str, int] | None = None,
    ) -> None:
        self.translated = translated
        self.cfn = translated.cfn
        self.stack = Stack(name=stack_name, region=region, endpoint_url=endpoint_url)
        self.client = Clients(endpoint_url, region)
        self.env_overrides = dict(env or {})
        self.layer_dirs: dict[str, Path] = {}  # layer version ARN → folder put on sys.path
        self.function_url_ports = dict(function_url_ports or {})
        self.resolver = IntrinsicResolver(
            parameters=translated.parameters,
            ref=self.stack.physical,
            get_att=self.stack.attribute,
            conditions=self.cfn.get("Conditions") or {},
            mappings=self.cfn.get("Mappings") or {},
            region=region,
            stack_name=stack_name,
        )

    # ----------------------------------------------------------------------- driver

    def run(self) -> Stack:
        """Create everything, resolve outputs, return the Stack.

        If anything fails, what the stack already serves (function URLs) is stopped first."""
        try:
            self._create_all()
            self._resolve_outputs()
        except BaseException:
            self.stack.close()
            raise
        return self.stack

    def _create_all(self) -> None:
        resources = self.cfn["Resources"]
        for logical_id in self._creation_order(resources):
            resource = resources[logical_id]
            condition = resource.get("Condition")
            if condition and not self.resolver.condition(condition):
                self.stack.skipped[logical_id] = f"condition {condition} is false"
                continue
            rtype = resource.get("Type", "")
            creator = CREATORS.get(rtype) or (record_only if rtype in NO_LOCAL_MEANING else None)
            if creator is None:
                raise ProvisionError(
                    f"resource {logical_id} has type {rtype}, which the local cloud does not "
                    "provision; add a creator in local_cloud/resources/ or list it in "
                    "NO_LOCAL_MEANING with the reason"
                )
            try:
                props = self.resolver.resolve(resource.get("Properties") or {})
                _check_properties(logical_id, rtype, props)
                created = creator(self, logical_id, props)
            except ProvisionError:
                raise
            except Exception as exc:
                raise ProvisionError(f"creating {rtype} {logical_id} failed: {exc}") from exc
            if created is not None:
                self.stack.resources[logical_id] = created

    def _creation_order(self, resources: dict[str, Any]) -> list[str]:
        """Topological order over Ref/GetAtt/Sub references and DependsOn; cycles fail."""
        deps: dict[str, set[str]] = {}
        for logical_id, resource in resources.items():
            depends_on = resource.get("DependsOn") or []
            if isinstance(depends_on, str):
                depends_on = [depends_on]
            found = references(resource.get("Properties") or {}) | set(depends_on)
            unknown = found - set(resources) - set(self.translated.parameters)
            if unknown:
                raise ProvisionError(
                    f"resource {logical_id} refers to unknown name(s): {', '.join(sorted(unknown))}"
                )
            deps[logical_id] = found & set(resources)
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(node: str, path: list[str]) -> None:
            if state.get(node) == "done":
                return
            if state.get(node) == "visiting":
                raise ProvisionError(f"dependency cycle: {' -> '.join([*path, node])}")
            state[node] = "visiting"
            for dep in sorted(deps[node]):
                visit(dep, [*path, node])
            state[node] = "done"
            order.append(node)

        for logical_id in resources:
            visit(logical_id, [])
        return order

    def _resolve_outputs(self) -> None:
        """Outputs whose condition holds, resolved against the created stack."""
        for name, output in (self.cfn.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition and not self.resolver.condition(condition):
                continue
            self.stack.outputs[name] = self.resolver.resolve(output["Value"])

    # ----------------------------------------------------------------------- context

    def name(self, logical_id: str, *, max_length: int = 64, lower: bool = False) -> str:
        """A stable physical name `{stack}-{LogicalId}`, as CloudFormation would generate one."""
        name = f"{self.stack.name}-{logical_id}"[:max_length]
        return name.lower() if lower else name

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this stack's region and moto's account."""
        return f"arn:aws:{service}:{self.stack.region}:{ACCOUNT_ID}:{resource}"

    def local_path(self, location: Mapping[str, Any], logical_id: str) -> Path:
        """The local folder or file that SAM's translation put behind an S3 location."""
        key = location.get("S3Key") or location.get("Key")
        if not key:
            raise ProvisionError(f"{logical_id}: no local code location (inline code?)")
        return self.translated.local_path_for_s3_key(key)


def provision(
    template_path: Path | str,
    *,
    parameters: Mapping[str, Any] | None = None,
    stack_name: str = "jumio-local",
    env: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    function_url_ports: Mapping[str, int] | None = None,
) -> Stack:
    """Translate `template_path` and create all of it in moto; return the Stack.

    `env` overrides/extends every function's Environment.Variables (e.g. JUMIO_BASE_URL of the
    simulator). `endpoint_url` targets a moto server; None uses boto3's default resolution
    (intercepted by `mock_aws`, or AWS_ENDPOINT_URL). Function URLs listen on 127.0.0.1 on an
    ephemeral port unless `function_url_ports` names one for the function's logical id; they
    stop with `Stack.close()` or `invoker.uninstall()`.
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    translated = translate(template_path, parameters, region=region)
    return Provisioner(
        translated,
        stack_name=stack_name,
        region=region,
        endpoint_url=endpoint_url,
        env=env,
        function_url_ports=function_url_ports,
    ).run()
