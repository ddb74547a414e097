"""AWS Signature Version 4 for function URLs with AuthType AWS_IAM: sign (clients, tests) and
verify (the local function URL server).

Why botocore's signer on both sides: the string to sign is then computed by the same code AWS's
own SDKs use, so a request the local cloud accepts is one AWS would accept for the same
credentials — not a request that merely carries an Authorization header. The verifier only
adds what a server must check and a signer never does: the scope (service `lambda`, the stack's
region, the local access key), the clock skew (5 minutes, as AWS) and that the body hashes to
what was signed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from local_cloud import credentials
from local_cloud.template import ACCOUNT_ID

SERVICE = "lambda"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_FIELD = re.compile(r"(\w+)=([^,\s]*)")


class SignatureRejected(Exception):
    """The request is not signed, or not signed right; the message is AWS's wording."""


@dataclass(frozen=True)
class Caller:
    """Who signed a verified request; `authorizer()` is the event's requestContext.authorizer."""

    access_key: str
    account_id: str = ACCOUNT_ID
    user_id: str = credentials.USER_ID
    user_arn: str = credentials.USER_ARN

    def authorizer(self) -> dict[str, Any]:
        """The `authorizer.iam` block of a function URL event, as Lambda fills it."""
        return {
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": self.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        }


def sign(
    method: str,
    url: str,
    *,
    region: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    access_key: str = credentials.ACCESS_KEY_ID,
    secret_key: str = credentials.SECRET_ACCESS_KEY,
    session_token: str | None = None,
    service: str = SERVICE,
) -> dict[str, str]:
    """The headers to send (given ones + X-Amz-Date, Authorization...) for a signed request."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    auth = SigV4Auth(Credentials(access_key, secret_key, session_token), service, region)
    auth.add_auth(request)
    return dict(request.headers.items())


class _SignedHeadersOnly(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed in SignedHeaders."""

    def __init__(self, credentials_: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials_, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed:
                header_map[name.lower()] = value  # appends: repeated headers are kept
        return header_map


def _authorization_fields(value: str) -> dict[str, str]:
    if not value.startswith(ALGORITHM + " "):
        raise SignatureRejected(f"Only {ALGORITHM} signatures are accepted.")
    fields = dict(_FIELD.findall(value[len(ALGORITHM) :]))
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise SignatureRejected(f"Authorization header requires '{name}' parameter.")
    return fields


def _timestamp(headers: HTTPHeaders, signed: list[str]) -> datetime:
    if "x-amz-date" in signed and headers.get("x-amz-date"):
        try:
            return datetime.strptime(headers["x-amz-date"], SIGV4_TIMESTAMP).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureRejected("X-Amz-Date must be in the ISO8601 Long Format.") from None
    if "date" in signed and headers.get("date"):
        try:
            return parsedate_to_datetime(headers["date"]).astimezone(UTC)
        except (TypeError, ValueError):
            raise SignatureRejected("Date must be an RFC 7231 date.") from None
    raise SignatureRejected(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def _check_skew(signed_at: datetime, now: datetime) -> None:
    stamp = signed_at.strftime(SIGV4_TIMESTAMP)
    if signed_at < now - MAX_CLOCK_SKEW:
        earliest = (now - MAX_CLOCK_SKEW).strftime(SIGV4_TIMESTAMP)
        raise SignatureRejected(
            f"Signature expired: {stamp} is now earlier than {earliest} "
            f"({now.strftime(SIGV4_TIMESTAMP)} - 5 min.)"
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        latest = (now + MAX_CLOCK_SKEW).strftime(SIGV4_TIMESTAMP)
        raise SignatureRejected(
            f"Signature not yet current: {stamp} is still later than {latest} "
            f"({now.strftime(SIGV4_TIMESTAMP)} + 5 min.)"
        )


def _check_scope(scope: list[str], signed_at: datetime, region: str, access_key: str) -> None:
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureRejected("Credential must have exactly 5 slash-delimited elements.")
    key, day, scope_region, service, _ = scope
    if not hmac.compare_digest(key, access_key):
        raise SignatureRejected("The security token included in the request is invalid.")
    if day != signed_at.strftime("%Y%m%d"):
        raise SignatureRejected("Date in Credential scope does not match the request's date.")
    if scope_region != region:
        raise SignatureRejected(f"Credential should be scoped to a valid region, not '{region}'.")
    if service != SERVICE:
        raise SignatureRejected(f"Credential should be scoped to correct service: '{SERVICE}'.")


def verify(
    *,
    method: str,
    host: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    region: str,
    now: datetime | None = None,
    access_key: str = credentials.ACCESS_KEY_ID,
    secret_key: str = credentials.SECRET_ACCESS_KEY,
) -> Caller:
    """Check a received request's SigV4 signature; the Caller, or SignatureRejected."""
    received = HTTPHeaders()
    for name, value in headers:
        received[name] = value
    if "host" not in received:  # HTTP/1.1 always sends it; `host` is where it was received
        received["host"] = host
    authorization = received.get("authorization")
    if not authorization:
        raise SignatureRejected("Forbidden")
    fields = _authorization_fields(authorization)
    signed = [name.strip().lower() for name in fields["SignedHeaders"].split(";")]
    if "host" not in signed:
        raise SignatureRejected(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    signed_at = _timestamp(received, signed)
    _check_skew(signed_at, now or datetime.now(UTC))
    _check_scope(fields["Credential"].split("/"), signed_at, region, access_key)
    declared_hash = received.get("x-amz-content-sha256")
    if declared_hash is not None and declared_hash != hashlib.sha256(body).hexdigest():
        raise SignatureRejected(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )

    url = f"http://{host}{raw_path}" + (f"?{raw_query}" if raw_query else "")
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in received.items():
        request.headers[name] = value
    request.context["timestamp"] = signed_at.strftime(SIGV4_TIMESTAMP)
    auth = _SignedHeadersOnly(Credentials(access_key, secret_key), region, signed)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SignatureRejected(MISMATCH)
    return Caller(access_key=access_key)
