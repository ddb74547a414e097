"""The warm runner's optional timing record (local_cloud.invocation_timing), behind a real moto
server: one record per invocation while a sink listens, with the event, the logs, a cold start
for a new worker only, and nothing once the sink is gone."""

import json
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from local_cloud import invocation_timing, invoker, server
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"


@pytest.fixture(scope="module")
def warm():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("MOTO_PORT", raising=False)
        monkeypatch.delenv(invoker.WORKERS_ENV, raising=False)
        cloud = server.start(0, echo_logs=False)
        try:
            requests.post(f"{cloud.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
            stack = provision(FIXTURE, stack_name="lc-timing", endpoint_url=cloud.endpoint_url)
            yield cloud, stack
            requests.post(f"{cloud.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        finally:
            cloud.stop()


def _invoke(cloud, stack, event):
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    response = client.invoke(
        FunctionName=stack.physical("ProbeFunction"), Payload=json.dumps(event)
    )
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_each_invocation_is_recorded_while_a_sink_listens(warm):
    cloud, stack = warm
    records = []
    marker = uuid.uuid4().hex
    before = time.time()
    with invocation_timing.recording(records.append):
        first = _invoke(cloud, stack, {"action": "noise", "marker": marker})
        second = _invoke(cloud, stack, {"action": "count"})
    after = time.time()
    _invoke(cloud, stack, {"action": "count"})  # after the block: not recorded

    assert [r.event for r in records] == [
        {"action": "noise", "marker": marker},
        {"action": "count"},
    ]
    assert {r.function_name for r in records} == {stack.function("ProbeFunction").name}
    assert [r.errored for r in records] == [first[0] is not None, second[0] is not None]
    assert any(marker in line for line in records[0].log_lines)
    for record in records:
        assert before <= record.started_at <= after
        assert 0 <= record.worker_wait_ms <= record.duration_ms
    # the first call started the function's only worker so far; the second reused it
    assert first[1]["pid"] == second[1]["pid"]
    assert [r.cold_start for r in records] == [True, False]


def test_a_failing_sink_does_not_fail_the_invocation(warm):
    cloud, stack = warm

    def broken(record):
        raise RuntimeError("sink bug")

    with invocation_timing.recording(broken):
        error, payload = _invoke(cloud, stack, {"action": "count"})
    assert error is None
    assert payload["count"] >= 1
