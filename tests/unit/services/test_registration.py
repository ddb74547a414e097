"""RegistrationService: a session is recorded once and gets one execution, never a second life."""

from __future__ import annotations

import json

import pytest

from jumio_pipeline.domain.errors import InvalidMessage
from jumio_pipeline.domain.session_state import PartEvidence, RegisterOutcome, SessionStatus
from jumio_pipeline.services.completion import CompletionSignal
from jumio_pipeline.services.registration import RegistrationService
from tests.support.fakes import InMemoryLedger
from tests.unit.services.conftest import World, registration, required_parts, token_of

RENEWED_AT = "2024-05-01T10:20:00.000Z"


@pytest.fixture
def service(world: World) -> RegistrationService:
    return RegistrationService(
        ledger=world.ledger,
        executions=world.executions,
        signal_completion=world.signal,
        clock=world.clock,
    )


def test_a_new_session_is_recorded_and_its_execution_started_with_ids_only(world, service):
    body = registration(world.ids)

    result = service.register(body)

    assert (result.outcome, result.execution_started) == (RegisterOutcome.NEW, True)
    execution = world.executions.executions[world.ids.workflow]
    assert execution.input == {
        "workflowExecutionId": world.ids.workflow,
        "accountId": world.ids.account,
        "secondsUntilTokenExpiry": 29 * 60,
        "finalizeRounds": 0,
    }
    for category in ("ID", "SELFIE", "DATA"):
        assert token_of(world.ids, category) not in json.dumps(execution.input)
    record = world.ledger.get(world.ids.workflow)
    assert record.status is SessionStatus.REGISTERED
    assert record.execution_arn == execution.arn
    assert record.pending_parts == result.session.required_parts


def test_the_same_registration_twice_is_a_no_op_with_one_execution(world, service):
    service.register(registration(world.ids))

    again = service.register(registration(world.ids))

    assert (again.outcome, again.execution_started) == (RegisterOutcome.DUPLICATE, False)
    assert world.executions.start_calls == [world.ids.workflow]
    assert world.executions.signal_attempts == 0


def test_a_newer_response_replaces_the_tokens_without_a_second_execution(world, service):
    service.register(registration(world.ids))

    renewed = service.register(registration(world.ids, timestamp=RENEWED_AT, generation=2))

    assert (renewed.outcome, renewed.execution_started) == (RegisterOutcome.TOKENS_REPLACED, False)
    assert world.executions.start_calls == [world.ids.workflow]
    stored = world.ledger.get(world.ids.workflow).session
    assert stored.credential(world.ids.id_credential).token == token_of(world.ids, "ID", 2)
    assert stored.token_expires_at == renewed.session.token_expires_at


def test_renewed_tokens_let_a_wait_go_on_when_every_part_had_landed(world, service):
    # The last part landed while its signal could not be sent: the claim was given back and
    # the wait still holds its token. A token renewal sends the signal.
    first = service.register(registration(world.ids))
    world.ledger.store_task_token(world.ids.workflow, "task-token-1")
    for part in required_parts(first.session):
        world.ledger.record_part_uploaded(world.ids.workflow, part, PartEvidence())

    service.register(registration(world.ids, timestamp=RENEWED_AT, generation=2))

    assert [token for token, _ in world.executions.signals] == ["task-token-1"]


@pytest.mark.parametrize(
    "status", [SessionStatus.FINALIZED, SessionStatus.EXPIRED, SessionStatus.DELETED]
)
def test_an_ended_or_erased_session_is_never_restarted_nor_given_new_tokens(world, service, status):
    service.register(registration(world.ids))
    world.end(status)

    for body in (
        registration(world.ids),
        registration(world.ids, timestamp=RENEWED_AT, generation=2),
    ):
        result = service.register(body)
        assert (result.outcome, result.execution_started) == (
            RegisterOutcome.IGNORED_ENDED,
            False,
        )

    assert world.executions.start_calls == [world.ids.workflow]
    stored = world.ledger.get(world.ids.workflow).session
    assert stored.credential(world.ids.id_credential).token == token_of(world.ids, "ID")


def test_a_replay_starts_the_execution_that_a_crashed_first_attempt_did_not(world, service):
    world.executions.fail_starts_with = ConnectionError("step functions unreachable")
    with pytest.raises(ConnectionError):
        service.register(registration(world.ids))
    assert world.ledger.get(world.ids.workflow).execution_arn is None

    replay = service.register(registration(world.ids))

    assert (replay.outcome, replay.execution_started) == (RegisterOutcome.DUPLICATE, True)
    execution = world.executions.executions[world.ids.workflow]
    assert world.ledger.get(world.ids.workflow).execution_arn == execution.arn


def test_an_erased_session_whose_execution_never_started_is_not_started_by_a_replay(world, service):
    world.executions.fail_starts_with = ConnectionError("step functions unreachable")
    with pytest.raises(ConnectionError):
        service.register(registration(world.ids))
    world.end(SessionStatus.DELETED)

    replay = service.register(registration(world.ids))

    assert (replay.outcome, replay.execution_started) == (RegisterOutcome.IGNORED_ENDED, False)
    assert world.executions.executions == {}
    assert world.ledger.get(world.ids.workflow).execution_arn is None


class _LedgerThatCrashesOnce(InMemoryLedger):
    """Fails the first ``record_execution``, as a Lambda timing out right after the start."""

    crashed = False

    def record_execution(self, workflow_execution_id: str, execution_arn: str) -> None:
        if not self.crashed:
            self.crashed = True
            raise TimeoutError("the invocation ran out of time")
        super().record_execution(workflow_execution_id, execution_arn)


def test_a_replay_after_a_crash_between_start_and_record_keeps_the_one_execution(world):
    # The execution started, but the ledger never heard of it: the replay starts it again
    # under the same name, which answers with the execution that exists.
    ledger = _LedgerThatCrashesOnce(clock=world.clock)
    service = RegistrationService(
        ledger=ledger,
        executions=world.executions,
        signal_completion=CompletionSignal(ledger=ledger, executions=world.executions),
        clock=world.clock,
    )
    with pytest.raises(TimeoutError):
        service.register(registration(world.ids))

    replay = service.register(registration(world.ids))

    assert replay.execution_started is True
    assert list(world.executions.executions) == [world.ids.workflow]
    assert ledger.get(world.ids.workflow).execution_arn == (
        world.executions.executions[world.ids.workflow].arn
    )


def test_an_invalid_message_is_refused_and_writes_nothing(world, service):
    body = registration(world.ids)
    body["tokenLifetime"] = "90d"

    with pytest.raises(InvalidMessage) as refused:
        service.register(body)

    assert refused.value.field == "tokenLifetime"
    assert world.ledger.get(world.ids.workflow) is None
    assert world.executions.start_calls == []
