"""Which final Jumio answer becomes which error, and what its message may say.

The state machine and the SQS failure path route on the error class names, so each status
is pinned here. Responses are real ``requests.Response`` objects filled as the transport
would fill them.
"""

from __future__ import annotations

import email.utils
import json
import time
from http import HTTPStatus

import pytest
import requests

from jumio_pipeline.adapters.jumio.responses import error_for_response, json_body, parse_retry_after
from jumio_pipeline.domain.errors import (
    JumioAuthError,
    JumioNotFound,
    JumioPermanentError,
    JumioRejected,
    JumioThrottled,
    JumioTransientError,
    JumioUnavailable,
)


def jumio_answer(status: int, body: object = None, **headers: str) -> requests.Response:
    """A requests response with Jumio's problem body (or any body) and headers."""
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason Phrase"
    if isinstance(body, bytes):
        response._content = body
    else:
        response._content = b"" if body is None else json.dumps(body).encode()
    response.headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    return response


def problem(status: int, title: str, detail: str) -> dict[str, object]:
    """Jumio's error body."""
    return {"title": title, "status": status, "detail": detail}


@pytest.mark.parametrize(
    ("status", "error_class", "base"),
    [
        (429, JumioThrottled, JumioTransientError),
        (500, JumioUnavailable, JumioTransientError),
        (502, JumioUnavailable, JumioTransientError),
        (503, JumioUnavailable, JumioTransientError),
        (504, JumioUnavailable, JumioTransientError),
        (401, JumioAuthError, JumioPermanentError),
        (403, JumioAuthError, JumioPermanentError),
        (404, JumioNotFound, JumioPermanentError),
        (409, JumioRejected, JumioPermanentError),  # Jumio gives 409 no meaning
        (400, JumioRejected, JumioPermanentError),
        (413, JumioRejected, JumioPermanentError),
        (415, JumioRejected, JumioPermanentError),
        (422, JumioRejected, JumioPermanentError),
    ],
)
def test_each_status_maps_to_its_error_class(status, error_class, base) -> None:
    error = error_for_response("add_part", jumio_answer(status, problem(status, "T", "D")))
    assert type(error) is error_class
    assert isinstance(error, base)
    assert error.status == status
    assert error.operation == "add_part"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 429, 500, 503])
def test_message_names_operation_status_and_title_never_the_detail(status: int) -> None:
    phrase = HTTPStatus(status).phrase
    body = problem(status, phrase, "firstName 'Zelda-Qx7' does not match document 98765")
    body["extra"] = "customer-name-Jane-Doe"
    error = error_for_response("add_part", jumio_answer(status, body))
    assert str(error) == f"add_part: HTTP {status} {phrase}"
    assert not hasattr(error, "detail")
    seen = str(error) + repr(error) + repr(vars(error))
    for private in ("Zelda", "98765", "Jane"):
        assert private not in seen


def test_a_409_is_a_refusal_like_any_other_its_title_kept_for_people_only() -> None:
    error = error_for_response(
        "finalize", jumio_answer(409, problem(409, "Conflict", "ALREADY_FINALIZED: done"))
    )
    assert type(error) is JumioRejected
    assert error.title == "Conflict"
    assert "ALREADY_FINALIZED" not in str(error)


@pytest.mark.parametrize(
    "title", ["Jane Doe", "Bad Request: firstName Zelda", "IMAGE_TOO_SMALL", 42, None]
)
def test_a_title_that_is_not_a_reason_phrase_is_replaced_by_the_status_phrase(title) -> None:
    answer = jumio_answer(400, {"title": title, "status": 400})
    answer.reason = "Zelda's Request"  # the reason phrase of the status line is not trusted either
    error = error_for_response("add_part", answer)
    assert isinstance(error, JumioRejected)
    assert (error.title, str(error)) == ("Bad Request", "add_part: HTTP 400 Bad Request")


def test_a_reason_phrase_is_kept_in_its_standard_spelling() -> None:
    answer = jumio_answer(400, {"title": "  bad   REQUEST ", "status": 400})
    assert error_for_response("add_part", answer).title == "Bad Request"


def test_throttled_parses_retry_after_seconds() -> None:
    answer = jumio_answer(429, problem(429, "Too Many Requests", "Request limit exceeded"))
    answer.headers["Retry-After"] = "7"
    error = error_for_response("token", answer)
    assert isinstance(error, JumioThrottled)
    assert error.retry_after == 7.0


def test_throttled_without_retry_after_has_none() -> None:
    error = error_for_response("token", jumio_answer(429))
    assert isinstance(error, JumioThrottled)
    assert error.retry_after is None


def test_retry_after_as_http_date_becomes_seconds_from_now() -> None:
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55.0 <= parse_retry_after(in_a_minute) <= 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None


def test_non_json_error_body_is_not_quoted() -> None:
    answer = jumio_answer(502, b"<html>proxy secret page</html>")
    answer.reason = "Bad Gateway"
    error = error_for_response("finalize", answer)
    assert isinstance(error, JumioUnavailable)
    assert str(error) == "finalize: HTTP 502 Bad Gateway"


def test_json_body_of_a_success() -> None:
    assert json_body("finalize", jumio_answer(200, {"account": {"id": "a"}})) == {
        "account": {"id": "a"}
    }
    assert json_body("delete_part", jumio_answer(200)) == {}


@pytest.mark.parametrize("content", [b"<html>not json</html>", b"[1, 2]"])
def test_json_body_refuses_what_jumio_does_not_send(content: bytes) -> None:
    with pytest.raises(JumioUnavailable) as raised:
        json_body("finalize", jumio_answer(200, content))
    assert "finalize: HTTP 200" in str(raised.value)
    assert "not json" not in str(raised.value)
    assert raised.value.__context__ is None
