"""Every failure of a queue-driven function is classified: parked now, or retried soon.

The policy (jumio_pipeline.handlers.failures) with recording stand-ins for the DLQ and the
visibility change: what is parked with which reason, when a record comes back, and that the
last receive never leaves a message to SQS's reasonless redrive.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore.exceptions import ClientError, EndpointConnectionError

from jumio_pipeline.domain.errors import (
    FingerprintKeyUnavailable,
    InvalidMessage,
    JumioAuthError,
    JumioThrottled,
    JumioUnavailable,
    StartInProgress,
    StartOutcomeUnknown,
)
from jumio_pipeline.handlers.failures import Backoff, FailureHandling, Kind, classify
from jumio_pipeline.handlers.observability import observability
from jumio_pipeline.handlers.settings import FunctionSettings

MAX_RECEIVES = 5


class _DeadLetters:
    def __init__(self) -> None:
        self.parked: list[dict[str, Any]] = []

    def park(self, **message: Any) -> None:
        self.parked.append(message)


class _Retries:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def retry_after(self, receipt_handle: str, seconds: int) -> None:
        self.calls.append((receipt_handle, seconds))


def _record(receive_count: int) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "rh-1",
            "body": '{"a": 1}',
            "attributes": {"ApproximateReceiveCount": str(receive_count)},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
    )


@pytest.fixture
def policy() -> tuple[FailureHandling, _DeadLetters, _Retries]:
    settings = FunctionSettings.model_validate(
        {"POWERTOOLS_SERVICE_NAME": "policy-test", "LEDGER_TABLE": "t"}
    )
    dead_letters, retries = _DeadLetters(), _Retries()
    handling = FailureHandling(
        dead_letters=dead_letters,
        retries=retries,
        max_receive_count=MAX_RECEIVES,
        observed=observability(settings),
        backoff=Backoff(base=10, factor=3, cap=900),
        rng=random.Random(7),
    )
    return handling, dead_letters, retries


def _throttled_aws() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem")


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (InvalidMessage("INVALID_JSON", "not JSON"), Kind.PERMANENT, "INVALID_JSON"),
        (JumioAuthError("401", status=401), Kind.PERMANENT, "JUMIO_AUTH_ERROR"),
        (JumioUnavailable("503", status=503), Kind.TRANSIENT, "JUMIO_UNAVAILABLE"),
        (JumioThrottled("429", retry_after=30), Kind.TRANSIENT, "JUMIO_THROTTLED"),
        (IdempotencyAlreadyInProgressError("x"), Kind.TRANSIENT, "IN_PROGRESS"),
        (FingerprintKeyUnavailable("x"), Kind.TRANSIENT, "FINGERPRINT_KEY_UNAVAILABLE"),
        (_throttled_aws(), Kind.TRANSIENT, "AWS_UNAVAILABLE"),
        (EndpointConnectionError(endpoint_url="https://x"), Kind.TRANSIENT, "AWS_UNAVAILABLE"),
        (ValueError("href is not under JUMIO_BASE_URL"), Kind.UNEXPECTED, "INTERNAL_ERROR"),
        (KeyError("x"), Kind.UNEXPECTED, "INTERNAL_ERROR"),
    ],
)
def test_every_failure_has_a_kind_and_a_reason(error: Exception, kind: Kind, reason: str) -> None:
    failure = classify(error)
    assert (failure.kind, failure.reason) == (kind, reason)
    assert failure.error_type == type(error).__name__


def test_a_permanent_failure_is_parked_at_once_with_its_reason_and_field(policy) -> None:
    handling, dead_letters, retries = policy
    handling.handle(_record(1), InvalidMessage("INVALID_REGISTRATION", "bad", field="account"))
    [parked] = dead_letters.parked
    assert (parked["reason"], parked["field"]) == ("INVALID_REGISTRATION", "account")
    assert parked["body"] == '{"a": 1}'
    assert retries.calls == []


def test_a_transient_failure_comes_back_after_a_growing_backoff_not_the_visibility_timeout(
    policy,
) -> None:
    handling, dead_letters, retries = policy
    for receive in (1, 2, 3, 4):
        with pytest.raises(JumioUnavailable):
            handling.handle(_record(receive), JumioUnavailable("503"))
    delays = [seconds for _, seconds in retries.calls]
    ceilings = [10, 30, 90, 270]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert dead_letters.parked == []


def test_jumios_retry_after_is_the_least_wait(policy) -> None:
    handling, _, retries = policy
    with pytest.raises(JumioThrottled):
        handling.handle(_record(1), JumioThrottled("429", retry_after=120))
    assert retries.calls == [("rh-1", 120)]


def test_a_duplicate_meeting_its_twin_in_progress_retries_within_seconds(policy) -> None:
    handling, _, retries = policy
    with pytest.raises(IdempotencyAlreadyInProgressError):
        handling.handle(_record(2), IdempotencyAlreadyInProgressError("in progress"))
    [(_, seconds)] = retries.calls
    assert seconds <= 5


@pytest.mark.parametrize(
    ("error", "reason"),
    [(JumioUnavailable("503"), "RETRIES_EXHAUSTED"), (ValueError("bug"), "INTERNAL_ERROR")],
)
def test_the_last_receive_parks_with_a_reason_and_the_exception_type(
    policy, error: Exception, reason: str
) -> None:
    handling, dead_letters, retries = policy
    handling.handle(_record(MAX_RECEIVES), error)  # returns: the record counts as done
    [parked] = dead_letters.parked
    assert (parked["reason"], parked["error_type"]) == (reason, type(error).__name__)
    assert f"receive {MAX_RECEIVES} of {MAX_RECEIVES}" in parked["message"]
    assert "bug" not in parked["message"]  # types, never an exception's text
    assert retries.calls == []


# --- starting a session ---------------------------------------------------------------------------


def test_a_start_in_progress_is_transient_and_comes_back_when_its_lease_ends(policy) -> None:
    busy = StartInProgress("another request is creating it", retry_after=42)
    failure = classify(busy)
    assert (failure.kind, failure.reason, failure.retry_in) == (
        Kind.TRANSIENT,
        "START_IN_PROGRESS",
        42,
    )

    handling, dead_letters, retries = policy
    with pytest.raises(StartInProgress):
        handling.handle(_record(3), busy)
    assert retries.calls == [("rh-1", 42)]
    assert dead_letters.parked == []


def test_a_start_whose_outcome_is_unknown_is_parked_at_once_with_its_reason(policy) -> None:
    unknown = StartOutcomeUnknown("the account request may have reached Jumio", retry_after=1860)
    failure = classify(unknown)
    assert (failure.kind, failure.reason) == (Kind.PERMANENT, "START_OUTCOME_UNKNOWN")

    handling, dead_letters, retries = policy
    handling.handle(_record(1), unknown)  # returns: parked, the record counts as done
    [parked] = dead_letters.parked
    assert (parked["reason"], parked["error_type"]) == (
        "START_OUTCOME_UNKNOWN",
        "StartOutcomeUnknown",
    )
    assert "reached Jumio" not in parked["message"]  # types, never an exception's text
    assert retries.calls == []


def test_a_start_throttled_by_the_pacer_waits_at_least_its_whole_slot(policy) -> None:
    handling, _, retries = policy
    with pytest.raises(JumioThrottled):
        handling.handle(
            _record(1),
            JumioThrottled("paced", retry_after=12.5, operation="account_create"),
        )
    [(_, seconds)] = retries.calls
    assert seconds >= 13
