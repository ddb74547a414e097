"""The Finalize step's service (services/finalization.py) on its edges: the ledger in moto,
Jumio's simulator over HTTP, one HTTP attempt per call as in the FinalizeFunction."""

from __future__ import annotations

import pytest

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
from jumio_pipeline.domain.errors import JumioAuthError, SessionTokenExpired
from jumio_pipeline.domain.session import parse_registration
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.services.finalization import FinalizationService
from tests.integration.session_support import (
    finalize_count,
    ledger_of,
    registration_message,
    workflow_execution_id,
)


@pytest.fixture
def jumio(simulator):
    settings = JumioSettings(base_url=simulator.base_url, max_attempts=1)
    with JumioHttp(settings) as http:
        yield CredentialsClient(http)


def finalization(stack, jumio, **options) -> FinalizationService:
    return FinalizationService(ledger=ledger_of(stack), jumio=jumio, **options)


def _registered(stack, simulator) -> tuple[object, str]:
    response = simulator.create_account(workflow_key=10013)
    session = parse_registration(registration_message(response))
    ledger = ledger_of(stack)
    ledger.register(session)
    return session, workflow_execution_id(response)


def test_an_expired_token_is_refused_before_calling_jumio(stack, simulator, jumio):
    session, wf_id = _registered(stack, simulator)

    with pytest.raises(SessionTokenExpired, match=wf_id) as raised:
        finalization(stack, jumio, clock=lambda: session.token_expires_at + 1).finalize(wf_id)

    assert session.any_token() not in str(raised.value)
    assert finalize_count(simulator, wf_id) == 0
    assert ledger_of(stack).get(wf_id).status is SessionStatus.REGISTERED


def test_finalize_marks_finalizing_and_a_second_call_counts_as_already_finalized(
    stack, simulator, jumio
):
    _, wf_id = _registered(stack, simulator)

    first = finalization(stack, jumio).finalize(wf_id)
    second = finalization(stack, jumio).finalize(wf_id)  # Jumio answers 409

    assert (first.already_finalized, second.already_finalized) == (False, True)
    assert set(first.to_output()) == {"workflowExecutionId", "finalizedAt"}
    assert ledger_of(stack).get(wf_id).status is SessionStatus.FINALIZING
    assert finalize_count(simulator, wf_id) == 1
    statuses = [r["status"] for r in simulator.admin.requests() if r["route"] == "finalize"]
    assert statuses == [200, 409]


def test_a_finalized_ledger_answers_without_calling_jumio(stack, simulator, jumio):
    _, wf_id = _registered(stack, simulator)
    ledger_of(stack).record_outcome(wf_id, SessionStatus.FINALIZED)

    result = finalization(stack, jumio).finalize(wf_id)

    assert result.already_finalized
    assert [r for r in simulator.admin.requests() if r["route"] == "finalize"] == []


def test_a_refusal_leaves_under_its_routed_name_and_is_not_taken_for_success(
    stack, simulator, jumio
):
    _, wf_id = _registered(stack, simulator)
    simulator.admin.advance_clock(3600)  # Jumio no longer accepts the token

    with pytest.raises(JumioAuthError) as raised:
        finalization(stack, jumio).finalize(wf_id)

    assert raised.value.status == 401
    assert finalize_count(simulator, wf_id) == 0
