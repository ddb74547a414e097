"""Each queue consumer reads its own queue only; what a stack deletion keeps; the daily
retention run's retries, DLQ and concurrency; the layer's runtime and its boto3/botocore."""

from __future__ import annotations

import re
from typing import Any

from tests.static.conftest import ROOT
from tests.static.iam import identity_grants

CONSUMERS = {
    "AddPartFunction": "CaptureEventsQueue",
    "RegisterSessionFunction": "SessionsQueue",
    "StartSessionFunction": "StartSessionsQueue",
    "UploadPreparedDataFunction": "PreparedDataQueue",
    "DeletionFunction": "RetentionRequestsQueue",
}
POLL_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def _receivable(resources: dict[str, Any], role: str) -> set[str]:
    """The queues (logical ids) a role may receive from."""
    found: set[str] = set()
    for grant in identity_grants({role: resources[role]}):
        if "sqs:ReceiveMessage" in grant.actions:
            for resource in grant.resources:
                found.add(resource["Fn::GetAtt"][0] if isinstance(resource, dict) else resource)
    return found


def test_each_consumer_polls_its_own_queue_through_an_explicit_mapping(resources):
    mappings = {
        props["FunctionName"]["Ref"]: props
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        for props in [resource["Properties"]]
    }
    assert set(mappings) == set(CONSUMERS)
    for function, queue in CONSUMERS.items():
        assert mappings[function]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert mappings[function]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mappings["AddPartFunction"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "AddPartMaxConcurrency"}
    }
    assert mappings["UploadPreparedDataFunction"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "AddPartMaxConcurrency"}
    }
    assert mappings["StartSessionFunction"]["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_a_consumer_role_may_receive_from_its_own_queue_and_nothing_else(resources):
    for function, queue in CONSUMERS.items():
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        allowed = {queue}
        if function == "DeletionFunction":  # an erasure removes its subject from every DLQ
            allowed |= {
                "CaptureEventsDLQ",
                "SessionsDLQ",
                "PreparedDataDLQ",
                "RetentionRequestsDLQ",
                "StartSessionsDLQ",
            }
        assert _receivable(resources, role) == allowed, function
        polls = {
            action
            for grant in identity_grants({role: resources[role]})
            if {"Fn::GetAtt": [queue, "Arn"]} in grant.resources
            for action in grant.actions
        }
        assert polls >= POLL_ACTIONS, function


def test_no_other_role_may_receive_from_any_queue(resources):
    consumer_roles = {
        resources[function]["Properties"]["Role"]["Fn::GetAtt"][0] for function in CONSUMERS
    }
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role" and logical_id not in consumer_roles:
            assert _receivable(resources, logical_id) == set(), logical_id


def test_the_key_is_retained_like_the_tables_it_protects(resources):
    for logical_id in ("DataKey", "LedgerTable", "AuditTable", "PreparedDataHashKey"):
        assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id


def test_the_daily_retention_run_has_retries_a_dlq_and_bounded_concurrency(resources):
    schedule = resources["DeletionFunctionDailyRetention"]["Properties"]["Target"]
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["RetentionRunDLQ", "Arn"]}}

    invoke = resources["DeletionFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["RetentionRunDLQ", "Arn"]
    }

    reserved = resources["DeletionFunction"]["Properties"]["ReservedConcurrentExecutions"]
    mapping = resources["DeletionFunctionRetentionRequests"]["Properties"]
    # The mapping never exceeds the reservation, so throttling never bounces its messages;
    # and a handful of instances cannot reach Jumio's 10 token requests per second.
    assert mapping["ScalingConfig"]["MaximumConcurrency"] < reserved <= 5


def test_the_layer_declares_only_the_runtime_its_binaries_are_built_for(raw):
    layer = raw["Resources"]["SharedLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert raw["Globals"]["Function"]["Runtime"] == "python3.12"


def _pins(path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_the_layer_ships_boto3_and_botocore_together_at_the_tested_versions():
    """aws-xray-sdk (the tracer) pulls botocore into the layer, ahead of the runtime's on
    sys.path; boto3 must then come from the layer too, at the version the tests ran."""
    layer = _pins(ROOT / "layers" / "shared" / "python" / "requirements.txt")
    tested = _pins(ROOT / "requirements" / "constraints.txt")
    assert (layer["boto3"], layer["botocore"]) == (tested["boto3"], tested["botocore"])
