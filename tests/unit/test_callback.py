"""Jumio's callback payload: the documented shape is accepted, anything else is refused by name.

The valid bodies are built by the Jumio simulator's own callback builder, so they are the
payload the simulator (and, per its documentation, Jumio) posts. Every refusal names the field
that is wrong and never repeats a value of the body: the callback function logs the refusal
and answers it to whoever posted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from jumio_pipeline.domain.callback import (
    INVALID_CALLBACK,
    MAX_CALLBACK_BYTES,
    JumioCallback,
    parse_callback,
)
from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_simulator.callbacks import callback_body

ACCOUNT = "6f2a1c0e-4b7d-4e52-9a1f-3c8d2b7e5a10"
EXECUTION = "0b9e7d4c-2f13-4a8b-b6e5-9d1c3a7f8e22"
SENT_AT = "2024-05-01T10:05:12.345Z"
SECRET = "Ysolde-Barraclough-1979"  # a value that must never come back in a refusal


def payload(status: str = "PROCESSED", **overrides: Any) -> dict[str, Any]:
    body = {
        "callbackSentAt": SENT_AT,
        **callback_body(
            base_url="https://api.amer-1.jumio.ai",
            account_id=ACCOUNT,
            execution_id=EXECUTION,
            definition_key="10013",
            status=status,
            user_reference="onboarding-42",
        ),
    }
    body.update(overrides)
    return body


def encoded(body: Any) -> bytes:
    return json.dumps(body).encode("utf-8")


def refusal(body: bytes) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        parse_callback(body)
    return caught.value


@pytest.mark.parametrize("status", ["PROCESSED", "SESSION_EXPIRED", "TOKEN_EXPIRED"])
def test_a_documented_callback_gives_its_ids_status_and_time(status):
    callback = parse_callback(encoded(payload(status)))

    assert callback == JumioCallback(
        workflow_execution_id=EXECUTION,
        account_id=ACCOUNT,
        status=WorkflowStatus(status),
        sent_at=SENT_AT,
    )


def test_the_user_reference_is_optional_and_never_kept():
    with_reference = payload(userReference=SECRET)
    without_reference = payload()
    del without_reference["userReference"]

    kept = parse_callback(encoded(with_reference))

    assert SECRET not in repr(kept)
    assert kept == parse_callback(encoded(without_reference))


def test_ids_are_read_as_uuids_in_their_canonical_spelling():
    body = payload()
    body["workflowExecution"]["id"] = EXECUTION.upper()
    body["account"]["id"] = ACCOUNT.upper()

    callback = parse_callback(encoded(body))

    assert (callback.workflow_execution_id, callback.account_id) == (EXECUTION, ACCOUNT)


def test_an_offset_timestamp_is_a_timestamp_too():
    assert parse_callback(encoded(payload(callbackSentAt="2024-05-01T12:05:12+02:00"))).sent_at


def _with(path: str, value: Any) -> dict[str, Any]:
    """The valid payload with one field set (``...`` removes it)."""
    body = payload()
    *parents, name = path.split(".")
    holder = body
    for parent in parents:
        holder = holder[parent]
    if value is ...:
        del holder[name]
    else:
        holder[name] = value
    return body


INVALID_FIELDS = [
    ("workflowExecution", ...),
    ("workflowExecution", SECRET),
    ("workflowExecution", [SECRET]),
    ("account", ...),
    ("account", SECRET),
    ("workflowExecution.status", ...),
    ("workflowExecution.status", ""),
    ("workflowExecution.status", 7),
    ("workflowExecution.status", "ACQUIRED"),  # documented status, but never called back
    ("workflowExecution.status", "INITIATED"),
    ("workflowExecution.status", "processed"),
    ("workflowExecution.status", SECRET),
    ("callbackSentAt", ...),
    ("callbackSentAt", 1714557912),
    ("callbackSentAt", SECRET),
    ("workflowExecution.href", ...),
    ("workflowExecution.href", ""),
    ("account.href", ...),
    ("account.href", {"url": SECRET}),
    ("userReference", 42),
    ("userReference", {"name": SECRET}),
    ("workflowExecution.id", ...),
    ("workflowExecution.id", SECRET),
    ("workflowExecution.id", 12345),
    ("account.id", ...),
    ("account.id", SECRET),
]


@pytest.mark.parametrize(
    ("field", "value"), INVALID_FIELDS, ids=[f"{f}={v!r}"[:60] for f, v in INVALID_FIELDS]
)
def test_an_invalid_field_is_named_and_its_value_is_not_repeated(field, value):
    refused = refusal(encoded(_with(field, value)))

    assert (refused.reason, refused.field) == (INVALID_CALLBACK, field)
    assert SECRET not in str(refused)
    assert SECRET not in repr(refused.args)


def test_an_undocumented_top_level_field_is_refused_without_echoing_its_name_or_value():
    refused = refusal(encoded(payload(**{f"result-{SECRET}": {"firstName": SECRET}})))

    assert (refused.reason, refused.field) == (INVALID_CALLBACK, "")
    assert "undocumented top-level field" in str(refused)
    assert SECRET not in str(refused)


def test_a_null_user_reference_is_accepted_as_absent():
    assert parse_callback(encoded(payload(userReference=None))).account_id == ACCOUNT


def test_undocumented_fields_inside_the_objects_are_left_alone():
    body = payload()
    body["workflowExecution"]["definitionKey"] = "10013"
    body["account"]["region"] = "amer-1"

    assert parse_callback(encoded(body)).account_id == ACCOUNT


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(f"not json {SECRET}".encode(), id="not-json"),
        pytest.param(b"\xff\xfe" + SECRET.encode("utf-16-le"), id="not-utf8"),
        pytest.param(encoded([SECRET]), id="array"),
        pytest.param(encoded(SECRET), id="string"),
        pytest.param(encoded(None), id="null"),
        pytest.param(b"[" * 8_000 + b"]" * 8_000, id="nested-too-deep"),
        pytest.param(
            encoded(payload(userReference=SECRET * (MAX_CALLBACK_BYTES // len(SECRET)))),
            id="too-large",
        ),
    ],
)
def test_a_body_that_is_not_a_callback_object_is_refused_without_a_field(body):
    refused = refusal(body)

    assert (refused.reason, refused.field) == (INVALID_CALLBACK, "")
    assert SECRET not in str(refused)


def test_a_body_at_the_size_limit_is_still_read():
    body = payload()
    room = MAX_CALLBACK_BYTES - len(encoded(body))
    body["userReference"] = "r" * (len(body["userReference"]) + room)

    assert len(encoded(body)) == MAX_CALLBACK_BYTES
    assert parse_callback(encoded(body)).workflow_execution_id == EXECUTION


def test_every_id_is_checked_not_only_the_first():
    body = payload()
    body["account"]["id"] = str(uuid.uuid4())[:-1]

    assert refusal(encoded(body)).field == "account.id"
