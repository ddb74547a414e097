"""Every stage the README deploys is deployable from samconfig.toml as documented.

`sam deploy --config-env <stage>` reads `[<stage>.deploy.parameters]` and
`[<stage>.global.parameters]`; a stage missing either, or a required template parameter
missing from its overrides, fails at deploy time, far from here.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.static.conftest import ROOT

SAMCONFIG = ROOT / "samconfig.toml"
README = ROOT / "README.md"


def _config() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))


def _readme_stages() -> list[str]:
    return sorted(set(re.findall(r"--config-env (\w+)", README.read_text(encoding="utf-8"))))


def _settings(stage: str) -> dict[str, Any]:
    config = _config()[stage]
    return {**config.get("global", {}).get("parameters", {}), **config["deploy"]["parameters"]}


def _overrides(stage: str) -> dict[str, str]:
    pairs = shlex.split(_settings(stage)["parameter_overrides"])
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_readme_deploys_dev_staging_and_prod():
    assert _readme_stages() == ["dev", "prod", "staging"]


@pytest.mark.parametrize("stage", _readme_stages())
def test_each_stage_has_what_sam_deploy_needs(stage, raw):
    settings = _settings(stage)
    assert settings["stack_name"] == f"jumio-capture-pipeline-{stage}"
    assert settings["region"]
    assert settings["capabilities"] == "CAPABILITY_IAM"
    assert settings["resolve_s3"] is True

    overrides = _overrides(stage)
    declared = raw["Parameters"]
    assert set(overrides) <= set(declared)
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert "JumioUserAgent" in required
    assert required <= set(overrides)
    assert overrides["Stage"] == stage
    for name, value in overrides.items():
        spec = declared[name]
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            # CloudFormation's patterns are Java regexes; these use only what Python shares.
            assert re.fullmatch(spec["AllowedPattern"], value), name


def test_the_user_agent_names_a_business_and_an_application_not_the_old_placeholder(raw):
    pattern = raw["Parameters"]["JumioUserAgent"]["AllowedPattern"]
    assert not re.fullmatch(pattern, "ExampleCo")
    for stage in _readme_stages():
        user_agent = _overrides(stage)["JumioUserAgent"]
        assert "ExampleCo" not in user_agent
        assert re.fullmatch(pattern, user_agent)


def test_staging_is_deployed_like_prod():
    staging, prod = _overrides("staging"), _overrides("prod")
    differ = {name for name in staging.keys() | prod.keys() if staging.get(name) != prod.get(name)}
    assert differ == {"Stage", "JumioUserAgent"}
    same = ("region", "capabilities", "confirm_changeset", "resolve_s3", "fail_on_empty_changeset")
    for key in same:
        assert _settings("staging")[key] == _settings("prod")[key], key
