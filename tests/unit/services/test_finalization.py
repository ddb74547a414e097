"""FinalizationService: finalize once, only with a live token, and a lost answer is not a failure.

Once Jumio has the finalize the service records FINALIZED and plans the first wait for the
verdict itself (the state machine has no RecordFinalized or PlanVerdictWait state).
"""

from __future__ import annotations

import uuid

import pytest

from jumio_pipeline.domain.errors import (
    FinalizedNotRecorded,
    JumioAuthError,
    JumioRejected,
    JumioUnavailable,
    SessionDeleted,
    SessionNotFinalizable,
    SessionNotRegistered,
    SessionTokenExpired,
)
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.domain.workflow_status import WorkflowStatus
from jumio_pipeline.services.finalization import FinalizationService
from tests.support.fakes import (
    jumio_auth_error,
    jumio_refusal,
    jumio_rejected,
    jumio_unavailable,
)
from tests.unit.services.conftest import World, href_base, token_of


@pytest.fixture
def service(world: World) -> FinalizationService:
    return FinalizationService(
        ledger=world.ledger, jumio=world.jumio, status=world.status, clock=world.clock
    )


def test_finalize_closes_the_session_then_calls_jumio_once_on_the_execution_href(world, service):
    world.register(("ID", "SELFIE"))

    result = service.finalize(world.ids.workflow)

    assert result.already_finalized is False
    assert result.to_output() == {
        "workflowExecutionId": world.ids.workflow,
        "finalizedAt": "2024-05-01T10:01:00+00:00",
        # The first wait for the verdict: Jumio's first poll time, 40 s after finalize.
        "round": 0,
        "waitSeconds": 40,
        "exhausted": False,
    }
    [call] = world.jumio.calls
    assert call.operation == "finalize"
    assert call.href == href_base(world.ids)
    assert call.token in (token_of(world.ids, "ID"), token_of(world.ids, "SELFIE"))
    assert world.status.calls == []  # planning the wait asks Jumio nothing
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZED
    assert result.recorded is True


def test_the_first_wait_follows_the_configured_schedule(world):
    world.register()
    service = FinalizationService(
        ledger=world.ledger,
        jumio=world.jumio,
        status=world.status,
        schedule=(4, 6, 10),
        clock=world.clock,
    )

    assert service.finalize(world.ids.workflow).to_output()["waitSeconds"] == 4


def test_a_ledger_write_that_fails_after_jumio_took_it_is_retried_without_a_second_finalize(
    world, service, monkeypatch
):
    world.register()
    record_outcome = world.ledger.record_outcome
    failures = [RuntimeError("ledger unavailable")]

    def record_or_fail_once(*args, **kwargs):
        if failures:
            raise failures.pop()
        return record_outcome(*args, **kwargs)

    monkeypatch.setattr(world.ledger, "record_outcome", record_or_fail_once)

    with pytest.raises(FinalizedNotRecorded) as failed:
        service.finalize(world.ids.workflow)
    assert world.ids.workflow in str(failed.value)
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZING

    world.status.statuses[world.ids.workflow] = WorkflowStatus.ACQUIRED
    retry = service.finalize(world.ids.workflow)  # the state machine's Retry

    assert retry.already_finalized is True
    assert retry.recorded is True
    assert [c.operation for c in world.jumio.calls] == ["finalize"]
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZED


def test_a_session_erased_while_it_was_finalized_stays_erased(world, service):
    world.register()
    world.ledger.mark_finalizing(world.ids.workflow)
    world.end(SessionStatus.DELETED)
    world.status.statuses[world.ids.workflow] = WorkflowStatus.ACQUIRED

    result = service.reconcile(world.ids.workflow)

    assert result.finalized is not None
    assert result.finalized.recorded is False
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.DELETED


def test_a_retry_after_a_lost_answer_asks_jumio_first_and_sends_nothing_again(world, service):
    world.register()
    # An attempt closed the session and reached Jumio, then timed out before recording.
    world.ledger.mark_finalizing(world.ids.workflow)
    world.status.statuses[world.ids.workflow] = WorkflowStatus.ACQUIRED

    retry = service.finalize(world.ids.workflow)

    assert retry.already_finalized is True
    assert world.jumio.calls == []
    assert [c.operation for c in world.status.calls] == ["status"]
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZED


def test_a_retry_after_the_finalize_was_recorded_is_answered_by_the_ledger(world, service):
    world.register()
    service.finalize(world.ids.workflow)  # finalized and recorded; the answer was lost

    retry = service.finalize(world.ids.workflow)

    assert retry.already_finalized is True
    assert retry.recorded is None  # nothing written again, nothing counted again
    assert retry.to_output()["waitSeconds"] == 40
    assert [c.operation for c in world.jumio.calls] == ["finalize"]
    assert world.status.calls == []


@pytest.mark.parametrize("status", [WorkflowStatus.ACQUIRED, WorkflowStatus.PROCESSED])
@pytest.mark.parametrize(
    "uncertain",
    [jumio_unavailable(operation="finalize"), jumio_refusal(409, operation="finalize")],
    ids=["lost-answer", "undocumented-refusal"],
)
def test_an_uncertain_finalize_that_jumio_took_is_a_success(world, service, status, uncertain):
    world.register()
    world.jumio.fail("finalize", uncertain)
    world.status.statuses[world.ids.workflow] = status

    result = service.finalize(world.ids.workflow)

    assert result.already_finalized is True


@pytest.mark.parametrize("status", [WorkflowStatus.SESSION_EXPIRED, WorkflowStatus.TOKEN_EXPIRED])
def test_an_uncertain_finalize_of_an_expired_execution_ends_it_expired(world, service, status):
    world.register()
    world.jumio.fail("finalize", jumio_unavailable(operation="finalize"))
    world.status.statuses[world.ids.workflow] = status

    with pytest.raises(SessionTokenExpired):
        service.finalize(world.ids.workflow)


def test_a_finalize_that_timed_out_is_reconciled_by_the_status_only(world, service):
    world.register()
    world.ledger.mark_finalizing(world.ids.workflow)  # the timed-out attempt got this far

    not_yet = service.reconcile(world.ids.workflow)  # INITIATED: finalize again
    assert not_yet.to_output() == {
        "workflowExecutionId": world.ids.workflow,
        "finalized": False,
        "finalizedAt": None,
        "round": 0,
        "waitSeconds": None,
        "exhausted": False,
    }
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZING

    world.status.statuses[world.ids.workflow] = WorkflowStatus.PROCESSED
    taken = service.reconcile(world.ids.workflow).to_output()

    assert (taken["finalized"], taken["waitSeconds"]) == (True, 40)
    assert set(taken) == set(not_yet.to_output())  # the state machine selects every key
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.FINALIZED
    assert world.jumio.calls == []


def test_a_session_the_ledger_says_is_finalized_is_not_sent_again(world, service):
    world.register()
    world.end(SessionStatus.FINALIZED)

    result = service.finalize(world.ids.workflow)

    assert result.already_finalized is True
    assert world.jumio.calls == []


def test_an_expired_token_is_refused_before_calling_jumio_and_leaves_the_session_open(
    world, service
):
    session = world.register()
    world.clock.now = session.token_expires_at

    with pytest.raises(SessionTokenExpired):
        service.finalize(world.ids.workflow)

    assert world.jumio.calls == []
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.REGISTERED


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (SessionStatus.EXPIRED, SessionTokenExpired),
        (SessionStatus.FAILED, SessionNotFinalizable),
        (SessionStatus.DELETED, SessionDeleted),
    ],
)
def test_an_ended_session_raises_its_routed_name_without_calling_jumio(
    world, service, status, error
):
    world.register()
    world.end(status)

    with pytest.raises(error):
        service.finalize(world.ids.workflow)

    assert world.jumio.calls == []
    assert world.ledger.get(world.ids.workflow).status is status


def test_an_unknown_session_is_not_registered(service, world):
    with pytest.raises(SessionNotRegistered):
        service.finalize(str(uuid.uuid4()))

    assert world.jumio.calls == []


@pytest.mark.parametrize(
    ("jumio_error", "raised"),
    [
        (jumio_refusal(409, operation="finalize"), JumioRejected),
        (jumio_rejected(400, operation="finalize"), JumioRejected),
        (jumio_auth_error(401, operation="finalize"), JumioAuthError),
        (jumio_unavailable(operation="finalize"), JumioUnavailable),
    ],
)
def test_a_refusal_while_jumio_says_initiated_leaves_under_its_own_name(
    world, service, jumio_error, raised
):
    world.register()
    world.jumio.fail("finalize", jumio_error)

    with pytest.raises(raised) as refusal:
        service.finalize(world.ids.workflow)

    assert type(refusal.value) is raised
    assert token_of(world.ids, "ID") not in str(refusal.value)


def test_without_an_execution_href_the_href_is_built_from_the_ids(world):
    world.register(("SELFIE",), execution_href=False)
    built: list[tuple[str, str]] = []

    def build_href(account_id: str, workflow_execution_id: str) -> str:
        built.append((account_id, workflow_execution_id))
        return f"https://built.example/{workflow_execution_id}"

    service = FinalizationService(
        ledger=world.ledger,
        jumio=world.jumio,
        status=world.status,
        build_href=build_href,
        clock=world.clock,
    )

    service.finalize(world.ids.workflow)

    assert built == [(world.ids.account, world.ids.workflow)]
    assert world.jumio.calls[0].href == f"https://built.example/{world.ids.workflow}"
    assert world.jumio.calls[0].token == token_of(world.ids, "SELFIE")


def test_without_an_execution_href_or_a_builder_the_session_cannot_be_finalized(world, service):
    world.register(("SELFIE",), execution_href=False)

    with pytest.raises(SessionNotFinalizable):
        service.finalize(world.ids.workflow)

    assert world.jumio.calls == []
    assert world.ledger.get(world.ids.workflow).status is SessionStatus.REGISTERED
