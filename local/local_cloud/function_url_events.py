"""What Lambda makes of an HTTP request to a function URL, and of the function's answer.

Why a pure module: the mapping is the contract a handler behind a function URL is written
against (payload format 2.0, the response inference, the 6 MB limits, the generic 502), so it
is kept apart from sockets and threads and tested field by field.

Sources: the Lambda developer guide, "Invoking Lambda function URLs" (request and response
payloads, cookies, the inferred response), and API Gateway's payload format 2.0, which function
URLs follow. Which request content types count as text is not documented; the list below is
the one observed for payload format 2.0 (everything else, including no content type and
form-encoded bodies, arrives base64-encoded).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # request and response payload quota of function URLs
TEXT_MEDIA_TYPES = ("application/json", "application/xml", "application/javascript")
# Hop-by-hop headers (RFC 9110 7.6.1) belong to the connection, not to the request.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GENERIC_ERROR_BODY = b"Internal Server Error"
TOO_LARGE_MESSAGE = (
    f"Request must be smaller than {PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation"
)


@dataclass
class HttpRequest:
    """A received request, as raw as the wire gave it."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass
class HttpResponse:
    """What goes back to the client; `headers` may repeat a name (Set-Cookie)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def error_response(status: int, message: str | None) -> HttpResponse:
    """AWS's JSON error shape for requests refused before the function runs."""
    body = json.dumps({"Message": message}, separators=(",", ":")).encode()
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", _error_type(status))],
        body,
    )


def _error_type(status: int) -> str:
    return {
        400: "InvalidRequestContentException",
        403: "AccessDeniedException",
        413: "RequestTooLargeException",
    }.get(status, "ServiceException")


def is_text(content_type: str | None) -> bool:
    """Whether a request body of this content type reaches the function as text."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def request_time(epoch_ms: int) -> str:
    """`12/Mar/2020:19:03:58 +0000`, whatever the process locale."""
    moment = time.gmtime(epoch_ms / 1000)
    return (
        f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )


def trace_id(epoch_ms: int) -> str:
    """An X-Ray trace id in the `Root=1-<8 hex seconds>-<24 hex>` format."""
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


def _joined_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def _cookies(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(";") if part.strip()]


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_text(request.header("content-type")):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not text after all: deliver the bytes intact
    return base64.b64encode(request.body).decode("ascii"), True


def build_event(
    request: HttpRequest,
    *,
    url_id: str,
    account_id: str,
    port: int,
    request_id: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    epoch_ms: int | None = None,
) -> dict[str, Any]:
    """The function URL event (payload format 2.0) for one request.

    `authorizer` is the IAM block for AuthType AWS_IAM; None (sent as null) for AuthType NONE.
    """
    epoch_ms = int(time.time() * 1000) if epoch_ms is None else epoch_ms
    request_id = request_id or str(uuid.uuid4())
    cookie_values = [value for name, value in request.headers if name.lower() == "cookie"]
    headers = _joined_headers(
        (name, value)
        for name, value in request.headers
        if name.lower() not in _HOP_BY_HOP and name.lower() != "cookie"
    )
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers["x-forwarded-proto"] = "http"
    headers["x-forwarded-port"] = str(port)
    headers.setdefault("x-amzn-trace-id", trace_id(epoch_ms))
    host = headers.get("host", f"127.0.0.1:{port}")
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": url_id,
        "authentication": None,  # unused by function URLs; Lambda sends null
        "authorizer": dict(authorizer) if authorizer is not None else None,
        "domainName": host,
        "domainPrefix": url_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookies = _cookies(cookie_values)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = _query_parameters(request.raw_query)
    event["requestContext"] = context
    body, encoded = _body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


class MalformedResponse(ValueError):
    """The function answered with a statusCode but the rest is not a valid response."""


def _response_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedResponse("headers must be an object")
    headers: list[tuple[str, str]] = []
    for name, item in value.items():
        if isinstance(item, dict | list) or item is None:
            raise MalformedResponse(f"header {name} must be a string")
        headers.append((str(name), str(item).lower() if isinstance(item, bool) else str(item)))
    return headers


def _custom_response(result: Mapping[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode must be an HTTP status")
    headers = _response_headers(result.get("headers"))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedResponse("cookies must be a list of strings")
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    elif result.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponse("body is not valid base64") from None
    else:
        raw = body.encode("utf-8")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, raw)


def map_result(payload: bytes, function_error: str | None) -> HttpResponse:
    """The HTTP response for the function's result, as Lambda maps it.

    A function error, an oversized payload or a malformed custom response → 502 with AWS's
    generic body. A JSON object with `statusCode` → that response. Any other JSON → 200 with
    the JSON itself as body and content-type application/json.
    """
    if function_error or len(payload) > PAYLOAD_LIMIT_BYTES:
        return bad_gateway()
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        return bad_gateway()
    if isinstance(result, dict) and "statusCode" in result:
        try:
            return _custom_response(result)
        except MalformedResponse:
            return bad_gateway()
    return HttpResponse(200, [("Content-Type", "application/json")], payload or b"null")


def bad_gateway() -> HttpResponse:
    """Lambda's answer when the function failed: no detail reaches the client."""
    return HttpResponse(502, [("Content-Type", "application/json")], GENERIC_ERROR_BODY)
