"""The function URL contract, without sockets: request → event (payload format 2.0), function
result → HTTP response, and the CORS part of the URL's configuration."""

import base64
import json
import locale

import pytest

from local_cloud import function_url_cors
from local_cloud.function_url_events import (
    GENERIC_ERROR_BODY,
    PAYLOAD_LIMIT_BYTES,
    HttpRequest,
    build_event,
    is_text,
    map_result,
    request_time,
)

EPOCH_MS = 1583348638390  # 04/Mar/2020:19:03:58 +0000


def _request(**overrides):
    fields = {
        "method": "POST",
        "raw_path": "/my/path",
        "raw_query": "parameter1=value1&parameter1=value2&parameter2=value",
        "headers": [
            ("Host", "127.0.0.1:8123"),
            ("User-Agent", "agent"),
            ("Content-Type", "application/json"),
            ("X-Multi", "a"),
            ("x-multi", "b"),
            ("Cookie", "cookie1=one; cookie2=two"),
            ("Connection", "keep-alive"),
        ],
        "body": b'{"hello": "client"}',
        "source_ip": "127.0.0.1",
    }
    fields.update(overrides)
    return HttpRequest(**fields)


def test_event_has_every_field_of_payload_format_2_0():
    event = build_event(
        _request(),
        url_id="abcdefghijklmnopqrstuvwxyz012345",
        account_id="123456789012",
        port=8123,
        request_id="req-1",
        epoch_ms=EPOCH_MS,
    )
    trace = event["headers"].pop("x-amzn-trace-id")
    assert trace.startswith("Root=1-5e5ffb9e-")
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1=one", "cookie2=two"],
        "headers": {
            "host": "127.0.0.1:8123",
            "user-agent": "agent",
            "content-type": "application/json",
            "x-multi": "a,b",
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-proto": "http",
            "x-forwarded-port": "8123",
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "authentication": None,
            "authorizer": None,
            "domainName": "127.0.0.1:8123",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {
                "method": "POST",
                "path": "/my/path",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "agent",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": EPOCH_MS,
        },
        "body": '{"hello": "client"}',
        "isBase64Encoded": False,
    }


def test_an_iam_caller_fills_the_authorizer():
    iam = {"iam": {"accessKey": "testing", "userArn": "arn:aws:iam::123456789012:user/moto"}}
    event = build_event(_request(), url_id="u", account_id="1", port=1, authorizer=iam)
    assert event["requestContext"]["authorizer"] == iam


def test_a_request_without_body_query_or_cookies_leaves_those_keys_out():
    request = _request(method="GET", raw_query="", body=b"", headers=[("Host", "h:1")])
    event = build_event(request, url_id="u", account_id="1", port=1)
    assert "body" not in event
    assert "queryStringParameters" not in event
    assert "cookies" not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["userAgent"] == ""


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json; charset=utf-8", b'{"a": 1}', False),
        ("text/plain", "grüße".encode(), False),
        ("application/xml", b"<a/>", False),
        ("application/octet-stream", b"\x00\xff\x10", True),
        ("image/jpeg", b"\xff\xd8\xff", True),
        ("application/x-www-form-urlencoded", b"a=1&b=2", True),
        (None, b"plain bytes", True),
        ("text/plain", b"\xff\xfe not utf-8", True),  # the bytes arrive intact all the same
    ],
)
def test_binary_bodies_arrive_base64_encoded(content_type, body, encoded):
    headers = [("Host", "h:1")] + ([("Content-Type", content_type)] if content_type else [])
    event = build_event(_request(headers=headers, body=body), url_id="u", account_id="1", port=1)
    assert event["isBase64Encoded"] is encoded
    received = base64.b64decode(event["body"]) if encoded else event["body"].encode()
    assert received == body


def test_forwarded_for_keeps_what_the_client_sent():
    headers = [("Host", "h:1"), ("X-Forwarded-For", "203.0.113.7")]
    event = build_event(_request(headers=headers), url_id="u", account_id="1", port=1)
    assert event["headers"]["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"


def test_request_time_does_not_depend_on_the_locale():
    previous = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
                break
            except locale.Error:
                continue
        assert request_time(EPOCH_MS) == "04/Mar/2020:19:03:58 +0000"
    finally:
        locale.setlocale(locale.LC_TIME, previous)


def test_text_content_types():
    assert is_text("text/html; charset=utf-8")
    assert is_text("APPLICATION/JSON")
    assert not is_text("application/vnd.api+json")
    assert not is_text("")


# --------------------------------------------------------------------------- responses


def _payload(value):
    return json.dumps(value).encode()


def test_a_custom_response_becomes_status_headers_cookies_and_body():
    response = map_result(
        _payload(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "text/plain", "My-Custom-Header": "Custom Value"},
                "cookies": ["Cookie_1=Value1; Max-Age=78000", "Cookie_2=Value2"],
                "body": "made",
                "isBase64Encoded": False,
            }
        ),
        None,
    )
    assert response.status == 201
    assert response.body == b"made"
    assert response.headers == [
        ("Content-Type", "text/plain"),
        ("My-Custom-Header", "Custom Value"),
        ("Set-Cookie", "Cookie_1=Value1; Max-Age=78000"),
        ("Set-Cookie", "Cookie_2=Value2"),
    ]


def test_a_base64_body_is_decoded_and_a_missing_content_type_defaults_to_json():
    raw = b"\x89PNG\x00\xff"
    response = map_result(
        _payload(
            {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
        ),
        None,
    )
    assert (response.status, response.body) == (200, raw)
    assert response.header("content-type") == "application/json"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"message": "Hello, world!"}, b'{"message": "Hello, world!"}'),
        ("Hello, world!", b'"Hello, world!"'),
        ([1, 2], b"[1, 2]"),
        (None, b"null"),
        ({"body": "no statusCode"}, b'{"body": "no statusCode"}'),
    ],
)
def test_any_other_json_is_a_200_with_that_json_as_body(result, body):
    response = map_result(_payload(result), None)
    assert response.status == 200
    assert response.body == body
    assert response.header("Content-Type") == "application/json"


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200", "body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["not", "an", "object"]},
        {"statusCode": 200, "cookies": "a=b"},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
        {"statusCode": 99},
    ],
)
def test_a_malformed_custom_response_is_a_502(result):
    response = map_result(_payload(result), None)
    assert (response.status, response.body) == (502, GENERIC_ERROR_BODY)


def test_a_function_error_is_a_502_that_tells_the_client_nothing():
    error = {"errorType": "RuntimeError", "errorMessage": "token abc123 leaked"}
    response = map_result(_payload(error), "Unhandled")
    assert response.status == 502
    assert response.body == b"Internal Server Error"


def test_an_oversized_result_is_a_502():
    result = _payload({"statusCode": 200, "body": "x" * PAYLOAD_LIMIT_BYTES})
    assert map_result(result, None).status == 502


# --------------------------------------------------------------------------- CORS

CORS = {
    "AllowOrigins": ["https://app.example.com"],
    "AllowMethods": ["POST"],
    "AllowHeaders": ["content-type"],
    "ExposeHeaders": ["x-result"],
    "MaxAge": 300,
}


def _preflight(origin):
    return HttpRequest(
        method="OPTIONS",
        raw_path="/",
        raw_query="",
        headers=[("Origin", origin), ("Access-Control-Request-Method", "POST")],
        body=b"",
        source_ip="127.0.0.1",
    )


def test_a_preflight_from_an_allowed_origin_gets_the_configured_permissions():
    request = _preflight("https://app.example.com")
    assert function_url_cors.is_preflight(CORS, request)
    response = function_url_cors.preflight_response(CORS, request)
    assert response.status == 200
    assert dict(response.headers) == {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": "https://app.example.com",
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Max-Age": "300",
    }


def test_a_preflight_from_another_origin_gets_no_permission():
    response = function_url_cors.preflight_response(CORS, _preflight("https://evil.example"))
    assert response.header("Access-Control-Allow-Origin") is None


def test_without_cors_an_options_request_is_the_functions_business():
    assert not function_url_cors.is_preflight(None, _preflight("https://app.example.com"))


def test_configured_cors_headers_replace_the_functions():
    request = _request(headers=[("Origin", "https://app.example.com")])
    function_response = map_result(
        _payload({"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}}), None
    )
    response = function_url_cors.apply(CORS, request, function_response)
    assert [v for n, v in response.headers if n.lower() == "access-control-allow-origin"] == [
        "https://app.example.com"
    ]
    assert response.header("Access-Control-Expose-Headers") == "x-result"


# --------------------------------------------------------------------------- the service


def _service(invoke, auth_type="NONE"):
    from local_cloud.function_urls import FunctionUrlService, FunctionUrlSpec

    spec = FunctionUrlSpec(
        logical_id="FnUrl",
        function_logical_id="Fn",
        function_name="stack-Fn",
        auth_type=auth_type,
        url_id="u" * 32,
        region="us-east-1",
        account_id="123456789012",
    )
    return FunctionUrlService(spec, invoke, port=8123, clock=lambda: EPOCH_MS / 1000)


def test_the_service_invokes_the_function_by_name_with_the_event():
    calls = []

    def invoke(name, payload):
        calls.append((name, json.loads(payload)))
        return b'{"ok": true}', None

    response = _service(invoke).handle(_request())
    ((name, event),) = calls
    assert name == "stack-Fn"
    assert event["requestContext"]["requestId"] == response.header("x-amzn-RequestId")
    assert event["requestContext"]["timeEpoch"] == EPOCH_MS
    assert (response.status, response.body) == (200, b'{"ok": true}')


def test_an_invocation_that_cannot_be_made_is_a_502():
    def invoke(name, payload):
        raise ConnectionError("the Lambda runner is stopping")

    response = _service(invoke).handle(_request())
    assert (response.status, response.body) == (502, GENERIC_ERROR_BODY)


def test_an_iam_url_checks_the_signature_before_invoking():
    calls = []
    response = _service(lambda *a: calls.append(a) or (b"{}", None), "AWS_IAM").handle(_request())
    assert response.status == 403
    assert calls == []
