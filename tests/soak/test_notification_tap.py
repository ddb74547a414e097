"""The second copy of an S3 notification is the very message S3 (moto) put on the queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.s3 import notifications

from tests.soak.notification_tap import NotificationTap, NotificationTapError, check_names_object
from tests.support.images import make_jpeg

BUCKET = "captures"
KEY = "captures/wf 1/cred/FRONT.jpg"  # a space: S3 encodes keys in notifications


@pytest.fixture
def bucket_notifying_a_queue() -> Iterator[tuple[Any, Any, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        url = sqs.create_queue(QueueName="capture-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent
        yield s3, sqs, url


def _bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return [message["Body"] for message in messages]


def test_the_copy_is_identical_to_the_notification_on_the_queue(bucket_notifying_a_queue) -> None:
    s3, sqs, url = bucket_notifying_a_queue
    body = make_jpeg(400, 300)

    with NotificationTap() as tap:
        response = s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
        copy = tap.take(BUCKET, KEY)

    assert _bodies(sqs, url) == [copy]
    check_names_object(
        copy, etag=response["ETag"], size=len(body), version_id=response.get("VersionId")
    )
    assert json.loads(copy)["Records"][0]["eventName"] == "ObjectCreated:Put"


def test_each_put_yields_its_own_copy_once(bucket_notifying_a_queue) -> None:
    s3, _, _ = bucket_notifying_a_queue

    with NotificationTap() as tap:
        first = s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_jpeg(400, 300))
        second = s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_jpeg(500, 300))
        copies = [tap.take(BUCKET, KEY), tap.take(BUCKET, KEY)]
        with pytest.raises(NotificationTapError):
            tap.take(BUCKET, KEY)

    etags = [json.loads(c)["Records"][0]["s3"]["object"]["eTag"] for c in copies]
    assert etags == [first["ETag"].strip('"'), second["ETag"].strip('"')]


def test_the_tap_is_removed_on_exit() -> None:
    original = notifications._send_sqs_message

    with NotificationTap():
        assert notifications._send_sqs_message is not original

    assert notifications._send_sqs_message is original


def test_a_copy_naming_another_object_is_refused() -> None:
    copy = json.dumps({"Records": [{"s3": {"object": {"key": "k", "size": 10, "eTag": "abc"}}}]})

    check_names_object(copy, etag='"abc"', size=10, version_id="v1")
    with pytest.raises(NotificationTapError, match="eTag"):
        check_names_object(copy, etag='"abd"', size=10, version_id="v1")
    with pytest.raises(NotificationTapError, match="size"):
        check_names_object(copy, etag='"abc"', size=11, version_id="v1")
