"""The local cloud server: moto over HTTP on an ephemeral port, the fixture template
provisioned through it, a function run in a child process with its log in CloudWatch Logs."""

import json
from pathlib import Path

import boto3
import pytest

from local_cloud import invoker, server
from local_cloud.provisioner import provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"


@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.delenv("MOTO_PORT", raising=False)
    handle = server.start(0, echo_logs=False)
    yield handle
    handle.stop()


def _client(cloud, name):
    return boto3.client(
        name,
        region_name="us-east-1",
        endpoint_url=cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_server_provisions_and_runs_a_function_in_a_subprocess(cloud):
    assert invoker.installed_mode() == "subprocess"
    assert cloud.port > 0
    stack = provision(FIXTURE, stack_name="lc-srv", endpoint_url=cloud.endpoint_url)
    assert stack.physical("CapturesBucket") in [
        b["Name"] for b in _client(cloud, "s3").list_buckets()["Buckets"]
    ]
    response = _client(cloud, "lambda").invoke(
        FunctionName=stack.physical("StepsFunction"), Payload=json.dumps({"action": "echo"})
    )
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result["table"] == stack.physical("LedgerTable")
    assert result["functionName"] == "lc-srv-StepsFunction"

    logs = _client(cloud, "logs")
    group = "/aws/lambda/lc-srv-StepsFunction"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    messages = [
        event["message"]
        for stream in streams
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
            "events"
        ]
    ]
    assert "steps handler ran action=echo" in messages
