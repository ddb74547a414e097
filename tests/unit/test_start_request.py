"""A start request is checked against Jumio's account rules before anything reaches Jumio.

Every refusal names the wrong field (``InvalidMessage.field`` and the message) and never
echoes what was sent: a reference or a user reference that looks like an e-mail address or a
phone number is personal data, and an error message ends up in logs and answers.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.start_request import (
    INVALID_START_REQUEST,
    parse_start_request,
)

CALLBACK = "https://abc123.lambda-url.us-east-1.on.aws/jumio/secret"
CONSENT = {"obtained": "yes", "obtainedAt": "2024-05-01T10:00:00Z"}


def body(**fields: Any) -> dict[str, Any]:
    """A valid request with ``fields`` changed (None removes a field)."""
    request: dict[str, Any] = {"reference": "order-1001", "workflowDefinitionKey": 10013}
    request.update(fields)
    return {name: value for name, value in request.items() if value is not None}


def refused(request: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as raised:
        parse_start_request(request)
    assert raised.value.reason == INVALID_START_REQUEST
    return raised.value


def assert_refused(request: dict[str, Any], field: str, *, value: Any = None) -> InvalidMessage:
    """Refused naming ``field``, without the value (``value``, the field's own by default)."""
    error = refused(request)
    assert error.field == field
    assert str(error).startswith(f"{INVALID_START_REQUEST}: {field}: ")
    shown = value if value is not None else request.get(field)
    if isinstance(shown, str) and len(shown.strip()) >= 3:  # shorter ones are in any text
        assert shown.strip() not in str(error)
        assert shown.strip() not in error.field
    return error


# --- the request as a whole --------------------------------------------------------------------


def test_a_minimal_request_takes_jumios_defaults():
    request = parse_start_request(body())

    assert (request.reference, request.workflowDefinitionKey) == ("order-1001", 10013)
    assert (request.tokenLifetime, request.token_lifetime_seconds) == ("30m", 1800)
    assert (request.accountId, request.userReference, request.locale) == (None, None, None)
    assert (request.userConsent, request.documentPages) == (None, 1)


@pytest.mark.parametrize("request_body", [[], "order-1001", None, 42])
def test_a_request_that_is_not_an_object_is_refused(request_body):
    error = refused(request_body)

    assert "not a JSON object" in str(error)


def test_an_unknown_field_is_refused_by_name():
    assert_refused(body(callbackUrl="https://elsewhere.example/"), "callbackUrl")


@pytest.mark.parametrize("missing", ["reference", "workflowDefinitionKey"])
def test_the_reference_and_the_workflow_key_are_required(missing):
    assert_refused({k: v for k, v in body().items() if k != missing}, missing)


# --- reference (customerInternalReference) -------------------------------------------------------


@pytest.mark.parametrize("character", list('<>"/;`%{}|'))
def test_a_reference_with_a_character_jumio_forbids_is_refused(character):
    reference = f"order{character}xyz"

    error = assert_refused(body(reference=reference), "reference")

    assert "1-100 characters" in str(error)


@pytest.mark.parametrize("reference", ["", "r" * 101, "r" * 100 + "\n"])
def test_a_reference_outside_one_to_a_hundred_characters_is_refused(reference):
    assert_refused(body(reference=reference), "reference", value="r" * 100)


def test_a_reference_of_a_hundred_characters_is_accepted():
    assert parse_start_request(body(reference="r" * 100)).reference == "r" * 100


@pytest.mark.parametrize(
    "reference",
    ["jane.doe@example.com", "order-for-jane@example.org", "+41 79 123 45 67", "0791234567"],
)
def test_a_reference_that_looks_like_an_email_or_a_phone_is_refused(reference):
    error = assert_refused(body(reference=reference), "reference")

    assert "personal data" in str(error)


@pytest.mark.parametrize("reference", ["order-123456", "ORD_2024.05:7", "42"])
def test_ordinary_references_are_accepted(reference):
    assert parse_start_request(body(reference=reference)).reference == reference


# --- userReference -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_reference", "message"),
    [
        ("", "1-100 characters"),
        ("u" * 101, "1-100 characters"),
        ("jane.doe@example.com", "personal data"),
        ("+1 (415) 555-0100", "personal data"),
    ],
)
def test_a_user_reference_that_is_too_long_or_personal_data_is_refused(user_reference, message):
    error = assert_refused(
        body(userReference=user_reference), "userReference", value=user_reference[:100]
    )

    assert message in str(error)


def test_a_user_reference_of_a_hundred_characters_is_accepted():
    assert parse_start_request(body(userReference="u" * 100)).userReference == "u" * 100


# --- tokenLifetime -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "seconds"),
    [("5m", 300), ("300s", 300), ("30m", 1800), ("24h", 86400), ("60d", 5_184_000)],
)
def test_a_token_lifetime_from_five_minutes_to_sixty_days_is_accepted(lifetime, seconds):
    assert parse_start_request(body(tokenLifetime=lifetime)).token_lifetime_seconds == seconds


@pytest.mark.parametrize(
    "lifetime", ["4m", "299s", "61d", "1441h", "0m", "-5m", "30", "m", "30 m", "1w", "5m\n"]
)
def test_a_token_lifetime_outside_five_minutes_to_sixty_days_or_malformed_is_refused(lifetime):
    error = assert_refused(body(tokenLifetime=lifetime), "tokenLifetime")

    assert "between 5m and 60d" in str(error)


# --- workflowDefinitionKey -------------------------------------------------------------------


@pytest.mark.parametrize("key", [10013, 1, "10013", "kyc_standard", "flow.v2:eu-1", "k" * 64])
def test_a_workflow_key_is_a_positive_number_or_a_key_name(key):
    assert parse_start_request(body(workflowDefinitionKey=key)).workflowDefinitionKey == key


@pytest.mark.parametrize(
    "key", [0, -1, True, False, 1.5, 10013.0, "", "a b", "k" * 65, "qzx\n", "ké", [], {}]
)
def test_any_other_workflow_key_is_refused_by_its_own_name(key):
    error = assert_refused(body(workflowDefinitionKey=key), "workflowDefinitionKey")

    assert "positive number or a key name" in str(error)


# --- locale ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de-AT", "pt_BR", "ZH-cn"])
def test_a_locale_of_at_most_five_characters_is_accepted(locale):
    assert parse_start_request(body(locale=locale)).locale == locale


@pytest.mark.parametrize("locale", ["", "e", "english", "de-AUT", "12", "de AT", "en\n"])
def test_any_other_locale_is_refused(locale):
    assert_refused(body(locale=locale), "locale")


# --- userConsent ------------------------------------------------------------------------------


def consent(country: str = "CHE", **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"userIp": "203.0.113.7", "userLocation": {"country": country}}
    value.update(fields)
    return value


def test_a_user_in_the_usa_must_have_consented():
    error = assert_refused(body(userConsent=consent("USA")), "userConsent")

    assert "consent is required" in str(error)
    assert parse_start_request(body(userConsent=consent("USA", consent=CONSENT))).userConsent


def test_a_user_outside_the_usa_may_come_without_consent():
    assert parse_start_request(body(userConsent=consent("CHE"))).userConsent.consent is None


@pytest.mark.parametrize("country", ["US", "usa", "XXX", "CH", "", "U S A"])
def test_the_country_must_be_iso_3166_alpha_3(country):
    assert_refused(
        body(userConsent=consent(country, consent=CONSENT)), "userConsent.userLocation.country"
    )


@pytest.mark.parametrize("ip", ["203.0.113.7", "2001:db8::1"])
def test_the_users_ip_is_ipv4_or_ipv6(ip):
    assert parse_start_request(body(userConsent=consent(userIp=ip))).userConsent.userIp == ip


@pytest.mark.parametrize("ip", ["203.0.113.256", "localhost", "", "203.0.113.7/32"])
def test_anything_else_as_the_users_ip_is_refused(ip):
    assert_refused(body(userConsent=consent(userIp=ip)), "userConsent.userIp", value=ip)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent": {**CONSENT, "obtained": "maybe"}}, "userConsent.consent.obtained"),
        ({"consent": {**CONSENT, "obtainedAt": "yesterday"}}, "userConsent.consent.obtainedAt"),
        ({"consent": {"obtained": "yes"}}, "userConsent.consent.obtainedAt"),
        ({"userLocation": {"country": "CHE", "state": ""}}, "userConsent.userLocation.state"),
        ({"userAgent": "Mozilla"}, "userConsent.userAgent"),
    ],
)
def test_the_consent_follows_jumios_shape(change, field):
    assert_refused(body(userConsent=consent(**change)), field, value="")


# --- accountId, documentPages ---------------------------------------------------------------


def test_an_account_id_is_a_uuid_and_a_wrong_one_is_not_echoed():
    account = str(uuid.uuid4())
    assert str(parse_start_request(body(accountId=account)).accountId) == account

    error = assert_refused(body(accountId="Zorro@example.com"), "accountId")

    assert str(error) == f"{INVALID_START_REQUEST}: accountId: must be a UUID (Jumio's account id)"


@pytest.mark.parametrize("pages", [0, 31, -1])
def test_document_pages_are_one_to_thirty(pages):
    assert_refused(body(documentPages=pages), "documentPages")
    assert parse_start_request(body(documentPages=30)).documentPages == 30


# --- the account body --------------------------------------------------------------------------


def test_the_account_body_of_a_minimal_request_has_jumios_required_fields_and_the_callback():
    request = parse_start_request(body())

    assert request.account_body(CALLBACK) == {
        "customerInternalReference": "order-1001",
        "workflowDefinition": {"key": 10013},
        "callbackUrl": CALLBACK,
        "tokenLifetime": "30m",
    }


def test_the_account_body_carries_every_optional_field_in_jumios_shape():
    request = parse_start_request(
        body(
            workflowDefinitionKey="kyc_standard",
            accountId=str(uuid.uuid4()),
            userReference="customer-77",
            tokenLifetime="2h",
            locale="de-AT",
            userConsent=consent(
                "USA", userLocation={"country": "USA", "state": "CA"}, consent=CONSENT
            ),
            documentPages=3,
        )
    )

    assert request.account_body(CALLBACK) == {
        "customerInternalReference": "order-1001",
        "workflowDefinition": {"key": "kyc_standard"},
        "callbackUrl": CALLBACK,
        "tokenLifetime": "2h",
        "userReference": "customer-77",
        "web": {"locale": "de-AT"},
        "userConsent": {
            "userIp": "203.0.113.7",
            "userLocation": {"country": "USA", "state": "CA"},
            "consent": {"obtained": "yes", "obtainedAt": "2024-05-01T10:00:00Z"},
        },
    }


def test_the_account_body_leaves_out_what_jumio_does_not_take():
    request = parse_start_request(body(userConsent=consent(), accountId=str(uuid.uuid4())))

    sent = request.account_body(CALLBACK)

    assert sent["userConsent"] == {"userIp": "203.0.113.7", "userLocation": {"country": "CHE"}}
    assert "accountId" not in sent
    assert "documentPages" not in sent
