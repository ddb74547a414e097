"""Turning Jumio's answers into values or into the project's named errors.

One place decides which status means which error class, because the state machine and the
SQS batch-failure path route on those class names. Messages carry the operation, the status
and a title: Jumio's ``title`` when it is an HTTP reason phrase ("Bad Request", "Too Many
Requests"), else the status's own phrase. Jumio's ``detail`` is never kept, whatever the status: it is free text that may
quote the request (a name, a document number), and an error's text reaches logs, X-Ray, Step
Functions' error cause and DLQ attributes. Never a token, a URL query, a request body or any
other part of a response body either.
"""

from __future__ import annotations

import email.utils
import http
import json
import time
from typing import Any

import requests

from jumio_pipeline.domain.errors import (
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioRejected,
    JumioThrottled,
    JumioUnavailable,
)

# The only titles kept: the standard reason phrases, spelt the standard way.
_REASON_PHRASES = {status.phrase.lower(): status.phrase for status in http.HTTPStatus}
_NOT_JSON = object()


def json_body(operation: str, response: requests.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; ``{}`` for an empty body.

    Anything else (HTML from a proxy, a JSON list) is not what Jumio documents, so it is
    reported as unavailable rather than passed on as if it were an account.
    """
    if not response.content.strip():
        return {}
    try:
        body = response.json()
    except ValueError:
        body = _NOT_JSON  # raised below, outside the except: the decode error holds the body
    if body is _NOT_JSON:
        raise JumioUnavailable(
            f"{operation}: HTTP {response.status_code} with a body that is not JSON",
            status=response.status_code,
            operation=operation,
        )
    if not isinstance(body, dict):
        raise JumioUnavailable(
            f"{operation}: HTTP {response.status_code} with a JSON body that is not an object",
            status=response.status_code,
            operation=operation,
        )
    return body


def error_for_response(operation: str, response: requests.Response) -> JumioError:
    """The named error for a final non-2xx answer (after the client's own retries)."""
    status = response.status_code
    title = problem_title(response)
    message = f"{operation}: HTTP {status}" + (f" {title}" if title else "")
    common: dict[str, Any] = {"status": status, "operation": operation}
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return JumioThrottled(message, retry_after=retry_after, **common)
    if status >= 500:
        return JumioUnavailable(message, **common)
    if status in (401, 403):
        return JumioAuthError(message, **common)
    if status == 404:
        return JumioNotFound(message, **common)
    return JumioRejected(message, title=title, **common)


def problem_title(response: requests.Response) -> str:
    """Jumio's ``title`` if it is a reason phrase, else the response's, else the status's."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    candidates = [body.get("title") if isinstance(body, dict) else None, response.reason]
    for candidate in candidates:
        phrase = _reason_phrase(candidate)
        if phrase:
            return phrase
    try:
        return http.HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    parsed = email.utils.parsedate_tz(text)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def _reason_phrase(value: object) -> str:
    """The standard spelling of ``value`` if it is an HTTP reason phrase, else ''."""
    if not isinstance(value, str):
        return ""
    return _REASON_PHRASES.get(" ".join(value.split()).lower(), "")
