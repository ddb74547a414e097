"""Turning Jumio's answers into values or into the project's named errors.

One place decides which status means which error class, because the state machine and the
SQS batch-failure path route on those class names. Messages carry the operation, the status
and Jumio's own ``title``/``detail`` only: never a token, a URL query, a request body or the
rest of a response body.
"""

from __future__ import annotations

import email.utils
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

_MAX_TEXT = 300
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
    title, detail = problem_title_detail(response)
    message = f"{operation}: HTTP {status}"
    if title:
        message += f" {title}"
    if detail:
        message += f": {detail}"
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
    return JumioRejected(message, title=title, detail=detail, **common)


def problem_title_detail(response: requests.Response) -> tuple[str, str]:
    """Jumio's ``{title, status, detail}`` fields, cleaned; the reason phrase if there are none."""
    title = detail = ""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = _clean(body.get("title"))
        detail = _clean(body.get("detail"))
    return title or _clean(response.reason), detail


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


def _clean(value: object) -> str:
    """A short single-line string of a field Jumio sent, or '' if it is not a string."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."
