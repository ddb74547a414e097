"""The template as written (SAM) and as deployed (CloudFormation, translated offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_cloud.template import load_yaml, translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="session")
def raw() -> dict[str, Any]:
    """template.yaml with long-form intrinsics."""
    return load_yaml(TEMPLATE)


@pytest.fixture(scope="session")
def cfn() -> dict[str, Any]:
    """template.yaml expanded by aws-sam-translator, as `sam deploy` would: generated roles,
    their managed policies, schedules and their roles."""
    return translate(TEMPLATE).cfn


@pytest.fixture(scope="session")
def resources(cfn: dict[str, Any]) -> dict[str, Any]:
    return cfn["Resources"]
