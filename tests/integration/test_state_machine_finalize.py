"""The Finalize step's service (services/finalization.py) on its edges: the ledger in moto,
Jumio's simulator over HTTP, one HTTP attempt per call as in the FinalizeFunction."""

from __future__ import annotations

import pytest

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings, TenantClient
from jumio_pipeline.adapters.jumio.retrieval import JumioRetrieval
from jumio_pipeline.domain.errors import JumioRejected, SessionTokenExpired
from jumio_pipeline.domain.registration import parse_registration
from jumio_pipeline.domain.session_state import SessionStatus
from jumio_pipeline.services.finalization import FinalizationService
from tests.integration.session_support import (
    finalize_count,
    ledger_of,
    registration_message,
    session_item,
    workflow_execution_id,
)


@pytest.fixture
def http(simulator):
    settings = JumioSettings(base_url=simulator.base_url, max_attempts=1)
    with JumioHttp(settings) as client:
        yield client


@pytest.fixture
def jumio(http):
    return CredentialsClient(http)


@pytest.fixture
def status(http, simulator):
    """Jumio's retrieval API with the simulator's tenant credentials."""
    return JumioRetrieval(lambda: TenantClient(http, simulator.client_id, simulator.client_secret))


def finalization(stack, jumio, status, **options) -> FinalizationService:
    return FinalizationService(ledger=ledger_of(stack), jumio=jumio, status=status, **options)


def _registered(stack, simulator) -> tuple[object, str]:
    response = simulator.create_account(workflow_key=10013)
    session = parse_registration(registration_message(response))
    ledger = ledger_of(stack)
    ledger.register(session)
    return session, workflow_execution_id(response)


def test_an_expired_token_is_refused_before_calling_jumio(stack, simulator, jumio, status):
    session, wf_id = _registered(stack, simulator)

    with pytest.raises(SessionTokenExpired, match=wf_id) as raised:
        finalization(stack, jumio, status, clock=lambda: session.token_expires_at + 1).finalize(
            wf_id
        )

    assert session.any_token() not in str(raised.value)
    assert finalize_count(simulator, wf_id) == 0
    assert ledger_of(stack).get(wf_id).status is SessionStatus.REGISTERED


def test_finalize_records_finalized_and_a_second_call_counts_as_already_finalized(
    stack, simulator, jumio, status
):
    _, wf_id = _registered(stack, simulator)

    first = finalization(stack, jumio, status).finalize(wf_id)
    second = finalization(stack, jumio, status).finalize(wf_id)  # a retry: the ledger answers

    assert (first.already_finalized, second.already_finalized) == (False, True)
    assert set(first.to_output()) == {
        "workflowExecutionId",
        "finalizedAt",
        "round",
        "waitSeconds",
        "exhausted",
    }
    item = session_item(stack, wf_id)
    assert item["status"] == SessionStatus.FINALIZED.value
    assert "taskToken" not in item  # the parts wait's token has no use any more
    assert finalize_count(simulator, wf_id) == 1
    assert [r["route"] for r in simulator.admin.requests()].count("finalize") == 1


def test_a_retry_of_a_finalize_that_reached_jumio_reads_the_status_and_records_it(
    stack, simulator, jumio, status
):
    session, wf_id = _registered(stack, simulator)
    ledger_of(stack).mark_finalizing(wf_id)  # an attempt got this far: did it reach Jumio?
    credential = next(c for c in session.credentials.values() if c.workflow_execution_href)
    jumio.finalize(credential.workflow_execution_href, credential.token)  # yes; then it died

    retry = finalization(stack, jumio, status).finalize(wf_id)

    assert retry.already_finalized
    assert ledger_of(stack).get(wf_id).status is SessionStatus.FINALIZED
    routes = [r["route"] for r in simulator.admin.requests()]
    assert routes.count("finalize") == 1  # the retry read the status instead of sending again
    assert "status" in routes


def test_a_finalized_ledger_answers_without_calling_jumio(stack, simulator, jumio, status):
    _, wf_id = _registered(stack, simulator)
    ledger_of(stack).record_outcome(wf_id, SessionStatus.FINALIZED)

    result = finalization(stack, jumio, status).finalize(wf_id)

    assert result.already_finalized
    assert [r for r in simulator.admin.requests() if r["route"] == "finalize"] == []


def test_a_refusal_jumio_explains_by_an_expired_status_ends_the_session_expired(
    stack, simulator, jumio, status
):
    _, wf_id = _registered(stack, simulator)
    simulator.admin.advance_clock(3600)  # Jumio no longer accepts the token: TOKEN_EXPIRED

    with pytest.raises(SessionTokenExpired, match="TOKEN_EXPIRED"):
        finalization(stack, jumio, status).finalize(wf_id)

    assert finalize_count(simulator, wf_id) == 0


def test_a_refusal_while_jumio_says_initiated_leaves_under_its_routed_name(
    stack, simulator, jumio, status
):
    _, wf_id = _registered(stack, simulator)
    simulator.admin.set_faults({"script": {"finalize": ["400"]}})

    with pytest.raises(JumioRejected) as raised:
        finalization(stack, jumio, status).finalize(wf_id)

    assert raised.value.status == 400
    assert finalize_count(simulator, wf_id) == 0
