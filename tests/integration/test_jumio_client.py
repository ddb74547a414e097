"""The Jumio client against the Jumio simulator over real HTTP on loopback.

Every operation, every error class, the retry policy as the simulator's request log sees it
(count of requests, the gap a Retry-After imposes), the lost-response case of add_part, the
token cache, and that no secret reaches a log line or an error.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from jumio_pipeline.adapters.jumio import (
    CredentialsClient,
    JumioHttp,
    JumioSettings,
    TenantClient,
    urls,
)
from jumio_pipeline.domain.errors import (
    JumioAuthError,
    JumioError,
    JumioNotFound,
    JumioPermanentError,
    JumioRejected,
    JumioThrottled,
    JumioUnavailable,
)
from jumio_simulator.testing import SimulatorHandle, run_simulator
from tests.support.images import make_jpeg, make_pdf, make_png
from tests.support.jumio_settings import fast_settings

PREPARED_DATA = {
    "firstName": "ZELDA-PRIVATE-FIRSTNAME",
    "lastName": "QUUX-PRIVATE-LASTNAME",
    "personalNumber": "98765432109876",
    "address": {"country": "BRA"},
}


@pytest.fixture
def settings(jumio_sim: SimulatorHandle) -> JumioSettings:
    """Settings pointing at the simulator, with short backoffs so retries take milliseconds."""
    return fast_settings(jumio_sim.base_url, user_agent="Acme Onboarding Tests/1.0")


@pytest.fixture
def http(settings: JumioSettings) -> Iterator[JumioHttp]:
    """The pooled client, closed after the test."""
    with JumioHttp(settings) as client:
        yield client


@pytest.fixture
def creds(http: JumioHttp) -> CredentialsClient:
    """The Credentials-API client."""
    return CredentialsClient(http)


@pytest.fixture
def tenant(http: JumioHttp, jumio_sim: SimulatorHandle) -> TenantClient:
    """The tenant client with the simulator's client credentials."""
    return TenantClient(http, jumio_sim.client_id, jumio_sim.client_secret)


def credential(account: dict[str, Any], category: str) -> dict[str, Any]:
    """The first credential of a category in an account response."""
    found = [c for c in account["workflowExecution"]["credentials"] if c["category"] == category]
    assert found, f"no {category} credential in the account response"
    return found[0]


def requests_on(jumio_sim: SimulatorHandle, route: str) -> list[dict[str, Any]]:
    """The simulator's log entries of one route, in order."""
    return [entry for entry in jumio_sim.admin.requests() if entry["route"] == route]


def settled_requests_on(
    jumio_sim: SimulatorHandle, route: str, *, expected: int, latency_s: float
) -> list[dict[str, Any]]:
    """The log of a route once the simulator answered every request the client gave up on.

    With injected latency the simulator logs a request only after the client timed out, so
    wait (bounded) for ``expected`` entries, then one latency more for any unexpected extra:
    the next test must not inherit a late entry, and this test must count them all.
    """
    give_up = time.monotonic() + 10 * latency_s + 5
    while len(requests_on(jumio_sim, route)) < expected and time.monotonic() < give_up:
        time.sleep(0.05)
    time.sleep(latency_s)
    return requests_on(jumio_sim, route)


def part_counters(jumio_sim: SimulatorHandle, account: dict[str, Any], category: str, part: str):
    """The simulator's counters (count, adds, updates) of one part."""
    workflow_id = account["workflowExecution"]["id"]
    state = jumio_sim.admin.state()["workflowExecutions"][workflow_id]
    return state["credentials"][credential(account, category)["id"]]["parts"][part]


def front_upload(account: dict[str, Any]) -> tuple[str, str, bytes, str, str]:
    """Arguments of add_part for the ID front of an account."""
    api = credential(account, "ID")["api"]
    return api["parts"]["front"], api["token"], make_jpeg(800, 500), "image/jpeg", "FRONT.jpg"


# --- every operation succeeds ----------------------------------------------------------------


def test_every_credentials_operation_succeeds(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    id_api = credential(account, "ID")["api"]
    selfie_api = credential(account, "SELFIE")["api"]
    data_api = credential(account, "DATA")["api"]

    added = creds.add_part(*front_upload(account))
    assert added["credential"]["id"] == credential(account, "ID")["id"]
    back = make_png(900, 600)
    creds.add_part(id_api["parts"]["back"], id_api["token"], back, "image/png", "BACK.png")
    creds.update_part(id_api["parts"]["back"], id_api["token"], back, "image/png", "BACK.png")
    face = make_jpeg(640, 640)
    creds.add_part(selfie_api["parts"]["face"], selfie_api["token"], face, "image/jpeg", "F.jpg")
    creds.delete_part(selfie_api["parts"]["face"], selfie_api["token"])
    creds.add_part(selfie_api["parts"]["face"], selfie_api["token"], face, "image/jpeg", "F.jpg")
    uploaded = creds.upload_prepared_data(
        data_api["parts"]["prepared_data"], data_api["token"], PREPARED_DATA
    )
    assert uploaded["workflowExecution"]["id"] == account["workflowExecution"]["id"]

    finalized = creds.finalize(data_api["workflowExecution"], data_api["token"])

    assert finalized["workflowExecution"]["id"] == account["workflowExecution"]["id"]
    assert part_counters(jumio_sim, account, "ID", "BACK") == {
        "count": 1,
        "adds": 1,
        "updates": 1,
        "deletes": 0,
    }
    assert part_counters(jumio_sim, account, "SELFIE", "FACE")["deletes"] == 1
    workflow = jumio_sim.admin.state()["workflowExecutions"][account["workflowExecution"]["id"]]
    assert workflow["finalizeCount"] == 1


def test_document_pages_upload_and_delete(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10026)
    api = credential(account, "DOCUMENT")["api"]
    # Image(s) or one PDF per request (Jumio: "image(s)/single pdf"); pages accumulate.
    creds.upload_document(
        api["parts"]["document"], api["token"], [(make_jpeg(1200, 1600), "image/jpeg", "1.jpg")]
    )
    creds.upload_document(
        api["parts"]["document"], api["token"], [(make_pdf(pages=2), "application/pdf", "2.pdf")]
    )
    workflow_id = account["workflowExecution"]["id"]
    credential_id = credential(account, "DOCUMENT")["id"]
    state = jumio_sim.admin.state()["workflowExecutions"][workflow_id]
    assert state["credentials"][credential_id]["pages"] == 3

    creds.delete_all_pages(api["parts"]["document"], api["token"])
    creds.delete_all_pages(api["parts"]["document"], api["token"])  # none left: already gone

    state = jumio_sim.admin.state()["workflowExecutions"][workflow_id]
    assert state["credentials"][credential_id]["pages"] == 0
    assert [e["status"] for e in requests_on(jumio_sim, "delete_pages")] == [200, 404]


def test_every_tenant_operation_succeeds(jumio_sim: SimulatorHandle, tenant: TenantClient) -> None:
    body = {"customerInternalReference": "case-0001", "workflowDefinition": {"key": 10011}}
    created = tenant.create_account(body)
    account_id = created["account"]["id"]
    updated = tenant.update_account(account_id, body)
    assert updated["account"]["id"] == account_id
    first_wf = created["workflowExecution"]["id"]

    status = tenant.retrieval_status(account_id, first_wf)
    assert status["workflowExecution"]["status"] == "INITIATED"

    tenant.delete_workflow_execution(account_id, first_wf)
    tenant.delete_workflow_execution(account_id, first_wf)  # already gone: no error
    tenant.delete_account(account_id)
    tenant.delete_account(account_id)  # already gone: no error

    state = jumio_sim.admin.state()
    assert state["workflowExecutions"][first_wf]["deleted"] is True
    assert state["accounts"][account_id]["deleted"] is True
    assert [e["status"] for e in requests_on(jumio_sim, "delete_account")] == [200, 404]


def test_deleting_a_part_that_is_not_there_is_already_gone(
    jumio_sim: SimulatorHandle, creds: CredentialsClient, caplog: pytest.LogCaptureFixture
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    with caplog.at_level(logging.INFO, logger="jumio_pipeline"):
        creds.delete_part(api["parts"]["back"], api["token"])
    assert [e["status"] for e in requests_on(jumio_sim, "delete_part")] == [404]
    assert "delete_part: already gone (HTTP 404)" in caplog.text


# --- every error class -----------------------------------------------------------------------


def test_a_bad_image_refused_by_add_and_update_raises_the_adds_refusal(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    """A 400's meaning is not documented: the update follows once; refused too, the add's own
    error is what the caller gets. Neither request is sent twice."""
    account = jumio_sim.create_account(10013)
    href, token, _, _, _ = front_upload(account)
    with pytest.raises(JumioRejected) as raised:
        creds.add_part(href, token, b"not an image at all", "image/jpeg", "FRONT.jpg")
    assert raised.value.status == 400
    assert raised.value.operation == "add_part"
    assert raised.value.title == "Bad Request"
    assert len(requests_on(jumio_sim, "add_part")) == 1
    assert len(requests_on(jumio_sim, "update_part")) == 1
    assert part_counters(jumio_sim, account, "ID", "FRONT")["count"] == 0


def test_a_wrong_api_token_is_an_auth_error(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    other = jumio_sim.create_account(10013)
    href, _, content, content_type, filename = front_upload(account)
    with pytest.raises(JumioAuthError) as raised:
        creds.add_part(
            href, credential(other, "ID")["api"]["token"], content, content_type, filename
        )
    assert raised.value.status == 401
    assert len(requests_on(jumio_sim, "add_part")) == 1


def test_a_wrong_client_secret_is_an_auth_error(
    jumio_sim: SimulatorHandle, http: JumioHttp
) -> None:
    tenant = TenantClient(http, jumio_sim.client_id, "not-the-secret")
    with pytest.raises(JumioAuthError) as raised:
        tenant.create_account({"customerInternalReference": "x", "workflowDefinition": {"key": 1}})
    assert raised.value.status == 401
    assert requests_on(jumio_sim, "account_create") == []


def test_an_unknown_workflow_execution_is_not_found(
    jumio_sim: SimulatorHandle, creds: CredentialsClient, settings: JumioSettings
) -> None:
    account = jumio_sim.create_account(10013)
    token = credential(account, "ID")["api"]["token"]
    unknown = urls.workflow_execution_href(settings, account["account"]["id"], str(uuid.uuid4()))
    with pytest.raises(JumioNotFound) as raised:
        creds.finalize(unknown, token)
    assert raised.value.status == 404


def test_unknown_account_status_is_not_found(tenant: TenantClient) -> None:
    with pytest.raises(JumioNotFound):
        tenant.retrieval_status(str(uuid.uuid4()), str(uuid.uuid4()))


def test_a_second_finalize_is_a_refusal_whose_meaning_jumio_does_not_give(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10005)
    api = credential(account, "DATA")["api"]
    creds.upload_prepared_data(api["parts"]["prepared_data"], api["token"], PREPARED_DATA)
    creds.finalize(api["workflowExecution"], api["token"])
    with pytest.raises(JumioPermanentError) as raised:
        creds.finalize(api["workflowExecution"], api["token"])
    conflict_status = jumio_sim.admin.config()["undocumented"]["conflictStatus"]
    assert raised.value.status == conflict_status["ALREADY_FINALIZED"]
    assert "ALREADY_FINALIZED" not in str(raised.value)  # no code to branch on


def test_an_upload_after_finalize_is_refused_even_when_the_update_is_tried(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    creds.add_part(*front_upload(account))
    api = credential(account, "ID")["api"]
    creds.finalize(api["workflowExecution"], api["token"])
    with pytest.raises(JumioPermanentError):
        creds.add_part(*front_upload(account))
    front = part_counters(jumio_sim, account, "ID", "FRONT")
    assert (front["adds"], front["updates"]) == (1, 0)  # nothing replaced after finalize


# --- retries as the simulator sees them -----------------------------------------------------


def test_transient_failures_of_an_idempotent_call_are_retried_until_success(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults({"script": {"finalize": ["503", "503"]}})
    creds.finalize(api["workflowExecution"], api["token"])
    assert [entry["status"] for entry in requests_on(jumio_sim, "finalize")] == [503, 503, 200]


def test_an_add_answered_5xx_is_not_sent_again_but_settled_by_an_update(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    """Jumio does not document that a 5xx means nothing was done."""
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.set_faults({"script": {"add_part": ["503"]}})
    creds.add_part(*front_upload(account))
    assert [entry["status"] for entry in requests_on(jumio_sim, "add_part")] == [503]
    assert [entry["status"] for entry in requests_on(jumio_sim, "update_part")] == [200]
    assert part_counters(jumio_sim, account, "ID", "FRONT")["count"] == 1


def test_a_reset_connection_is_retried(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults({"script": {"finalize": ["reset", "500"]}})
    creds.finalize(api["workflowExecution"], api["token"])
    assert [e["fault"] for e in requests_on(jumio_sim, "finalize")] == ["reset", "500", None]


def test_retry_after_is_honoured(jumio_sim: SimulatorHandle, creds: CredentialsClient) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults(
        {"routes": {"finalize": {"retryAfter": 1}}, "script": {"finalize": ["429"]}}
    )
    creds.finalize(api["workflowExecution"], api["token"])
    first, second = requests_on(jumio_sim, "finalize")
    assert (first["status"], second["status"]) == (429, 200)
    gap = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
    # The log has millisecond resolution: allow the one millisecond truncation may take.
    assert gap >= timedelta(seconds=1) - timedelta(milliseconds=1)


def test_a_retry_after_beyond_the_budget_is_handed_up_without_waiting(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults(
        {"routes": {"finalize": {"retryAfter": 30}}, "script": {"finalize": ["429"]}}
    )
    with pytest.raises(JumioThrottled) as raised:
        creds.finalize(api["workflowExecution"], api["token"])
    assert raised.value.retry_after == 30.0
    assert len(requests_on(jumio_sim, "finalize")) == 1


def test_exhausted_retries_on_5xx_are_unavailable(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults({"script": {"finalize": ["503", "500", "503", "503"]}})
    with pytest.raises(JumioUnavailable) as raised:
        creds.finalize(api["workflowExecution"], api["token"])
    assert raised.value.status == 503
    assert len(requests_on(jumio_sim, "finalize")) == 3  # max_attempts


def test_exhausted_retries_on_429_are_throttled(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults(
        {"routes": {"finalize": {"retryAfter": 0}}, "script": {"finalize": ["429"] * 4}}
    )
    with pytest.raises(JumioThrottled) as raised:
        creds.finalize(api["workflowExecution"], api["token"])
    assert raised.value.status == 429
    assert raised.value.retry_after == 0.0
    assert len(requests_on(jumio_sim, "finalize")) == 3


def test_exhausted_connection_resets_are_unavailable(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    api = credential(account, "ID")["api"]
    jumio_sim.admin.set_faults({"script": {"finalize": ["reset"] * 3}})
    with pytest.raises(JumioUnavailable) as raised:
        creds.finalize(api["workflowExecution"], api["token"])
    assert raised.value.status is None
    assert "after 3 attempt(s)" in str(raised.value)
    assert len(requests_on(jumio_sim, "finalize")) == 3


def test_read_timeouts_are_retried_then_reported_unavailable(
    jumio_sim: SimulatorHandle, settings: JumioSettings
) -> None:
    account = jumio_sim.create_account(10011)
    jumio_sim.admin.set_faults({"routes": {"status": {"latencyMs": 600}}})
    impatient = replace(settings, read_timeout=0.2)
    with JumioHttp(impatient) as http:
        tenant = TenantClient(http, jumio_sim.client_id, jumio_sim.client_secret)
        with pytest.raises(JumioUnavailable) as raised:
            tenant.retrieval_status(account["account"]["id"], account["workflowExecution"]["id"])
    assert str(raised.value) == "status: timeout error after 3 attempt(s)"
    assert len(settled_requests_on(jumio_sim, "status", expected=3, latency_s=0.6)) == 3


@pytest.mark.parametrize("fault", ["drop", "slow"], ids=["answer-lost", "timed-out"])
def test_an_uncertain_add_is_followed_by_an_update_never_a_second_add(
    jumio_sim: SimulatorHandle, settings: JumioSettings, fault: str
) -> None:
    account = jumio_sim.create_account(10013)
    jumio_sim.admin.set_faults(
        {"routes": {"add_part": {"slowMs": 2000}}, "script": {"add_part": [fault]}}
    )
    with JumioHttp(replace(settings, read_timeout=0.5)) as short:
        answer = CredentialsClient(short).add_part(*front_upload(account))
    assert answer["credential"]["id"] == credential(account, "ID")["id"]
    assert part_counters(jumio_sim, account, "ID", "FRONT") == {
        "count": 1,
        "adds": 1,
        "updates": 1,
        "deletes": 0,
    }
    assert len(requests_on(jumio_sim, "add_part")) <= 1  # the POST went out once


def test_an_add_refused_in_a_way_jumio_does_not_explain_is_settled_by_an_update(
    jumio_sim: SimulatorHandle, creds: CredentialsClient
) -> None:
    account = jumio_sim.create_account(10013)
    creds.add_part(*front_upload(account))  # the part is there (an earlier lost answer)

    creds.add_part(*front_upload(account))  # refused with an opaque status: then PUT

    front = part_counters(jumio_sim, account, "ID", "FRONT")
    assert (front["count"], front["adds"], front["updates"]) == (1, 1, 1)


def test_account_create_is_not_repeated_once_it_may_have_reached_jumio(
    jumio_sim: SimulatorHandle, tenant: TenantClient
) -> None:
    jumio_sim.admin.set_faults({"script": {"account_create": ["drop"]}})
    body = {"customerInternalReference": "case-0002", "workflowDefinition": {"key": 10011}}
    with pytest.raises(JumioUnavailable):
        tenant.create_account(body)
    assert len(requests_on(jumio_sim, "account_create")) == 1
    assert len(jumio_sim.admin.state()["accounts"]) == 1  # Jumio did create it: reconcile


def test_account_create_is_not_repeated_after_a_read_timeout(
    jumio_sim: SimulatorHandle, settings: JumioSettings
) -> None:
    jumio_sim.admin.set_faults({"routes": {"account_create": {"latencyMs": 600}}})
    body = {"customerInternalReference": "case-0007", "workflowDefinition": {"key": 10011}}
    with JumioHttp(replace(settings, read_timeout=0.2)) as http:
        tenant = TenantClient(http, jumio_sim.client_id, jumio_sim.client_secret)
        with pytest.raises(JumioUnavailable) as raised:
            tenant.create_account(body)
    assert str(raised.value) == "account_create: timeout error after 1 attempt(s)"
    assert len(settled_requests_on(jumio_sim, "account_create", expected=1, latency_s=0.6)) == 1


def test_account_create_is_retried_after_429_only(
    jumio_sim: SimulatorHandle, tenant: TenantClient
) -> None:
    """429 is documented as nothing done; a 5xx is not, and each create may start a billable
    execution: it is reported, for the caller to settle, never sent again."""
    jumio_sim.admin.set_faults(
        {"routes": {"account_create": {"retryAfter": 0}}, "script": {"account_create": ["429"]}}
    )
    body = {"customerInternalReference": "case-0003", "workflowDefinition": {"key": 10011}}
    tenant.create_account(body)
    assert [e["status"] for e in requests_on(jumio_sim, "account_create")] == [429, 200]

    jumio_sim.admin.clear_requests()
    jumio_sim.admin.set_faults({"script": {"account_create": ["503"]}})
    with pytest.raises(JumioUnavailable):
        tenant.create_account(body)
    assert [e["status"] for e in requests_on(jumio_sim, "account_create")] == [503]


# --- the tenant token ------------------------------------------------------------------------


def test_the_access_token_is_fetched_once_for_many_calls(
    jumio_sim: SimulatorHandle, tenant: TenantClient
) -> None:
    body = {"customerInternalReference": "case-0004", "workflowDefinition": {"key": 10011}}
    created = tenant.create_account(body)
    tenant.retrieval_status(created["account"]["id"], created["workflowExecution"]["id"])
    tenant.update_account(created["account"]["id"], body)
    assert len(requests_on(jumio_sim, "token")) == 1


def test_concurrent_calls_share_one_access_token(
    jumio_sim: SimulatorHandle, tenant: TenantClient
) -> None:
    account = jumio_sim.create_account(10011)
    ids = (account["account"]["id"], account["workflowExecution"]["id"])
    jumio_sim.admin.clear_requests()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: tenant.retrieval_status(*ids), range(16)))
    assert {a["workflowExecution"]["status"] for a in answers} == {"INITIATED"}
    assert len(requests_on(jumio_sim, "token")) == 1


def test_a_refused_access_token_is_replaced_once(
    jumio_sim: SimulatorHandle, tenant: TenantClient
) -> None:
    body = {"customerInternalReference": "case-0005", "workflowDefinition": {"key": 10011}}
    created = tenant.create_account(body)
    jumio_sim.admin.advance_clock(2 * 3600)  # the simulator now considers the token expired
    status = tenant.retrieval_status(created["account"]["id"], created["workflowExecution"]["id"])
    assert status["account"]["id"] == created["account"]["id"]
    assert len(requests_on(jumio_sim, "token")) == 2
    assert [e["status"] for e in requests_on(jumio_sim, "status")] == [401, 200]


# --- no secret leaks -------------------------------------------------------------------------


def test_no_token_secret_or_body_reaches_logs_or_errors(
    jumio_sim: SimulatorHandle,
    http: JumioHttp,
    creds: CredentialsClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "local-secret-never-logged"
    errors: list[JumioError] = []
    with caplog.at_level(logging.DEBUG):
        with run_simulator(client_secret=secret) as own:
            own_settings = JumioSettings(
                base_url=own.base_url, max_attempts=2, backoff_base=0.01, backoff_cap=0.02
            )
            with JumioHttp(own_settings) as own_http:
                tenant = TenantClient(own_http, own.client_id, secret)
                body = {"customerInternalReference": "case-0006", "workflowDefinition": {"key": 1}}
                created = tenant.create_account(body)
                own.admin.set_faults({"script": {"status": ["503", "503"]}})
                try:
                    tenant.retrieval_status(created["account"]["id"], str(uuid.uuid4()))
                except JumioError as error:
                    errors.append(error)
                tenant_tokens = list(own.simulator.state.tenant_tokens)

        account = jumio_sim.create_account(10005)
        api = credential(account, "DATA")["api"]
        href = api["parts"]["prepared_data"]
        # The POST is dropped (processed): the update that follows is reset every time.
        jumio_sim.admin.set_faults({"script": {"prepared_data": ["drop", *["reset"] * 3]}})
        for attempt in (
            lambda: creds.upload_prepared_data(href, api["token"], PREPARED_DATA),
            lambda: creds.upload_prepared_data(href, "eyJhbGciWRONGTOKEN", PREPARED_DATA),
            lambda: creds.finalize(api["workflowExecution"], api["token"]),
            lambda: creds.finalize(api["workflowExecution"], api["token"]),
        ):
            try:
                attempt()
            except JumioError as error:
                errors.append(error)

    assert [
        type(e)
        if not isinstance(e, JumioPermanentError) or isinstance(e, JumioAuthError)
        else JumioPermanentError
        for e in errors
    ] == [
        JumioUnavailable,  # tenant status: 503 twice
        JumioUnavailable,  # prepared data: drop, reset, reset (a transport error as the cause)
        JumioAuthError,  # prepared data with a wrong token
        JumioPermanentError,  # the second finalize: an opaque refusal
    ]
    assert isinstance(errors[1].__cause__, ConnectionError)
    seen = caplog.text + "".join(
        repr(e) + str(e) + "".join(traceback.format_exception(e)) for e in errors
    )
    assert "jumio account_create POST -> HTTP 200" in caplog.text
    forbidden = [api["token"], secret, *tenant_tokens, *(str(v) for v in PREPARED_DATA.values())]
    assert len(tenant_tokens) == 1
    for value in forbidden:
        assert value not in seen
    assert "ZELDA" not in seen
    assert "Authorization" not in seen


@pytest.mark.parametrize(
    "pages",
    [
        [("jpeg", "image/jpeg", "1.jpg"), ("pdf", "application/pdf", "2.pdf")],
        [("pdf", "application/pdf", "1.pdf"), ("pdf", "application/pdf", "2.pdf")],
    ],
    ids=["image-and-pdf", "two-pdfs"],
)
def test_a_document_request_holds_images_or_one_pdf(
    jumio_sim: SimulatorHandle, creds: CredentialsClient, pages: list[tuple[str, str, str]]
) -> None:
    account = jumio_sim.create_account(10026)
    api = credential(account, "DOCUMENT")["api"]
    jumio_sim.admin.clear_requests()
    content = {"jpeg": make_jpeg(1200, 1600), "pdf": make_pdf(pages=1)}
    with pytest.raises(ValueError, match="image\\(s\\) or one PDF"):
        creds.upload_document(
            api["parts"]["document"], api["token"], [(content[c], t, n) for c, t, n in pages]
        )
    assert requests_on(jumio_sim, "document") == []
