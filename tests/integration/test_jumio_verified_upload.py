"""Verified uploads against the simulator over loopback: the check runs beside the upload, and a
capture that fails it never lands, however far its body got.

What reached "Jumio" is read where Jumio keeps it: the simulator's state (part counters, the
SHA-256 of the image in place) and its request log.
"""

from __future__ import annotations

import hashlib
import io
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp
from jumio_pipeline.adapters.jumio.verified_upload import UploadAborted
from jumio_pipeline.domain.errors import CaptureRejected
from jumio_pipeline.domain.image_validation import check_pixel_data, inspect_capture
from jumio_simulator.testing import SimulatorHandle
from tests.support import images
from tests.support.jumio_settings import fast_settings

WAIT_SECONDS = 20.0


@pytest.fixture
def creds(jumio_sim: SimulatorHandle) -> Iterator[CredentialsClient]:
    settings = fast_settings(
        jumio_sim.base_url,
        user_agent="Acme Onboarding Tests/1.0",
        read_timeout=30.0,
        max_retry_seconds=10.0,
    )
    with JumioHttp(settings) as http:
        yield CredentialsClient(http)


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    """A real 3 MB 2400 x 1800 JPEG: big enough to stream in many pieces."""
    return images.jpeg_of_size(3_000_000, 2400, 1800)


@pytest.fixture(scope="module")
def large_png() -> bytes:
    """A real noisy 1000 x 800 RGB PNG of over 2 MB (noise does not compress)."""
    noise = Image.merge("RGB", [Image.effect_noise((1000, 800), 90) for _ in range(3)])
    out = io.BytesIO()
    noise.save(out, "PNG")
    return out.getvalue()


def _front(account: dict[str, Any]) -> tuple[str, str, str]:
    credential = next(
        c for c in account["workflowExecution"]["credentials"] if c["category"] == "ID"
    )
    return credential["id"], credential["api"]["parts"]["front"], credential["api"]["token"]


def _checked(data: bytes):
    """The pixel check the capture service passes as ``verify``."""
    info = inspect_capture(data, classifier="FRONT")
    return lambda: check_pixel_data(data, info)


def test_a_truncated_large_png_is_cut_short_and_a_whole_one_lands(jumio_sim, creds, large_png):
    assert len(large_png) > 2_000_000
    truncated = large_png[: len(large_png) * 19 // 20]
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.clear_requests()
    _, href, token = _front(account)

    with pytest.raises(CaptureRejected) as rejected:
        creds.add_part(href, token, truncated, "image/png", "FRONT.png", verify=_checked(truncated))
    creds.add_part(href, token, large_png, "image/png", "FRONT.png", verify=_checked(large_png))

    assert rejected.value.reason == "CORRUPT_IMAGE"
    logged = _logged(jumio_sim, 2)  # in either order: the cut-short one is logged on its close
    assert sorted(logged, key=str) == [
        ("add_part", 200, None),
        ("add_part", None, "incomplete_body"),
    ]
    front = _jumio_front(jumio_sim, account)
    assert (front["adds"], front["sha256"]) == (1, hashlib.sha256(large_png).hexdigest())


def _jumio_front(jumio_sim: SimulatorHandle, account: dict[str, Any]) -> dict[str, Any]:
    credential_id, _, _ = _front(account)
    execution = jumio_sim.admin.state()["workflowExecutions"][account["workflowExecution"]["id"]]
    credential = execution["credentials"][credential_id]
    return {**credential["parts"]["FRONT"], "sha256": credential["sha256"].get("FRONT")}


def _logged(jumio_sim: SimulatorHandle, count: int) -> list[tuple[str, int | None, str | None]]:
    """(route, status, fault) of the log once it holds ``count`` entries (a cut-short request
    is logged when the simulator notices the closed connection, just after the client left)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(jumio_sim.admin.requests()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [(e["route"], e["status"], e["fault"]) for e in jumio_sim.admin.requests()]


def test_a_valid_capture_lands_with_exactly_its_bytes(jumio_sim, creds, large_jpeg):
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.clear_requests()
    _, href, token = _front(account)

    creds.add_part(href, token, large_jpeg, "image/jpeg", "FRONT.jpg", verify=_checked(large_jpeg))

    front = _jumio_front(jumio_sim, account)
    assert (front["count"], front["adds"], front["updates"]) == (1, 1, 0)
    assert front["sha256"] == hashlib.sha256(large_jpeg).hexdigest()
    assert _logged(jumio_sim, 1) == [("add_part", 200, None)]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: images.corrupt_late(data), id="corrupt-late"),
        pytest.param(lambda data: data[: len(data) * 19 // 20], id="truncated"),
    ],
)
def test_a_capture_that_fails_its_check_is_cut_short_and_never_lands(
    jumio_sim, creds, large_jpeg, damage
):
    bad = damage(large_jpeg)
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.clear_requests()
    _, href, token = _front(account)

    with pytest.raises(CaptureRejected) as rejected:
        creds.add_part(href, token, bad, "image/jpeg", "FRONT.jpg", verify=_checked(bad))

    assert rejected.value.reason == "CORRUPT_IMAGE"
    # The upload started (Jumio saw the request) but its body never ended: nothing processed,
    # and the client did not reconcile with an update.
    assert _logged(jumio_sim, 1) == [("add_part", None, "incomplete_body")]
    front = _jumio_front(jumio_sim, account)
    assert (front["count"], front["adds"], front["updates"], front["sha256"]) == (0, 0, 0, None)


def test_a_retake_that_fails_its_check_leaves_the_landed_part_in_place(
    jumio_sim, creds, large_jpeg
):
    account = jumio_sim.create_account(10013)
    _, href, token = _front(account)
    creds.add_part(href, token, large_jpeg, "image/jpeg", "FRONT.jpg")
    bad = images.corrupt_late(large_jpeg)
    jumio_sim.admin.clear_requests()

    with pytest.raises(CaptureRejected):
        creds.update_part(href, token, bad, "image/jpeg", "FRONT.jpg", verify=_checked(bad))

    assert _logged(jumio_sim, 1) == [("update_part", None, "incomplete_body")]
    front = _jumio_front(jumio_sim, account)
    assert (front["adds"], front["updates"]) == (1, 0)
    assert front["sha256"] == hashlib.sha256(large_jpeg).hexdigest()


def test_a_throttled_verified_add_is_sent_again_whole(jumio_sim, creds, large_jpeg):
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.clear_requests()
    jumio_sim.admin.set_faults({"script": {"add_part": ["429"]}})
    _, href, token = _front(account)

    creds.add_part(href, token, large_jpeg, "image/jpeg", "FRONT.jpg", verify=_checked(large_jpeg))

    assert _logged(jumio_sim, 2) == [("add_part", 429, "429"), ("add_part", 200, None)]
    assert _jumio_front(jumio_sim, account)["sha256"] == hashlib.sha256(large_jpeg).hexdigest()


def test_a_verified_add_whose_answer_is_lost_is_reconciled_by_an_update(
    jumio_sim, creds, large_jpeg
):
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.clear_requests()
    jumio_sim.admin.set_faults({"script": {"add_part": ["drop"]}})
    _, href, token = _front(account)

    creds.add_part(href, token, large_jpeg, "image/jpeg", "FRONT.jpg", verify=_checked(large_jpeg))

    assert [(r, s) for r, s, _ in _logged(jumio_sim, 2)] == [
        ("add_part", None),
        ("update_part", 200),
    ]
    front = _jumio_front(jumio_sim, account)
    assert (front["count"], front["adds"], front["updates"]) == (1, 1, 1)
    assert front["sha256"] == hashlib.sha256(large_jpeg).hexdigest()


def test_the_rejection_carries_no_token_and_no_request(jumio_sim, creds, large_jpeg):
    account = jumio_sim.create_account(10013)
    _, href, token = _front(account)
    bad = images.corrupt_late(large_jpeg)

    with pytest.raises(CaptureRejected) as rejected:
        creds.add_part(href, token, bad, "image/jpeg", "FRONT.jpg", verify=_checked(bad))

    printed = "".join(traceback.format_exception(rejected.value))
    assert token not in printed
    chain, error = [], rejected.value
    while error is not None:
        chain.append(type(error))
        error = error.__cause__ or error.__context__
    assert UploadAborted not in chain  # its frames hold the request and its Authorization
    assert chain[0] is CaptureRejected
