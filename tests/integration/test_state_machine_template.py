"""How template.yaml wires the session state machine: what an operator and an auditor rely on.

The template is translated offline exactly as `sam deploy` would (aws-sam-translator), so the
checks below see the role SAM really generates, not just the SAM shorthand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS
from local_cloud.template import translate

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachine" / "session.asl.json"
TASK_FUNCTIONS = {
    "AwaitPartsFunction",
    "CheckTokenFunction",
    "FinalizeFunction",
    "RecordOutcomeFunction",
    "AwaitVerdictFunction",
    "PollVerdictFunction",
    "RecordDecisionFunction",
}
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return translate(ROOT / "template.yaml").cfn["Resources"]


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(ASL.read_text(encoding="utf-8"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_standard_workflow_from_definition_uri_with_substitutions(resources, definition):
    raw = json.dumps(definition)
    props = resources["SessionStateMachine"]["Properties"]

    assert props["StateMachineType"] == "STANDARD"
    assert "DefinitionS3Location" in props  # DefinitionUri, not an inline definition
    placeholders = set(re.findall(r"\$\{(\w+)\}", raw))
    assert placeholders == set(props["DefinitionSubstitutions"])
    assert {v["Fn::GetAtt"][0] for v in props["DefinitionSubstitutions"].values()} == (
        TASK_FUNCTIONS
    )
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert "JSONata" not in raw


def test_logging_at_error_without_execution_data_and_tracing_on(resources):
    props = resources["SessionStateMachine"]["Properties"]

    assert props["LoggingConfiguration"]["Level"] == "ERROR"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"]["Enabled"] is True
    destination = props["LoggingConfiguration"]["Destinations"][0]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["SessionStateMachineLogs", "Arn"]
    }


def test_role_may_invoke_only_its_task_functions(resources):
    role = resources["SessionStateMachineRole"]["Properties"]
    invoked: set[str] = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = set(_as_list(statement["Action"]))
            assert statement["Effect"] == "Allow"
            if actions == {"lambda:InvokeFunction"}:
                function = statement["Resource"]["Fn::Sub"][1]["functionName"]["Ref"]
                invoked.add(function)
            else:  # vended-log delivery only works with "*" (AWS documents it so)
                assert actions <= LOG_DELIVERY_ACTIONS, actions - LOG_DELIVERY_ACTIONS
    assert invoked == TASK_FUNCTIONS
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"]


def test_states_are_named_for_an_operator_with_distinct_ends(definition):
    states = definition["States"]

    assert definition["StartAt"] == "WaitForAllParts"
    assert set(states) == {
        "WaitForAllParts",
        "CheckTokenRenewal",
        "TokenRenewed",
        "WaitAgain",
        "Finalize",
        "CountFinalizeRound",
        "TooManyFinalizeRounds",
        "ReconcileFinalize",
        "FinalizedAtJumio",
        "FinalizeAgain",
        "FinalizeGaveUp",
        "ConfirmExpiry",
        "ExpiredAtJumioBeforeFinalize",
        "WaitForVerdict",
        "PollVerdict",
        "VerdictPolled",
        "ExpiredAtJumio",
        "VerdictNeverCame",
        "RecordDecision",
        "DecisionIs",
        "RecordExpired",
        "RecordFailed",
        "Passed",
        "Rejected",
        "Warning",
        "Expired",
        "Failed",
    }
    ends = {
        name: state["Type"]
        for name, state in states.items()
        if state.get("End") or state["Type"] in ("Succeed", "Fail")
    }
    # A verdict or an abandoned session is not an incident: only Failed fails the execution
    # (the ExecutionsFailed alarm pages on it).
    assert ends == {
        "Passed": "Succeed",
        "Rejected": "Succeed",
        "Warning": "Succeed",
        "Expired": "Succeed",
        "Failed": "Fail",
    }
    assert states["Failed"]["Error"] == "SessionFailed"


def test_the_verdict_wait_is_woken_by_the_callback_and_polls_on_timeout(definition):
    states = definition["States"]
    wait = states["WaitForVerdict"]

    # Finalize records FINALIZED and plans the first wait itself: no state between them.
    assert states["Finalize"]["Next"] == "WaitForVerdict"
    assert states["Finalize"]["ResultPath"] == "$.verdictPoll"
    assert states["Finalize"]["ResultSelector"]["waitSeconds.$"] == "$.Payload.waitSeconds"
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["TimeoutSecondsPath"] == "$.verdictPoll.waitSeconds"
    catches = {name: c["Next"] for c in wait["Catch"] for name in c["ErrorEquals"]}
    # Woken by a callback or timed out: either way Jumio's status decides.
    assert catches["States.Timeout"] == wait["Next"] == "PollVerdict"
    polled = {c.get("Next") for c in states["VerdictPolled"]["Choices"]}
    assert polled == {"RecordDecision", "ExpiredAtJumio", "VerdictNeverCame"}
    assert states["VerdictPolled"]["Default"] == "WaitForVerdict"
    assert states["VerdictNeverCame"]["Next"] == "RecordFailed"
    assert states["ExpiredAtJumio"]["Next"] == "RecordExpired"
    decided = {c["Next"] for c in states["DecisionIs"]["Choices"]} | {
        states["DecisionIs"]["Default"]
    }
    assert decided == {"Passed", "Rejected", "Warning"}


def test_wait_times_out_with_the_jumio_token(definition):
    wait = definition["States"]["WaitForAllParts"]

    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["TimeoutSecondsPath"] == "$.secondsUntilTokenExpiry"
    assert wait["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    timeout_catch = wait["Catch"][0]
    assert (timeout_catch["ErrorEquals"], timeout_catch["Next"]) == (
        ["States.Timeout"],
        "CheckTokenRenewal",
    )
    renewed = definition["States"]["TokenRenewed"]
    assert renewed["Choices"][0]["Next"] == "WaitAgain"
    assert renewed["Default"] == "RecordExpired"
    assert definition["States"]["WaitAgain"]["Next"] == "WaitForAllParts"


def test_finalize_retries_transient_names_with_jitter_and_catches_permanent_ones(definition):
    finalize = definition["States"]["Finalize"]
    transient = finalize["Retry"][0]
    catches = {name: c["Next"] for c in finalize["Catch"] for name in c["ErrorEquals"]}

    assert transient["ErrorEquals"] == ["JumioThrottled", "JumioUnavailable"]
    assert transient["JitterStrategy"] == "FULL"
    assert transient["BackoffRate"] > 1
    assert transient["MaxAttempts"] >= 3
    assert catches["SessionTokenExpired"] == "RecordExpired"
    for permanent in ("JumioRejected", "JumioAuthError", "JumioNotFound"):
        assert catches[permanent] == "RecordFailed"
    assert finalize["Catch"][-1]["ErrorEquals"] == ["States.ALL"]  # nothing ends unrecorded
    # Jumio has it but the ledger write failed: retried (the retry confirms by the status).
    for state in (finalize, definition["States"]["ReconcileFinalize"]):
        [not_recorded] = [r for r in state["Retry"] if "FinalizedNotRecorded" in r["ErrorEquals"]]
        assert not_recorded["MaxAttempts"] >= 3


def test_a_finalize_that_timed_out_goes_to_reconciliation_bounded_in_rounds(definition):
    states = definition["States"]
    catches = {name: c["Next"] for c in states["Finalize"]["Catch"] for name in c["ErrorEquals"]}

    assert catches["States.Timeout"] == catches["Sandbox.Timedout"] == "CountFinalizeRound"
    assert states["CountFinalizeRound"]["Next"] == "TooManyFinalizeRounds"
    assert states["TooManyFinalizeRounds"]["Default"] == "ReconcileFinalize"
    assert states["TooManyFinalizeRounds"]["Choices"][0]["Next"] == "FinalizeGaveUp"
    reconcile = states["ReconcileFinalize"]
    assert reconcile["Parameters"]["Payload"]["reconcile"] is True  # reads, sends nothing
    reconcile_catches = {n: c["Next"] for c in reconcile["Catch"] for n in c["ErrorEquals"]}
    assert reconcile_catches["SessionTokenExpired"] == "RecordExpired"
    decided = states["FinalizedAtJumio"]
    assert decided["Choices"][0]["Variable"] == "$.verdictPoll.finalized"
    assert decided["Choices"][0]["Next"] == "WaitForVerdict"
    assert reconcile["ResultPath"] == "$.verdictPoll"  # the first wait, when Jumio has it
    assert (decided["Default"], states["FinalizeAgain"]["Next"]) == ("FinalizeAgain", "Finalize")


def test_every_error_name_routed_on_is_a_class_of_the_layer(definition):
    import jumio_pipeline.domain.errors as errors

    known = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    named = {
        name
        for state in definition["States"].values()
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]
        for name in rule["ErrorEquals"]
        if not name.startswith(("States.", "Lambda.", "Sandbox."))
    }
    assert named <= known, named - known


def test_task_functions_may_do_only_what_they_call(resources):
    def actions(logical_id: str) -> set[str]:
        role = resources[f"{logical_id}Role"]["Properties"]
        return {
            action
            for policy in role["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            for action in _as_list(statement["Action"])
        }

    kms = {"kms:Decrypt", "kms:GenerateDataKey"}
    assert actions("AwaitPartsFunction") == {"dynamodb:UpdateItem", "states:SendTaskSuccess", *kms}
    # The tenant secret: Jumio's workflow status settles an uncertain finalize.
    assert actions("FinalizeFunction") == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        *kms,
    }
    # An expired session's end is published on the verdict bus.
    assert actions("RecordOutcomeFunction") == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
        *kms,
    }
    assert actions("AwaitVerdictFunction") == {
        "dynamodb:UpdateItem",
        "states:SendTaskSuccess",
        *kms,
    }
    assert actions("PollVerdictFunction") == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        *kms,
    }
    assert actions("RecordDecisionFunction") == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        "events:PutEvents",
        *kms,
    }
    assert actions("CheckTokenFunction") == {"dynamodb:GetItem", "kms:Decrypt"}
    assert actions("CallbackFunction") == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        *kms,
    }
    finalize_env = resources["FinalizeFunction"]["Properties"]["Environment"]["Variables"]
    assert finalize_env["JUMIO_MAX_ATTEMPTS"] == "1"  # the state machine owns the retries


def test_the_callback_url_is_public_but_bounded_and_named_in_the_outputs(resources):
    url = resources["CallbackFunctionUrl"]["Properties"]
    function = resources["CallbackFunction"]["Properties"]
    env = function["Environment"]["Variables"]

    assert url["AuthType"] == "NONE"  # Jumio cannot sign: the secret path guards it
    assert url["TargetFunctionArn"] == {"Ref": "CallbackFunction"}
    assert env["CALLBACK_SECRET_ARN"] == {"Ref": "CallbackSecret"}
    assert env["CALLBACK_SOURCE_IPS"] == {"Fn::Join": [",", {"Ref": "CallbackSourceIps"}]}
    assert function["ReservedConcurrentExecutions"] <= 10
    outputs = translate(ROOT / "template.yaml").cfn["Outputs"]
    assert outputs["CallbackFunctionUrl"]["Value"] == {
        "Fn::GetAtt": ["CallbackFunctionUrl", "FunctionUrl"]
    }
    assert {"CallbackSecretArn", "VerdictBusName"} <= set(outputs)


def test_an_execution_outlives_the_longest_token_and_the_verdict_polling_but_not_forever(
    definition,
):
    """Jumio's token lives at most 60 days and the verdict polls for about an hour more: an
    execution past both has run away, and its timeout is what the timed-out alarm counts."""
    longest_token = 60 * 24 * 3600
    polling = max(POLL_SCHEDULE_SECONDS)  # the schedule counts from finalize
    assert longest_token + polling < definition["TimeoutSeconds"] <= longest_token + 3 * 24 * 3600
