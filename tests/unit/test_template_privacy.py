"""Every deployed function never logs its event or traces its return values, and its logs
are kept encrypted for a bounded time.

Read from template.yaml as `sam deploy` translates it, so Globals are merged into each function.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local_cloud.template import load_yaml, translate

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    logical_id: resource
    for logical_id, resource in translate(ROOT / "template.yaml").cfn["Resources"].items()
    if resource["Type"] == "AWS::Lambda::Function"
}


def test_the_template_has_every_function():
    # One deployed function per function directory, so the checks below cover each of them.
    function_dirs = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
    code_uris = sorted(
        resource["Properties"]["CodeUri"].strip("/").removeprefix("functions/")
        for resource in load_yaml(ROOT / "template.yaml")["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    )
    assert len(function_dirs) >= 12
    assert code_uris == function_dirs
    assert len(FUNCTIONS) == len(function_dirs)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_no_event_logging_and_no_traced_responses(logical_id):
    variables = FUNCTIONS[logical_id]["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_SERVICE_NAME"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_runtime_is_python_312_or_newer(logical_id):
    runtime = FUNCTIONS[logical_id]["Properties"]["Runtime"]
    major, minor = runtime.removeprefix("python").split(".")
    assert (int(major), int(minor)) >= (3, 12)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_logs_go_to_an_encrypted_log_group_with_retention(logical_id):
    resources = translate(ROOT / "template.yaml").cfn["Resources"]
    log_group = FUNCTIONS[logical_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    properties = resources[log_group]["Properties"]
    assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert properties["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
