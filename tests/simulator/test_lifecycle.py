"""Finalize, processing, callbacks, token expiry, retrieval status, and deletion."""

from __future__ import annotations

from tests.simulator.helpers import Execution, file_field, image_bytes, wait_for


def _status(sim, execution: Execution) -> str:
    return sim.admin.state()["workflowExecutions"][execution.id]["status"]


def test_finalize_acquires_then_processes_and_calls_back(sim, http, callbacks):
    execution = Execution(sim.create_account(10011, callback_url=callbacks.url))
    response = http.put(execution.href(), headers=execution.auth("SELFIE"))
    assert response.status_code == 200
    assert response.json()["workflowExecution"] == {"id": execution.id}
    assert response.json()["account"] == {"id": execution.account_id}
    assert _status(sim, execution) in ("ACQUIRED", "PROCESSED")
    callback = callbacks.next()
    assert callback["workflowExecution"]["id"] == execution.id
    assert callback["workflowExecution"]["status"] == "PROCESSED"
    assert callback["workflowExecution"]["definitionKey"] == "10011"
    assert callback["account"]["id"] == execution.account_id
    assert callback["account"]["href"].endswith(f"/api/v1/accounts/{execution.account_id}")
    assert "callbackSentAt" in callback
    assert _status(sim, execution) == "PROCESSED"


def test_second_finalize_is_409_already_finalized(strict, http, execution):
    sim = strict
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 200
    again = http.put(execution.href(), headers=execution.auth("DATA"))
    assert again.status_code == 409
    assert again.json()["detail"].startswith("ALREADY_FINALIZED")
    assert sim.admin.state()["workflowExecutions"][execution.id]["finalizeCount"] == 1


def test_finalize_with_a_foreign_token_is_401(sim, http, execution):
    other = Execution(sim.create_account(10013))
    assert http.put(execution.href(), headers=other.auth("ID")).status_code == 401


def test_token_expires_with_the_simulated_clock(sim, http, callbacks):
    execution = Execution(
        sim.create_account(10011, token_lifetime="5m", callback_url=callbacks.url)
    )
    href = execution.part_href("ID", "front")
    sim.admin.advance_clock(299)
    assert (
        http.post(href, headers=execution.auth("ID"), files=file_field(image_bytes())).status_code
        == 200
    )
    sim.admin.advance_clock(2)
    expired = http.put(href, headers=execution.auth("ID"), files=file_field(image_bytes()))
    assert expired.status_code == 401
    assert _status(sim, execution) == "TOKEN_EXPIRED"
    callback = callbacks.next()
    assert callback["workflowExecution"]["status"] == "TOKEN_EXPIRED"


def test_retrieval_status_shape(sim, http, execution, tenant_auth):
    url = f"{sim.base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}/status"
    response = http.get(url, headers=tenant_auth)
    assert response.status_code == 200
    assert response.json() == {
        "account": {
            "id": execution.account_id,
            "href": f"{sim.base_url}/api/v1/accounts/{execution.account_id}",
        },
        "workflowExecution": {
            "id": execution.id,
            "href": execution.href(),
            "definitionKey": "10013",
            "status": "INITIATED",
        },
    }
    http.put(execution.href(), headers=execution.auth("ID"))
    wait_for(lambda: _status(sim, execution) == "PROCESSED")  # admin: not rate-limited
    assert http.get(url, headers=tenant_auth).json()["workflowExecution"]["status"] == "PROCESSED"


def test_retrieval_status_needs_a_tenant_token(sim, http, execution):
    url = f"{sim.base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}/status"
    assert http.get(url, headers=execution.auth("ID")).status_code == 401


def test_workflow_deletion_makes_its_ids_404_everywhere(strict, http, execution, tenant_auth):
    sim = strict
    front = execution.part_href("ID", "front")
    http.post(front, headers=execution.auth("ID"), files=file_field(image_bytes()))
    wf_url = (
        f"{sim.base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}"
    )
    deleted = http.delete(wf_url, headers=tenant_auth)
    assert deleted.status_code == 200
    assert http.get(f"{wf_url}/status", headers=tenant_auth).status_code == 404
    assert http.delete(wf_url, headers=tenant_auth).status_code == 404
    assert http.delete(front, headers=execution.auth("ID")).status_code == 404
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 404
    state = sim.admin.state()
    assert state["workflowExecutions"][execution.id]["deleted"] is True
    assert state["accounts"][execution.account_id]["deleted"] is False


def test_account_deletion_deletes_all_its_executions(strict, http, tenant_auth):
    sim = strict
    first = Execution(sim.create_account(10011))
    second = Execution(sim.create_account(10005, account_id=first.account_id))
    account_url = f"{sim.base_url}/api/v1/accounts/{first.account_id}"
    assert http.delete(account_url, headers=tenant_auth).status_code == 200
    state = sim.admin.state()
    assert state["accounts"][first.account_id]["deleted"] is True
    assert all(state["workflowExecutions"][e.id]["deleted"] for e in (first, second))
    assert http.delete(account_url, headers=tenant_auth).status_code == 404
    assert (
        http.post(
            second.part_href("DATA", "prepared_data"),
            headers=second.auth("DATA"),
            json={"firstName": "X"},
        ).status_code
        == 404
    )
    body = {"customerInternalReference": "again", "workflowDefinition": {"key": 10011}}
    assert http.put(account_url, json=body, headers=tenant_auth).status_code == 404


def test_deletion_needs_a_tenant_token(sim, http, execution):
    url = f"{sim.base_url}/api/v1/accounts/{execution.account_id}"
    assert http.delete(url, headers=execution.auth("ID")).status_code == 401
