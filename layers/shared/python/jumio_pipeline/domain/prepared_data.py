"""The prepared-data message and a model of Jumio's PREPARED_DATA schema.

Other services hand the pipeline a customer's personal data as
``{"workflowExecutionId", "credentialId"?, "data": {...}}``. ``data`` is checked here against the
fields Jumio's Credentials API lists for PREPARED_DATA (README, "Contracts at the edges"),
so that a bad record fails at once with a reason and a field path instead of inside Jumio's
processing, where nobody would see why.

Three rules shape this module:

- **Send what the producer gave.** Every field is validated strictly (no coercion: ``123`` is
  not a first name, ``20240101`` is not a date) and validators return the input unchanged, so
  :func:`parse_prepared_data_message` hands back the producer's own values, only with ``null``
  fields dropped. Nothing is reformatted before it reaches Jumio.
- **Unknown fields are refused**, at the top level and inside ``address`` and ``id`` alike: a
  misspelt field would otherwise be dropped silently, and an unexpected one may carry personal
  data nobody agreed to send. ``kyc``, ``bank`` and ``business`` are passed through as objects:
  Jumio does not publish their inner fields.
- **Errors never carry a value.** Pydantic's own messages and its ``input`` can quote the value;
  the message of :class:`~jumio_pipeline.domain.errors.InvalidMessage` is built here from the error
  type and the field path only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.iso3166 import is_iso3166_alpha3

INVALID_MESSAGE = "INVALID_MESSAGE"
INVALID_PREPARED_DATA = "INVALID_PREPARED_DATA"
MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
# SQS's limit for one message (body and attributes together). A producer's SendMessage beyond
# it fails at the producer in AWS; a transport that does not enforce it (a redrive tool, the
# local cloud) gets the same limit here, named, instead of an error about something else.
MAX_MESSAGE_BYTES = 262_144
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# An unknown field's *name* is shown to operators only when it looks like a field name.
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MAX_LISTED_ERRORS = 10


# --- Field types: strict strings whose validators return the input unchanged ---------------


def _iso_date(value: str) -> str:
    """An ISO 8601 calendar date ``YYYY-MM-DD`` that exists (no 2023-02-30)."""
    if not _ISO_DATE.match(value):
        raise PydanticCustomError("iso_date", "must be an ISO 8601 date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_date", "must be an ISO 8601 date YYYY-MM-DD") from None
    return value


def _email(value: str) -> str:
    """A syntactically valid address; the producer's spelling is kept (no normalisation)."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email", "must be a valid email address") from None
    return value


def _country(value: str) -> str:
    """An assigned ISO 3166-1 alpha-3 code, upper case as ISO writes it."""
    if not is_iso3166_alpha3(value):
        raise PydanticCustomError("iso3166_alpha3", "must be an ISO 3166-1 alpha-3 country code")
    return value


Text = Annotated[str, Field(min_length=1)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
Email = Annotated[str, AfterValidator(_email)]
CountryAlpha3 = Annotated[str, AfterValidator(_country)]


class _StrictModel(BaseModel):
    """No coercion, no unknown fields: what passes is exactly what the producer sent."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Address(_StrictModel):
    """``address`` of PREPARED_DATA."""

    line1: Text | None = None
    line2: Text | None = None
    line3: Text | None = None
    line4: Text | None = None
    line5: Text | None = None
    postalCode: Text | None = None
    city: Text | None = None
    subdivision: Text | None = None
    country: CountryAlpha3 | None = None


class IdDetails(_StrictModel):
    """``id`` of PREPARED_DATA: the identity document the data was taken from."""

    issuingDate: IsoDate | None = None
    expiryDate: IsoDate | None = None
    idNumber: Text | None = None
    type: Literal["PASSPORT", "DRIVING_LICENSE", "ID_CARD"] | None = None


class PreparedData(_StrictModel):
    """Jumio's PREPARED_DATA body; every field optional, as in Jumio's schema."""

    suffix: Text | None = None
    firstName: Text | None = None
    middleName: Text | None = None
    lastName: Text | None = None
    sex: Literal["M", "F"] | None = None
    dateOfBirth: IsoDate | None = None
    socialSecurityNumber: Text | None = None
    nationality: CountryAlpha3 | None = None
    email: Email | None = None
    phoneNumber: Text | None = None
    phoneNumber2: Text | None = None
    personalNumber: Text | None = None
    address: Address | None = None
    id: IdDetails | None = None
    kyc: dict[str, Any] | None = None
    bank: dict[str, Any] | None = None
    business: dict[str, Any] | None = None


class _MessageIds(BaseModel):
    """The ids of a message, checked before its data so a rejection can name its session."""

    model_config = ConfigDict(extra="ignore")
    workflowExecutionId: UUID
    credentialId: UUID | None = None


class _PreparedDataMessage(BaseModel):
    """The whole message; ids were checked already, so errors here concern ``data``."""

    model_config = ConfigDict(extra="forbid")
    workflowExecutionId: UUID
    credentialId: UUID | None = None
    data: PreparedData


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageIds:
    """Who a message is for: a workflow execution and, optionally, one credential of it."""

    workflow_execution_id: str
    credential_id: str | None


@dataclass(frozen=True)
class ValidPreparedData:
    """Validated data ready to send.

    It carries no fingerprint: that needs the secret key (:func:`keyed_fingerprint`), which is
    read only once a message is worth delivering, so an invalid one is parked even while the
    key is unreachable. ``repr`` shows the number of fields only, so an accidental log of this
    object leaks nothing.
    """

    body: dict[str, Any]

    def __repr__(self) -> str:
        return f"ValidPreparedData(<{len(self.body)} fields, values hidden>)"


def canonical_json(data: dict[str, Any]) -> bytes:
    """The canonical JSON (sorted keys, no spaces, UTF-8): equal data, equal bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def keyed_fingerprint(data: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON under ``key``: equal data, equal fingerprint.

    Keyed, not a plain hash: a plain sha256 of a small payload (an 11-digit personal number)
    is brute-forced back to the value in minutes, so it would still be personal data. Without
    the key the fingerprint tells nothing about the data.
    """
    if not key:
        raise ValueError("the fingerprint key is empty")
    return hmac.new(key, canonical_json(data), hashlib.sha256).hexdigest()


def parse_message_ids(body: str) -> tuple[MessageIds, dict[str, Any]]:
    """The message's ids and its decoded JSON object, or InvalidMessage naming what is wrong."""
    size = len(body.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidMessage(
            MESSAGE_TOO_LARGE,
            f"the message is {size} bytes, more than the limit of {MAX_MESSAGE_BYTES} bytes "
            "(256 KiB, SQS's maximum message size)",
        )
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidMessage(INVALID_MESSAGE, "the message body is not JSON") from None
    if not isinstance(raw, dict):
        raise InvalidMessage(INVALID_MESSAGE, "the message body is not a JSON object")
    try:
        ids = _MessageIds.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(INVALID_MESSAGE, exc) from None
    return (
        MessageIds(
            workflow_execution_id=str(ids.workflowExecutionId),
            credential_id=str(ids.credentialId) if ids.credentialId else None,
        ),
        raw,
    )


def validate_prepared_data(raw: dict[str, Any]) -> ValidPreparedData:
    """Validate a decoded message's ``data``; InvalidMessage names every bad field, no value."""
    try:
        message = _PreparedDataMessage.model_validate(raw)
    except ValidationError as exc:
        data_errors = any(error["loc"][:1] == ("data",) for error in exc.errors())
        raise _invalid(INVALID_PREPARED_DATA if data_errors else INVALID_MESSAGE, exc) from None
    body = message.data.model_dump(exclude_none=True)
    if not body:
        raise InvalidMessage(INVALID_PREPARED_DATA, "data: has no field with a value", field="data")
    return ValidPreparedData(body=body)


# --- Error messages without values -------------------------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    """``data.address.country``; an unknown key is named only if it looks like a field name."""
    parts = []
    for part in loc:
        text = str(part)
        parts.append(text if isinstance(part, int) or _FIELD_NAME.match(text) else "<field>")
    return ".".join(parts)


def _describe(error: dict[str, Any]) -> str:
    """What is wrong, from the error type (and the schema's own choices), never the input."""
    kind = error["type"]
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected', 'the allowed values')}"
    if kind in {"iso_date", "email", "iso3166_alpha3"}:
        return error["msg"]  # our own templates above, which hold no value
    return _MESSAGES.get(kind, f"is invalid ({kind})")


def _invalid(reason: str, exc: ValidationError) -> InvalidMessage:
    """One InvalidMessage for every error: the first field in ``field``, all paths listed."""
    errors = exc.errors(include_input=False, include_url=False)
    described = [f"{_field_path(e['loc']) or '<message>'}: {_describe(e)}" for e in errors]
    message = "; ".join(described[:_MAX_LISTED_ERRORS])
    if len(described) > _MAX_LISTED_ERRORS:
        message += f"; and {len(described) - _MAX_LISTED_ERRORS} more"
    return InvalidMessage(reason, message, field=_field_path(errors[0]["loc"]))
