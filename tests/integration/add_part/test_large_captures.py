"""Large captures end to end: the pixel check runs beside the upload, and a capture that fails
it never lands at Jumio (issue 16 point 1).

Real S3 PutObject → notification → SQS → add_part handler → the simulator over loopback. What
reached "Jumio" is read from the simulator: its part counters, the SHA-256 of the image in place
and its request log, where a body cut short shows as ``incomplete_body``.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from jumio_pipeline.services.capture import CHECK_BESIDE_UPLOAD_FROM_BYTES
from tests.integration.add_part.conftest import Captures, capture_key, credential_of
from tests.support import images

WAIT_SECONDS = 20.0
LARGE = images.jpeg_of_size(3 * CHECK_BESIDE_UPLOAD_FROM_BYTES, 2400, 1800)


def _front_item(captures: Captures, session) -> dict:
    return captures.part(session, f"PART#{credential_of(session, 'ID')}#FRONT")


def _jumio_front(captures: Captures, session) -> dict:
    credential = captures.jumio_parts(session, credential_of(session, "ID"))
    return {**credential["parts"]["FRONT"], "sha256": credential["sha256"].get("FRONT")}


def _requests_once_settled(captures: Captures, count: int) -> list[tuple[str, int | None, str]]:
    """(route, status, fault) of the simulator's log once it holds ``count`` entries: a body
    cut short is logged when the simulator sees the connection close, just after add_part."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(captures.simulator.admin.requests()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [(e["route"], e["status"], e["fault"]) for e in captures.simulator.admin.requests()]


def test_a_large_capture_lands_with_exactly_its_bytes(captures: Captures):
    session = captures.register()
    version = captures.put(capture_key(session, "ID", "FRONT.jpg"), LARGE)

    report = captures.drain()

    assert report.failed_records == 0
    front = _jumio_front(captures, session)
    assert (front["count"], front["adds"], front["updates"]) == (1, 1, 0)
    assert front["sha256"] == hashlib.sha256(LARGE).hexdigest()
    item = _front_item(captures, session)
    assert (item["status"], item["versionId"], item["bytes"]) == ("UPLOADED", version, len(LARGE))
    assert _requests_once_settled(captures, 1) == [("add_part", 200, None)]


@pytest.mark.parametrize(
    "damaged",
    [
        pytest.param(images.corrupt_late(LARGE), id="valid-header-corrupt-late"),
        pytest.param(LARGE[: len(LARGE) * 19 // 20], id="truncated"),
    ],
)
def test_a_large_capture_that_fails_its_check_is_rejected_and_never_lands(
    captures: Captures, damaged: bytes
):
    assert len(damaged) >= CHECK_BESIDE_UPLOAD_FROM_BYTES  # the path under test
    session = captures.register()
    key = capture_key(session, "ID", "FRONT.jpg")
    version = captures.put(key, damaged)

    report = captures.drain()

    assert report.failed_records == 0
    # The upload started beside the check and was cut short before its body's end: Jumio
    # processed nothing, and nothing was reconciled (no update followed).
    assert _requests_once_settled(captures, 1) == [("add_part", None, "incomplete_body")]
    front = _jumio_front(captures, session)
    assert (front["count"], front["adds"], front["updates"], front["sha256"]) == (0, 0, 0, None)
    item = _front_item(captures, session)
    assert (item["status"], item["reason"], item["versionId"]) == (
        "REJECTED",
        "CORRUPT_IMAGE",
        version,
    )
    assert "truncated or corrupt" in item["message"]
    assert captures.tag(key, version) == {"rejection-reason": "CORRUPT_IMAGE"}
    assert captures.dlq_messages() == []
    pending = captures.ledger.get(session.workflow_execution_id).pending_parts
    assert f"{credential_of(session, 'ID')}/FRONT" in pending


def test_a_bad_large_retake_leaves_the_landed_part_and_its_bytes_in_place(captures: Captures):
    session = captures.register()
    key = capture_key(session, "ID", "FRONT.jpg")
    landed = captures.put(key, LARGE)
    captures.drain()
    bad = captures.put(key, images.corrupt_late(LARGE, at=0.8))

    captures.drain()

    front = _jumio_front(captures, session)
    assert (front["adds"], front["updates"]) == (1, 0)
    assert front["sha256"] == hashlib.sha256(LARGE).hexdigest()
    item = _front_item(captures, session)
    assert (item["status"], item["versionId"]) == ("UPLOADED", landed)
    assert item["lastRejection"]["reason"] == "CORRUPT_IMAGE"
    assert captures.tag(key, bad) == {"rejection-reason": "CORRUPT_IMAGE"}
