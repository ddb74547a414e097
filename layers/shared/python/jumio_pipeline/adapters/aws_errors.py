"""Reading an AWS SDK error: its code, and whether waiting can help, in one place."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
# Codes that mean "not now": throttling and the service's own trouble (AWS's retry guidance).
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
        "KMSInternalException",
    }
)


def error_code(exc: ClientError) -> str:
    """The service's error code (``NoSuchKey``, ``ConditionalCheckFailedException``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_conditional_check_failure(exc: ClientError) -> bool:
    """A DynamoDB condition was false: a domain answer ("not now"), not a failure."""
    return error_code(exc) == CONDITIONAL_CHECK_FAILED


def is_transient_aws_error(exc: BaseException) -> bool:
    """An AWS call that failed for now: throttled, the service's trouble, or the network."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error_code(exc) in _TRANSIENT_CODES or int(status) >= 500
    return isinstance(exc, (ConnectionError, HTTPClientError)) or (
        isinstance(exc, BotoCoreError) and "timeout" in type(exc).__name__.lower()
    )
