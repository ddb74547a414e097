"""What becomes of a record whose processing failed: every failure is classified.

- **permanent** (the message can never succeed as it is): parked in the DLQ at once with its
  reason, and the record counts as done;
- **transient** (Jumio throttled or down, AWS throttling, a duplicate still in progress, a
  secret not readable for now): retried soon — the message's visibility is shortened to a
  backoff that grows per receive (or to Jumio's Retry-After), instead of waiting out the
  queue's whole visibility timeout;
- **unexpected** (anything else): retried like a transient one.

On the last receive SQS allows (the queue's maxReceiveCount), a failure that is not permanent
is parked by the function itself, with a reason (``RETRIES_EXHAUSTED``, or ``INTERNAL_ERROR``
for an unexpected exception) and its exception type, so that no message reaches a DLQ without
saying why. Nothing here logs a body or an exception message: types and codes only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from jumio_pipeline.adapters.aws_errors import is_transient_aws_error
from jumio_pipeline.adapters.queues import delivery_of
from jumio_pipeline.domain.errors import (
    CaptureRejected,
    ErasureIncomplete,
    ErasureRefused,
    FingerprintKeyUnavailable,
    InvalidMessage,
    JumioPermanentError,
    JumioThrottled,
    JumioTransientError,
    PartBusy,
    StartInProgress,
    StartOutcomeUnknown,
    TenantCredentialsInvalid,
)
from jumio_pipeline.handlers.observability import Observability
from jumio_pipeline.services.ports import DeadLetters

INTERNAL_ERROR = "INTERNAL_ERROR"
RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
IN_PROGRESS_RETRY_SECONDS = 3  # a duplicate waits for the copy being processed now


class Kind(StrEnum):
    """The classes of failure."""

    PERMANENT = "PERMANENT"
    TRANSIENT = "TRANSIENT"
    UNEXPECTED = "UNEXPECTED"


@dataclass(frozen=True)
class Failure:
    """A classified failure: its kind, the reason code to park it with, and a delay hint."""

    kind: Kind
    reason: str
    error_type: str
    retry_after: float | None = None  # at least this long (Jumio's Retry-After)
    retry_in: float | None = None  # exactly this long (a duplicate waiting for its twin)
    field: str = ""


def classify(exc: BaseException) -> Failure:
    """The kind and reason code of a failure, from its type (never from its message)."""
    error_type = type(exc).__name__
    if isinstance(exc, InvalidMessage):
        return Failure(Kind.PERMANENT, exc.reason, error_type, field=exc.field)
    if isinstance(exc, (ErasureRefused, CaptureRejected, TenantCredentialsInvalid)):
        return Failure(Kind.PERMANENT, exc.reason, error_type)
    if isinstance(exc, JumioPermanentError):
        return Failure(Kind.PERMANENT, _code(error_type), error_type)
    if isinstance(exc, StartInProgress):
        return Failure(Kind.TRANSIENT, exc.reason, error_type, retry_in=exc.retry_after)
    if isinstance(exc, StartOutcomeUnknown):
        # Not before the token's life has passed: parked, with why, for an operator to decide.
        return Failure(Kind.PERMANENT, exc.reason, error_type)
    if isinstance(exc, (IdempotencyAlreadyInProgressError, PartBusy)):
        return Failure(
            Kind.TRANSIENT, "IN_PROGRESS", error_type, retry_in=IN_PROGRESS_RETRY_SECONDS
        )
    if isinstance(exc, JumioThrottled):
        return Failure(Kind.TRANSIENT, "JUMIO_THROTTLED", error_type, retry_after=exc.retry_after)
    if isinstance(exc, (JumioTransientError, FingerprintKeyUnavailable, ErasureIncomplete)):
        return Failure(Kind.TRANSIENT, _code(error_type), error_type)
    if is_transient_aws_error(exc):
        return Failure(Kind.TRANSIENT, "AWS_UNAVAILABLE", error_type)
    return Failure(Kind.UNEXPECTED, INTERNAL_ERROR, error_type)


class RetryControl(Protocol):
    """Shortens a failed message's visibility (``adapters.queues.Visibility``)."""

    def retry_after(self, receipt_handle: str, seconds: int) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Seconds until the n-th retry: ``base * factor**(n-1)``, capped, with full jitter."""

    base: float = 10.0
    factor: float = 3.0
    cap: float = 900.0

    def seconds(self, receive_count: int, rng: random.Random) -> int:
        """Half to all of the capped exponential: copies failing together spread out."""
        ceiling = min(self.cap, self.base * self.factor ** min(max(receive_count - 1, 0), 20))
        return max(0, round(rng.uniform(ceiling / 2, ceiling)))


class FailureHandling:
    """Applies the policy of the module docstring to one failed record."""

    def __init__(
        self,
        *,
        dead_letters: DeadLetters,
        retries: RetryControl,
        max_receive_count: int,
        observed: Observability,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._dead_letters = dead_letters
        self._retries = retries
        self._max_receive_count = max_receive_count
        self._observed = observed
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()

    def handle(self, record: SQSRecord, exc: BaseException) -> None:
        """Park the record (then it counts as done) or schedule its retry and re-raise."""
        failure = classify(exc)
        delivery = delivery_of(record.raw_event)
        last_try = delivery.receive_count >= self._max_receive_count
        if failure.kind is Kind.PERMANENT or last_try:
            reason = failure.reason
            if failure.kind is Kind.TRANSIENT:
                reason = RETRIES_EXHAUSTED
            self._park(record, failure, reason, delivery.receive_count)
            return
        delay = self._backoff.seconds(delivery.receive_count, self._rng)
        if failure.retry_after is not None:
            delay = max(delay, int(failure.retry_after + 0.999))
        if failure.retry_in is not None:
            delay = int(failure.retry_in)
        self._retries.retry_after(record.receipt_handle, delay)
        self._observed.logger.warning(
            "record will be retried",
            extra={
                "messageId": record.message_id,
                "kind": failure.kind.value,
                "reason": failure.reason,
                "errorType": failure.error_type,
                "receiveCount": delivery.receive_count,
                "retryInSeconds": delay,
            },
        )
        self._observed.metrics.count("RecordRetried", kind=failure.kind.value)
        raise exc

    def _park(self, record: SQSRecord, failure: Failure, reason: str, receive_count: int) -> None:
        detail = f"{failure.kind.value.lower()} failure ({failure.error_type})"
        if failure.kind is not Kind.PERMANENT:
            detail += f" on receive {receive_count} of {self._max_receive_count}"
        self._observed.logger.warning(
            "record parked",
            extra={
                "messageId": record.message_id,
                "kind": failure.kind.value,
                "reason": reason,
                "errorType": failure.error_type,
                "receiveCount": receive_count,
            },
        )
        self._observed.metrics.count("RecordParked", reason=reason)
        self._dead_letters.park(
            body=record.body,
            reason=reason,
            message=detail,
            source_message_id=record.message_id,
            field=failure.field,
            error_type=failure.error_type,
        )


def _code(error_type: str) -> str:
    """``JumioUnavailable`` → ``JUMIO_UNAVAILABLE``: a class name as a reason code."""
    out: list[str] = []
    for index, char in enumerate(error_type):
        if char.isupper() and index and not error_type[index - 1].isupper():
            out.append("_")
        out.append(char.upper())
    return "".join(out)
