"""parse_registration: Jumio's account response (bare or wrapped) becomes a Session."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import pytest

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import token_lifetime_seconds

BASE = "https://api.amer-1.jumio.ai/api/v1/accounts/{a}/workflow-executions/{w}"
ACCOUNT_ID = "572ac7b5-9f83-409d-ba8e-f0014e411c7e"
WORKFLOW_ID = "41f71912-1c6b-4e2f-b340-d6dc10cd69b8"
ID_CREDENTIAL = "fdb1bc31-99a0-4671-8f2a-2bf7ca2faace"
SELFIE_CREDENTIAL = "0b0b5a44-4d7e-4a43-9c2f-6e1e0a4c1d11"
FACEMAP_CREDENTIAL = "7d3c7a1e-9c1b-4f27-8a52-3c4b9d0e2f33"


def account_response() -> dict:
    base = BASE.format(a=ACCOUNT_ID, w=WORKFLOW_ID)
    return {
        "timestamp": "2024-05-01T10:00:00.000Z",
        "account": {"id": ACCOUNT_ID},
        "sdk": {"token": "sdk-token-not-used"},
        "workflowExecution": {
            "id": WORKFLOW_ID,
            "credentials": [
                {
                    "id": ID_CREDENTIAL,
                    "category": "ID",
                    "allowedChannels": ["WEB", "API", "SDK"],
                    "api": {
                        "token": "id-token",
                        "parts": {
                            "front": f"{base}/credentials/{ID_CREDENTIAL}/parts/FRONT",
                            "back": f"{base}/credentials/{ID_CREDENTIAL}/parts/BACK",
                        },
                        "workflowExecution": base,
                    },
                },
                {
                    "id": SELFIE_CREDENTIAL,
                    "category": "SELFIE",
                    "allowedChannels": ["WEB", "API", "SDK"],
                    "api": {
                        "token": "selfie-token",
                        "parts": {"face": f"{base}/credentials/{SELFIE_CREDENTIAL}/parts/FACE"},
                        "workflowExecution": base,
                    },
                },
                {
                    "id": FACEMAP_CREDENTIAL,
                    "category": "FACEMAP",
                    "allowedChannels": ["WEB", "SDK"],
                },
            ],
        },
    }


def test_bare_response_requires_every_api_part_and_keeps_hrefs_verbatim():
    session = parse_registration(account_response())
    assert session.account_id == ACCOUNT_ID
    assert session.workflow_execution_id == WORKFLOW_ID
    assert session.required_parts == {
        f"{ID_CREDENTIAL}/FRONT",
        f"{ID_CREDENTIAL}/BACK",
        f"{SELFIE_CREDENTIAL}/FACE",
    }
    front = session.credential(ID_CREDENTIAL).parts["FRONT"]
    assert (
        front == account_response()["workflowExecution"]["credentials"][0]["api"]["parts"]["front"]
    )
    assert session.credential(FACEMAP_CREDENTIAL).token is None
    execution_href = BASE.format(a=ACCOUNT_ID, w=WORKFLOW_ID)
    assert session.credential(ID_CREDENTIAL).workflow_execution_href == execution_href


def test_token_expiry_is_response_time_plus_default_lifetime_of_30_minutes():
    session = parse_registration(account_response())
    assert session.token_expires_at - int(session.issued_at.timestamp()) == 1800


def test_wrapper_sets_required_parts_reference_and_lifetime():
    session = parse_registration(
        {
            "account": account_response(),
            "requiredParts": [f"{ID_CREDENTIAL}/FRONT"],
            "reference": "onboarding-42",
            "tokenLifetime": "1d",
        }
    )
    assert session.required_parts == {f"{ID_CREDENTIAL}/FRONT"}
    assert session.reference == "onboarding-42"
    assert session.token_expires_at - int(session.issued_at.timestamp()) == 86400


@pytest.mark.parametrize(
    ("mutate", "reason", "field"),
    [
        (
            lambda r: r["workflowExecution"].update(id="not-a-uuid"),
            "INVALID_REGISTRATION",
            "account.workflowExecution.id",
        ),
        (lambda r: r.pop("workflowExecution"), "INVALID_REGISTRATION", "account.workflowExecution"),
        (lambda r: r["account"].update(id=None), "INVALID_REGISTRATION", "account.account.id"),
        (lambda r: r.update(timestamp="yesterday"), "INVALID_REGISTRATION", "account.timestamp"),
        (
            lambda r: [c.pop("api", None) for c in r["workflowExecution"]["credentials"]],
            "NO_API_CREDENTIAL",
            "account.workflowExecution.credentials",
        ),
    ],
)
def test_invalid_responses_name_the_field(mutate, reason, field):
    response = account_response()
    mutate(response)
    with pytest.raises(InvalidMessage) as caught:
        parse_registration(response)
    assert caught.value.reason == reason
    assert caught.value.field == field


def test_errors_never_echo_a_token():
    response = account_response()
    response["workflowExecution"]["credentials"][0]["api"]["token"] = ""
    secret = "very-secret-token-value"
    response["workflowExecution"]["credentials"][1]["api"]["token"] = secret
    response["workflowExecution"]["credentials"][1]["api"]["parts"] = {"face": 42}
    with pytest.raises(InvalidMessage) as caught:
        parse_registration(response)
    assert secret not in str(caught.value)
    assert "very-secret" not in repr(caught.value)


@pytest.mark.parametrize(
    ("wrapper", "field"),
    [
        ({"requiredParts": [f"{uuid.uuid4()}/FRONT"]}, "requiredParts.0"),
        ({"requiredParts": [f"{ID_CREDENTIAL}/SIDEWAYS"]}, "requiredParts.0"),
        ({"requiredParts": [f"{SELFIE_CREDENTIAL}/FRONT"]}, "requiredParts.0"),
        ({"tokenLifetime": "4m"}, "tokenLifetime"),
        ({"tokenLifetime": "30 minutes"}, "tokenLifetime"),
        ({"reference": "jane.doe@example.com;"}, "reference"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_wrappers_name_the_field(wrapper, field):
    with pytest.raises(InvalidMessage) as caught:
        parse_registration({"account": copy.deepcopy(account_response()), **wrapper})
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("text", "seconds"), [("600s", 600), ("30m", 1800), ("2h", 7200), ("60d", 5184000)]
)
def test_token_lifetime_formats(text, seconds):
    assert token_lifetime_seconds(text) == seconds


@pytest.mark.parametrize("text", ["299s", "61d", "10", "m", "1w"])
def test_token_lifetime_outside_jumio_rules(text):
    with pytest.raises(ValueError, match="tokenLifetime"):
        token_lifetime_seconds(text)


def test_a_timestamp_in_the_future_cannot_stretch_the_token_past_jumios_longest_lifetime():
    response = account_response()
    response["timestamp"] = "2100-01-01T00:00:00.000Z"
    now = 1_800_000_000.0

    session = parse_registration({"account": response, "tokenLifetime": "60d"}, now=now)

    assert session.token_expires_at == int(now) + 60 * 86400
    assert session.seconds_until_token_expiry(now) == 60 * 86400


def test_a_past_timestamp_keeps_its_own_expiry():
    now = datetime(2024, 5, 1, 10, 10, tzinfo=UTC).timestamp()
    session = parse_registration({"account": account_response(), "tokenLifetime": "30m"}, now=now)
    assert session.seconds_until_token_expiry(now) == 20 * 60


def test_a_part_may_map_page_numbers_to_hrefs_and_the_first_page_is_the_part():
    response = account_response()
    front = response["workflowExecution"]["credentials"][0]["api"]["parts"]["front"]
    response["workflowExecution"]["credentials"][0]["api"]["parts"]["front"] = {
        "10": front + "/10",
        "2": front + "/2",
        "1": front,
    }

    session = parse_registration(response)

    assert session.credential(ID_CREDENTIAL).parts["FRONT"] == front


def test_a_token_with_whitespace_is_refused_naming_the_field_not_the_token():
    response = account_response()
    response["workflowExecution"]["credentials"][0]["api"]["token"] = "eyJ abc"
    with pytest.raises(InvalidMessage) as refused:
        parse_registration(response)
    assert refused.value.field == "account.workflowExecution.credentials.0.api.token"
    assert "eyJ" not in str(refused.value)


@pytest.mark.parametrize("where", ["parts", "workflowExecution"])
def test_an_href_off_the_jumio_api_host_is_refused_before_any_token_goes_there(where: str):
    response = account_response()
    api = response["workflowExecution"]["credentials"][1]["api"]
    if where == "parts":
        api["parts"]["face"] = "https://collector.example/api/v1/parts/FACE"
        named = "parts.FACE"
    else:
        api["workflowExecution"] = "https://collector.example/api/v1/x"
        named = "workflowExecution"

    with pytest.raises(InvalidMessage) as refused:
        parse_registration(response, href_allowed=lambda href: "jumio" in href)

    assert refused.value.reason == "INVALID_REGISTRATION"
    assert refused.value.field == f"workflowExecution.credentials.1.api.{named}"
    assert "collector.example" not in str(refused.value)
