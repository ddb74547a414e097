"""The in-process invoker runs real handlers with their template environment, and Step
Functions sees handler exceptions by class name (Retry and Catch)."""

import json
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_cloud import invoker
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"


@pytest.fixture(scope="module")
def stack():
    invoker.install("inprocess")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield provision(FIXTURE, stack_name="lc-inv", env={"EXTRA_SETTING": "on"})
    invoker.uninstall()


def test_direct_invoke_runs_handler_with_its_environment(stack):
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=stack.physical("StepsFunction"), Payload=json.dumps({"action": "echo"})
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {
        "echo": {"action": "echo"},
        "table": stack.physical("LedgerTable"),
        "secretArnSet": True,
        "functionName": "lc-inv-StepsFunction",
        "remainingPositive": True,
    }
    assert stack.function("StepsFunction").environment["EXTRA_SETTING"] == "on"


def test_handler_error_comes_back_with_its_class_name(stack):
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=stack.physical("StepsFunction"), Payload=json.dumps({"action": "boom"})
    )
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Handled"
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "bad input")


def test_state_machine_retries_custom_error_and_catches_value_error(stack):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    execution = sfn.start_execution(
        stateMachineArn=stack.outputs["MachineArn"], name="exec-1", input="{}"
    )["executionArn"]
    for _ in range(300):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["flaky"] == {"attempts": 2}  # first attempt raised TransientGlitch, retried
    assert output["error"]["Error"] == "ValueError"
    history = sfn.get_execution_history(executionArn=execution)["events"]
    failures = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert "TransientGlitch" in failures
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=stack.physical("LedgerTable"), Key={"pk": {"S": "exec-1"}, "sk": {"S": "CAUGHT"}}
    )["Item"]
    assert item["error"] == {"S": "ValueError"}


def test_guard_accepts_moto_5_2_5_and_rejects_a_changed_signature(monkeypatch):
    from moto.awslambda.models import LambdaFunction

    assert invoker.check_moto_hook() is LambdaFunction

    def changed(self, event, context):  # what a future moto might look like
        raise AssertionError("never called")

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", changed)
    monkeypatch.setitem(invoker._installed, "patched", None)
    with pytest.raises(
        invoker.IncompatibleMotoError, match=r"moto 5\.2\.5.*\['self', 'event', 'context'\]"
    ):
        invoker.check_moto_hook()
    monkeypatch.delattr(LambdaFunction, "_invoke_lambda")
    with pytest.raises(invoker.IncompatibleMotoError, match="_invoke_lambda is gone"):
        invoker.install("inprocess")


def test_concurrency_limits_keep_the_lowest_and_refuse_nonsense():
    invoker.limit_concurrency("lc-inv-limits", 3)
    invoker.limit_concurrency("lc-inv-limits", 5)
    assert invoker.concurrency_limit("lc-inv-limits") == 3
    with pytest.raises(ValueError, match=r"lc-inv-limits.*>= 1, got 0"):
        invoker.limit_concurrency("lc-inv-limits", 0)


def test_os_environ_can_be_iterated_while_handlers_change_it_in_other_threads():
    # Lambda tasks of moto's Step Functions run in moto's threads and set/remove their
    # function's variables; a test thread creating a boto3 client iterates os.environ then.
    import os
    import threading

    invoker.install("inprocess")
    try:
        gate = invoker._EnvironmentGate()
        stop = threading.Event()

        def invocations() -> None:
            count = 0
            while not stop.is_set():
                with gate.applied({f"LOCAL_CLOUD_PROBE_{count % 7}": "1"}):
                    count += 1

        churn = threading.Thread(target=invocations)
        churn.start()
        errors = []
        try:
            for _ in range(20000):
                try:
                    [name for name, _ in os.environ.items()]  # what urllib's getproxies does
                    os.environ.copy()
                except (KeyError, RuntimeError) as error:
                    errors.append(error)
        finally:
            stop.set()
            churn.join()
        assert errors == []
    finally:
        invoker.uninstall()
    assert type(os.environ) is os._Environ  # put back with the runner
