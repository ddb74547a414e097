"""Secrets the pipeline reads from Secrets Manager (Powertools parameters, cached), checked.

The prepared-data fingerprint key: the ledger and the idempotency table name prepared data by
an HMAC-SHA256 fingerprint, never by a plain hash (a plain hash of a small payload can be
brute-forced back to the value). The key lives in Secrets Manager (``PreparedDataHashKey`` in
template.yaml), read through a reader such as :func:`cached_secret`.

The tenant's OAuth client credentials (``JumioTenantCredentials``): the tenant client is
rebuilt only when the secret's value changes (a rotation), so its cached token survives.

A key that cannot be read, or is not fit to be one, raises :class:`FingerprintKeyUnavailable`:
the record fails and SQS retries it. There is deliberately no fallback to a plain hash, which
would both leak and break duplicate detection against fingerprints already stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities import parameters

from jumio_pipeline.adapters.jumio import JumioHttp, TenantClient
from jumio_pipeline.domain.errors import FingerprintKeyUnavailable, TenantCredentialsInvalid

SECRET_MAX_AGE_SECONDS = 300
MIN_KEY_LENGTH = 32  # characters (bytes of ASCII): HMAC-SHA256 wants at least 32 bytes of key


class FingerprintKey:
    """Reads the key through an injected (cached) reader each time one is needed."""

    def __init__(self, read_secret: Callable[[], Any]) -> None:
        self._read_secret = read_secret

    def bytes(self) -> bytes:
        """The key as bytes, or FingerprintKeyUnavailable naming the problem (never the value)."""
        try:
            value = self._read_secret()
        except Exception as exc:
            # Only the class name: a provider's message could quote more than we want logged.
            raise FingerprintKeyUnavailable(
                f"the prepared-data hash key could not be read ({type(exc).__name__})"
            ) from None
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes):
            raise FingerprintKeyUnavailable("the prepared-data hash key is not a string")
        if len(value) < MIN_KEY_LENGTH:
            raise FingerprintKeyUnavailable(
                f"the prepared-data hash key is shorter than {MIN_KEY_LENGTH} characters"
            )
        return value


def cached_secret(arn: str, *, json_value: bool = False) -> Callable[[], Any]:
    """A reader of one secret, cached for five minutes by Powertools (rotations show up)."""
    transform = "json" if json_value else None
    return lambda: parameters.get_secret(arn, transform=transform, max_age=SECRET_MAX_AGE_SECONDS)


class TenantClientProvider:
    """The tenant client for the credentials currently in Secrets Manager.

    ``read_secret`` returns ``{"clientId": ..., "clientSecret": ...}`` (``cached_secret(arn,
    json_value=True)``); the client (and its cached OAuth token) is rebuilt only when the
    secret's value changes, e.g. after a rotation.
    """

    def __init__(self, read_secret: Callable[[], Any], http: JumioHttp) -> None:
        self._read_secret = read_secret
        self._http = http
        self._client: TenantClient | None = None
        self._fingerprint: tuple[str, str] | None = None

    def __call__(self) -> TenantClient:
        secret = self._read_secret()
        if not isinstance(secret, dict):
            raise TenantCredentialsInvalid("the tenant secret is not a JSON object")
        for name in ("clientId", "clientSecret"):
            if not isinstance(secret.get(name), str) or not secret[name]:
                raise TenantCredentialsInvalid(f"the tenant secret has no {name} string")
        fingerprint = (secret["clientId"], secret["clientSecret"])
        if self._client is None or fingerprint != self._fingerprint:
            self._client = TenantClient(self._http, secret["clientId"], secret["clientSecret"])
            self._fingerprint = fingerprint
        return self._client
