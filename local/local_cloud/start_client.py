"""A backend and its app, as the pipeline's users are: start a session with a SigV4-signed POST
to the start-session function URL, then upload each capture with its presigned S3 POST.

Why here: the demo and the tests should drive the pipeline through its public edge exactly as
the README's "Starting a session" shows — `requests` and a signature, no boto3 and no AWS
credentials in the app — so they share one small client instead of each writing its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from local_cloud import sigv4

START_TIMEOUT_SECONDS = 60  # the function's own Timeout
UPLOAD_TIMEOUT_SECONDS = 60
# The answers that say "come back later" (the pacing of Jumio's account requests, another
# request for the same reference in flight); anything else is the answer.
RETRIED_STATUSES = frozenset({409, 503})
RETRIED_ERRORS = frozenset({"START_IN_PROGRESS", "JUMIO_THROTTLED", "JUMIO_UNAVAILABLE"})
MAX_START_ATTEMPTS = 10
MAX_RETRY_AFTER_SECONDS = 10.0


class StartRefused(RuntimeError):
    """The start-session function did not start the session; says the status and error."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"start-session answered {status} {error}")
        self.status = status
        self.error = error


def post_start(url: str, request: Mapping[str, Any], *, region: str) -> requests.Response:
    """One signed POST of a start request (SigV4, service lambda, the local keys)."""
    body = json.dumps(request).encode("utf-8")
    headers = sigv4.sign(
        "POST", url, region=region, body=body, headers={"Content-Type": "application/json"}
    )
    return requests.post(url, data=body, headers=headers, timeout=START_TIMEOUT_SECONDS)


def _error_of(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""


def start_session(
    url: str,
    request: Mapping[str, Any],
    *,
    region: str,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The start answer (201 or 200), asking again after `Retry-After` when told to wait, as a
    backend should; StartRefused for any other answer, or when it never stops saying wait."""
    for _ in range(MAX_START_ATTEMPTS):
        response = post_start(url, request, region=region)
        if response.status_code in (200, 201):
            return dict(response.json())
        error = _error_of(response)
        if response.status_code not in RETRIED_STATUSES or error not in RETRIED_ERRORS:
            raise StartRefused(response.status_code, error)
        wait = float(response.headers.get("Retry-After") or 1)
        sleep(min(max(wait, 0.1), MAX_RETRY_AFTER_SECONDS))
    raise StartRefused(response.status_code, error)


def upload_for(answer: Mapping[str, Any], classifier: str, content_type: str) -> dict[str, Any]:
    """The answer's presigned POST for one capture (FRONT, BACK, FACE, DOCUMENT) and format."""
    for capture in answer["captures"]:
        if capture["classifier"] != classifier:
            continue
        for upload in capture["uploads"]:
            if upload["contentType"] == content_type:
                return dict(upload)
    raise KeyError(f"the start answer has no {content_type} upload for {classifier}")


def post_capture(
    upload: Mapping[str, Any],
    content: bytes,
    *,
    filename: str = "capture",
    content_type: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> requests.Response:
    """What an app does with one presigned POST: its fields (with `fields` changed, to try what
    the policy refuses), then the file as `file`. No AWS credentials are involved."""
    form = {**upload["fields"], **(fields or {})}
    file_type = content_type or str(form.get("Content-Type", "application/octet-stream"))
    return requests.post(
        upload["url"],
        data=form,
        files={"file": (filename, content, file_type)},
        timeout=UPLOAD_TIMEOUT_SECONDS,
    )
