"""The secret key of the prepared-data fingerprint, read when needed and checked before use.

The ledger and the idempotency table name prepared data by an HMAC-SHA256 fingerprint, never
by a plain hash (a plain hash of a small payload can be brute-forced back to the value). The
key lives in Secrets Manager (``PreparedDataHashKey`` in template.yaml); the handler passes a
reader such as ``lambda: parameters.get_secret(arn, max_age=300)`` (Powertools, cached).

A key that cannot be read, or is not fit to be one, raises :class:`FingerprintKeyUnavailable`:
the record fails and SQS retries it. There is deliberately no fallback to a plain hash, which
would both leak and break duplicate detection against fingerprints already stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MIN_KEY_LENGTH = 32  # characters (bytes of ASCII): HMAC-SHA256 wants at least 32 bytes of key


class FingerprintKeyUnavailable(Exception):
    """The fingerprint key could not be read or is unusable; transient, so the record retries.

    The message names what is wrong and never carries the key or any part of it.
    """


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
