"""The ledger's conditional writes, on the LedgerTable that template.yaml defines (moto)."""

from __future__ import annotations

import threading
from datetime import timedelta

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session import PartId
from jumio_pipeline.domain.session_state import (
    PartEvidence,
    PartStatus,
    RegisterOutcome,
    SessionStatus,
)


@pytest.fixture
def ledger(stack) -> Ledger:
    return Ledger(stack.physical("LedgerTable"), resource=boto3.resource("dynamodb"))


@pytest.fixture
def session(simulator):
    return parse_registration(simulator.create_account(workflow_key=10011))


def test_registering_twice_is_a_no_op(ledger, session):
    assert ledger.register(session) is RegisterOutcome.NEW
    assert ledger.register(session) is RegisterOutcome.DUPLICATE
    record = ledger.get(session.workflow_execution_id)
    assert record.status is SessionStatus.REGISTERED
    assert record.pending_parts == session.required_parts


def test_a_newer_response_replaces_the_tokens(ledger, session):
    from dataclasses import replace

    ledger.register(session)
    credential_id, credential = next(iter(session.credentials.items()))
    renewed = replace(
        session,
        issued_at=session.issued_at + timedelta(minutes=5),
        token_expires_at=session.token_expires_at + 300,
        credentials={**session.credentials, credential_id: replace(credential, token="renewed")},
    )
    assert ledger.register(renewed) is RegisterOutcome.TOKENS_REPLACED
    stored = ledger.get(session.workflow_execution_id).session
    assert stored.credential(credential_id).token == "renewed"
    assert stored.token_expires_at == session.token_expires_at + 300
    # An older copy arriving late does not roll the tokens back.
    assert ledger.register(session) is RegisterOutcome.DUPLICATE
    assert (
        ledger.get(session.workflow_execution_id).session.credential(credential_id).token
        == "renewed"
    )


def _part(ref: str) -> PartId:
    credential_id, _, classifier = ref.partition("/")
    return PartId(credential_id, classifier)


def test_the_last_landed_part_is_told_so_atomically(ledger, session):
    ledger.register(session)
    parts = sorted(session.required_parts)
    results = [
        ledger.record_part_uploaded(session.workflow_execution_id, _part(part), PartEvidence())
        for part in parts
    ]
    assert [r.all_landed for r in results] == [False] * (len(parts) - 1) + [True]
    # A duplicate landing of the same part does not make anything pending again.
    again = ledger.record_part_uploaded(
        session.workflow_execution_id, _part(parts[0]), PartEvidence()
    )
    assert again.all_landed


def test_exactly_one_of_many_racing_callers_wins_the_completion_claim(ledger, session):
    ledger.register(session)
    for part in session.required_parts:
        ledger.record_part_uploaded(session.workflow_execution_id, _part(part), PartEvidence())
    assert (
        ledger.claim_completion_signal(session.workflow_execution_id) is None
    )  # no task token yet
    assert ledger.store_task_token(session.workflow_execution_id, "task-token-1")

    winners: list[str] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        token = ledger.claim_completion_signal(session.workflow_execution_id)
        if token is not None:
            winners.append(token)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert winners == ["task-token-1"]


def test_a_released_claim_can_be_won_again(ledger, session):
    ledger.register(session)
    for part in session.required_parts:
        ledger.record_part_uploaded(session.workflow_execution_id, _part(part), PartEvidence())
    ledger.store_task_token(session.workflow_execution_id, "task-token-1")
    assert ledger.claim_completion_signal(session.workflow_execution_id) == "task-token-1"
    ledger.release_completion_claim(session.workflow_execution_id)
    assert ledger.claim_completion_signal(session.workflow_execution_id) == "task-token-1"


def test_finalizing_closes_the_session_and_outcomes_drop_the_task_token(ledger, session):
    ledger.register(session)
    ledger.store_task_token(session.workflow_execution_id, "task-token-1")
    assert ledger.mark_finalizing(session.workflow_execution_id) is SessionStatus.FINALIZING
    assert ledger.store_task_token(session.workflow_execution_id, "late") is False
    ledger.record_outcome(session.workflow_execution_id, SessionStatus.FINALIZED)
    record = ledger.get(session.workflow_execution_id)
    assert record.status is SessionStatus.FINALIZED
    assert not record.has_task_token
    assert ledger.mark_finalizing(session.workflow_execution_id) is SessionStatus.FINALIZED
    assert ledger.mark_finalizing("00000000-0000-4000-8000-000000000000") is None


def test_a_new_task_token_drops_the_claim_made_for_the_old_one(ledger, session):
    # The first wait timed out after a claim whose signal could not land (TaskTimedOut); after
    # a token renewal the state machine waits again with a new task token.
    ledger.register(session)
    for part in session.required_parts:
        ledger.record_part_uploaded(session.workflow_execution_id, _part(part), PartEvidence())
    ledger.store_task_token(session.workflow_execution_id, "task-token-1")
    assert ledger.claim_completion_signal(session.workflow_execution_id) == "task-token-1"
    ledger.store_task_token(session.workflow_execution_id, "task-token-2")
    assert ledger.claim_completion_signal(session.workflow_execution_id) == "task-token-2"
    assert ledger.claim_completion_signal(session.workflow_execution_id) is None


def test_a_rejection_never_replaces_a_landed_part(ledger, session):
    ledger.register(session)
    part = _part(sorted(session.required_parts)[0])
    wf = session.workflow_execution_id
    assert ledger.record_part_rejected(
        wf, part, reason="CORRUPT_IMAGE", message="first try", evidence=PartEvidence(key="k")
    )
    ledger.record_part_uploaded(wf, part, PartEvidence(key="k", version_id="v2"))

    became_status = ledger.record_part_rejected(
        wf,
        part,
        reason="NOT_AN_IMAGE",
        message="bad retake",
        evidence=PartEvidence(version_id="v3"),
    )

    assert became_status is False
    record = ledger.get_part(wf, part)
    assert (record.status, record.version_id) == (PartStatus.UPLOADED, "v2")
    assert part.ref not in ledger.get(wf).pending_parts
