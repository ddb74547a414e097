"""The upload POSTs the start-session function hands out accept their one capture and nothing
else: another session's or another capture's key, a body over 15,000,000 bytes, an empty body,
another content type and an expired POST are each refused by S3's POST policy check and store
nothing.

The POSTs come from the real function, called through its function URL with a SigV4 signature;
the uploads go over plain HTTP (`requests`), as an app sends them, and are checked by the local
cloud's POST policy check (local_cloud.s3_post_policy). moto alone checks none of this: the last
test sends the same uploads with the check removed and sees each stored.
(test_start_session.py covers the answer itself and a correct upload landing at Jumio.)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from jumio_pipeline.domain.upload_targets import MAX_UPLOAD_BYTES
from local_cloud import s3_post_uploads, start_client
from tests.support.images import jpeg_of_size, make_gif, make_jpeg, make_pdf

REGION = "us-east-1"
ID_AND_SELFIE = 10013  # FRONT, BACK, FACE (+ PREPARED_DATA)
DOCUMENT = 10026  # a DOCUMENT credential: pages, PDF allowed


def _start(stack: Any, reference: str, workflow_key: int = ID_AND_SELFIE, **extra: Any) -> dict:
    url = stack.function_url("StartSessionFunction")
    request = {"reference": reference, "workflowDefinitionKey": workflow_key, **extra}
    return start_client.start_session(url, request, region=REGION)


def _upload(answer: dict, classifier: str, content_type: str, page: int | None = None) -> dict:
    for capture in answer["captures"]:
        for upload in capture["uploads"]:
            if (capture["classifier"], upload["contentType"], upload.get("page")) == (
                classifier,
                content_type,
                page,
            ):
                return upload
    raise AssertionError(f"no {content_type} POST for {classifier} page {page}")


def _stored(stack: Any) -> list[str]:
    """Every key in the captures bucket (a refused upload must add none)."""
    listing = boto3.client("s3").list_objects_v2(Bucket=stack.physical("CapturesBucket"))
    return [item["Key"] for item in listing.get("Contents", [])]


def _error(response: requests.Response) -> dict[str, str]:
    """S3's XML error document as {element: text}."""
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def _refused(stack: Any, response: requests.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = _error(response)
    assert error["Code"] == code
    assert _stored(stack) == []
    return error


def _condition_failed(field: str, value: str) -> str:
    return f'Invalid according to Policy: Policy Condition failed: ["eq", "${field}", "{value}"]'


class _S3ClockAt(datetime):
    """S3's clock, stopped at one moment (the check reads `datetime.now(UTC)`)."""

    moment: datetime

    @classmethod
    def now(cls, tz: Any = None) -> datetime:
        return cls.moment


def _set_s3_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    clock = type("S3Clock", (_S3ClockAt,), {"moment": moment})
    monkeypatch.setattr(s3_post_uploads, "datetime", clock)


def _expires_at(answer: dict) -> datetime:
    return datetime.fromisoformat(answer["uploadsExpireAt"].replace("Z", "+00:00"))


@pytest.fixture
def started(stack, simulator) -> dict:
    return _start(stack, "posts-1")


# --- the key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("classifier", "content_type"),
    [("BACK", "image/jpeg"), ("FACE", "image/jpeg"), ("FRONT", "image/png")],
    ids=["another capture", "another credential's capture", "the same capture as PNG"],
)
def test_a_front_post_refuses_the_key_of_another_capture(stack, started, classifier, content_type):
    front = _upload(started, "FRONT", "image/jpeg")
    other = _upload(started, classifier, content_type)["key"]

    response = start_client.post_capture(front, make_jpeg(900, 600), fields={"key": other})

    error = _refused(stack, response, 403, "AccessDenied")
    assert error["Message"] == _condition_failed("key", front["key"])


def test_a_post_refuses_the_same_capture_of_another_session(stack, started):
    other_session = _start(stack, "posts-2")
    front = _upload(started, "FRONT", "image/jpeg")
    theirs = _upload(other_session, "FRONT", "image/jpeg")["key"]
    assert theirs != front["key"]

    response = start_client.post_capture(front, make_jpeg(900, 600), fields={"key": theirs})

    error = _refused(stack, response, 403, "AccessDenied")
    assert error["Message"] == _condition_failed("key", front["key"])


def test_a_document_page_post_refuses_another_page(stack, simulator):
    answer = _start(stack, "posts-doc-1", DOCUMENT, documentPages=2)
    first = _upload(answer, "DOCUMENT", "application/pdf", page=1)
    second = _upload(answer, "DOCUMENT", "application/pdf", page=2)["key"]

    response = start_client.post_capture(first, make_pdf(1), fields={"key": second})

    error = _refused(stack, response, 403, "AccessDenied")
    assert error["Message"] == _condition_failed("key", first["key"])


# --- the size ------------------------------------------------------------------------------


def test_a_body_over_15_000_000_bytes_is_refused_and_exactly_that_is_accepted(stack, started):
    front = _upload(started, "FRONT", "image/jpeg")
    assert started["maxUploadBytes"] == MAX_UPLOAD_BYTES == 15_000_000

    over = start_client.post_capture(front, jpeg_of_size(MAX_UPLOAD_BYTES + 1, 64, 64))

    error = _refused(stack, over, 400, "EntityTooLarge")
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == ("15000001", "15000000")

    at_limit = start_client.post_capture(front, jpeg_of_size(MAX_UPLOAD_BYTES, 64, 64))

    assert at_limit.status_code == 204, at_limit.text
    assert _stored(stack) == [front["key"]]


def test_an_empty_body_is_refused(stack, started):
    front = _upload(started, "FRONT", "image/jpeg")

    response = start_client.post_capture(front, b"")

    error = _refused(stack, response, 400, "EntityTooSmall")
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == ("0", "1")


# --- the content type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/gif", make_gif(900, 600)),
        ("text/plain", b"not a capture\n"),
        ("application/pdf", make_pdf(1)),
    ],
    ids=["image/gif", "text/plain", "application/pdf"],
)
def test_a_front_post_refuses_another_content_type(stack, started, content_type, body):
    front = _upload(started, "FRONT", "image/jpeg")

    response = start_client.post_capture(
        front, body, content_type=content_type, fields={"Content-Type": content_type}
    )

    error = _refused(stack, response, 403, "AccessDenied")
    assert error["Message"] == _condition_failed("Content-Type", "image/jpeg")


def test_a_front_is_offered_no_pdf_post_but_a_document_page_is(stack, started):
    document = _start(stack, "posts-doc-2", DOCUMENT, documentPages=1)
    front_types = {
        u["contentType"]
        for c in started["captures"]
        if c["classifier"] == "FRONT"
        for u in c["uploads"]
    }
    page = _upload(document, "DOCUMENT", "application/pdf", page=1)

    stored = start_client.post_capture(page, make_pdf(1), filename="page-1.pdf")

    assert "application/pdf" not in front_types
    assert stored.status_code == 204, stored.text
    head = boto3.client("s3").head_object(Bucket=stack.physical("CapturesBucket"), Key=page["key"])
    assert head["ContentType"] == "application/pdf"
    assert _stored(stack) == [page["key"]]


def test_a_document_page_post_for_pdf_refuses_an_image_type(stack, simulator):
    answer = _start(stack, "posts-doc-3", DOCUMENT, documentPages=1)
    page = _upload(answer, "DOCUMENT", "application/pdf", page=1)

    response = start_client.post_capture(
        page, make_jpeg(900, 600), content_type="image/jpeg", fields={"Content-Type": "image/jpeg"}
    )

    error = _refused(stack, response, 403, "AccessDenied")
    assert error["Message"] == _condition_failed("Content-Type", "application/pdf")


# --- the expiry ----------------------------------------------------------------------------


def test_a_post_is_accepted_until_uploads_expire_at_and_refused_after(stack, started, monkeypatch):
    """S3's clock is moved, not the test's: waiting out even Jumio's shortest token (5 min)
    would be too long. The POST's own expiration must be the `uploadsExpireAt` it was sold
    with, and never after the token's."""
    front = _upload(started, "FRONT", "image/jpeg")
    expires_at = _expires_at(started)
    token_expires_at = datetime.fromisoformat(started["tokenExpiresAt"].replace("Z", "+00:00"))
    assert datetime.now(UTC) < expires_at <= token_expires_at

    _set_s3_clock(monkeypatch, expires_at + timedelta(seconds=2))
    late = start_client.post_capture(front, make_jpeg(900, 600))

    error = _refused(stack, late, 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Policy expired."

    _set_s3_clock(monkeypatch, expires_at - timedelta(seconds=2))
    in_time = start_client.post_capture(front, make_jpeg(900, 600))

    assert in_time.status_code == 204, in_time.text
    assert _stored(stack) == [front["key"]]


# --- what moto alone would do ----------------------------------------------------------------


@dataclass(frozen=True)
class _Violation:
    """One upload the policy refuses: the body and the form fields changed."""

    body: Callable[[], bytes]
    fields: Callable[[dict], dict[str, str]] = lambda answer: {}


_VIOLATIONS = {
    "another capture's key": _Violation(
        lambda: make_jpeg(900, 600),
        lambda answer: {"key": _upload(answer, "BACK", "image/jpeg")["key"]},
    ),
    "over 15,000,000 bytes": _Violation(lambda: jpeg_of_size(MAX_UPLOAD_BYTES + 1, 64, 64)),
    "empty": _Violation(lambda: b""),
    "image/gif": _Violation(
        lambda: make_gif(900, 600), lambda answer: {"Content-Type": "image/gif"}
    ),
}
# An expired POST is not among them: the function's POSTs live as long as the token (5 minutes
# at the least), too long to wait for, and moving S3's clock moves nothing moto looks at.
# moto ignores the policy's expiration as it ignores all of it (test_local_cloud_s3_post_policy:
# test_moto_alone_stores_a_forged_upload sends one that expired).


@pytest.mark.parametrize("violation", list(_VIOLATIONS), ids=list(_VIOLATIONS))
def test_moto_alone_stores_each_refused_upload(stack, started, violation):
    """Why the refusals above need the local cloud's check: moto stores every one (204)."""
    case = _VIOLATIONS[violation]
    front = _upload(started, "FRONT", "image/jpeg")
    fields = case.fields(started)
    s3_post_uploads.uninstall()  # the stack's teardown would remove it too

    response = start_client.post_capture(front, case.body(), fields=fields)

    assert response.status_code == 204, response.text
    assert _stored(stack) == [fields.get("key", front["key"])]
