"""The CORS part of a function URL's configuration (`Cors` of AWS::Lambda::Url).

Why it exists: with Cors configured, Lambda answers browser preflight requests itself (the
function never sees them) and puts the configured Access-Control-* headers on every response
to an allowed origin, replacing any the function set. That much is emulated; what is not
(exact header casing and order, wildcard subdomain origins) is listed in docs/local-cloud.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_cloud.function_url_events import HttpRequest, HttpResponse

CORS_KEYS = frozenset(
    {"AllowCredentials", "AllowHeaders", "AllowMethods", "AllowOrigins", "ExposeHeaders", "MaxAge"}
)


def _allowed_origin(cors: Mapping[str, Any], origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for `origin`, or None if it is not allowed."""
    if not origin:
        return None
    origins = [str(o) for o in cors.get("AllowOrigins") or []]
    if origin in origins:
        return origin
    if "*" in origins:
        return origin if cors.get("AllowCredentials") else "*"
    return None


def is_preflight(cors: Mapping[str, Any] | None, request: HttpRequest) -> bool:
    """A browser preflight that Lambda answers itself (only when Cors is configured)."""
    return (
        cors is not None
        and request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def preflight_response(cors: Mapping[str, Any], request: HttpRequest) -> HttpResponse:
    """The answer to a preflight: the configured permissions if the origin is allowed."""
    origin = _allowed_origin(cors, request.header("origin"))
    headers: list[tuple[str, str]] = [("Vary", "Origin")]
    if origin is not None:
        headers.append(("Access-Control-Allow-Origin", origin))
        methods = [str(m).upper() for m in cors.get("AllowMethods") or []]
        wanted = (request.header("access-control-request-method") or "").upper()
        if methods and ("*" in methods or wanted in methods):
            headers.append(("Access-Control-Allow-Methods", ",".join(methods)))
        if cors.get("AllowHeaders"):
            headers.append(("Access-Control-Allow-Headers", ",".join(cors["AllowHeaders"])))
        if cors.get("AllowCredentials"):
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if cors.get("MaxAge") is not None:
            headers.append(("Access-Control-Max-Age", str(int(cors["MaxAge"]))))
    return HttpResponse(200, headers, b"")


def apply(
    cors: Mapping[str, Any] | None, request: HttpRequest, response: HttpResponse
) -> HttpResponse:
    """Put the configured CORS headers on a function's response to an allowed origin."""
    if cors is None:
        return response
    origin = _allowed_origin(cors, request.header("origin"))
    if origin is None:
        return response
    kept = [(n, v) for n, v in response.headers if not n.lower().startswith("access-control-")]
    kept.append(("Access-Control-Allow-Origin", origin))
    if cors.get("ExposeHeaders"):
        kept.append(("Access-Control-Expose-Headers", ",".join(cors["ExposeHeaders"])))
    if cors.get("AllowCredentials"):
        kept.append(("Access-Control-Allow-Credentials", "true"))
    if not any(n.lower() == "vary" for n, _ in kept):
        kept.append(("Vary", "Origin"))
    return HttpResponse(response.status, kept, response.body)
