"""SessionStarts: one Jumio account request per reference, paced, never repeated blindly.

Each success at Jumio starts a billable workflow execution, and Jumio documents no lookup by
reference, so the service must create at most once per reference: a repeat answers the same
session, a lost answer leaves the reference uncertain until what it may have created has
expired unused, and only an account request known not to have been carried out frees the
reference at once. The world is functions/start_session's wiring on in-memory fakes; Jumio's
answers come from :class:`FakeAccountRequests`, the pacer's waits from :class:`FakeSleep`.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from jumio_pipeline.adapters.ledger import TTL_MARGIN_SECONDS
from jumio_pipeline.domain.errors import (
    JumioAuthError,
    JumioRejected,
    JumioThrottled,
    JumioUnavailable,
    StartInProgress,
    StartOutcomeUnknown,
    TenantCredentialsInvalid,
)
from jumio_pipeline.domain.session_state import SessionStatus, StartState
from jumio_pipeline.domain.start_request import StartSessionRequest, parse_start_request
from jumio_pipeline.domain.upload_targets import MAX_UPLOAD_BYTES, MIN_UPLOAD_BYTES
from jumio_pipeline.services.start_session import THROTTLED_ACCOUNT_ROUNDS, SessionStarts
from tests.support.fakes import jumio_rejected, jumio_throttled, jumio_unavailable
from tests.unit.services.conftest import (
    CALLBACK_SECRET,
    CALLBACK_URL,
    START_LEASE_SECONDS,
    World,
    href_base,
    token_of,
)

REFERENCE = "order-1001"
LIFETIME = 1800  # 30m, Jumio's default tokenLifetime


def request(**fields: Any) -> StartSessionRequest:
    body: dict[str, Any] = {"reference": REFERENCE, "workflowDefinitionKey": 10013}
    body.update(fields)
    return parse_start_request(body)


@pytest.fixture
def starts(world: World) -> SessionStarts:
    return world.session_starts()


def account_calls(world: World) -> list[str]:
    return [call.operation for call in world.accounts.calls]


def claim_state(world: World, reference: str = REFERENCE) -> str | None:
    item = world.ledger.start_item(reference)
    return None if item is None else item["state"]


def end(world: World, workflow_execution_id: str, status: SessionStatus) -> None:
    """Move the session to ``status`` the way the pipeline does."""
    if status is SessionStatus.DELETED:
        world.ledger.close_for_erasure(workflow_execution_id, "erasure-request-1")
    else:
        world.ledger.mark_finalizing(workflow_execution_id)
        if status is not SessionStatus.FINALIZING:
            world.ledger.record_outcome(workflow_execution_id, status)
    assert world.ledger.get(workflow_execution_id).status is status


def lost_answer(**options: Any) -> JumioUnavailable:
    """A read timeout after the request was sent (the client raises it so)."""
    return JumioUnavailable(
        "account_create: timeout error after 1 attempt(s)", operation="account_create", **options
    )


# --- the first start ---------------------------------------------------------------------------


def test_a_first_start_creates_the_account_once_and_registers_the_session(world, starts):
    started = starts.start(request())

    assert account_calls(world) == ["account_create"]
    assert world.accounts.calls[0].data == request().account_body(CALLBACK_URL + CALLBACK_SECRET)
    ids = world.started[0]
    assert (started.created, started.status) == (True, SessionStatus.REGISTERED)
    assert started.session.workflow_execution_id == ids.workflow
    assert started.session.account_id == ids.account
    assert started.session.reference == REFERENCE
    assert started.session.token_expires_at == int(world.clock()) + LIFETIME
    record = world.ledger.get(ids.workflow)
    assert record.status is SessionStatus.REGISTERED
    assert world.executions.start_calls == [ids.workflow]
    assert world.ledger.start_item(REFERENCE) == {
        "state": "STARTED",
        "workflowExecutionId": ids.workflow,
        "accountId": ids.account,
        "tokenExpiresAt": started.session.token_expires_at,
        "expiresAt": started.session.token_expires_at + TTL_MARGIN_SECONDS,
    }
    assert world.sleep.waits == []  # the first account request of the tenant waits for none


def test_the_answer_names_a_post_per_capture_key_and_the_prepared_data_apart(world, starts):
    answer = starts.start(request(documentPages=2)).to_answer()

    ids = world.started[0]
    assert (answer["workflowExecutionId"], answer["accountId"]) == (ids.workflow, ids.account)
    assert (answer["reference"], answer["status"], answer["created"]) == (
        REFERENCE,
        "REGISTERED",
        True,
    )
    assert answer["maxUploadBytes"] == MAX_UPLOAD_BYTES
    assert answer["preparedData"] == [
        {"part": ids.ref("DATA", "PREPARED_DATA"), "credentialId": ids.data_credential}
    ]
    by_part = {capture["part"]: capture for capture in answer["captures"]}
    assert set(by_part) == {
        ids.ref("ID", "FRONT"),
        ids.ref("ID", "BACK"),
        ids.ref("SELFIE", "FACE"),
    }
    front = by_part[ids.ref("ID", "FRONT")]
    assert (front["credentialId"], front["classifier"]) == (ids.id_credential, "FRONT")
    assert [(u["key"], u["contentType"]) for u in front["uploads"]] == [
        (ids.key("ID", "FRONT.jpg"), "image/jpeg"),
        (ids.key("ID", "FRONT.png"), "image/png"),
    ]
    for upload in front["uploads"]:
        assert upload["url"] == "https://captures-bucket.s3.amazonaws.com/"
        assert upload["fields"]["key"] == upload["key"]
        assert upload["fields"]["Content-Type"] == upload["contentType"]
    posted = world.upload_posts.calls
    assert len(posted) == 6
    assert {(c.min_bytes, c.max_bytes) for c in posted} == {(MIN_UPLOAD_BYTES, MAX_UPLOAD_BYTES)}


def test_the_answer_holds_no_jumio_token_no_jumio_href_and_no_callback_secret(world, starts):
    text = json.dumps(starts.start(request()).to_answer())

    ids = world.started[0]
    for category in ("ID", "SELFIE", "DATA"):
        assert token_of(ids, category) not in text
    assert href_base(ids) not in text
    assert "jumio.ai" not in text
    assert CALLBACK_SECRET not in text


def test_an_account_update_goes_to_the_account_named_with_the_same_body(world, starts):
    account = str(uuid.uuid4())

    started = starts.start(request(accountId=account))

    assert account_calls(world) == ["account_update"]
    call = world.accounts.calls[0]
    assert call.account_id == account
    assert call.data == request().account_body(CALLBACK_URL + CALLBACK_SECRET)
    assert started.session.account_id == account
    assert started.session.workflow_execution_id == world.started[0].workflow


# --- repeats ---------------------------------------------------------------------------------


def test_a_repeat_answers_the_same_session_with_fresh_posts_and_no_jumio_call(world, starts):
    first = starts.start(request())
    world.clock.advance(120)

    again = starts.start(request())

    assert account_calls(world) == ["account_create"]
    assert world.executions.start_calls == [first.session.workflow_execution_id]
    assert (again.created, again.status) == (False, SessionStatus.REGISTERED)
    assert again.session.workflow_execution_id == first.session.workflow_execution_id
    first_posts = [post for _, post in first.uploads]
    again_posts = [post for _, post in again.uploads]
    assert [t.key for t, _ in again.uploads] == [t.key for t, _ in first.uploads]
    assert all(
        a["fields"]["policy"] != b["fields"]["policy"]
        for a, b in zip(first_posts, again_posts, strict=True)
    )
    assert again.to_answer()["created"] is False


def test_a_start_while_another_is_creating_is_told_to_come_back_after_its_lease(world, starts):
    holder = world.ledger.claim_start(
        REFERENCE, now=world.clock(), lease_seconds=START_LEASE_SECONDS, uncertain_for=LIFETIME
    )
    assert holder.state is StartState.NEW
    world.clock.advance(45)

    with pytest.raises(StartInProgress) as busy:
        starts.start(request())

    assert busy.value.retry_after == START_LEASE_SECONDS - 45
    assert busy.value.reason == "START_IN_PROGRESS"
    assert account_calls(world) == []
    assert claim_state(world) == "STARTING"


def test_concurrent_starts_of_one_reference_create_once(world, starts):
    gate = threading.Barrier(6)
    outcomes: list[Any] = []

    def start() -> None:
        gate.wait()
        try:
            outcomes.append(starts.start(request()))
        except StartInProgress as busy:
            outcomes.append(busy)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert account_calls(world) == ["account_create"]
    created = [o for o in outcomes if not isinstance(o, StartInProgress) and o.created]
    assert len(created) == 1
    assert len(outcomes) == 6


def test_after_the_sessions_token_expired_the_reference_starts_a_new_session(world, starts):
    first = starts.start(request(tokenLifetime="5m"))
    world.clock.advance(300)

    second = starts.start(request(tokenLifetime="5m"))

    assert account_calls(world) == ["account_create", "account_create"]
    assert second.created
    assert second.session.workflow_execution_id != first.session.workflow_execution_id


# --- an answer that was lost ------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [lost_answer(), jumio_unavailable(503, operation="account_create")],
    ids=["read-timeout", "http-503"],
)
def test_a_lost_answer_leaves_the_reference_uncertain_and_no_second_create_goes_out(
    world, starts, error
):
    world.accounts.fail("account_create", error)

    with pytest.raises(StartOutcomeUnknown) as unknown:
        starts.start(request())

    assert unknown.value.reason == "START_OUTCOME_UNKNOWN"
    assert unknown.value.retry_after == LIFETIME + START_LEASE_SECONDS
    assert claim_state(world) == "UNCERTAIN"
    failed_at = world.clock()
    for elapsed in (1, START_LEASE_SECONDS, LIFETIME, LIFETIME + START_LEASE_SECONDS - 1):
        world.clock.now = failed_at + elapsed
        with pytest.raises(StartOutcomeUnknown) as still:
            starts.start(request())
        assert still.value.retry_after == LIFETIME + START_LEASE_SECONDS - elapsed
    assert account_calls(world) == ["account_create"]
    assert world.executions.start_calls == []


def test_once_what_a_lost_create_made_has_expired_the_reference_is_free_again(world, starts):
    world.accounts.fail("account_create", lost_answer())
    with pytest.raises(StartOutcomeUnknown):
        starts.start(request())

    world.clock.advance(LIFETIME + START_LEASE_SECONDS)
    started = starts.start(request())

    assert started.created
    assert account_calls(world) == ["account_create", "account_create"]


def test_a_create_that_never_connected_frees_the_reference_at_once(world, starts):
    world.accounts.fail("account_create", lost_answer(maybe_applied=False))

    with pytest.raises(JumioUnavailable) as unavailable:
        starts.start(request())

    assert unavailable.value.maybe_applied is False
    assert claim_state(world) is None
    assert starts.start(request()).created
    assert account_calls(world) == ["account_create", "account_create"]


def test_a_token_endpoint_that_did_not_answer_frees_the_reference(world, starts):
    # The tenant client fetches its OAuth token first: nothing reached the accounts route.
    world.accounts.fail(
        "account_create", JumioUnavailable("token: timeout error", operation="token")
    )

    with pytest.raises(JumioUnavailable):
        starts.start(request())

    assert claim_state(world) is None
    assert starts.start(request()).created


@pytest.mark.parametrize(
    "error",
    [
        jumio_rejected(400, operation="account_create"),
        JumioRejected("account_create: HTTP 409", status=409, operation="account_create"),
        JumioAuthError("account_create: HTTP 403", status=403, operation="account_create"),
        TenantCredentialsInvalid("the tenant secret has no clientId string"),
    ],
    ids=["rejected-400", "rejected-409", "forbidden", "no-credentials"],
)
def test_an_account_request_that_did_nothing_frees_the_reference(world, starts, error):
    world.accounts.fail("account_create", error)

    with pytest.raises(type(error)) as raised:
        starts.start(request())

    assert raised.value is error
    assert claim_state(world) is None
    assert starts.start(request()).created


def test_a_registration_that_fails_after_the_create_never_leads_to_a_second_create(world, starts):
    world.executions.fail_starts_with = RuntimeError("ThrottlingException")
    with pytest.raises(RuntimeError):
        starts.start(request())

    with pytest.raises(StartInProgress):
        starts.start(request())
    world.clock.advance(START_LEASE_SECONDS)
    with pytest.raises(StartOutcomeUnknown):
        starts.start(request())

    assert account_calls(world) == ["account_create"]


# --- pacing: one account request per second per tenant ------------------------------------------


def test_a_second_start_waits_for_its_slot(world, starts):
    starts.start(request())
    requested_at = world.clock()

    starts.start(request(reference="order-1002"))

    assert world.sleep.waits == [1.0]
    assert world.clock() == requested_at + 1.0
    assert account_calls(world) == ["account_create", "account_create"]


def test_a_wait_longer_than_allowed_is_throttled_and_frees_the_reference(world):
    starts = world.session_starts(max_pacing_wait_seconds=2.0)
    now = world.clock()
    for _ in range(3):  # three requests of other instances are booked ahead
        world.ledger.take_account_slot(now=now, interval=1.0)

    with pytest.raises(JumioThrottled) as throttled:
        starts.start(request())

    assert throttled.value.retry_after == 3.0
    assert throttled.value.operation == "account_create"
    assert world.sleep.waits == []
    assert account_calls(world) == []
    assert claim_state(world) is None


def _throttled(retry_after: float | None = None) -> JumioThrottled:
    return jumio_throttled(retry_after, operation="account_create")


def test_a_throttled_create_waits_a_second_for_a_later_slot_and_is_sent_again(world, starts):
    """429 is documented as "nothing done": the same create may go out again, a second later."""
    world.accounts.fail("account_create", _throttled(), _throttled(retry_after=1.5))

    started = starts.start(request())

    assert started.created
    assert account_calls(world) == ["account_create"] * 3
    assert world.sleep.waits[:2] == [1.0, 1.5]
    assert claim_state(world) == "STARTED"


def test_a_create_throttled_every_round_is_passed_on_and_frees_the_reference(world, starts):
    world.accounts.fail("account_create", *[_throttled() for _ in range(THROTTLED_ACCOUNT_ROUNDS)])

    with pytest.raises(JumioThrottled):
        starts.start(request())

    assert account_calls(world) == ["account_create"] * THROTTLED_ACCOUNT_ROUNDS
    assert claim_state(world) is None


def test_a_retry_after_beyond_the_pacing_limit_is_passed_on_at_once(world):
    starts = world.session_starts(max_pacing_wait_seconds=2.0)
    world.accounts.fail("account_create", _throttled(retry_after=30))

    with pytest.raises(JumioThrottled) as throttled:
        starts.start(request())

    assert throttled.value.retry_after == 30
    assert account_calls(world) == ["account_create"]
    assert world.sleep.waits == []


def test_a_wait_of_exactly_the_limit_is_waited(world):
    starts = world.session_starts(max_pacing_wait_seconds=2.0)
    now = world.clock()
    for _ in range(2):
        world.ledger.take_account_slot(now=now, interval=1.0)

    assert starts.start(request()).created

    assert world.sleep.waits == [2.0]


# --- upload POSTs: only while parts are accepted, never past the token -------------------------


@pytest.mark.parametrize(
    "status",
    [
        SessionStatus.FINALIZING,
        SessionStatus.FINALIZED,
        SessionStatus.EXPIRED,
        SessionStatus.FAILED,
        SessionStatus.DELETED,
    ],
)
def test_a_session_that_accepts_no_more_parts_gets_no_posts(world, starts, status):
    first = starts.start(request())
    end(world, first.session.workflow_execution_id, status)
    posted = len(world.upload_posts.calls)

    again = starts.start(request())

    assert (again.created, again.status) == (False, status)
    assert again.uploads == []
    assert len(world.upload_posts.calls) == posted
    answer = again.to_answer()
    assert (answer["captures"], answer["uploadsExpireAt"], answer["status"]) == (
        [],
        None,
        status.value,
    )
    assert answer["workflowExecutionId"] == first.session.workflow_execution_id
    assert account_calls(world) == ["account_create"]


@pytest.mark.parametrize(("lifetime", "expires_in"), [("30m", 1800), ("2h", 3600), ("5m", 300)])
def test_posts_expire_within_an_hour_and_never_after_the_token(world, starts, lifetime, expires_in):
    started = starts.start(request(tokenLifetime=lifetime))

    assert {call.expires_in for call in world.upload_posts.calls} == {expires_in}
    assert started.uploads_expire_at == int(world.clock()) + expires_in
    assert started.uploads_expire_at <= started.session.token_expires_at


def test_posts_of_a_repeat_expire_with_what_is_left_of_the_token(world, starts):
    first = starts.start(request())
    world.clock.advance(25 * 60)
    posted = len(world.upload_posts.calls)

    again = starts.start(request())

    assert {call.expires_in for call in world.upload_posts.calls[posted:]} == {5 * 60}
    assert again.uploads_expire_at == first.session.token_expires_at
    assert again.to_answer()["uploadsExpireAt"] == again.to_answer()["tokenExpiresAt"]
