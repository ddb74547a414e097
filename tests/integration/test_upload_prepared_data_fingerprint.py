"""The prepared-data fingerprint is keyed by the PreparedDataHashKey secret, and needs it.

Why these tests: a plain sha256 of a small payload can be brute-forced back to the value, so
the ledger and the idempotency table must hold an HMAC under a secret key. These tests drive
the real path (template.yaml in moto, the generated secret, the poller, the real handler, the
simulator) and show that the stored fingerprint is the HMAC under the provisioned key, that a
new key gives new fingerprints, and that an unreadable key fails the record (retried, never a
silent fallback) while nothing is sent to Jumio or recorded.
"""

from __future__ import annotations

import hashlib
import string

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from jumio_pipeline.domain.prepared_data import canonical_json
from tests.conftest import TEMPLATE, store_tenant_credentials
from tests.integration.test_upload_prepared_data import (
    FAST_JUMIO,
    FUNCTION,
    MINIMAL_DATA,
    Rig,
    message,
)
from tests.support.prepared_data import FULL_DATA

MISSING_SECRET_ARN = (
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prepared-data-hash-key-missing-QxQxQx"
)


def _provision(simulator, **env: str):
    """template.yaml in moto with short Jumio and retry backoffs."""
    from local_cloud.provisioner import provision

    provisioned = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "LogLevel": "DEBUG"},
        env={**FAST_JUMIO, **env},
    )
    boto3.client("sqs").set_queue_attributes(
        QueueUrl=provisioned.physical("PreparedDataQueue"), Attributes={"VisibilityTimeout": "30"}
    )
    # Jumio's workflow status names a final refusal: read with the tenant's credentials.
    store_tenant_credentials(provisioned, simulator)
    return provisioned


@pytest.fixture
def stack(aws, simulator):
    return _provision(simulator)


@pytest.fixture
def rig(stack, poller, simulator) -> Rig:
    return Rig(stack=stack, poller=poller, simulator=simulator)


@pytest.fixture(autouse=True)
def fresh_secret_cache():
    """Powertools caches secrets per process for max_age: each test starts and ends cold."""
    parameters.clear_caches()
    yield
    parameters.clear_caches()


def test_provisioned_key_is_64_generated_alphanumerics(rig: Rig) -> None:
    key = rig.hash_key()
    assert len(key) == 64
    assert set(key) <= set(string.ascii_letters + string.digits)


def test_fingerprint_is_the_hmac_under_the_secret_not_a_plain_hash(rig: Rig) -> None:
    session = rig.register()
    rig.deliver(message(session, MINIMAL_DATA))

    part = rig.part(session)
    plain = hashlib.sha256(canonical_json(MINIMAL_DATA)).hexdigest()
    assert part["status"] == "UPLOADED"
    assert part["fingerprint"] == rig.fingerprint(MINIMAL_DATA)
    assert part["fingerprint"] != plain
    [item] = rig.idempotency.scan()["Items"]
    assert plain not in str(item)
    assert part["fingerprint"] in item["data"]


def test_a_new_key_gives_a_new_fingerprint_and_one_more_upload(rig: Rig) -> None:
    """What a rotation does: same data is uploaded once more, then recognised again."""
    session = rig.register()
    rig.deliver(message(session, FULL_DATA))
    before = rig.part(session)["fingerprint"]

    rig.secrets.put_secret_value(
        SecretId=rig.stack.physical("PreparedDataHashKey"), SecretString="R0tated" * 10
    )
    parameters.clear_caches()  # what max_age=300 does by itself in a warm Lambda
    rig.deliver(message(session, FULL_DATA))
    rig.deliver(message(session, FULL_DATA))

    after = rig.part(session)["fingerprint"]
    assert after != before
    assert after == rig.fingerprint(FULL_DATA)
    assert len(rig.uploads()) == 2
    assert rig.jumio_data(session) == FULL_DATA
    assert rig.dlq() == []


def test_unreadable_key_fails_the_record_until_it_is_readable_again(rig: Rig) -> None:
    """Secret scheduled for deletion: a batch item failure, nothing sent or recorded; retried.

    Invalid data in the same batch is still parked at once: its fingerprint is never needed.
    """
    session, other = rig.register(), rig.register()
    secret_arn = rig.stack.physical("PreparedDataHashKey")
    rig.secrets.delete_secret(SecretId=secret_arn, RecoveryWindowInDays=7)
    rig.send(message(session, FULL_DATA))
    rig.send(message(other, {"sex": "Q"}))
    report = rig.poller.drain(FUNCTION, max_rounds=1, until_empty=False)

    assert report.failed_records == 1
    assert rig.uploads() == []
    assert rig.part(session) is None
    assert rig.idempotency.scan()["Items"] == []
    [parked] = rig.dlq()
    assert (parked["reason"], parked["field"]) == ("INVALID_PREPARED_DATA", "data.sex")

    rig.secrets.restore_secret(SecretId=secret_arn)
    rig.drain()

    assert len(rig.uploads()) == 1
    assert rig.part(session)["fingerprint"] == rig.fingerprint(FULL_DATA)
    assert rig.queue_is_empty()


def test_key_arn_naming_no_secret_ends_in_the_dlq_with_nothing_recorded(aws, simulator) -> None:
    """A misconfigured ARN never falls back to a plain hash: retried, then parked with why."""
    from local_cloud.poller import EventSourcePoller

    stack = _provision(simulator, PREPARED_DATA_HASH_KEY_ARN=MISSING_SECRET_ARN)
    rig = Rig(stack=stack, poller=EventSourcePoller(stack), simulator=simulator)
    session = rig.register()
    rig.deliver(message(session, MINIMAL_DATA))

    [parked] = rig.dlq()
    assert session.workflow_execution_id in parked["body"]
    # Parked by the function on the queue's last receive, with a reason, not SQS's redrive.
    assert (parked["reason"], parked["errorType"]) == (
        "RETRIES_EXHAUSTED",
        "FingerprintKeyUnavailable",
    )
    assert "receive 10 of 10" in parked["detail"]
    assert rig.uploads() == []
    assert rig.part(session) is None
    assert rig.idempotency.scan()["Items"] == []
