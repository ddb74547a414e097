"""PREPARED_DATA checked as the Credentials API schema types it (contract §3.2).

Known fields only (top level, `address`, `id`); strings must be strings; `sex` is M or F;
dates are ISO `YYYY-MM-DD` and exist; `email` looks like an address; `id.type` is PASSPORT,
DRIVING_LICENSE or ID_CARD. `kyc`, `bank` and `business` must be objects; Jumio does not
publish their inner fields, so they pass through. Errors name the field, never its value.
"""

from __future__ import annotations

import re
from datetime import date

from jumio_simulator.errors import bad_request

_STRINGS = {
    "suffix",
    "firstName",
    "middleName",
    "lastName",
    "socialSecurityNumber",
    "nationality",
    "phoneNumber",
    "phoneNumber2",
    "personalNumber",
}
_OPAQUE_OBJECTS = {"kyc", "bank", "business"}
_TOP_LEVEL = _STRINGS | _OPAQUE_OBJECTS | {"sex", "dateOfBirth", "email", "address", "id"}
_ADDRESS = {"line1", "line2", "line3", "line4", "line5", "postalCode", "city", "subdivision"}
_ADDRESS_FIELDS = _ADDRESS | {"country"}
_ID_FIELDS = {"issuingDate", "expiryDate", "idNumber", "type"}
ID_TYPES = ("PASSPORT", "DRIVING_LICENSE", "ID_CARD")
SEXES = ("M", "F")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _string(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise bad_request(f"PREPARED_DATA {path} must be a string")
    return value


def _iso_date(path: str, value: object) -> None:
    text = _string(path, value)
    try:
        valid = bool(_ISO_DATE.match(text)) and date.fromisoformat(text) is not None
    except ValueError:
        valid = False
    if not valid:
        raise bad_request(f"PREPARED_DATA {path} must be an ISO 8601 date YYYY-MM-DD")


def _object(path: str, value: object, known: set[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise bad_request(f"PREPARED_DATA {path} must be an object")
    unknown = sorted(set(value) - known)
    if unknown:
        raise bad_request(f"PREPARED_DATA {path} has unknown fields {unknown}")
    return value


def _address(value: object) -> None:
    for name, field in _object("address", value, _ADDRESS_FIELDS).items():
        _string(f"address.{name}", field)


def _id(value: object) -> None:
    for name, field in _object("id", value, _ID_FIELDS).items():
        if name in ("issuingDate", "expiryDate"):
            _iso_date(f"id.{name}", field)
        elif name == "type" and _string("id.type", field) not in ID_TYPES:
            raise bad_request(f"PREPARED_DATA id.type must be one of {', '.join(ID_TYPES)}")
        else:
            _string(f"id.{name}", field)


def check_prepared_data(data: object) -> dict[str, object]:
    """The data unchanged when it fits the schema, else 400 naming the first wrong field."""
    if not isinstance(data, dict):
        raise bad_request("PREPARED_DATA body must be a JSON object")
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise bad_request(f"PREPARED_DATA has unknown fields {unknown}")
    for name, value in data.items():
        if name in _STRINGS:
            _string(name, value)
        elif name == "sex" and _string("sex", value) not in SEXES:
            raise bad_request("PREPARED_DATA sex must be M or F")
        elif name == "dateOfBirth":
            _iso_date(name, value)
        elif name == "email" and not _EMAIL.match(_string("email", value)):
            raise bad_request("PREPARED_DATA email must be a valid email address")
        elif name == "address":
            _address(value)
        elif name == "id":
            _id(value)
        elif name in _OPAQUE_OBJECTS:
            _object(name, value, set(value) if isinstance(value, dict) else set())
    return data
