"""OAuth token, account create/update, workflow keys, and the account-body rules."""

from __future__ import annotations

import re

import pytest

from tests.simulator.helpers import Execution

JWT_LIKE = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _account_body(**overrides):
    body = {"customerInternalReference": "ref-1", "workflowDefinition": {"key": 10013}}
    body.update(overrides)
    return body


def test_token_issued_for_the_configured_client(sim, http):
    response = http.post(
        f"{sim.base_url}/oauth2/token",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    assert JWT_LIKE.match(body["access_token"])


def test_token_refused_for_a_wrong_secret(sim, http):
    response = http.post(
        f"{sim.base_url}/oauth2/token",
        auth=(sim.client_id, "wrong"),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_token_refused_without_client_credentials_grant(sim, http):
    response = http.post(
        f"{sim.base_url}/oauth2/token",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "password"},
    )
    assert response.status_code == 400


def test_token_refused_without_user_agent(sim, http):
    response = http.post(
        f"{sim.base_url}/oauth2/token",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "client_credentials"},
        headers={"User-Agent": ""},
    )
    assert response.status_code == 403


def test_account_create_has_the_documented_shape(sim, http, tenant_auth):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts", json=_account_body(), headers=tenant_auth
    )
    assert response.status_code == 200
    body = response.json()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["timestamp"])
    execution = Execution(body)
    base = (
        f"{sim.base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}"
    )
    categories = [c["category"] for c in body["workflowExecution"]["credentials"]]
    assert categories == ["ID", "SELFIE", "DATA", "FACEMAP"]
    id_credential = execution.credential("ID")
    assert id_credential["allowedChannels"] == ["WEB", "API", "SDK"]
    assert id_credential["api"]["workflowExecution"] == base
    assert id_credential["api"]["parts"] == {
        "front": f"{base}/credentials/{id_credential['id']}/parts/FRONT",
        "back": f"{base}/credentials/{id_credential['id']}/parts/BACK",
    }
    assert list(execution.credential("DATA")["api"]["parts"]) == ["prepared_data"]
    assert "api" not in execution.credential("FACEMAP")
    tokens = [execution.token(c) for c in ("ID", "SELFIE", "DATA")]
    assert len(set(tokens)) == 3
    assert all(JWT_LIKE.match(token) for token in tokens)
    assert JWT_LIKE.match(body["sdk"]["token"])


def test_account_create_refused_without_a_tenant_token(sim, http):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(),
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 401


def test_account_create_refused_without_user_agent(sim, http, tenant_auth):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(),
        headers={**tenant_auth, "User-Agent": ""},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("key", "categories"),
    [
        (10011, ["ID", "SELFIE", "FACEMAP"]),
        (10005, ["DATA"]),
        (10006, ["DATA", "SELFIE"]),
        (10026, ["DOCUMENT"]),
        ("4242", ["ID", "SELFIE"]),
    ],
)
def test_credentials_follow_the_workflow_key(sim, key, categories):
    body = sim.create_account(key)
    assert [c["category"] for c in body["workflowExecution"]["credentials"]] == categories


def test_requested_categories_are_added(sim, http, tenant_auth):
    body = _account_body(
        workflowDefinition={"key": 10005, "credentials": [{"category": "DOCUMENT"}]}
    )
    response = http.post(f"{sim.base_url}/api/v1/accounts", json=body, headers=tenant_auth)
    assert [c["category"] for c in response.json()["workflowExecution"]["credentials"]] == [
        "DATA",
        "DOCUMENT",
    ]
    assert list(Execution(response.json()).credential("DOCUMENT")["api"]["parts"]) == ["document"]


@pytest.mark.parametrize("lifetime", ["5m", "600s", "1d", "60d", "+2h"])
def test_token_lifetime_accepted(sim, http, tenant_auth, lifetime):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(tokenLifetime=lifetime),
        headers=tenant_auth,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("lifetime", ["4m", "61d", "30", "30x", "-5m", 30])
def test_token_lifetime_refused(sim, http, tenant_auth, lifetime):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(tokenLifetime=lifetime),
        headers=tenant_auth,
    )
    assert response.status_code == 400
    assert "tokenLifetime" in response.json()["detail"]


@pytest.mark.parametrize("reference", ["", "x" * 101, "a<b", "a/b", "50%", "{x}", "a|b", 'say "x"'])
def test_customer_internal_reference_refused(sim, http, tenant_auth, reference):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(customerInternalReference=reference),
        headers=tenant_auth,
    )
    assert response.status_code == 400
    assert "customerInternalReference" in response.json()["detail"]


def test_customer_internal_reference_of_100_characters_accepted(sim, http, tenant_auth):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(customerInternalReference="r" * 100),
        headers=tenant_auth,
    )
    assert response.status_code == 200


def test_workflow_definition_key_required(sim, http, tenant_auth):
    response = http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(workflowDefinition={}),
        headers=tenant_auth,
    )
    assert response.status_code == 400
    assert "workflowDefinition.key" in response.json()["detail"]


def test_account_update_starts_a_new_execution_on_the_same_account(sim):
    first = Execution(sim.create_account(10011))
    second = Execution(sim.create_account(10005, account_id=first.account_id))
    assert second.account_id == first.account_id
    assert second.id != first.id
    state = sim.admin.state()
    assert state["accounts"][first.account_id]["workflowExecutions"] == [first.id, second.id]


def test_account_update_of_an_unknown_account_is_404(sim, http, tenant_auth):
    response = http.put(
        f"{sim.base_url}/api/v1/accounts/bbf3a261-9bf9-400c-b218-cd275596d8d9",
        json=_account_body(),
        headers=tenant_auth,
    )
    assert response.status_code == 404
