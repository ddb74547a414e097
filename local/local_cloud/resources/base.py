"""What every resource creator needs from the provisioner, and helpers they share.

Why a protocol: creators are plain functions in per-service modules; they read the stack
being built and make boto3 calls through `ProvisionContext`, which the Provisioner
implements, so no creator module imports the provisioner (no import cycle).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import boto3

from local_cloud import credentials
from local_cloud.stack import Resource, Stack
from local_cloud.template import TemplateError

_ZIP_EXCLUDES = {"__pycache__", ".pytest_cache", ".aws-sam"}


class ProvisionError(TemplateError):
    """A resource that cannot be created locally; the message names its logical id and type."""


class ProvisionContext(Protocol):
    """The provisioner as creators see it."""

    stack: Stack
    cfn: dict[str, Any]
    env_overrides: dict[str, str]
    layer_dirs: dict[str, Path]  # layer version ARN → folder put on sys.path
    function_url_ports: dict[str, int]  # function logical id → port of its URL (else ephemeral)

    def client(self, service: str) -> Any:
        """A boto3 client for the target endpoint."""
        ...

    def name(self, logical_id: str, *, max_length: int = 64, lower: bool = False) -> str:
        """A stable physical name for a resource without an explicit one."""
        ...

    def arn(self, service: str, resource: str) -> str:
        """An ARN in the stack's region and the local account."""
        ...

    def local_path(self, location: Mapping[str, Any], logical_id: str) -> Path:
        """The local folder/file behind a translated S3 code or definition location."""
        ...


Creator = Callable[[ProvisionContext, str, dict[str, Any]], Resource | None]


def zip_folder(folder: Path) -> bytes:
    """Zip a folder's files (no caches) the way `sam build` packages code."""
    if not folder.is_dir():
        raise ProvisionError(f"code folder {folder} does not exist")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not _ZIP_EXCLUDES.intersection(path.parts):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


class Clients:
    """boto3 clients for one endpoint (None: default resolution, which `mock_aws` intercepts)."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            extra = credentials.client_options(self._endpoint_url)
            self._cache[service] = boto3.client(service, region_name=self._region, **extra)
        return self._cache[service]


def api_string(value: Any) -> str:
    """A CloudFormation scalar as an AWS API attribute string (booleans lower-case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
