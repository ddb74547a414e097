"""A Jumio workflow execution as the pipeline sees it: ids, tokens, hrefs, required parts.

Everything downstream (capture upload, prepared data, finalize, deletion) works from the
:class:`Session`; :mod:`jumio_pipeline.domain.registration` builds it from Jumio's account
response. The wire models live there, apart, so the functions that only read sessions from the
ledger do not build them at every cold start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

CLASSIFIERS = frozenset({"FRONT", "BACK", "FACE", "DOCUMENT", "PREPARED_DATA"})
DEFAULT_TOKEN_LIFETIME = "30m"  # noqa: S105 (a duration, not a secret)
_LIFETIME = re.compile(r"^([+-]?\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_TOKEN_LIFETIME_SECONDS = 300  # Jumio's shortest tokenLifetime, 5m
MAX_TOKEN_LIFETIME_SECONDS = 60 * 86400  # Jumio's longest tokenLifetime, 60d
# Jumio's rule for customerInternalReference: 1-100 characters, none of <>"/;`%{}|.
REFERENCE_PATTERN = re.compile(r"^[^<>\"/;`%{}|]{1,100}$")


def token_lifetime_seconds(lifetime: str) -> int:
    """Seconds in a Jumio ``tokenLifetime`` (``600s``, ``30m``, ``1d``); Jumio allows 5m..60d."""
    match = _LIFETIME.match(lifetime)
    if not match:
        raise ValueError(f"tokenLifetime {lifetime!r} does not match <number><s|m|h|d>")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not MIN_TOKEN_LIFETIME_SECONDS <= seconds <= MAX_TOKEN_LIFETIME_SECONDS:
        raise ValueError(f"tokenLifetime {lifetime!r} is outside Jumio's 5m..60d")
    return seconds


def part_ref(credential_id: str, classifier: str) -> str:
    """The name of a required part: ``{credentialId}/{CLASSIFIER}`` (every page is DOCUMENT)."""
    return f"{credential_id}/{classifier}"


@dataclass(frozen=True)
class PartId:
    """One part of a credential as the pipeline tracks it: one per document page."""

    credential_id: str
    classifier: str
    page: int | None = None

    @property
    def ref(self) -> str:
        """The required-part name this part counts for (a page counts for DOCUMENT)."""
        return part_ref(self.credential_id, self.classifier)


@dataclass(frozen=True)
class Credential:
    """One credential of the execution; only API-channel credentials carry a token and hrefs."""

    id: str
    category: str
    token: str | None
    parts: dict[str, str] = field(default_factory=dict)  # CLASSIFIER -> href
    workflow_execution_href: str | None = None


@dataclass(frozen=True)
class Session:
    """A registered Jumio workflow execution: ids, tokens, hrefs and the parts it needs."""

    account_id: str
    workflow_execution_id: str
    credentials: dict[str, Credential]
    required_parts: frozenset[str]
    issued_at: datetime
    token_expires_at: int  # epoch seconds
    reference: str | None = None

    def credential(self, credential_id: str) -> Credential | None:
        return self.credentials.get(credential_id)

    def credential_of_category(self, category: str) -> Credential | None:
        """The first credential of a category (e.g. the DATA one for prepared data)."""
        return next((c for c in self.credentials.values() if c.category == category), None)

    def any_token(self) -> str | None:
        """A token of this execution, for calls not tied to one credential (finalize)."""
        return next((c.token for c in self.credentials.values() if c.token), None)

    def seconds_until_token_expiry(self, now: float) -> int:
        return max(0, int(self.token_expires_at - now))
