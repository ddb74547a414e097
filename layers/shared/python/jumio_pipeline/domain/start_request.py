"""A request to start a session, checked before anything reaches Jumio.

A backend service asks the pipeline to start a Jumio session (an account create, or an update
of an existing account: a new workflow execution) instead of writing its own OAuth, account
call and registration message. The fields follow Jumio's accounts API and its rules:
``reference`` becomes ``customerInternalReference`` (1-100 characters, none of
``<>"/;`%{}|``, and no personal data: an e-mail address or a phone number is refused),
``userReference`` at most 100 characters and no personal data either, ``tokenLifetime``
5m..60d, ``locale`` at most 5 characters, and ``userConsent`` as Jumio documents it, with the
consent itself required when the user is located in the USA (Jumio requires it there for
biometric checks). A wrong field is named, never echoed.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jumio_pipeline.domain.erasure_request import looks_like_contact_data
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.iso3166 import is_iso3166_alpha3
from jumio_pipeline.domain.session import (
    DEFAULT_TOKEN_LIFETIME,
    REFERENCE_PATTERN,
    token_lifetime_seconds,
)

INVALID_START_REQUEST = "INVALID_START_REQUEST"
MAX_DOCUMENT_PAGES = 30
# Patterns are used with fullmatch: "$" alone would let a trailing newline through.
_WORKFLOW_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_LOCALE = re.compile(r"[A-Za-z]{2}([-_][A-Za-z]{2})?")
_LIFETIME_FORM = re.compile(r"[+-]?[0-9]+[smhd]")


class _Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    country: str
    state: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("country")
    @classmethod
    def _alpha3(cls, value: str) -> str:
        if not is_iso3166_alpha3(value):
            raise ValueError("must be an ISO 3166-1 alpha-3 country code")
        return value


class _Consent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    obtained: Literal["yes", "no", "na"]
    obtainedAt: datetime


class UserConsent(BaseModel):
    """Jumio's ``userConsent``: where the user is, and whether they consented."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    userIp: str
    userLocation: _Location
    consent: _Consent | None = None

    @field_validator("userIp")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None
        return value

    @model_validator(mode="after")
    def _consent_where_jumio_requires_it(self) -> UserConsent:
        if self.userLocation.country == "USA" and self.consent is None:
            raise ValueError("consent is required when userLocation.country is USA")
        return self


class StartSessionRequest(BaseModel):
    """What a caller sends to start a session (function URL body or queue message)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reference: str
    workflowDefinitionKey: int | str
    accountId: UUID | None = None
    userReference: str | None = None
    tokenLifetime: str = DEFAULT_TOKEN_LIFETIME
    locale: str | None = None
    userConsent: UserConsent | None = None
    documentPages: int = Field(default=1, ge=1, le=MAX_DOCUMENT_PAGES)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not REFERENCE_PATTERN.fullmatch(value):
            raise ValueError('must be 1-100 characters without <>"/;`%{}|')
        if looks_like_contact_data(value):
            raise ValueError("must not be personal data (it looks like an e-mail or a phone)")
        return value

    @field_validator("accountId", mode="before")
    @classmethod
    def _account_id(cls, value: Any) -> Any:
        # Pydantic's own UUID message quotes a character of the input.
        if value is None or isinstance(value, UUID):
            return value
        if isinstance(value, str):
            try:
                return UUID(value)
            except ValueError:
                pass
        raise ValueError("must be a UUID (Jumio's account id)")

    @field_validator("userReference")
    @classmethod
    def _user_reference(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1-100 characters")
        if looks_like_contact_data(value):
            raise ValueError("must not be personal data (it looks like an e-mail or a phone)")
        return value

    @field_validator("workflowDefinitionKey", mode="before")
    @classmethod
    def _workflow_key(cls, value: Any) -> int | str:
        # Before pydantic's own parsing: it would read true as 1 and 1.0 as 1, and name the
        # field "workflowDefinitionKey.int" when neither member of the union fits.
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        if isinstance(value, str) and _WORKFLOW_KEY.fullmatch(value):
            return value
        raise ValueError("must be a positive number or a key name of up to 64 characters")

    @field_validator("tokenLifetime")
    @classmethod
    def _lifetime(cls, value: str) -> str:
        try:
            if not _LIFETIME_FORM.fullmatch(value):
                raise ValueError("not <number><s|m|h|d>")
            token_lifetime_seconds(value)
        except ValueError:
            raise ValueError("must be <number><s|m|h|d> between 5m and 60d") from None
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 5 or not _LOCALE.fullmatch(value)):
            raise ValueError("must be a locale of at most 5 characters, such as en or de-AT")
        return value

    @property
    def token_lifetime_seconds(self) -> int:
        return token_lifetime_seconds(self.tokenLifetime)

    def account_body(self, callback_url: str) -> dict[str, Any]:
        """The body of Jumio's account create or update (the same for both)."""
        body: dict[str, Any] = {
            "customerInternalReference": self.reference,
            "workflowDefinition": {"key": self.workflowDefinitionKey},
            "callbackUrl": callback_url,
            "tokenLifetime": self.tokenLifetime,
        }
        if self.userReference is not None:
            body["userReference"] = self.userReference
        if self.locale is not None:
            body["web"] = {"locale": self.locale}
        if self.userConsent is not None:
            body["userConsent"] = self.userConsent.model_dump(mode="json", exclude_none=True)
        return body


def parse_start_request(body: Any) -> StartSessionRequest:
    """The request, or InvalidMessage naming the first wrong field (never its value)."""
    if not isinstance(body, dict):
        raise InvalidMessage(INVALID_START_REQUEST, "the request is not a JSON object")
    try:
        return StartSessionRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "request"
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidMessage(INVALID_START_REQUEST, f"{field}: {message}", field=field) from None
