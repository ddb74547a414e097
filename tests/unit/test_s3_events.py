"""S3 notifications as real S3 writes them (versionId present), not only as moto does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jumio_pipeline.adapters.idempotency import CAPTURE_KEY_PREFIX, idempotency_record_id
from jumio_pipeline.adapters.s3_notifications import parse_notification
from jumio_pipeline.domain.errors import InvalidMessage

ROOT = Path(__file__).resolve().parents[2]


def _aws_body() -> dict:
    """The sample event's S3 notification: the shape real S3 sends, versionId included."""
    event = json.loads((ROOT / "events" / "add_part_front.json").read_text())
    return json.loads(event["Records"][0]["body"])


def test_a_real_s3_record_is_identified_by_its_version_id_not_its_etag():
    body = _aws_body()
    record = body["Records"][0]["s3"]["object"]
    record["key"] = record["key"].replace("/", "%2F")  # S3 URL-encodes keys in events
    record["versionId"] = "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    record["eTag"] = "0123456789abcdef0123456789abcdef"

    [capture] = parse_notification(json.dumps(body)).captures

    assert capture.version_id == "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    assert capture.version_label == "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    assert "%2F" not in capture.key
    assert capture.idempotency_payload() == {
        "bucket": body["Records"][0]["s3"]["bucket"]["name"],
        "key": capture.key,
        "versionId": "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY",
    }


def test_two_versions_of_one_key_are_two_captures_for_idempotency():
    body = _aws_body()
    ids = set()
    for version in ("v1", "v2"):
        body["Records"][0]["s3"]["object"]["versionId"] = version
        [capture] = parse_notification(json.dumps(body)).captures
        ids.add(
            idempotency_record_id(
                CAPTURE_KEY_PREFIX, [capture.bucket, capture.key, capture.version_label]
            )
        )
    assert len(ids) == 2


def test_the_s3_test_event_carries_no_capture():
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})
    notification = parse_notification(body)
    assert notification.is_test_event
    assert notification.captures == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "INVALID_JSON"),
        ("[]", "INVALID_S3_EVENT"),
        ('{"Records": []}', "INVALID_S3_EVENT"),
    ],
)
def test_bodies_that_are_no_s3_notification_are_named(body, reason):
    with pytest.raises(InvalidMessage) as caught:
        parse_notification(body)
    assert caught.value.reason == reason
