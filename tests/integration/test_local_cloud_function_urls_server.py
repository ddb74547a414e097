"""Function URLs in server mode, as `make up` runs them: a moto server, handlers in warm
subprocess workers, the URL servers stopped with the rest."""

import json
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import requests

from local_cloud import cli, invoker, server, sigv4
from local_cloud.provisioner import provision
from local_cloud.runtime import LocalRuntime

FIXTURE = Path(__file__).parent / "fixtures" / "function_urls" / "template.yaml"


@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.delenv("MOTO_PORT", raising=False)
    handle = server.start(0, echo_logs=False)
    yield handle
    handle.stop()


def _listening(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) == 0


def test_urls_run_handlers_in_workers_and_stop_with_the_cloud(cloud):
    stack = provision(FIXTURE, stack_name="lc-urlsrv", endpoint_url=cloud.endpoint_url)
    callback = stack.function_url("CallbackFunction")
    response = requests.post(callback + "event", json={"workflowExecutionId": "wf-9"}, timeout=60)
    assert response.status_code == 200
    answer = response.json()
    assert answer["role"] == "callback"
    assert json.loads(answer["event"]["body"]) == {"workflowExecutionId": "wf-9"}
    assert "lc-urlsrv-CallbackFunction" in invoker.warm_pools()  # a worker process ran it

    start = stack.function_url("StartSessionFunction") + "event"
    assert requests.post(start, data=b"{}", timeout=60).status_code == 403
    signed = sigv4.sign("POST", start, region="us-east-1", body=b"{}")
    answer = requests.post(start, data=b"{}", headers=signed, timeout=60).json()
    assert answer["event"]["requestContext"]["authorizer"]["iam"]["accessKey"] == "testing"

    config = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=cloud.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_function_url_config(FunctionName="lc-urlsrv-CallbackFunction")
    assert config["FunctionUrl"] == callback  # what the AWS API says is what answers

    cloud.stop()
    assert not _listening(callback)
    assert not [t for t in threading.enumerate() if t.name.startswith("function-url-")]


def test_the_up_banner_and_ready_line_list_the_function_urls(cloud):
    stack = provision(FIXTURE, stack_name="lc-urlban", endpoint_url=cloud.endpoint_url)
    runtime = LocalRuntime(
        cloud.endpoint_url, SimpleNamespace(base_url="http://127.0.0.1:1"), stack, None
    )
    lines = cli.function_url_lines(runtime)
    callback, start = (
        stack.function_url("CallbackFunction"),
        stack.function_url("StartSessionFunction"),
    )
    assert f"  CallbackFunction      {callback}   (AuthType NONE)" in lines
    assert f"  StartSessionFunction  {start}   (AuthType AWS_IAM)" in lines
    ready = json.loads(cli.ready_line(runtime).split(" ", 1)[1])
    assert ready["functionUrls"] == {"CallbackFunction": callback, "StartSessionFunction": start}
    assert runtime.function_url("StartSessionFunction") == start
