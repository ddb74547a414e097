"""CaptureService: every capture ends uploaded, rejected with a reason, skipped, or raised."""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.capture_identity import CaptureIdentity, key_digest
from jumio_pipeline.domain.errors import (
    JumioError,
    JumioThrottled,
    JumioUnavailable,
    SessionDeleted,
    SessionNotRegistered,
)
from jumio_pipeline.domain.image_validation import MAX_BYTES
from jumio_pipeline.domain.session_state import PartStatus, SessionStatus
from jumio_pipeline.services.capture import CHECK_BESIDE_UPLOAD_FROM_BYTES, CaptureService
from tests.support import images
from tests.support.fakes import (
    jumio_auth_error,
    jumio_not_found,
    jumio_refusal,
    jumio_rejected,
    jumio_throttled,
    jumio_unavailable,
)
from tests.unit.services.conftest import (
    BUCKET,
    ENDED_EXECUTION_REASONS,
    UNEXPLAINED_REFUSALS,
    World,
    capture_identity,
    href_base,
    put_capture,
    token_of,
)

FRONT = images.make_jpeg(640, 480)
RETAKE = images.make_jpeg(800, 600)
FACE = images.make_png(400, 400)


@pytest.fixture
def captures(world: World) -> CaptureService:
    return world.captures


def rejection_tag(world: World, capture: CaptureIdentity) -> str | None:
    return world.objects.tags(BUCKET, capture.key, capture.version_id).get("rejection-reason")


# --- delivered ---------------------------------------------------------------------------------


def test_a_new_part_is_added_with_its_own_href_token_and_original_bytes(world, captures):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    outcome = captures.process(front)

    assert (outcome.status, outcome.operation, outcome.all_landed) == ("UPLOADED", "add", False)
    [call] = world.jumio.calls
    assert call.operation == "add_part"
    assert call.href == f"{href_base(world.ids)}/credentials/{world.ids.id_credential}/parts/FRONT"
    assert call.token == token_of(world.ids, "ID")
    assert (call.content, call.content_type, call.filename) == (FRONT, "image/jpeg", "FRONT.jpg")
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.version_id) == (PartStatus.UPLOADED, front.version_id)
    assert world.ids.ref("ID", "FRONT") not in world.ledger.get(world.ids.workflow).pending_parts
    assert world.metrics.total("PartUploaded", operation="add") == 1


def test_a_retake_of_a_landed_part_is_an_update_and_recorded_as_the_new_version(world, captures):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    captures.process(put_capture(world, key, FRONT))
    retake = put_capture(world, key, RETAKE)

    outcome = captures.process(retake)

    assert (outcome.status, outcome.operation) == ("UPLOADED", "update")
    assert [c.operation for c in world.jumio.calls] == ["add_part", "update_part"]
    assert world.jumio.calls[1].content == RETAKE
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert part.version_id == retake.version_id


def test_a_document_page_is_uploaded_as_a_document_and_counts_for_document(world, captures):
    world.register(("DOCUMENT",))
    pdf = images.make_pdf(2)
    page = put_capture(world, world.ids.key("DOCUMENT", "DOCUMENT/1.pdf"), pdf)

    outcome = captures.process(page)

    assert (outcome.status, outcome.operation, outcome.all_landed) == ("UPLOADED", "document", True)
    [call] = world.jumio.calls
    assert (call.operation, call.content, call.content_type, call.pages) == (
        "upload_document",
        pdf,
        "application/pdf",
        1,
    )
    assert call.href.endswith(f"/credentials/{world.ids.document_credential}/parts/DOCUMENT")
    page_record = world.ledger.get_part(
        world.ids.workflow, world.ids.part("DOCUMENT", "DOCUMENT", 1)
    )
    assert page_record.status is PartStatus.UPLOADED
    assert world.ledger.get(world.ids.workflow).pending_parts == frozenset()


def test_a_new_version_of_a_document_page_is_sent_as_a_document_again_never_as_an_update(
    world, captures
):
    world.register(("DOCUMENT",))
    key = world.ids.key("DOCUMENT", "DOCUMENT/1.jpg")
    captures.process(put_capture(world, key, FRONT))

    outcome = captures.process(put_capture(world, key, RETAKE))

    # No per-page update at Jumio: the document is rebuilt with the new page in its place.
    assert outcome.operation == "document-rebuilt"
    assert [c.operation for c in world.jumio.calls] == [
        "upload_document",
        "delete_all_pages",
        "upload_document",
    ]


def test_a_retake_may_be_smaller_than_an_add_allows_but_a_document_page_may_not(world, captures):
    # Jumio enforces the minimum size on add only; a page is always added (POSTed).
    world.register(("ID", "DOCUMENT"))
    small = images.make_jpeg(200, 100)
    captures.process(put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT))
    captures.process(put_capture(world, world.ids.key("DOCUMENT", "DOCUMENT/1.jpg"), FRONT))

    retake = captures.process(put_capture(world, world.ids.key("ID", "FRONT.jpg"), small))
    page = captures.process(put_capture(world, world.ids.key("DOCUMENT", "DOCUMENT/1.jpg"), small))

    assert (retake.status, retake.operation) == ("UPLOADED", "update")
    assert (page.status, page.reason) == ("REJECTED", "TOO_SMALL")


def test_the_last_part_sends_the_completion_signal_once_the_wait_holds_a_token(world, captures):
    world.register(("ID", "SELFIE"))
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    captures.process(put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT))
    captures.process(put_capture(world, world.ids.key("ID", "BACK.jpg"), FRONT))
    assert world.executions.signals == []

    last = captures.process(put_capture(world, world.ids.key("SELFIE", "FACE.png"), FACE))

    assert (last.all_landed, last.completion_signalled) == (True, True)
    [(task_token, output)] = world.executions.signals
    assert task_token == "task-token-1"
    assert output == {"workflowExecutionId": world.ids.workflow, "allPartsLanded": True}


def test_the_last_part_before_the_wait_state_leaves_the_signal_to_the_wait(world, captures):
    world.register(("SELFIE",))

    outcome = captures.process(put_capture(world, world.ids.key("SELFIE", "FACE.png"), FACE))

    assert (outcome.all_landed, outcome.completion_signalled) == (True, False)
    assert world.executions.signal_attempts == 0


# --- skipped: stale or duplicate versions ------------------------------------------------------


def test_the_same_version_delivered_again_is_skipped_without_calling_jumio(world, captures):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)
    captures.process(front)

    again = captures.process(front)

    assert (again.status, again.reason) == ("SKIPPED", "ALREADY_RECORDED")
    assert len(world.jumio.calls) == 1
    assert world.metrics.total("PartUploaded") == 1


def test_a_late_notification_of_an_older_version_is_skipped_and_the_newer_one_stays(
    world, captures
):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    older = put_capture(world, key, FRONT, sequencer="0000000000000A1")
    newer = put_capture(world, key, RETAKE, sequencer="0000000000000B2")
    captures.process(newer)

    late = captures.process(older)

    assert late.status == "SKIPPED"
    assert [c.content for c in world.jumio.calls] == [RETAKE]
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert part.version_id == newer.version_id


def test_the_same_version_rejected_before_is_processed_again_not_skipped(world, captures):
    # Only a landed version is "done": a rejected one may be retried (e.g. the session came
    # back to life with a renewed token) and then lands.
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)
    world.jumio.fail("add_part", jumio_auth_error(401))
    assert captures.process(front).reason == "TOKEN_EXPIRED"

    assert captures.process(front).status == "UPLOADED"


# --- rejected: validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "EMPTY_FILE"),
        (images.not_an_image(), "NOT_AN_IMAGE"),
        (images.make_gif(640, 480), "UNSUPPORTED_FORMAT"),
        (images.make_jpeg(200, 100), "TOO_SMALL"),
        (images.truncated_jpeg(), "CORRUPT_IMAGE"),
        (images.make_pdf(1), "PDF_NOT_ALLOWED"),
    ],
)
def test_an_invalid_capture_is_rejected_in_the_ledger_tag_and_metric(world, captures, body, reason):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), body)

    outcome = captures.process(front)

    assert (outcome.status, outcome.reason) == ("REJECTED", reason)
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.reason, part.version_id) == (
        PartStatus.REJECTED,
        reason,
        front.version_id,
    )
    assert rejection_tag(world, front) == reason
    assert world.metrics.total("CaptureRejected", reason=reason) == 1
    assert world.jumio.calls == []
    assert world.ids.ref("ID", "FRONT") in world.ledger.get(world.ids.workflow).pending_parts


def test_an_oversized_object_is_rejected_by_its_size_before_its_body_is_read(world, captures):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), bytes(MAX_BYTES + 1))

    outcome = captures.process(front)

    assert outcome.reason == "TOO_LARGE"
    [opened] = world.objects.opened
    assert (opened.reads, opened.closed) == (0, True)
    assert world.ledger.part_item(world.ids.workflow, world.ids.part("ID", "FRONT"))["bytes"] == (
        MAX_BYTES + 1
    )


def test_a_version_deleted_before_processing_is_rejected_as_not_found(world, captures):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    front = capture_identity(world, key, "version-that-was-deleted")

    outcome = captures.process(front)

    assert outcome.reason == "OBJECT_NOT_FOUND"
    assert world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT")).reason == (
        "OBJECT_NOT_FOUND"
    )


def test_a_rejected_retake_keeps_the_landed_part_and_only_tags_the_new_version(world, captures):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    landed = put_capture(world, key, FRONT)
    captures.process(landed)
    bad_retake = put_capture(world, key, images.not_an_image())

    outcome = captures.process(bad_retake)

    assert (outcome.status, outcome.reason) == ("REJECTED", "NOT_AN_IMAGE")
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.version_id) == (PartStatus.UPLOADED, landed.version_id)
    assert rejection_tag(world, bad_retake) == "NOT_AN_IMAGE"
    assert rejection_tag(world, landed) is None
    assert world.ids.ref("ID", "FRONT") not in world.ledger.get(world.ids.workflow).pending_parts


def test_a_valid_capture_after_a_rejected_one_is_added_and_replaces_the_rejection(world, captures):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    captures.process(put_capture(world, key, images.not_an_image()))

    outcome = captures.process(put_capture(world, key, FRONT))

    assert (outcome.status, outcome.operation) == ("UPLOADED", "add")
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.reason) == (PartStatus.UPLOADED, None)


# --- large captures: the pixel check beside the upload ------------------------------------------

LARGE = images.jpeg_of_size(2 * CHECK_BESIDE_UPLOAD_FROM_BYTES, 2400, 1800)
LARGE_RETAKE = images.jpeg_of_size(2 * CHECK_BESIDE_UPLOAD_FROM_BYTES + 10, 2400, 1800)
JUST_SMALL = images.jpeg_of_size(CHECK_BESIDE_UPLOAD_FROM_BYTES - 1, 1600, 1200)


def test_a_large_capture_is_added_with_its_pixel_check_beside_the_upload(world, captures):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), LARGE)

    outcome = captures.process(front)

    assert (outcome.status, outcome.operation) == ("UPLOADED", "add")
    [call] = world.jumio.calls
    assert (call.operation, call.content, call.checked_beside) == ("add_part", LARGE, True)
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.format, part.width) == (PartStatus.UPLOADED, "JPEG", 2400)


def test_a_capture_below_the_threshold_is_checked_whole_before_the_upload(world, captures):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), JUST_SMALL)

    captures.process(front)

    [call] = world.jumio.calls
    assert (call.operation, call.checked_beside) == ("add_part", False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(images.corrupt_late(LARGE), id="corrupt-late"),
        pytest.param(LARGE[: len(LARGE) * 19 // 20], id="truncated"),
    ],
)
def test_a_large_capture_that_fails_its_pixel_check_is_rejected_and_lands_nowhere(
    world, captures, body
):
    world.register()
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), body)

    outcome = captures.process(front)

    assert (outcome.status, outcome.reason) == ("REJECTED", "CORRUPT_IMAGE")
    [call] = world.jumio.calls
    assert (call.operation, call.checked_beside, call.failed) == (
        "add_part",
        True,
        "CaptureRejected",
    )
    assert world.jumio.succeeded() == []  # cut short, and never reconciled by an update
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.reason) == (PartStatus.REJECTED, "CORRUPT_IMAGE")
    item = world.ledger.part_item(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert "truncated or corrupt" in item["message"]
    assert rejection_tag(world, front) == "CORRUPT_IMAGE"
    assert world.metrics.total("CaptureRejected", reason="CORRUPT_IMAGE") == 1
    assert world.ids.ref("ID", "FRONT") in world.ledger.get(world.ids.workflow).pending_parts


def test_a_large_retake_that_fails_its_pixel_check_keeps_the_landed_part(world, captures):
    world.register()
    key = world.ids.key("ID", "FRONT.jpg")
    landed = put_capture(world, key, LARGE)
    captures.process(landed)
    bad_retake = put_capture(world, key, images.corrupt_late(LARGE_RETAKE))

    outcome = captures.process(bad_retake)

    assert (outcome.status, outcome.reason) == ("REJECTED", "CORRUPT_IMAGE")
    assert [(c.operation, c.failed) for c in world.jumio.calls] == [
        ("add_part", None),
        ("update_part", "CaptureRejected"),
    ]
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.version_id) == (PartStatus.UPLOADED, landed.version_id)
    assert rejection_tag(world, bad_retake) == "CORRUPT_IMAGE"


def test_a_large_capture_breaking_a_header_rule_never_reaches_jumio(world, captures):
    world.register()
    too_wide = images.jpeg_of_size(CHECK_BESIDE_UPLOAD_FROM_BYTES + 100, 8001, 400)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), too_wide)

    outcome = captures.process(front)

    assert (outcome.status, outcome.reason) == ("REJECTED", "TOO_MANY_PIXELS")
    assert world.jumio.calls == []


def test_a_large_document_page_is_checked_whole_before_any_upload(world, captures):
    world.register(("DOCUMENT",))
    page = put_capture(
        world, world.ids.key("DOCUMENT", "DOCUMENT/1.jpg"), images.corrupt_late(LARGE)
    )

    outcome = captures.process(page)

    assert (outcome.status, outcome.reason) == ("REJECTED", "CORRUPT_IMAGE")
    assert world.jumio.calls == []


# --- rejected: the session ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (SessionStatus.FINALIZING, "SESSION_FINALIZED"),
        (SessionStatus.FINALIZED, "SESSION_FINALIZED"),
        (SessionStatus.FAILED, "SESSION_FINALIZED"),
        (SessionStatus.EXPIRED, "TOKEN_EXPIRED"),
    ],
)
def test_a_capture_for_a_closed_session_is_rejected_without_calling_jumio(
    world, captures, status, reason
):
    world.register()
    world.end(status)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    outcome = captures.process(front)

    assert outcome.reason == reason
    assert world.jumio.calls == []
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.reason) == (PartStatus.REJECTED, reason)
    assert rejection_tag(world, front) == reason


def test_a_capture_for_an_erased_session_is_handed_back_for_deletion_and_written_nowhere(
    world, captures
):
    world.register()
    world.end(SessionStatus.DELETED)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    with pytest.raises(SessionDeleted):
        captures.process(front)

    assert world.ledger.parts(world.ids.workflow) == []
    assert rejection_tag(world, front) is None  # the caller deletes it (LateCaptures)
    assert world.jumio.calls == []


def test_a_key_spelling_the_ids_in_upper_case_is_delivered_and_remembered_for_erasure(
    world, captures
):
    world.register()
    canonical = world.ids.key("ID", "FRONT.jpg")
    upper = canonical.replace(world.ids.workflow, world.ids.workflow.upper())
    front = put_capture(world, upper, FRONT)

    outcome = captures.process(front)

    assert outcome.status == "UPLOADED"
    record = world.ledger.get(world.ids.workflow)
    assert record.other_capture_keys == {upper}
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.key) == (PartStatus.UPLOADED, upper)


def test_a_capture_after_the_token_expired_is_rejected_without_calling_jumio(world, captures):
    session = world.register()
    world.clock.now = session.token_expires_at
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    outcome = captures.process(front)

    assert outcome.reason == "TOKEN_EXPIRED"
    assert world.jumio.calls == []
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert part.reason == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("BACK.jpg", id="a part the credential does not have"),
        pytest.param("FRONT.jpg", id="a web-only credential (no api parts)"),
    ],
)
def test_a_part_the_session_cannot_take_is_rejected_as_unknown(world, captures, name):
    world.register(("SELFIE", "FACEMAP"))
    category = "SELFIE" if name == "BACK.jpg" else "FACEMAP"
    capture = put_capture(world, world.ids.key(category, name), FRONT)

    outcome = captures.process(capture)

    assert outcome.reason == "UNKNOWN_PART"
    classifier = name.split(".")[0]
    part = world.ledger.get_part(world.ids.workflow, world.ids.part(category, classifier))
    assert (part.status, part.reason) == (PartStatus.REJECTED, "UNKNOWN_PART")
    assert world.jumio.calls == []


def test_a_capture_before_its_session_is_raised_to_wait_and_leaves_no_trace(world, captures):
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    with pytest.raises(SessionNotRegistered):
        captures.process(front)

    assert world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT")) is None
    assert world.ledger.unmatched() == {}
    assert rejection_tag(world, front) is None
    assert world.metrics.counts == []


# --- rejected: keys that name no part ------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("uploads/selfie.jpg", "KEY_OUTSIDE_LAYOUT"),
        ("captures/not-a-uuid/{cred}/FRONT.jpg", "INVALID_ID"),
        ("captures/{wf}/{cred}/SIDE.jpg", "UNKNOWN_CLASSIFIER"),
        ("captures/{wf}/{cred}/FRONT.gif", "UNSUPPORTED_EXTENSION"),
        ("captures/{wf}/{cred}/DOCUMENT/31.pdf", "INVALID_PAGE"),
    ],
)
def test_a_key_outside_the_layout_is_recorded_as_unmatched_with_an_expiry(
    world, captures, key, reason
):
    world.register()
    key = key.format(wf=world.ids.workflow, cred=world.ids.id_credential)
    capture = put_capture(world, key, FRONT)

    outcome = captures.process(capture)

    assert outcome.reason == reason
    name = f"{key_digest(key)}#{capture.version_id}"
    unmatched = world.ledger.unmatched()
    assert list(unmatched) == [name]
    assert unmatched[name]["reason"] == reason
    assert unmatched[name]["expiresAt"] == int(world.clock()) + 30 * 86400
    assert rejection_tag(world, capture) == reason
    assert world.ledger.parts(world.ids.workflow) == []


def test_the_same_unmatched_version_twice_is_one_record(world, captures):
    capture = put_capture(world, "uploads/selfie.jpg", FRONT)

    captures.process(capture)
    captures.process(capture)

    assert len(world.ledger.unmatched()) == 1
    assert world.metrics.total("CaptureRejected", reason="KEY_OUTSIDE_LAYOUT") == 2


# --- Jumio's answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (jumio_auth_error(401), "TOKEN_EXPIRED"),
        (jumio_auth_error(403), "JUMIO_FORBIDDEN"),
        # Jumio documents no error codes (and its detail is never kept): a refusal is its status.
        (jumio_refusal(409), "JUMIO_REJECTED"),
        (jumio_refusal(400), "JUMIO_REJECTED"),
        (jumio_not_found(), "JUMIO_NOT_FOUND"),
        (jumio_rejected(400), "JUMIO_REJECTED"),
        (jumio_rejected(422, title="Unprocessable Entity"), "JUMIO_REJECTED"),
    ],
)
def test_a_permanent_refusal_by_jumio_is_a_rejection_with_its_reason(
    world, captures, error, reason
):
    world.register()
    world.jumio.fail("add_part", error)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    outcome = captures.process(front)

    assert (outcome.status, outcome.reason) == ("REJECTED", reason)
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.status, part.reason) == (PartStatus.REJECTED, reason)
    assert rejection_tag(world, front) == reason
    assert world.metrics.total("CaptureRejected", reason=reason) == 1
    assert world.metrics.total("PartUploaded") == 0


@pytest.mark.parametrize(("status", "reason"), ENDED_EXECUTION_REASONS)
@pytest.mark.parametrize("error", UNEXPLAINED_REFUSALS)
def test_a_refusal_is_named_by_the_workflow_status_when_it_shows_the_execution_ended(
    world, captures, error, status, reason
):
    """Jumio may answer an ended execution with any of these statuses: its status says why."""
    world.register()
    world.status.statuses[world.ids.workflow] = status
    world.jumio.fail("add_part", error)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    outcome = captures.process(front)

    assert (outcome.status, outcome.reason) == ("REJECTED", reason)
    part = world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT"))
    assert (part.reason, rejection_tag(world, front)) == (reason, reason)
    assert [call.operation for call in world.status.calls] == ["status"]


def test_a_refusal_keeps_its_http_name_when_the_status_cannot_be_read(world, captures):
    world.register()
    world.status.fail("status", jumio_unavailable())
    world.jumio.fail("add_part", jumio_auth_error(403))
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), FRONT)

    assert captures.process(front).reason == "JUMIO_FORBIDDEN"
    assert [call.operation for call in world.status.calls] == ["status"]


@pytest.mark.parametrize("error", [jumio_unavailable(), jumio_throttled(retry_after=30)])
def test_a_transient_jumio_failure_is_raised_and_recorded_nowhere(world, captures, error):
    world.register()
    world.jumio.fail("add_part", error)
    front = put_capture(world, world.ids.key("ID", "FRONT.jpg"), front_body := FRONT)

    with pytest.raises((JumioUnavailable, JumioThrottled)) as raised:
        captures.process(front)

    assert isinstance(raised.value, JumioError)
    assert world.ledger.get_part(world.ids.workflow, world.ids.part("ID", "FRONT")) is None
    assert rejection_tag(world, front) is None
    assert world.metrics.counts == []
    # The retry delivers the same version.
    assert captures.process(front).status == "UPLOADED"
    assert world.jumio.succeeded()[0].content == front_body
