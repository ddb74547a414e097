"""The one identity every local AWS call uses, and who it is.

Why one place: moto accepts any credentials, but the local cloud also *checks* SigV4 (function
URLs with AuthType AWS_IAM), so the key that clients sign with, the key the Lambda workers get
and the identity a verified caller is reported as must be the same everywhere.
"""

from __future__ import annotations

from typing import Any

from local_cloud.template import ACCOUNT_ID

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto's well-known fake secret
# The IAM user moto's STS reports for these keys, and the SenderId moto stamps on SQS messages.
USER_NAME = "moto"
USER_ID = "AIDAIT2UOQQY3AUEKVGXU"
USER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{USER_NAME}"


def client_options(endpoint_url: str | None) -> dict[str, Any]:
    """boto3 client keyword arguments for a moto server (nothing for in-process `mock_aws`)."""
    if not endpoint_url:
        return {}
    return {
        "endpoint_url": endpoint_url,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
    }
