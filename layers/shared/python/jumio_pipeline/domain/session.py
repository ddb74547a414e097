"""A Jumio workflow execution as the pipeline sees it, parsed from Jumio's account response.

The `sessions` queue carries the account create/update response exactly as Jumio returned it,
optionally wrapped as ``{"account": <response>, "requiredParts": [...], "reference": "...",
"tokenLifetime": "30m"}``. Everything downstream (capture upload, prepared data, finalize,
deletion) works from the :class:`Session` built here: hrefs are taken verbatim from the
response, never built by hand when Jumio gave one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jumio_pipeline.domain.errors import InvalidMessage

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


# --- Wire models (pydantic; unknown fields of Jumio's response are kept out, not refused) ---


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str = Field(min_length=1)
    # A part's href, or (Jumio's schema sample) a page-indexed map of hrefs: {"1": href, ...}.
    parts: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    workflowExecution: str | None = None

    @field_validator("token")
    @classmethod
    def _token_is_one_bearer_token(cls, value: str) -> str:
        if any(character.isspace() for character in value):
            raise ValueError("must be one token without whitespace")
        return value

    @field_validator("parts")
    @classmethod
    def _page_maps_are_not_empty(
        cls, value: dict[str, str | dict[str, str]]
    ) -> dict[str, str | dict[str, str]]:
        for href in value.values():
            if isinstance(href, dict) and not href:
                raise ValueError("a page-indexed part must name at least one href")
        return value

    def part_hrefs(self) -> dict[str, str]:
        """CLASSIFIER → href; for a page-indexed map, the href of its first page.

        Jumio's schema sample maps a part to ``{"1": href, "2": href}``: every page href
        addresses the same part, so the lowest page's is kept (an inference, README).
        """
        hrefs: dict[str, str] = {}
        for key, value in self.parts.items():
            if isinstance(value, dict):
                value = value[min(value, key=_page_order)]
            hrefs[key.upper()] = value
        return hrefs


def _page_order(page: str) -> tuple[int, str]:
    """Numeric page keys first, in number order ("2" before "10")."""
    return (int(page), page) if page.isdigit() else (1_000_000, page)


class _CredentialModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    category: str
    allowedChannels: list[str] = Field(default_factory=list)
    api: _ApiModel | None = None


class _IdModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID


class _WorkflowExecutionModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    credentials: list[_CredentialModel] = Field(min_length=1)


class AccountResponse(BaseModel):
    """The part of Jumio's account create/update response that the pipeline relies on."""

    model_config = ConfigDict(extra="ignore")
    timestamp: datetime
    account: _IdModel
    workflowExecution: _WorkflowExecutionModel


class RegistrationMessage(BaseModel):
    """The wrapper a producer may put around the account response."""

    model_config = ConfigDict(extra="forbid")
    account: AccountResponse
    requiredParts: list[str] | None = None
    reference: str | None = None
    tokenLifetime: str = DEFAULT_TOKEN_LIFETIME

    @field_validator("reference")
    @classmethod
    def _reference_has_no_pii_markers(cls, value: str | None) -> str | None:
        if value is not None and not REFERENCE_PATTERN.match(value):
            raise ValueError('must be 1-100 characters without <>"/;`%{}|')
        return value

    @field_validator("tokenLifetime")
    @classmethod
    def _lifetime_is_jumio_format(cls, value: str) -> str:
        token_lifetime_seconds(value)
        return value


# --- Domain --------------------------------------------------------------------------------


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


def parse_registration(
    body: dict[str, Any],
    *,
    now: float | None = None,
    href_allowed: Callable[[str], bool] | None = None,
) -> Session:
    """Build a Session from a `sessions` message body, or raise InvalidMessage naming the field.

    The body is either Jumio's account response itself or the wrapper around it. Messages
    name the field that is wrong and never echo its value (it may be a token).

    The token is taken to expire at ``timestamp + tokenLifetime``, but never later than the
    longest lifetime Jumio allows (60 days) from ``now``: a timestamp in the future (a clock
    gone wrong, a forged message) must not keep a session waiting for years.

    ``href_allowed`` refuses hrefs a token must not be sent to (another host than the
    configured Jumio API): a poisoned registration message is refused here, at the door.
    """
    inner = body.get("account")
    is_wrapper = isinstance(inner, dict) and ("workflowExecution" in inner or "account" in inner)
    wrapped = body if is_wrapper else {"account": body}
    try:
        message = RegistrationMessage.model_validate(wrapped)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidMessage(
            "INVALID_REGISTRATION", f"{path}: {first['msg']}", field=path
        ) from None
    response = message.account
    if href_allowed is not None:
        _check_hrefs(response, href_allowed, wrapped=is_wrapper)
    credentials = {
        str(c.id): Credential(
            id=str(c.id),
            category=c.category,
            token=c.api.token if c.api else None,
            parts=c.api.part_hrefs() if c.api else {},
            workflow_execution_href=c.api.workflowExecution if c.api else None,
        )
        for c in response.workflowExecution.credentials
    }
    if not any(c.token for c in credentials.values()):
        raise InvalidMessage(
            "NO_API_CREDENTIAL",
            "no credential allows the API channel, so nothing can be uploaded",
            field="account.workflowExecution.credentials",
        )
    required = _required_parts(message.requiredParts, credentials)
    issued_at = response.timestamp.astimezone(UTC)
    lifetime = token_lifetime_seconds(message.tokenLifetime)
    return Session(
        account_id=str(response.account.id),
        workflow_execution_id=str(response.workflowExecution.id),
        credentials=credentials,
        required_parts=required,
        issued_at=issued_at,
        token_expires_at=min(
            int(issued_at.timestamp()) + lifetime,
            int(time.time() if now is None else now) + MAX_TOKEN_LIFETIME_SECONDS,
        ),
        reference=message.reference,
    )


def _check_hrefs(
    response: AccountResponse, href_allowed: Callable[[str], bool], *, wrapped: bool
) -> None:
    """Every href a token would be sent to must be on the configured Jumio API host."""
    prefix = "account." if wrapped else ""
    for index, credential in enumerate(response.workflowExecution.credentials):
        if credential.api is None:
            continue
        path = f"{prefix}workflowExecution.credentials.{index}.api"
        named = {f"parts.{key}": href for key, href in credential.api.part_hrefs().items()}
        if credential.api.workflowExecution:
            named["workflowExecution"] = credential.api.workflowExecution
        for name, href in named.items():
            if not href_allowed(href):
                raise InvalidMessage(
                    "INVALID_REGISTRATION",
                    f"{path}.{name} is not a URL of the configured Jumio API host",
                    field=f"{path}.{name}",
                )


def _required_parts(
    explicit: list[str] | None, credentials: dict[str, Credential]
) -> frozenset[str]:
    """Every api.parts entry of every API credential, unless the producer listed them."""
    available = {part_ref(c.id, cls) for c in credentials.values() for cls in c.parts}
    if explicit is None:
        return frozenset(available)
    for index, ref in enumerate(explicit):
        credential_id, _, classifier = ref.partition("/")
        if classifier not in CLASSIFIERS or credential_id not in credentials:
            raise InvalidMessage(
                "UNKNOWN_REQUIRED_PART",
                f"requiredParts[{index}] names no credential/classifier of this execution",
                field=f"requiredParts.{index}",
            )
        if ref not in available:
            raise InvalidMessage(
                "UNKNOWN_REQUIRED_PART",
                f"requiredParts[{index}] is not an API part of this execution",
                field=f"requiredParts.{index}",
            )
    return frozenset(explicit)
