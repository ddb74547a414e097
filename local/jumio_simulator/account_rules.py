"""Validation of the account create/update body, per the Accounts API (contract §2.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jumio_simulator.errors import bad_request
from jumio_simulator.workflows import REQUESTABLE_CATEGORIES

TOKEN_LIFETIME_PATTERN = re.compile(r"^([+-]?\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_TOKEN_LIFETIME = 5 * 60
MAX_TOKEN_LIFETIME = 60 * 86400
DEFAULT_TOKEN_LIFETIME = 30 * 60
FORBIDDEN_REFERENCE_CHARACTERS = set('<>"/;`%{}|')


@dataclass(frozen=True)
class AccountRequest:
    """The parts of an account body the simulator acts on."""

    workflow_key: str
    customer_internal_reference: str
    requested_categories: list[str]
    token_lifetime_seconds: int
    callback_url: str | None
    user_reference: str | None
    wants_web: bool


def parse_token_lifetime(value: object) -> int:
    """Seconds for a `tokenLifetime` like `30m`; 400 outside 5m..60d or off the pattern."""
    if value is None:
        return DEFAULT_TOKEN_LIFETIME
    if not isinstance(value, str) or not (match := TOKEN_LIFETIME_PATTERN.match(value)):
        raise bad_request("tokenLifetime must match ^([+-]?\\d+)([smhd])$, e.g. 30m")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if not MIN_TOKEN_LIFETIME <= seconds <= MAX_TOKEN_LIFETIME:
        raise bad_request("tokenLifetime must be between 5m and 60d")
    return seconds


def _reference(body: dict[str, object]) -> str:
    reference = body.get("customerInternalReference")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 100:
        raise bad_request("customerInternalReference is required, 1 to 100 characters")
    if FORBIDDEN_REFERENCE_CHARACTERS & set(reference):
        raise bad_request('customerInternalReference must not contain any of <>"/;`%{}|')
    return reference


def _optional_string(body: dict[str, object], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise bad_request(f"{name} must be a string of at most {limit} characters")
    return value


def _requested_categories(definition: dict[str, object]) -> list[str]:
    credentials = definition.get("credentials", [])
    if not isinstance(credentials, list):
        raise bad_request("workflowDefinition.credentials must be a list")
    categories = []
    for entry in credentials:
        category = entry.get("category") if isinstance(entry, dict) else None
        if category not in REQUESTABLE_CATEGORIES:
            raise bad_request(
                "workflowDefinition.credentials[].category must be one of "
                + ", ".join(sorted(REQUESTABLE_CATEGORIES))
            )
        if category == "DOCUMENT":
            _single_value(entry, "country")
            _single_value(entry, "type")
        categories.append(str(category))
    return categories


def _single_value(entry: dict[str, object], name: str) -> None:
    """DOCUMENT credentials carry exactly one country and one type value when given."""
    spec = entry.get(name)
    if spec is None:
        return
    values = spec.get("values") if isinstance(spec, dict) else None
    if not isinstance(values, list) or len(values) != 1:
        raise bad_request(f"DOCUMENT credential needs exactly one {name} value")


def parse_account_request(body: object) -> AccountRequest:
    """Check an account create/update body; raise 400 naming the first problem."""
    if not isinstance(body, dict):
        raise bad_request("account request body must be a JSON object")
    reference = _reference(body)
    definition = body.get("workflowDefinition")
    if not isinstance(definition, dict) or definition.get("key") in (None, ""):
        raise bad_request("workflowDefinition.key is required")
    key = definition["key"]
    if not isinstance(key, (int, str)) or isinstance(key, bool):
        raise bad_request("workflowDefinition.key must be an integer or a string")
    web = body.get("web")
    if web is not None and not isinstance(web, dict):
        raise bad_request("web must be an object")
    return AccountRequest(
        workflow_key=str(key),
        customer_internal_reference=reference,
        requested_categories=_requested_categories(definition),
        token_lifetime_seconds=parse_token_lifetime(body.get("tokenLifetime")),
        callback_url=_optional_string(body, "callbackUrl", 255),
        user_reference=_optional_string(body, "userReference", 100),
        wants_web=web is not None,
    )
