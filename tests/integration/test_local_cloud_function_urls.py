"""Function URLs served on loopback, in-process (moto under mock_aws, handlers run by the
in-process invoker): real HTTP requests in, the real handler's answer out."""

import base64
import json
import socket
import threading
from pathlib import Path

import boto3
import pytest
import requests
from moto import mock_aws

from local_cloud import function_urls, invoker, sigv4
from local_cloud.function_url_events import PAYLOAD_LIMIT_BYTES
from local_cloud.provisioner import ProvisionError, provision

FIXTURE = Path(__file__).parent / "fixtures" / "function_urls" / "template.yaml"
ORIGIN = "https://app.example.com"


@pytest.fixture
def stack():
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield provision(FIXTURE, stack_name="lc-url")
    finally:
        invoker.uninstall()


def _accepts_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        try:
            probe.connect((host, int(port)))
        except OSError:
            return False
    return True


def _url_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("function-url-")]


def test_urls_resolve_in_outputs_and_can_be_looked_up_by_logical_id(stack):
    callback = stack.function_url("CallbackFunction")
    assert callback.startswith("http://127.0.0.1:")
    assert callback.endswith("/")
    assert stack.outputs["CallbackUrl"] == callback
    assert stack.outputs["StartSessionUrl"] == stack.function_url("StartSessionFunction")
    assert stack.function_url("lc-url-CallbackFunction") == callback  # physical name
    assert stack.function_url("CallbackFunctionUrl") == callback  # the AWS::Lambda::Url
    assert stack.function_urls["StartSessionFunction"].auth_type == "AWS_IAM"
    config = boto3.client("lambda", region_name="us-east-1").get_function_url_config(
        FunctionName="lc-url-CallbackFunction"
    )
    assert (config["FunctionUrl"], config["AuthType"]) == (callback, "NONE")
    with pytest.raises(KeyError, match="no function URL for Nope"):
        stack.function_url("Nope")


def test_a_post_reaches_the_real_handler_as_a_function_url_event(stack):
    url = stack.function_url("CallbackFunction")
    response = requests.post(
        url + "event?status=done&tag=a&tag=b",
        data=b'{"workflowExecutionId": "wf-1"}',
        headers={"Content-Type": "application/json", "Cookie": "a=1; b=2", "X-Jumio": "yes"},
        timeout=30,
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["role"] == "callback"  # the function's own environment: the handler ran
    event = answer["event"]
    port = url.rstrip("/").rsplit(":", 1)[1]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert (event["rawPath"], event["rawQueryString"]) == ("/event", "status=done&tag=a&tag=b")
    assert event["queryStringParameters"] == {"status": "done", "tag": "a,b"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-jumio"] == "yes"
    assert event["headers"]["host"] == f"127.0.0.1:{port}"
    assert "cookie" not in event["headers"]
    assert event["body"] == '{"workflowExecutionId": "wf-1"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/event",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": requests.utils.default_user_agent(),
    }
    assert context["authorizer"] is None
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["domainName"] == f"127.0.0.1:{port}"
    assert context["apiId"] == context["domainPrefix"]
    assert len(context["apiId"]) == 32


def test_a_binary_request_body_reaches_the_handler_base64_encoded(stack):
    raw = bytes(range(256))
    response = requests.put(
        stack.function_url("CallbackFunction") + "event",
        data=raw,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize(
    ("path", "status", "body", "content_type"),
    [
        ("object", 200, b'{"message": "Hello, world!", "count": 2}', "application/json"),
        ("string", 200, b'"Hello, world!"', "application/json"),
        ("nothing", 200, b"null", "application/json"),
        ("binary", 200, b"\x89PNG\x00\xff", "image/png"),
        ("malformed", 502, b"Internal Server Error", "application/json"),
        ("boom", 502, b"Internal Server Error", "application/json"),
        ("missing", 404, b"no such path", "application/json"),
    ],
)
def test_results_map_to_http_as_lambda_maps_them(stack, path, status, body, content_type):
    response = requests.get(stack.function_url("CallbackFunction") + path, timeout=30)
    assert response.status_code == status
    assert response.content == body
    assert response.headers["Content-Type"] == content_type


def test_a_custom_response_keeps_its_status_headers_and_cookies(stack):
    response = requests.get(
        stack.function_url("CallbackFunction") + "created",
        headers={"Origin": ORIGIN},
        timeout=30,
    )
    assert response.status_code == 201
    assert response.content == b"made"
    assert response.headers["Location"] == "/things/1"
    assert response.raw.headers.getlist("Set-Cookie") == ["session=abc; Secure", "theme=dark"]
    # Cors is configured: the URL's own CORS headers replace the function's "*".
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "x-result"


def test_a_function_error_reveals_nothing_to_the_client(stack):
    response = requests.get(stack.function_url("CallbackFunction") + "boom", timeout=30)
    assert response.status_code == 502
    assert b"secret" not in response.content
    assert b"RuntimeError" not in response.content


def test_a_cors_preflight_is_answered_without_invoking_the_function(stack):
    response = requests.options(
        stack.function_url("CallbackFunction") + "event",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.content == b""  # the /event handler would have answered with the event
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Max-Age"] == "300"


def test_an_iam_url_refuses_an_unsigned_request(stack):
    response = requests.post(stack.function_url("StartSessionFunction") + "event", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"Message": "Forbidden"}


def test_an_iam_url_refuses_a_wrong_secret_and_a_body_changed_after_signing(stack):
    url = stack.function_url("StartSessionFunction") + "event"
    body = b'{"accountId": "a-1"}'
    wrong = sigv4.sign("POST", url, region="us-east-1", body=body, secret_key="guess")
    response = requests.post(url, data=body, headers=wrong, timeout=30)
    assert response.status_code == 403
    assert "signature we calculated does not match" in response.json()["Message"]
    signed = sigv4.sign("POST", url, region="us-east-1", body=body)
    response = requests.post(url, data=b'{"accountId": "a-2"}', headers=signed, timeout=30)
    assert response.status_code == 403


def test_an_iam_url_runs_a_signed_request_and_names_the_caller(stack):
    url = stack.function_url("StartSessionFunction") + "event?x=1"
    body = b'{"accountId": "a-1"}'
    headers = sigv4.sign(
        "POST", url, region="us-east-1", body=body, headers={"Content-Type": "application/json"}
    )
    response = requests.post(url, data=body, headers=headers, timeout=30)
    assert response.status_code == 200
    answer = response.json()
    assert answer["role"] == "start-session"
    assert answer["event"]["body"] == body.decode()
    iam = answer["event"]["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "testing"
    assert iam["accountId"] == "123456789012"
    assert iam["userArn"] == "arn:aws:iam::123456789012:user/moto"


def test_a_request_over_6_mb_is_refused_before_the_function_runs(stack):
    url = stack.function_url("CallbackFunction") + "event"
    response = requests.post(
        url,
        data=b"x" * (PAYLOAD_LIMIT_BYTES + 1),
        headers={"Content-Type": "text/plain"},
        timeout=60,
    )
    assert response.status_code == 413
    assert "6291456 bytes" in response.json()["Message"]


def test_a_body_whose_event_exceeds_6_mb_once_encoded_is_refused(stack):
    # 5 MB of binary fits the HTTP limit but not once base64-encoded into the event.
    response = requests.post(
        stack.function_url("CallbackFunction") + "event",
        data=b"\x00" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert response.status_code == 413


def test_stopping_the_stack_stops_its_servers_and_releases_their_ports(stack):
    urls = [stack.function_url("CallbackFunction"), stack.function_url("StartSessionFunction")]
    assert all(_accepts_connections(url) for url in urls)
    assert len(_url_threads()) == 2
    stack.close()
    assert not any(_accepts_connections(url) for url in urls)
    assert _url_threads() == []
    assert function_urls.running_servers() == []


def test_uninstalling_the_invoker_stops_every_function_url():
    invoker.install("inprocess")
    with mock_aws():
        url = provision(FIXTURE, stack_name="lc-url2").function_url("CallbackFunction")
        assert _accepts_connections(url)
    invoker.uninstall()
    assert not _accepts_connections(url)
    assert _url_threads() == []


def _write_template(tmp_path, url_properties, extra=None):
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return event\n")
    resources = {
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"CodeUri": "code/", "Handler": "app.handler", "Runtime": "python3.12"},
        },
        "FnUrl": {
            "Type": "AWS::Lambda::Url",
            "Properties": {"TargetFunctionArn": {"Ref": "Fn"}, **url_properties},
        },
        **(extra or {}),
    }
    path = tmp_path / "template.yaml"
    path.write_text(
        json.dumps({"Transform": "AWS::Serverless-2016-10-31", "Resources": resources}),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"AuthType": "NONE", "Colour": "blue"}, r"FnUrl.*Colour"),
        ({"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}, r"FnUrl.*RESPONSE_STREAM"),
        ({"AuthType": "NONE", "Qualifier": "live"}, r"FnUrl.*Qualifier"),
        ({"AuthType": "NONE", "Cors": {"AllowOrigin": ["*"]}}, r"FnUrl.*AllowOrigin"),
        ({"AuthType": "COGNITO"}, r"FnUrl.*COGNITO"),
    ],
)
def test_what_is_not_emulated_fails_by_name(tmp_path, properties, message):
    path = _write_template(tmp_path, properties)
    invoker.install("inprocess")
    try:
        with mock_aws(), pytest.raises(ProvisionError, match=message):
            provision(path)
    finally:
        invoker.uninstall()


def test_a_failed_provisioning_stops_the_urls_it_had_started(tmp_path):
    # "Late" depends on the URL, so the URL's server is running when "Late" fails.
    late = {
        "Late": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": {"Fn::Select": [0, ["late"]]}, "Colour": "blue"},
            "DependsOn": "FnUrl",
        }
    }
    path = _write_template(tmp_path, {"AuthType": "NONE"}, late)
    with mock_aws(), pytest.raises(ProvisionError, match="Colour"):
        provision(path)
    assert function_urls.running_servers() == []
    assert _url_threads() == []
