"""The prepared-data message model: what passes, what is refused, and that no value leaks.

Why these tests: the data is the most sensitive the project touches, so every refusal must
name the field (for the operator) and never the value (for the customer), and what passes must
be exactly what the producer sent, so Jumio receives the producer's values and not ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from jumio_pipeline.adapters.secrets import FingerprintKey
from jumio_pipeline.domain.errors import FingerprintKeyUnavailable, InvalidMessage
from jumio_pipeline.domain.iso3166 import ISO3166_ALPHA3, is_iso3166_alpha3
from jumio_pipeline.domain.prepared_data import (
    INVALID_MESSAGE,
    INVALID_PREPARED_DATA,
    canonical_json,
    keyed_fingerprint,
    parse_message_ids,
    validate_prepared_data,
)
from tests.support.prepared_data import FULL_DATA

WF_ID = "a01773c3-6bb0-4b04-b373-7504b8d5302d"
CRED_ID = "e62dc87d-bc8a-4933-8ace-05acc3c8a379"


def message(data: Any = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"workflowExecutionId": WF_ID, **fields}
    if data is not None:
        body["data"] = data
    return body


def refusal(raw: dict[str, Any]) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        validate_prepared_data(raw)
    return caught.value


def values_of(data: Any) -> list[str]:
    """Every leaf value of a payload, as text (what must never appear in an error)."""
    if isinstance(data, dict):
        return [v for value in data.values() for v in values_of(value)]
    if isinstance(data, list):
        return [v for value in data for v in values_of(value)]
    return [str(data)]


# --- what passes ---------------------------------------------------------------------------


def test_full_payload_passes_exactly_as_given() -> None:
    valid = validate_prepared_data(message(FULL_DATA))
    assert valid.body == FULL_DATA
    assert json.dumps(valid.body, sort_keys=True) == json.dumps(FULL_DATA, sort_keys=True)


def test_minimal_payload_passes() -> None:
    valid = validate_prepared_data(message({"personalNumber": "52998224725"}))
    assert valid.body == {"personalNumber": "52998224725"}


def test_values_are_not_reformatted() -> None:
    """The email keeps its capitals, the phone its spaces: Jumio gets the producer's text."""
    data = {"email": "Zebulon.Qx7@Example.COM", "phoneNumber": " +55 11 5555 0199"}
    assert validate_prepared_data(message(data)).body == data


def test_null_fields_are_dropped_at_every_model_level() -> None:
    data = {"firstName": "Zeb", "middleName": None, "address": {"city": None, "country": "BRA"}}
    body = validate_prepared_data(message(data)).body
    assert body == {"firstName": "Zeb", "address": {"country": "BRA"}}


def test_kyc_bank_business_pass_through_untouched() -> None:
    data = {"kyc": {"anything": [1, {"x": None}]}, "bank": {}, "business": {"n": "Q"}}
    assert validate_prepared_data(message(data)).body == data


def test_credential_id_is_optional_and_ids_are_lower_cased() -> None:
    ids, _ = parse_message_ids(json.dumps(message({"firstName": "Z"})))
    assert ids.workflow_execution_id == WF_ID
    assert ids.credential_id is None
    upper = json.dumps(
        message({"firstName": "Z"}, credentialId=CRED_ID.upper())
        | {"workflowExecutionId": WF_ID.upper()}
    )
    ids, _ = parse_message_ids(upper)
    assert (ids.workflow_execution_id, ids.credential_id) == (WF_ID, CRED_ID)


KEY = b"k" * 64
OTHER_KEY = b"q" * 64


def test_fingerprint_is_canonical_and_changes_with_the_data() -> None:
    one = validate_prepared_data(message({"firstName": "Zeb", "lastName": "Qx"}))
    same_reordered = validate_prepared_data(message({"lastName": "Qx", "firstName": "Zeb"}))
    corrected = validate_prepared_data(message({"firstName": "Zeb", "lastName": "Qy"}))
    canonical = b'{"firstName":"Zeb","lastName":"Qx"}'
    assert canonical_json(same_reordered.body) == canonical
    assert (
        keyed_fingerprint(one.body, KEY)
        == keyed_fingerprint(same_reordered.body, KEY)
        == hmac.new(KEY, canonical, hashlib.sha256).hexdigest()
    )
    assert keyed_fingerprint(corrected.body, KEY) != keyed_fingerprint(one.body, KEY)
    assert len(keyed_fingerprint(one.body, KEY)) == 64


def test_fingerprint_is_keyed_not_a_plain_hash() -> None:
    """A plain sha256 of a personal number is brute-forced back to it; the HMAC is not."""
    data = {"personalNumber": "52998224725"}
    plain = hashlib.sha256(canonical_json(data)).hexdigest()
    assert keyed_fingerprint(data, KEY) != plain
    assert keyed_fingerprint(data, KEY) != keyed_fingerprint(data, OTHER_KEY)


def test_fingerprint_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="key is empty"):
        keyed_fingerprint({"firstName": "Zeb"}, b"")


def test_repr_of_valid_data_shows_no_value() -> None:
    valid = validate_prepared_data(message(FULL_DATA))
    assert "Zebulon" not in repr(valid)
    assert repr(valid) == f"ValidPreparedData(<{len(FULL_DATA)} fields, values hidden>)"


# --- the fingerprint key ----------------------------------------------------------------------


def test_fingerprint_key_accepts_a_generated_secret_string() -> None:
    assert FingerprintKey(lambda: "A1b2" * 16).bytes() == b"A1b2" * 16


@pytest.mark.parametrize(
    ("read", "problem"),
    [
        (lambda: "short-key-Qx7", "shorter than 32 characters"),
        (lambda: "", "shorter than 32 characters"),
        (lambda: None, "is not a string"),
        (lambda: {"key": "A1b2" * 16}, "is not a string"),
    ],
    ids=["short", "empty", "none", "json object"],
)
def test_unfit_fingerprint_key_is_refused_without_quoting_it(read: Any, problem: str) -> None:
    with pytest.raises(FingerprintKeyUnavailable, match=problem) as caught:
        FingerprintKey(read).bytes()
    assert "Qx7" not in str(caught.value)


def test_unreadable_fingerprint_key_names_only_the_error_class() -> None:
    def unreachable() -> str:
        raise ConnectionError("secret A1b2A1b2 unreachable")

    with pytest.raises(FingerprintKeyUnavailable) as caught:
        FingerprintKey(unreachable).bytes()
    assert str(caught.value) == "the prepared-data hash key could not be read (ConnectionError)"
    assert caught.value.__cause__ is None


# --- what is refused, with which field ------------------------------------------------------

INVALID_CASES = [
    ("bad date", {"dateOfBirth": "1985-13-01"}, "data.dateOfBirth", "ISO 8601 date"),
    ("date not ISO", {"dateOfBirth": "01/02/1985"}, "data.dateOfBirth", "ISO 8601 date"),
    ("compact date", {"dateOfBirth": "19850102"}, "data.dateOfBirth", "ISO 8601 date"),
    ("date-time", {"dateOfBirth": "1985-01-02T00:00:00"}, "data.dateOfBirth", "ISO 8601 date"),
    ("bad id date", {"id": {"expiryDate": "2034-02-30"}}, "data.id.expiryDate", "ISO 8601"),
    ("bad email", {"email": "zebulon-qx7@"}, "data.email", "valid email"),
    ("bad sex", {"sex": "X"}, "data.sex", "must be one of"),
    ("sex lower case", {"sex": "m"}, "data.sex", "must be one of"),
    ("bad nationality", {"nationality": "ZZZ"}, "data.nationality", "alpha-3"),
    ("alpha-2 nationality", {"nationality": "BR"}, "data.nationality", "alpha-3"),
    ("lower-case country", {"address": {"country": "bra"}}, "data.address.country", "alpha-3"),
    ("bad id.type", {"id": {"type": "VISA"}}, "data.id.type", "must be one of"),
    ("unknown top-level field", {"favouriteColour": "Qx7"}, "data.favouriteColour", "not a known"),
    ("unknown address field", {"address": {"line6": "Qx7"}}, "data.address.line6", "not a known"),
    ("unknown id field", {"id": {"number": "Qx7"}}, "data.id.number", "not a known"),
    ("number for a string", {"phoneNumber": 5551234}, "data.phoneNumber", "must be a string"),
    ("list for a string", {"firstName": ["Zeb"]}, "data.firstName", "must be a string"),
    ("bool for a string", {"personalNumber": True}, "data.personalNumber", "must be a string"),
    ("empty string", {"lastName": ""}, "data.lastName", "must not be empty"),
    ("address not an object", {"address": "77 Rua"}, "data.address", "JSON object"),
    ("kyc not an object", {"kyc": ["Qx7"]}, "data.kyc", "JSON object"),
    ("date as a number", {"dateOfBirth": 19850101}, "data.dateOfBirth", "must be a string"),
]


@pytest.mark.parametrize(
    ("case", "data", "field", "words"), INVALID_CASES, ids=[c[0] for c in INVALID_CASES]
)
def test_invalid_field_is_refused_naming_the_field(
    case: str, data: dict[str, Any], field: str, words: str
) -> None:
    exc = refusal(message({"firstName": "Zebulon-Qx7", **data}))
    assert exc.reason == INVALID_PREPARED_DATA
    assert exc.field == field
    assert words in str(exc)
    for value in [*values_of(data), "Zebulon-Qx7"]:
        if len(value) > 1:  # one-letter values ("X") appear in ordinary words
            assert value not in str(exc), f"{case}: the value leaked into the error"


def test_missing_data_is_refused() -> None:
    exc = refusal(message())
    assert (exc.reason, exc.field) == (INVALID_PREPARED_DATA, "data")
    assert "is required" in str(exc)


@pytest.mark.parametrize("data", [["Zebulon-Qx7"], "Zebulon-Qx7", 42])
def test_data_not_an_object_is_refused(data: Any) -> None:
    exc = refusal(message(data))
    assert (exc.reason, exc.field) == (INVALID_PREPARED_DATA, "data")
    assert "JSON object" in str(exc)
    assert "Zebulon" not in str(exc)


@pytest.mark.parametrize("data", [{}, {"firstName": None}])
def test_data_without_any_value_is_refused(data: dict[str, Any]) -> None:
    exc = refusal(message(data))
    assert (exc.reason, exc.field) == (INVALID_PREPARED_DATA, "data")


def test_every_bad_field_is_listed_the_first_in_field() -> None:
    exc = refusal(message({"sex": "X", "nationality": "ZZZ", "address": {"country": "QQQ"}}))
    assert exc.field == "data.sex"
    assert "data.nationality" in str(exc)
    assert "data.address.country" in str(exc)
    assert "ZZZ" not in str(exc)
    assert "QQQ" not in str(exc)


def test_unknown_envelope_field_is_refused_as_invalid_message() -> None:
    exc = refusal(message({"firstName": "Z"}, reference="Zebulon-Qx7"))
    assert (exc.reason, exc.field) == (INVALID_MESSAGE, "reference")


def test_unknown_field_name_that_is_not_a_name_is_hidden() -> None:
    exc = refusal(message({"Zebulon Qx7 born 1985": "x"}))
    assert exc.field == "data.<field>"
    assert "Zebulon" not in str(exc)


def test_pydantic_input_never_reaches_the_exception() -> None:
    """Pydantic's own message for a bad literal or type would quote it; ours never does."""
    exc = refusal(message({"email": "Zebulon-Qx7@@example", "id": {"type": "Zebulon-Qx7"}}))
    assert "Zebulon" not in str(exc)
    assert "Zebulon" not in repr(exc.args)
    assert exc.__cause__ is None
    assert exc.__suppress_context__


# --- the envelope ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json {", ""),
        ('["a list"]', ""),
        (json.dumps({"data": {"firstName": "Z"}}), "workflowExecutionId"),
        (json.dumps({"workflowExecutionId": "Zebulon-Qx7", "data": {}}), "workflowExecutionId"),
        (json.dumps({"workflowExecutionId": WF_ID, "credentialId": "nope"}), "credentialId"),
    ],
    ids=["not JSON", "not an object", "no workflowExecutionId", "bad id", "bad credentialId"],
)
def test_bad_envelope_is_refused(body: str, field: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_message_ids(body)
    assert caught.value.reason == INVALID_MESSAGE
    assert caught.value.field == field
    assert "Zebulon" not in str(caught.value)


# --- the country list -----------------------------------------------------------------------


def test_country_list_has_the_249_assigned_codes() -> None:
    assert len(ISO3166_ALPHA3) == 249
    assert all(len(code) == 3 and code.isupper() for code in ISO3166_ALPHA3)
    assert {"BRA", "USA", "DEU", "ALA", "SSD", "BES", "CUW", "SXM"} <= ISO3166_ALPHA3
    assert not is_iso3166_alpha3("XKX")  # Kosovo: user-assigned, not ISO
    assert not is_iso3166_alpha3("ANT")  # Netherlands Antilles: withdrawn in 2010


def test_a_message_over_sqs_size_limit_is_refused_naming_the_limit() -> None:
    kyc = {f"k{i}": "x" * 100 for i in range(2600)}
    body = json.dumps(
        {"workflowExecutionId": "41f71912-1c6b-4e2f-b340-d6dc10cd69b8", "data": {"kyc": kyc}}
    )
    with pytest.raises(InvalidMessage) as caught:
        parse_message_ids(body)
    assert caught.value.reason == "MESSAGE_TOO_LARGE"
    assert "262144 bytes" in str(caught.value)
    assert str(len(body.encode())) in str(caught.value)


def test_a_200_kb_kyc_object_is_valid_data() -> None:
    kyc = {f"k{i}": "x" * 100 for i in range(2000)}
    body = json.dumps(
        {"workflowExecutionId": "41f71912-1c6b-4e2f-b340-d6dc10cd69b8", "data": {"kyc": kyc}}
    )
    _, raw = parse_message_ids(body)
    assert validate_prepared_data(raw).body == {"kyc": kyc}
