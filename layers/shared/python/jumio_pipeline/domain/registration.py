"""Jumio's account response, as the `sessions` queue carries it, parsed into a :class:`Session`.

The `sessions` queue carries the account create/update response exactly as Jumio returned it,
optionally wrapped as ``{"account": <response>, "requiredParts": [...], "reference": "...",
"tokenLifetime": "30m"}``. Hrefs are taken verbatim from the response, never built by hand
when Jumio gave one. Only the functions that register sessions import this module (and build
its pydantic models at their cold start).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session import (
    CLASSIFIERS,
    DEFAULT_TOKEN_LIFETIME,
    MAX_TOKEN_LIFETIME_SECONDS,
    REFERENCE_PATTERN,
    Credential,
    Session,
    part_ref,
    token_lifetime_seconds,
)

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
