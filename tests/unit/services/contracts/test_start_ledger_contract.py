"""One contract, two ledgers: the claim on a reference and the pacer of account requests.

SessionStarts relies on these answers to send an account create at most once per reference
and at most one account request per second per tenant, so the fake the service tests use must
give them exactly as the DynamoDB ``Ledger`` does (conditions included). The races run on both:
on moto with its item writes made atomic, as DynamoDB's are (``local_cloud.dynamodb_writes``),
each thread with its own boto3 resource, as each Lambda instance has.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest
from botocore.exceptions import ClientError

from jumio_pipeline.adapters.ledger import TTL_MARGIN_SECONDS, Ledger
from jumio_pipeline.domain.session_state import StartClaim, StartState
from tests.unit.services.conftest import Ids
from tests.unit.services.contracts.conftest import NOW, session_of

LEASE = 60
LIFETIME = 1800  # the token's life asked for: 30m
RACERS = 8


def claim(ledger, reference: str, *, at: float = NOW, lifetime: int = LIFETIME) -> StartClaim:
    return ledger.claim_start(reference, now=at, lease_seconds=LEASE, uncertain_for=lifetime)


@pytest.fixture
def reference() -> str:
    return f"order-{uuid.uuid4().hex[:10]}"


def _conditional_check_failed(raised: pytest.ExceptionInfo[ClientError]) -> bool:
    return raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


# --- the claim -------------------------------------------------------------------------------


def test_the_first_claim_is_new_and_a_second_one_is_told_it_is_starting(ledger, probe, reference):
    assert claim(ledger, reference) == StartClaim(StartState.NEW)
    assert probe.start_item(reference) == {
        "state": "STARTING",
        "attemptAt": NOW,
        "leaseUntil": NOW + LEASE,
        "uncertainUntil": NOW + LEASE + LIFETIME,
        "expiresAt": NOW + LEASE + LIFETIME + TTL_MARGIN_SECONDS,
    }

    assert claim(ledger, reference, at=NOW + 20) == StartClaim(
        StartState.STARTING, retry_after_seconds=LEASE - 20
    )
    assert claim(ledger, reference, at=NOW + LEASE - 0.5) == StartClaim(
        StartState.STARTING, retry_after_seconds=1
    )
    assert claim(ledger, f"{reference}-other") == StartClaim(StartState.NEW)


def test_a_started_reference_names_its_session_until_the_token_expires(ledger, probe, reference):
    session = session_of(Ids())
    claim(ledger, reference)

    ledger.complete_start(reference, session)

    assert probe.start_item(reference) == {
        "state": "STARTED",
        "workflowExecutionId": session.workflow_execution_id,
        "accountId": session.account_id,
        "tokenExpiresAt": session.token_expires_at,
        "expiresAt": session.token_expires_at + TTL_MARGIN_SECONDS,
    }
    started = StartClaim(
        StartState.STARTED,
        workflow_execution_id=session.workflow_execution_id,
        account_id=session.account_id,
        token_expires_at=session.token_expires_at,
    )
    assert claim(ledger, reference) == started
    assert claim(ledger, reference, at=session.token_expires_at - 1) == started
    assert claim(ledger, reference, at=session.token_expires_at) == StartClaim(StartState.NEW)
    assert probe.start_item(reference)["state"] == "STARTING"


def test_an_uncertain_claim_holds_until_what_it_may_have_created_has_expired(
    ledger, probe, reference
):
    claim(ledger, reference)

    ledger.mark_start_uncertain(reference)

    assert probe.start_item(reference)["state"] == "UNCERTAIN"
    until = NOW + LEASE + LIFETIME
    assert claim(ledger, reference, at=NOW + 1) == StartClaim(
        StartState.UNCERTAIN, retry_after_seconds=until - NOW - 1
    )
    assert claim(ledger, reference, at=NOW + LEASE + 1) == StartClaim(
        StartState.UNCERTAIN, retry_after_seconds=until - NOW - LEASE - 1
    )
    assert claim(ledger, reference, at=until - 1) == StartClaim(
        StartState.UNCERTAIN, retry_after_seconds=1
    )
    assert claim(ledger, reference, at=until) == StartClaim(StartState.NEW)


def test_a_starting_claim_whose_lease_passed_is_uncertain_its_holder_may_have_sent(
    ledger, probe, reference
):
    claim(ledger, reference, lifetime=600)
    until = NOW + LEASE + 600

    assert claim(ledger, reference, at=NOW + LEASE) == StartClaim(
        StartState.UNCERTAIN, retry_after_seconds=600
    )
    assert claim(ledger, reference, at=until - 1) == StartClaim(
        StartState.UNCERTAIN, retry_after_seconds=1
    )
    assert probe.start_item(reference)["attemptAt"] == NOW  # asking changed nothing
    assert claim(ledger, reference, at=until) == StartClaim(StartState.NEW)
    assert probe.start_item(reference)["attemptAt"] == until


def test_a_released_claim_frees_the_reference_at_once(ledger, probe, reference):
    claim(ledger, reference)

    ledger.release_start(reference)
    ledger.release_start(reference)  # nothing left: no error

    assert probe.start_item(reference) is None
    assert claim(ledger, reference, at=NOW + 1) == StartClaim(StartState.NEW)


@pytest.mark.parametrize("state", ["STARTED", "UNCERTAIN"])
def test_only_a_starting_claim_can_be_released(ledger, probe, reference, state):
    claim(ledger, reference)
    if state == "STARTED":
        ledger.complete_start(reference, session_of(Ids()))
    else:
        ledger.mark_start_uncertain(reference)
    before = probe.start_item(reference)

    with pytest.raises(ClientError) as refused:
        ledger.release_start(reference)

    assert _conditional_check_failed(refused)
    assert probe.start_item(reference) == before


@pytest.mark.parametrize("state", [None, "STARTED", "UNCERTAIN"])
def test_only_a_starting_claim_can_become_uncertain(ledger, probe, reference, state):
    if state is not None:
        claim(ledger, reference)
        if state == "STARTED":
            ledger.complete_start(reference, session_of(Ids()))
        else:
            ledger.mark_start_uncertain(reference)
    before = probe.start_item(reference)

    with pytest.raises(ClientError) as refused:
        ledger.mark_start_uncertain(reference)

    assert _conditional_check_failed(refused)
    assert probe.start_item(reference) == before


def test_a_later_session_for_the_reference_replaces_the_expired_one(ledger, reference):
    first, second = session_of(Ids()), session_of(Ids(), timestamp="2024-05-01T11:00:00.000Z")
    claim(ledger, reference)
    ledger.complete_start(reference, first)
    assert claim(ledger, reference, at=first.token_expires_at).state is StartState.NEW

    ledger.complete_start(reference, second)

    found = claim(ledger, reference, at=first.token_expires_at)
    assert (found.state, found.workflow_execution_id) == (
        StartState.STARTED,
        second.workflow_execution_id,
    )


# --- races -----------------------------------------------------------------------------------


@pytest.fixture
def atomic_writes(probe) -> Iterator[None]:
    """moto's item writes serialised (DynamoDB's are atomic); the fake needs nothing."""
    if probe.table is None:
        yield
        return
    from local_cloud import dynamodb_writes

    installed_here = not dynamodb_writes.installed()
    dynamodb_writes.install()
    try:
        yield
    finally:
        if installed_here:
            dynamodb_writes.uninstall()


@pytest.fixture
def ledger_per_thread(probe, atomic_writes) -> Callable[[], Any]:
    """A ledger for one racing thread: the same fake, or a Ledger with its own boto3 resource."""
    if probe.table is None:
        return lambda: probe.ledger
    import boto3

    name = probe.table.name
    return lambda: Ledger(
        name, resource=boto3.session.Session().resource("dynamodb", region_name="us-east-1")
    )


def race(count: int, ledger_per_thread: Callable[[], Any], step: Callable[[Any], Any]) -> list:
    """``step(ledger)`` in ``count`` threads released together; the answers (or errors)."""
    ledgers = [ledger_per_thread() for _ in range(count)]
    gate = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(index: int) -> None:
        gate.wait()
        try:
            answers[index] = step(ledgers[index])
        except Exception as exc:  # reported by the assertions, not lost in the thread
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_of_concurrent_claims_on_one_reference_exactly_one_is_new(ledger_per_thread, reference):
    answers = race(RACERS, ledger_per_thread, lambda ledger: claim(ledger, reference))

    assert [answer.state for answer in answers].count(StartState.NEW) == 1
    assert sorted(answer.state for answer in answers) == sorted(
        [StartState.NEW] + [StartState.STARTING] * (RACERS - 1)
    )


# --- the pacer of account requests -------------------------------------------------------------


def test_account_slots_follow_each_other_at_the_interval(ledger):
    start = NOW + 0.25  # a quarter second: exact in binary, so the slots compare exactly

    first = ledger.take_account_slot(now=start, interval=1.0)
    second = ledger.take_account_slot(now=start, interval=1.0)
    third = ledger.take_account_slot(now=start + 1.5, interval=1.0)
    later = ledger.take_account_slot(now=start + 10, interval=1.0)

    assert (first, second, third, later) == (start, start + 1, start + 2, start + 10)


def test_concurrent_callers_get_distinct_slots_at_least_the_interval_apart(ledger_per_thread):
    start, interval = NOW + 0.25, 0.5

    slots = race(
        RACERS,
        ledger_per_thread,
        lambda ledger: ledger.take_account_slot(now=start, interval=interval),
    )

    assert all(isinstance(slot, float) for slot in slots), slots
    ordered = sorted(slots)
    assert len(set(ordered)) == RACERS
    assert ordered[0] == start
    assert all(later - earlier >= interval for earlier, later in pairwise(ordered))
