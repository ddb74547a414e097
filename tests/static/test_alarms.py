"""Alarms reach someone, watch what the pipeline can lose, and never page for a verdict.

An abandoned session ends in the ASL's `Expired` state, a Succeed state: Step Functions counts
it in ExecutionsSucceeded, never in ExecutionsFailed, so no alarm may watch a metric that
counts it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.static.conftest import ROOT

ASL = ROOT / "statemachine" / "session.asl.json"
ALL_FUNCTIONS = {
    "AddPartFunction",
    "RegisterSessionFunction",
    "StartSessionFunction",
    "UploadPreparedDataFunction",
    "DeletionFunction",
    "CallbackFunction",
    "AwaitPartsFunction",
    "CheckTokenFunction",
    "FinalizeFunction",
    "RecordOutcomeFunction",
    "AwaitVerdictFunction",
    "PollVerdictFunction",
    "RecordDecisionFunction",
}
SOURCE_QUEUES = {
    "CaptureEventsQueue",
    "SessionsQueue",
    "StartSessionsQueue",
    "PreparedDataQueue",
    "RetentionRequestsQueue",
}
DLQS = {
    "CaptureEventsDLQ",
    "SessionsDLQ",
    "PreparedDataDLQ",
    "RetentionRequestsDLQ",
    "StartSessionsDLQ",
    "RetentionRunDLQ",
}


def _alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _watched(alarm: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(namespace, metric, dimension value) of every metric an alarm reads."""
    if "MetricName" in alarm:
        dims = alarm.get("Dimensions") or [{}]
        return [(alarm["Namespace"], alarm["MetricName"], dims[0].get("Value"))]
    watched = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            watched.append(
                (metric["Namespace"], metric["MetricName"], metric["Dimensions"][0]["Value"])
            )
    return watched


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches") or []:
            found |= _states(branch)
    return found


def test_an_expired_session_ends_in_a_succeed_state_and_only_failed_fails():
    states = _states(json.loads(ASL.read_text(encoding="utf-8")))
    assert states["Expired"]["Type"] == "Succeed"
    assert {name for name, state in states.items() if state["Type"] == "Fail"} == {"Failed"}


def test_no_alarm_watches_a_metric_that_counts_an_expired_session(resources):
    for logical_id, alarm in _alarms(resources).items():
        for namespace, metric, _ in _watched(alarm):
            if namespace == "AWS/States":
                assert metric in {"ExecutionsFailed", "ExecutionsTimedOut"}, logical_id
            for counts_expired in ("Expired", "Succeeded"):
                assert counts_expired not in metric, logical_id
        text = json.dumps(alarm.get("Metrics", []))
        for counts_expired in ("Expired", "Succeeded"):
            assert counts_expired not in text, logical_id


def test_executions_failed_and_timed_out_page(resources):
    watched = {w[:2] for alarm in _alarms(resources).values() for w in _watched(alarm)}
    assert ("AWS/States", "ExecutionsFailed") in watched
    assert ("AWS/States", "ExecutionsTimedOut") in watched


def test_every_alarm_notifies_the_topic_and_the_topic_can_be_delivered(resources):
    for logical_id, alarm in _alarms(resources).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "DataKey"}
    grants = [
        statement
        for statement in resources["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(grants) == 1
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(grants[0]["Action"])
    # Confused deputy: only this account's alarms of this stack may use the key.
    assert grants[0]["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    source_arn = grants[0]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(":alarm:${AWS::StackName}-*")


def test_an_alarm_email_subscribes_only_when_given(cfn, resources):
    assert cfn["Parameters"]["AlarmEmail"]["Default"] == ""
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert cfn["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_outputs_name_the_topic_the_key_and_every_dlq(cfn):
    outputs = cfn["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert outputs["DataKeyArn"]["Value"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    dlq_outputs = {
        output["Value"]["Ref"]
        for output in outputs.values()
        if isinstance(output["Value"], dict) and output["Value"].get("Ref") in DLQS
    }
    assert dlq_outputs == DLQS


def test_every_function_has_error_and_throttle_alarms(resources):
    watched = [w for alarm in _alarms(resources).values() for w in _watched(alarm)]
    for metric in ("Errors", "Throttles"):
        covered = {
            value["Ref"] for ns, name, value in watched if (ns, name) == ("AWS/Lambda", metric)
        }
        assert covered == ALL_FUNCTIONS, metric


def test_every_source_queue_has_an_age_alarm_and_every_dlq_a_depth_alarm(resources):
    watched = [w for alarm in _alarms(resources).values() for w in _watched(alarm)]
    aged = {v["Fn::GetAtt"][0] for ns, m, v in watched if m == "ApproximateAgeOfOldestMessage"}
    assert aged == SOURCE_QUEUES
    deep = {v["Fn::GetAtt"][0] for ns, m, v in watched if m == "ApproximateNumberOfMessagesVisible"}
    assert deep == DLQS


def test_jumio_5xx_and_429_alarms_query_every_dimension_set_of_jumio_calls(resources):
    queries = [
        query["Expression"]
        for alarm in _alarms(resources).values()
        for query in alarm.get("Metrics") or []
        if "SELECT" in query.get("Expression", "")
    ]
    for status_class in ("5xx", "429"):
        assert (
            f"SELECT SUM(JumioCalls) FROM JumioCapturePipeline WHERE statusClass = '{status_class}'"
            in queries
        )


def _dashboard(resources: dict[str, Any]) -> dict[str, Any]:
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{[^}]+\}", "X", body))


def test_the_dashboard_shows_what_the_issue_lists(resources):
    text = json.dumps(_dashboard(resources))
    for needed in (
        "PartUploaded",  # captures accepted; with PreparedDataUploaded, parts landed
        "CaptureRejected",
        "PreparedDataUploaded",
        "SessionOutcomeExpired",
        "SessionOutcomeFailed",
        "SessionDecided",
        "JumioCalls",
        "statusClass",
        "JumioCallLatency",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "Duration",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ):
        assert needed in text, needed
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for queue in SOURCE_QUEUES | DLQS:
        assert "${" + queue + ".QueueName}" in body, queue
    lambda_widgets = [
        widget
        for widget in _dashboard(resources)["widgets"]
        if widget["properties"]["title"].startswith("Lambda ")
    ]
    assert len(lambda_widgets) == 3
    for widget in lambda_widgets:  # named, not searched: generated names may cut the stack's
        assert len(widget["properties"]["metrics"]) == len(ALL_FUNCTIONS)
    for function in ALL_FUNCTIONS:
        assert body.count("${" + function + "}") == 3, function


def test_the_pipelines_own_metrics_on_the_dashboard_are_emitted_by_its_code(resources):
    """A renamed metric would leave a blank graph: each name is counted somewhere in the code.
    (JumioCalls and JumioCallLatency come from the Jumio HTTP client's instrumentation.)"""
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in (ROOT / "functions", ROOT / "layers" / "shared" / "python")
        for path in Path(folder).rglob("*.py")
    )
    for name in ("PartUploaded", "CaptureRejected", "PreparedDataUploaded", "SessionDecided"):
        assert f'"{name}"' in code, name
    assert 'f"SessionOutcome{outcome.value.title()}"' in code
