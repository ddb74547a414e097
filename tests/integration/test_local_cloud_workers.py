"""Warm Lambda workers behind a real moto server: reuse, per-function environment, errors,
timeouts and crashes (worker replaced), logs in CloudWatch Logs, concurrency, clean stop,
and the cold one-process-per-call fallback."""

import json
import os
import re
import threading
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from local_cloud import invoker, server
from local_cloud.provisioner import provision
from local_cloud.subprocess_runners import BOOTSTRAP, child_environment
from local_cloud.worker_pool import WorkerPool

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"
STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def _reset_moto(cloud):
    """moto's backends are per process, not per server: leave none of our resources behind
    (the fixture's Scheduler schedule has a fixed name, so a second stack would collide)."""
    requests.post(f"{cloud.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def warm():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("MOTO_PORT", raising=False)
        monkeypatch.delenv(invoker.WORKERS_ENV, raising=False)
        cloud = server.start(0, echo_logs=False)
        try:
            _reset_moto(cloud)
            yield cloud, provision(FIXTURE, stack_name="lc-warm", endpoint_url=cloud.endpoint_url)
            _reset_moto(cloud)
        finally:
            cloud.stop()


@pytest.fixture
def reinstall_warm(warm):
    """For tests that swap the runner: the next test gets a fresh warm runner again."""
    yield
    invoker.install("subprocess", endpoint_url=warm[0].endpoint_url, echo=False)


def _client(cloud, name):
    return boto3.client(
        name,
        region_name="us-east-1",
        endpoint_url=cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _invoke(cloud, stack, logical_id, event):
    response = _client(cloud, "lambda").invoke(
        FunctionName=stack.physical(logical_id), Payload=json.dumps(event)
    )
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def _pool(stack, logical_id):
    return invoker.warm_pools()[stack.function(logical_id).name]


def test_a_warm_worker_is_reused_across_invocations(warm):
    cloud, stack = warm
    results = [_invoke(cloud, stack, "ProbeFunction", {})[1] for _ in range(3)]
    first = results[0]["count"]
    assert [r["count"] for r in results] == [first, first + 1, first + 2]
    assert len({r["pid"] for r in results}) == 1
    assert len({r["requestId"] for r in results}) == 3
    assert invoker.installed_workers() == "warm"
    assert results[0]["pid"] in [
        w.process.pid for w in _pool(stack, "ProbeFunction").live_workers()
    ]


def test_each_function_runs_with_its_own_environment(warm):
    cloud, stack = warm
    _, probe = _invoke(cloud, stack, "ProbeFunction", {})
    assert (probe["label"], probe["tableName"]) == ("probe-local", None)
    assert probe["functionName"] == "lc-warm-ProbeFunction"
    assert (probe["endpoint"], probe["accessKey"]) == (cloud.endpoint_url, "testing")
    error, steps = _invoke(cloud, stack, "StepsFunction", {"action": "echo"})
    assert error is None
    assert steps["table"] == stack.physical("LedgerTable")
    assert steps["functionName"] == "lc-warm-StepsFunction"
    steps_pids = {w.process.pid for w in _pool(stack, "StepsFunction").live_workers()}
    assert probe["pid"] not in steps_pids


def test_a_handler_exception_is_a_lambda_error_and_the_worker_lives_on(warm):
    cloud, stack = warm
    _, before = _invoke(cloud, stack, "ProbeFunction", {})
    error, payload = _invoke(cloud, stack, "ProbeFunction", {"action": "boom"})
    assert error == "Handled"  # moto labels every function error so
    assert (payload["errorType"], payload["errorMessage"]) == (
        "LookupError",
        "probe failed on purpose",
    )
    _, after = _invoke(cloud, stack, "ProbeFunction", {})
    assert (after["pid"], after["count"]) == (before["pid"], before["count"] + 2)


def test_a_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(warm):
    cloud, stack = warm
    _, before = _invoke(cloud, stack, "ProbeFunction", {})
    pool = _pool(stack, "ProbeFunction")
    (old,) = [p for p in pool.spawned if p.pid == before["pid"]]
    error, payload = _invoke(cloud, stack, "ProbeFunction", {"action": "sleep", "seconds": 60})
    assert error == "Handled"  # moto labels every function error so
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    assert old.returncode is not None  # killed and reaped, not left sleeping
    _, after = _invoke(cloud, stack, "ProbeFunction", {})
    assert after["pid"] != before["pid"]
    assert after["count"] == 1  # a new process: module state starts again


def test_a_crashing_worker_reports_exit_error_and_is_replaced(warm):
    cloud, stack = warm
    _, before = _invoke(cloud, stack, "ProbeFunction", {})
    error, payload = _invoke(cloud, stack, "ProbeFunction", {"action": "exit"})
    assert error == "Handled"  # moto labels every function error so
    assert payload["errorType"] == "Runtime.ExitError"
    assert "exited with 3" in payload["errorMessage"]
    _, after = _invoke(cloud, stack, "ProbeFunction", {})
    assert after["pid"] != before["pid"]


def test_logs_reach_cloudwatch_in_one_stream_per_worker_and_never_the_protocol(warm):
    cloud, stack = warm
    markers = [uuid.uuid4().hex for _ in range(2)]
    results = [
        _invoke(cloud, stack, "ProbeFunction", {"action": "noise", "marker": m}) for m in markers
    ]
    assert [error for error, _ in results] == [None, None]
    assert results[0][1]["stdin"] == ""  # the handler cannot read the request pipe
    assert results[0][1]["pid"] == results[1][1]["pid"]

    logs = _client(cloud, "logs")
    group = "/aws/lambda/lc-warm-ProbeFunction"
    by_stream = {
        stream["logStreamName"]: [
            event["message"]
            for event in logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"]
            )["events"]
        ]
        for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]
    }
    (stream,) = [name for name, lines in by_stream.items() if f"stdout {markers[0]}" in lines]
    assert STREAM_NAME.match(stream)
    lines = by_stream[stream]
    for marker in markers:
        assert f"stdout {marker}" in lines
        assert f"stderr {marker}" in lines
        assert f"raw fd 2 {marker}" in lines
        assert f"unterminated {marker}" in lines
        assert any(line.endswith(f"raw fd 1 {marker}") for line in lines)
    assert sum(line.startswith("START RequestId: ") for line in lines) >= 2
    assert any(line.startswith("REPORT RequestId: ") for line in lines)


def test_concurrent_calls_get_separate_workers(warm, tmp_path):
    cloud, stack = warm
    event = {"action": "rendezvous", "folder": str(tmp_path), "parties": 2}
    results: list = []
    threads = [
        threading.Thread(
            target=lambda: results.append(_invoke(cloud, stack, "ProbeFunction", event))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [error for error, _ in results] == [None, None]
    assert [payload["checkedIn"] for _, payload in results] == [2, 2]
    assert len({payload["pid"] for _, payload in results}) == 2


def test_scaling_config_caps_the_workers_and_a_full_pool_queues(warm, tmp_path):
    _, stack = warm
    worker = stack.function("WorkerFunction")
    assert invoker.concurrency_limit(worker.name) == 2  # ScalingConfig MaximumConcurrency
    probe = stack.function("ProbeFunction")
    assert invoker.concurrency_limit(probe.name) == 4  # the local default
    pool = WorkerPool(
        function_name="probe-capped",
        command=[os.sys.executable, str(BOOTSTRAP), "--serve", str(probe.code_dir), probe.handler],
        env=child_environment("http://127.0.0.1:9", probe, {"AWS_LAMBDA_FUNCTION_NAME": "capped"}),
        timeout_seconds=10,
        max_workers=1,
    )
    event = {"action": "rendezvous", "folder": str(tmp_path), "parties": 1}
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(pool.invoke(event, str(uuid.uuid4()))))
        for _ in range(3)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pool.stop()
    assert [r.errored for r in results] == [False, False, False]
    assert sorted(r.payload["count"] for r in results) == [1, 2, 3]  # one worker, in turn
    assert len(pool.spawned) == 1


def test_a_worker_exits_by_itself_when_its_stdin_closes(warm):
    cloud, stack = warm
    _invoke(cloud, stack, "ProbeFunction", {})
    worker = _pool(stack, "ProbeFunction").live_workers()[0]
    worker.process.stdin.close()  # what the parent's death looks like from the worker
    assert worker.process.wait(timeout=30) == 0


def test_stop_ends_and_reaps_every_worker(warm, reinstall_warm):
    cloud, stack = warm
    invoker.install("subprocess", endpoint_url=cloud.endpoint_url, echo=False)  # fresh pools
    assert _invoke(cloud, stack, "ProbeFunction", {})[0] is None
    assert _invoke(cloud, stack, "StepsFunction", {"action": "echo"})[0] is None
    spawned = [p for pool in invoker.warm_pools().values() for p in pool.spawned]
    assert len(spawned) == 2
    assert all(p.poll() is None for p in spawned)

    invoker.uninstall()  # what server.stop() does after stopping moto

    assert invoker.warm_pools() == {}
    assert [p.returncode for p in spawned] == [0, 0]  # idle workers left cleanly on stdin EOF
    for process in spawned:
        with pytest.raises(ChildProcessError):
            os.waitpid(process.pid, os.WNOHANG)  # reaped: no zombie, no orphan


def test_cold_mode_remains_available_as_a_fallback(warm, reinstall_warm, monkeypatch):
    cloud, stack = warm
    monkeypatch.setenv(invoker.WORKERS_ENV, "cold")
    invoker.install("subprocess", endpoint_url=cloud.endpoint_url, echo=False)
    assert invoker.installed_workers() == "cold"
    first = _invoke(cloud, stack, "ProbeFunction", {})[1]
    second = _invoke(cloud, stack, "ProbeFunction", {})[1]
    assert (first["count"], second["count"]) == (1, 1)
    assert first["pid"] != second["pid"]
    assert first["label"] == "probe-local"
    assert invoker.warm_pools() == {}


def test_an_unknown_worker_flavour_is_refused_by_name():
    with pytest.raises(ValueError, match="'tepid'"):
        invoker.install("subprocess", endpoint_url="http://127.0.0.1:9", workers="tepid")
