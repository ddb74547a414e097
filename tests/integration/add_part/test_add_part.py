"""add_part end to end: real S3 PutObject → moto's notification → SQS → handler → simulator.

Every outcome of issue 3 point 4 is checked where it is recorded: the simulator's state (what
reached Jumio), the ledger part item, the object version's tag and the DLQ.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from jumio_pipeline.adapters.idempotency import CAPTURE_KEY_PREFIX, idempotency_record_id
from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.domain.image_validation import MAX_BYTES
from jumio_pipeline.domain.registration import parse_registration
from tests.integration.add_part.conftest import Captures, capture_key, credential_of
from tests.integration.session_support import invoke_queued_as_one_batch
from tests.support import images

WRONG_UUID = "00000000-0000-4000-8000-000000000000"


def _sort_key(session, category: str, suffix: str) -> str:
    return f"PART#{credential_of(session, category)}#{suffix}"


def test_front_back_and_face_land_and_the_ledger_tracks_what_is_pending(captures: Captures):
    session = captures.register(10013)
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))
    captures.put(capture_key(session, "ID", "BACK.png"), images.make_png(1000, 640))
    captures.put(capture_key(session, "SELFIE", "FACE.jpeg"), images.make_jpeg(480, 640))

    report = captures.drain()

    assert report.failed_records == 0
    id_parts = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]
    face = captures.jumio_parts(session, credential_of(session, "SELFIE"))["parts"]["FACE"]
    assert (id_parts["FRONT"]["adds"], id_parts["BACK"]["adds"], face["adds"]) == (1, 1, 1)
    front = captures.part(session, _sort_key(session, "ID", "FRONT"))
    assert (front["status"], front["format"], front["width"], front["height"]) == (
        "UPLOADED",
        "JPEG",
        1200,
        800,
    )
    assert captures.part(session, _sort_key(session, "ID", "BACK"))["format"] == "PNG"
    pending = captures.ledger.get(session.workflow_execution_id).pending_parts
    assert pending == {f"{credential_of(session, 'DATA')}/PREPARED_DATA"}


def test_document_pages_land_one_page_per_object(captures: Captures):
    session = captures.register(10026)
    captures.put(capture_key(session, "DOCUMENT", "DOCUMENT/1.jpg"), images.make_jpeg(1240, 1754))
    captures.put(capture_key(session, "DOCUMENT", "DOCUMENT/2.pdf"), images.make_pdf(1))

    captures.drain()

    assert captures.jumio_parts(session, credential_of(session, "DOCUMENT"))["pages"] == 2
    page_two = captures.part(session, _sort_key(session, "DOCUMENT", "DOCUMENT#2"))
    assert (page_two["status"], page_two["format"]) == ("UPLOADED", "PDF")
    assert captures.ledger.get(session.workflow_execution_id).pending_parts == frozenset()


def test_a_duplicated_notification_uploads_once(captures: Captures):
    session = captures.register()
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))
    captures.send(captures.take_event_body())  # S3 delivered the same event twice

    report = captures.drain()

    assert report.failed_records == 0
    front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert (front["adds"], front["updates"], front["count"]) == (1, 0, 1)
    assert [r["route"] for r in captures.simulator.admin.requests()].count("add_part") == 1
    records = captures.idempotency_table.scan()["Items"]
    assert len(records) == 1  # keyed on (bucket, key, versionId), not on the two message ids
    stored = json.loads(records[0]["data"])
    assert stored == {
        "status": "UPLOADED",
        "reason": None,
        "operation": "add",
        "allLanded": False,
        "completionSignalled": False,
    }


def test_a_retake_before_finalize_updates_the_part(captures: Captures):
    session = captures.register()
    key = capture_key(session, "ID", "FRONT.jpg")
    captures.put(key, images.make_jpeg(1200, 800))
    captures.drain()
    retake_version = captures.put(key, images.make_jpeg(1300, 900))

    captures.drain()

    front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert (front["adds"], front["updates"]) == (1, 1)
    item = captures.part(session, _sort_key(session, "ID", "FRONT"))
    assert (item["operation"], item["width"]) == ("update", 1300)
    assert captures.s3.head_object(Bucket=captures.bucket, Key=key)["VersionId"] == retake_version


def test_the_s3_test_event_is_acknowledged_and_dropped(captures: Captures):
    captures.send(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": captures.bucket, "Time": "x"}
    )

    report = captures.drain()

    assert report.failed_records == 0
    assert report.deleted >= 1
    assert captures.queue_counts() == {"Messages": 0, "MessagesNotVisible": 0, "MessagesDelayed": 0}
    assert captures.dlq_messages() == []
    assert captures.simulator.admin.requests() == []


def test_a_capture_before_its_session_waits_and_lands_after_registration(captures: Captures):
    account = captures.simulator.create_account(10013)
    from jumio_pipeline.domain.registration import parse_registration

    session = parse_registration(account)
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))

    captures.drain(until_empty=False, max_rounds=1)

    assert captures.queue_counts()["MessagesDelayed"] == 1  # requeued with a delay, not lost
    assert captures.part(session, _sort_key(session, "ID", "FRONT")) is None
    captures.ledger.register(session)
    captures.drain_until(lambda: captures.part(session, _sort_key(session, "ID", "FRONT")))
    front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert front["adds"] == 1
    assert captures.dlq_messages() == []


def test_a_capture_whose_session_never_comes_is_parked_with_the_reason(captures: Captures):
    session = parse_unregistered(captures)
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))
    body = json.loads(captures.take_event_body())
    captures.drain(until_empty=False, max_rounds=1)  # the fresh event is requeued
    old = datetime.now(UTC) - timedelta(hours=2)
    body["Records"][0]["eventTime"] = old.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    captures.send(body)  # the same capture, past CAPTURE_MAX_WAIT_SECONDS (3600 s)

    captures.drain(until_empty=False, max_rounds=1)

    parked = captures.dlq_messages()
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in parked] == [
        "SESSION_NOT_REGISTERED"
    ]


def parse_unregistered(captures: Captures):
    from jumio_pipeline.domain.registration import parse_registration

    return parse_registration(captures.simulator.create_account(10013))


@pytest.mark.parametrize("where", ["ledger", "jumio"])
def test_an_expired_token_rejects_the_capture(captures: Captures, where: str):
    session = captures.register(10013, token_lifetime="5m")
    if where == "ledger":  # the ledger already knows the token is past its lifetime
        captures.table.update_item(
            Key={"pk": session.workflow_execution_id, "sk": "SESSION"},
            UpdateExpression="SET tokenExpiresAt = :past",
            ExpressionAttributeValues={":past": 1},
        )
    else:  # the ledger thinks it valid, Jumio answers 401
        captures.simulator.admin.advance_clock(600)
    key = capture_key(session, "ID", "FRONT.jpg")
    version = captures.put(key, images.make_jpeg(1200, 800))

    captures.drain()

    item = captures.part(session, _sort_key(session, "ID", "FRONT"))
    assert (item["status"], item["reason"]) == ("REJECTED", "TOKEN_EXPIRED")
    assert captures.tag(key, version) == {"rejection-reason": "TOKEN_EXPIRED"}
    front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert front["count"] == 0


@pytest.mark.parametrize(
    "script", [["429", "429"], ["drop"], ["503"]], ids=["throttled", "lost", "unavailable"]
)
def test_transient_failures_are_retried_and_the_part_lands_once(captures: Captures, script):
    """429 (nothing done) repeats the POST; a lost answer or a 5xx is settled by a PUT."""
    session = captures.register()
    captures.simulator.admin.set_faults({"script": {"add_part": script}})
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))

    captures.drain()

    front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert front["count"] == 1
    assert front["adds"] <= 1  # never a second add that took effect
    posts = [r["status"] for r in captures.simulator.admin.requests() if r["route"] == "add_part"]
    if script[0] == "429":
        assert posts == [429, 429, 200]  # documented as nothing done: the POST is repeated
    elif script[0] == "drop":
        assert posts == [None]  # applied, answer lost: the PUT settled it
    else:
        # The 503 did nothing here; the PUT places the part, or, where the seed refuses an
        # update of a part never added, the message comes back and is added then.
        assert posts[0] == 503
        assert len(posts) <= 2
    item = captures.part(session, _sort_key(session, "ID", "FRONT"))
    assert item["status"] == "UPLOADED"


def test_jumio_unavailable_is_a_batch_item_failure_that_idempotency_does_not_block(
    captures: Captures,
):
    session = captures.register()
    # The add's 503 is uncertain, so an update follows: Jumio is down for both.
    captures.simulator.admin.set_faults(
        {"script": {"add_part": ["503"] * 10, "update_part": ["503"] * 10}}
    )
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))

    report = captures.drain(until_empty=False, max_rounds=1)

    assert report.failed_records == 1
    assert captures.queue_counts()["MessagesNotVisible"] == 1  # back after a short backoff
    assert captures.idempotency_table.scan()["Items"] == []  # the retry will not be refused
    assert captures.part(session, _sort_key(session, "ID", "FRONT")) is None

    # Back within seconds (the test stack's backoff), not after the queue's 720 s visibility.
    captures.simulator.admin.set_faults({})
    captures.drain_until(lambda: captures.part(session, _sort_key(session, "ID", "FRONT")))
    assert captures.dlq_messages() == []


REJECTIONS = {
    # case: (file name under the ID credential, bytes, expected reason)
    "not-an-image": ("FRONT.jpg", images.not_an_image, "NOT_AN_IMAGE"),
    "gif": ("FRONT.jpg", lambda: images.make_gif(640, 480), "UNSUPPORTED_FORMAT"),
    "webp": ("FRONT.jpg", lambda: images.make_webp(640, 480), "UNSUPPORTED_FORMAT"),
    "bmp": ("FRONT.jpg", lambda: images.make_bmp(640, 480), "UNSUPPORTED_FORMAT"),
    "tiff": ("FRONT.jpg", lambda: images.make_tiff(640, 480), "UNSUPPORTED_FORMAT"),
    "heic": ("FRONT.jpg", images.make_heic_like, "UNSUPPORTED_FORMAT"),
    "truncated-jpeg": ("FRONT.jpg", images.truncated_jpeg, "CORRUPT_IMAGE"),
    "png-bad-crc": ("BACK.png", images.png_with_bad_crc, "CORRUPT_IMAGE"),
    "zero-bytes": ("FRONT.jpg", lambda: b"", "EMPTY_FILE"),
    "15MB+1": ("FRONT.jpg", lambda: b"\xff\xd8\xff" + bytes(MAX_BYTES - 2), "TOO_LARGE"),
    "8001px": ("FRONT.jpg", lambda: images.make_jpeg(8001, 400), "TOO_MANY_PIXELS"),
    "300x300": ("FRONT.jpg", lambda: images.make_jpeg(300, 300), "TOO_SMALL"),
    "bomb": ("BACK.png", images.decompression_bomb_png, "DECOMPRESSION_BOMB"),
    "pdf-as-front": ("FRONT.jpg", images.make_pdf, "PDF_NOT_ALLOWED"),
}


def test_every_invalid_capture_is_rejected_with_its_own_reason(captures: Captures):
    """All cases in one stack (one session each, drained together): each outcome recorded."""
    placed = {}
    for case, (name, make, _) in REJECTIONS.items():
        session = captures.register()
        key = capture_key(session, "ID", name)
        placed[case] = (session, name, key, captures.put(key, make()))

    report = captures.drain()

    outcomes = {}
    for case, (session, name, key, version) in placed.items():
        item = captures.part(session, _sort_key(session, "ID", name.split(".")[0])) or {}
        outcomes[case] = (
            item.get("status"),
            item.get("reason"),
            captures.tag(key, version).get("rejection-reason"),
            bool(item.get("message")) and item.get("versionId") == version,
        )
    expected = {case: ("REJECTED", r, r, True) for case, (_, _, r) in REJECTIONS.items()}
    assert outcomes == expected
    assert report.failed_records == 0
    assert captures.simulator.admin.requests() == []  # nothing was sent to Jumio
    assert captures.dlq_messages() == []


@pytest.mark.parametrize(
    ("make_key", "reason"),
    [
        (lambda s, c: f"captures/{s}/{c}/FRONT/extra/1.jpg", "KEY_OUTSIDE_LAYOUT"),
        (lambda s, c: f"captures/{s}/{c}/SIDE.jpg", "UNKNOWN_CLASSIFIER"),
        (lambda s, c: f"captures/not-a-uuid/{c}/FRONT.jpg", "INVALID_ID"),
    ],
    ids=["outside-layout", "unknown-classifier", "not-uuids"],
)
def test_a_key_that_names_no_part_is_tagged_and_recorded_as_unmatched(
    captures: Captures, make_key, reason
):
    session = captures.register()
    key = make_key(session.workflow_execution_id, credential_of(session, "ID"))
    version = captures.put(key, images.make_jpeg(1200, 800))

    captures.drain()

    assert captures.tag(key, version) == {"rejection-reason": reason}
    unmatched = _unmatched_items(captures)
    assert [(i["reason"], i["key"], i["bucket"]) for i in unmatched] == [
        (reason, key, captures.bucket)
    ]
    assert unmatched[0]["message"]
    assert "expiresAt" in unmatched[0]
    assert captures.simulator.admin.requests() == []


def _unmatched_items(captures: Captures) -> list[dict]:
    return captures.table.query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "UNMATCHED"}
    )["Items"]


@pytest.mark.parametrize("case", ["unknown-credential", "finalized"])
def test_a_part_the_session_cannot_take_is_rejected(captures: Captures, case: str):
    session = captures.register()
    if case == "finalized":
        captures.ledger.mark_finalizing(session.workflow_execution_id)
        credential, reason = credential_of(session, "ID"), "SESSION_FINALIZED"
    else:
        credential, reason = WRONG_UUID, "UNKNOWN_PART"
    key = f"captures/{session.workflow_execution_id}/{credential}/FRONT.jpg"
    version = captures.put(key, images.make_jpeg(1200, 800))

    captures.drain()

    item = captures.part(session, f"PART#{credential}#FRONT")
    assert (item["status"], item["reason"]) == ("REJECTED", reason)
    assert captures.tag(key, version) == {"rejection-reason": reason}
    assert captures.simulator.admin.requests() == []


def test_a_part_refused_because_jumio_finalized_the_session_is_named_by_its_status(
    captures: Captures,
):
    """The ledger still says REGISTERED (finalized elsewhere): Jumio's refusal, whatever status
    the seed gives it (400, 403, 404 or 409), is named by the workflow status."""
    seeds: dict[int, int] = {}  # refusal status -> a seed that answers with it
    for seed in range(64):
        config = captures.simulator.admin.set_config({"seed": seed})
        seeds.setdefault(config["undocumented"]["conflictStatus"]["NOT_ACTIVE"], seed)
    assert len(seeds) >= 2, "the seeds should vary how an ended execution is answered"
    for status, seed in sorted(seeds.items()):
        captures.simulator.admin.set_config({"seed": seed})
        session = captures.register()
        credential = session.credential(credential_of(session, "ID"))
        CredentialsClient(JumioHttp(JumioSettings(base_url=captures.simulator.base_url))).finalize(
            credential.workflow_execution_href, credential.token
        )
        key = capture_key(session, "ID", "FRONT.jpg")
        version = captures.put(key, images.make_jpeg(1200, 800))
        captures.drain()

        item = captures.part(session, _sort_key(session, "ID", "FRONT"))
        assert (item["status"], item["reason"]) == ("REJECTED", "SESSION_FINALIZED"), status
        assert captures.tag(key, version) == {"rejection-reason": "SESSION_FINALIZED"}


def test_one_bad_record_does_not_fail_the_good_ones_in_its_batch(captures: Captures, capsys):
    session = captures.register()
    bad_key = capture_key(session, "ID", "BACK.jpg")
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))
    captures.put(bad_key, images.truncated_jpeg())
    captures.put(capture_key(session, "SELFIE", "FACE.jpg"), images.make_jpeg(480, 640))

    # One batch, built from the three notifications S3 queued: the bad one and its neighbours.
    answer = invoke_queued_as_one_batch(captures.stack, "AddPartFunction", "CaptureEventsQueue", 3)

    assert answer == {"batchItemFailures": []}  # nothing failed
    id_parts = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]
    assert (id_parts["FRONT"]["adds"], id_parts["BACK"]["adds"]) == (1, 0)
    assert captures.part(session, _sort_key(session, "ID", "BACK"))["reason"] == "CORRUPT_IMAGE"
    face = captures.jumio_parts(session, credential_of(session, "SELFIE"))["parts"]["FACE"]
    assert face["adds"] == 1
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    rejected = [m for m in emitted if "CaptureRejected" in m]
    assert [(m["reason"], m["CaptureRejected"]) for m in rejected] == [("CORRUPT_IMAGE", [1.0])]


@pytest.mark.parametrize(
    ("retake", "reason"),
    [
        (lambda: images.make_gif(1200, 800), "UNSUPPORTED_FORMAT"),
        (lambda: images.make_jpeg(1300, 900), "SESSION_FINALIZED"),
    ],
    ids=["bad-bytes", "after-finalize"],
)
def test_a_refused_version_of_a_landed_part_is_recorded_beside_it_never_in_its_place(
    captures: Captures, retake, reason: str
):
    session = captures.register()
    key = capture_key(session, "ID", "FRONT.jpg")
    landed_version = captures.put(key, images.make_jpeg(1200, 800))
    captures.drain()
    if reason == "SESSION_FINALIZED":
        captures.ledger.mark_finalizing(session.workflow_execution_id)

    refused_version = captures.put(key, retake())
    captures.drain()

    front = captures.part(session, _sort_key(session, "ID", "FRONT"))
    assert (front["status"], front["versionId"]) == ("UPLOADED", landed_version)
    assert front["lastRejection"]["reason"] == reason
    # Which version was refused: its versionId when the notification or read told it (AWS),
    # else its eTag (moto's notifications carry no versionId).
    refused = captures.s3.head_object(Bucket=captures.bucket, Key=key, VersionId=refused_version)
    rejection = front["lastRejection"]
    assert rejection.get("versionId") == refused_version or (
        rejection["eTag"].strip('"') == refused["ETag"].strip('"')
    )
    assert captures.tag(key, refused_version) == {"rejection-reason": reason}
    assert captures.tag(key, landed_version) == {}
    jumio_front = captures.jumio_parts(session, credential_of(session, "ID"))["parts"]["FRONT"]
    assert (jumio_front["adds"], jumio_front["updates"]) == (1, 0)


def test_a_duplicate_notification_meeting_its_twin_in_progress_comes_back_within_seconds(
    captures: Captures,
):
    session = captures.register()
    key = capture_key(session, "ID", "FRONT.jpg")
    captures.put(key, images.make_jpeg(1200, 800))
    etag = captures.s3.head_object(Bucket=captures.bucket, Key=key)["ETag"].strip('"')
    twin = idempotency_record_id(CAPTURE_KEY_PREFIX, [captures.bucket, key, f"etag:{etag}"])
    in_an_hour = int(time.time()) + 3600
    captures.idempotency_table.put_item(  # the copy another invocation is processing now
        Item={
            "id": twin,
            "status": "INPROGRESS",
            "expiration": in_an_hour,
            "in_progress_expiration": in_an_hour * 1000,
        }
    )

    report = captures.drain(until_empty=False, max_rounds=1)
    assert report.failed_records == 1
    captures.idempotency_table.delete_item(Key={"id": twin})  # the twin gave up
    captures.drain_until(lambda: captures.part(session, _sort_key(session, "ID", "FRONT")))

    assert captures.dlq_messages() == []


def test_a_failure_nobody_classified_is_parked_as_internal_error_after_the_last_receive(
    captures: Captures,
):
    response = captures.simulator.create_account(10013)
    for credential in response["workflowExecution"]["credentials"]:
        for name, href in (credential.get("api") or {}).get("parts", {}).items():
            # A stored href outside Jumio: the client refuses to send a token there.
            credential["api"]["parts"][name] = "https://elsewhere.example/" + href.split("/", 3)[3]
    session = parse_registration(response)
    captures.ledger.register(session)
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))

    captures.drain(max_rounds=200)

    [parked] = captures.dlq_messages()
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert (attributes["reason"], attributes["errorType"]) == ("INTERNAL_ERROR", "ValueError")
    assert "receive 10 of 10" in attributes["detail"]
    uploads = [r for r in captures.simulator.admin.requests() if r["route"] == "add_part"]
    assert uploads == []  # no token ever left for the foreign host


def test_a_notification_naming_a_bucket_that_does_not_exist_is_rejected_with_a_reason(
    captures: Captures,
):
    session = captures.register()
    captures.put(capture_key(session, "ID", "FRONT.jpg"), images.make_jpeg(1200, 800))
    body = json.loads(captures.take_event_body())
    captures.drain()
    body["Records"][0]["s3"]["bucket"]["name"] = "no-such-bucket-anywhere"
    body["Records"][0]["s3"]["object"]["key"] = capture_key(session, "ID", "BACK.jpg")
    captures.send(body)

    captures.drain()

    back = captures.part(session, _sort_key(session, "ID", "BACK"))
    assert (back["status"], back["reason"]) == ("REJECTED", "OBJECT_NOT_FOUND")
    assert captures.dlq_messages() == []
