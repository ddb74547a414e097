"""Reading an AWS SDK error: its code, in one place instead of dict lookups everywhere."""

from __future__ import annotations

from botocore.exceptions import ClientError

CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"


def error_code(exc: ClientError) -> str:
    """The service's error code (``NoSuchKey``, ``ConditionalCheckFailedException``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_conditional_check_failure(exc: ClientError) -> bool:
    """A DynamoDB condition was false: a domain answer ("not now"), not a failure."""
    return error_code(exc) == CONDITIONAL_CHECK_FAILED
