"""Retrieval: status with SESSION_EXPIRED, the details route, and deterministic decisions."""

from __future__ import annotations

import re

import pytest

from jumio_simulator.decisions import FAKE_IDENTITY, FAKE_LIVENESS, FAKE_SIMILARITY
from tests.simulator.helpers import (
    Execution,
    execution_url,
    file_field,
    image_bytes,
    status_url,
    wait_for,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CAPABILITIES = {
    "usability",
    "imageChecks",
    "extraction",
    "dataChecks",
    "liveness",
    "similarity",
    "watchlistScreening",
}


def _tenant(sim) -> dict[str, str]:
    """A fresh tenant token: advancing the clock by an hour expires the previous one."""
    return {"Authorization": f"Bearer {sim.access_token()}"}


def _status(sim, http, execution: Execution) -> str:
    response = http.get(status_url(sim.base_url, execution), headers=_tenant(sim))
    assert response.status_code == 200
    return response.json()["workflowExecution"]["status"]


def _details(sim, http, execution: Execution) -> dict:
    response = http.get(execution_url(sim.base_url, execution), headers=_tenant(sim))
    assert response.status_code == 200
    return response.json()


def _add(http, execution: Execution, category: str = "ID", key: str = "front"):
    response = http.post(
        execution.part_href(category, key),
        headers=execution.auth(category),
        files=file_field(image_bytes()),
    )
    assert response.status_code == 200
    return response


def _processed(sim, http, execution: Execution) -> dict:
    """Finalize with any token of the execution, wait (via the unlimited admin API), details."""
    category = next(
        c["category"] for c in execution.response["workflowExecution"]["credentials"] if "api" in c
    )
    assert http.put(execution.href(), headers=execution.auth(category)).status_code == 200
    wait_for(lambda: sim.admin.state()["workflowExecutions"][execution.id]["status"] == "PROCESSED")
    return _details(sim, http, execution)


# --- session expiry ---------------------------------------------------------------------


def test_session_expires_after_15_idle_minutes_following_the_first_action(sim, http, callbacks):
    execution = Execution(
        sim.create_account(10011, token_lifetime="2h", callback_url=callbacks.url)
    )
    _add(http, execution)
    sim.admin.advance_clock(15 * 60 - 1)
    assert _status(sim, http, execution) == "INITIATED"
    sim.admin.advance_clock(1)
    assert _status(sim, http, execution) == "SESSION_EXPIRED"
    callback = callbacks.next()
    assert callback["workflowExecution"]["status"] == "SESSION_EXPIRED"
    assert callback["workflowExecution"]["id"] == execution.id


def test_each_action_restarts_the_idle_countdown(sim, http):
    execution = Execution(sim.create_account(10011, token_lifetime="2h"))
    _add(http, execution)
    sim.admin.advance_clock(600)
    _add(http, execution, "SELFIE", "face")
    sim.admin.advance_clock(600)
    assert _status(sim, http, execution) == "INITIATED"
    sim.admin.advance_clock(300)
    assert _status(sim, http, execution) == "SESSION_EXPIRED"


def test_without_an_action_only_the_token_lifetime_ends_the_execution(sim, http):
    execution = Execution(sim.create_account(10011, token_lifetime="2h"))
    sim.admin.advance_clock(3600)
    assert _status(sim, http, execution) == "INITIATED"
    sim.admin.advance_clock(3600)
    assert _status(sim, http, execution) == "TOKEN_EXPIRED"


def test_a_token_lifetime_shorter_than_the_idle_time_still_gives_token_expired(sim, http):
    execution = Execution(sim.create_account(10011, token_lifetime="10m"))
    _add(http, execution)
    sim.admin.advance_clock(3600)
    assert _status(sim, http, execution) == "TOKEN_EXPIRED"


def test_the_idle_timeout_is_configurable(sim, http):
    assert sim.admin.set_config({"sessionIdleSeconds": 60})["sessionIdleSeconds"] == 60
    execution = Execution(sim.create_account(10011))
    _add(http, execution)
    sim.admin.advance_clock(60)
    assert _status(sim, http, execution) == "SESSION_EXPIRED"


def test_expiry_is_swept_and_called_back_without_any_request(sim, http, callbacks):
    sim.admin.set_config({"sessionIdleSeconds": 0.5})
    execution = Execution(sim.create_account(10011, callback_url=callbacks.url))
    _add(http, execution)
    callback = callbacks.next(timeout=15)
    assert callback["workflowExecution"]["status"] == "SESSION_EXPIRED"


def test_finalize_is_refused_once_the_session_expired(strict, http):
    execution = Execution(strict.create_account(10011))
    _add(http, execution)
    strict.admin.advance_clock(15 * 60)
    refused = http.put(execution.href(), headers=execution.auth("ID"))
    assert refused.status_code == 409
    assert _status(strict, http, execution) == "SESSION_EXPIRED"


# --- details ------------------------------------------------------------------------------


def test_details_list_the_parts_there_now_before_finalize(sim, http):
    execution = Execution(
        sim.create_account(10013, customer_internal_reference="ref-77", user_reference="user-5")
    )
    details = _details(sim, http, execution)
    assert details["workflow"] == {
        "id": execution.id,
        "status": "INITIATED",
        "definitionKey": "10013",
        "userReference": "user-5",
        "customerInternalReference": "ref-77",
    }
    assert details["account"] == {"id": execution.account_id}
    assert TIMESTAMP.match(details["createdAt"])
    assert "startedAt" not in details
    assert "completedAt" not in details
    assert "capabilities" not in details
    assert "decision" not in details
    assert [(c["category"], c["parts"]) for c in details["credentials"]] == [
        ("ID", []),
        ("SELFIE", []),
        ("DATA", []),
        ("FACEMAP", []),
    ]

    _add(http, execution)
    data_href = execution.part_href("DATA", "prepared_data")
    assert http.post(data_href, headers=execution.auth("DATA"), json={"firstName": "A"}).ok
    details = _details(sim, http, execution)
    parts = {c["category"]: c["parts"] for c in details["credentials"]}
    id_credential = execution.credential("ID")["id"]
    assert parts["ID"] == [
        {
            "classifier": "FRONT",
            "href": f"{sim.base_url}/api/v1/accounts/{execution.account_id}"
            f"/credentials/{id_credential}/parts/FRONT",
        }
    ]
    assert [p["classifier"] for p in parts["DATA"]] == ["PREPARED_DATA"]
    assert TIMESTAMP.match(details["startedAt"])

    assert http.delete(execution.part_href("ID", "front"), headers=execution.auth("ID")).ok
    parts = {c["category"]: c["parts"] for c in _details(sim, http, execution)["credentials"]}
    assert parts["ID"] == []


def test_processed_details_carry_capabilities_a_decision_and_fake_personal_data(sim, http):
    execution = Execution(sim.create_account(10013))
    _add(http, execution)
    _add(http, execution, "SELFIE", "face")
    details = _processed(sim, http, execution)
    assert details["workflow"]["status"] == "PROCESSED"
    assert TIMESTAMP.match(details["completedAt"])
    assert details["decision"] == {
        "type": "PASSED",
        "details": {"label": "PASSED"},
        "risk": {"score": details["decision"]["risk"]["score"]},
    }
    capabilities = details["capabilities"]
    assert set(capabilities) == CAPABILITIES
    for items in capabilities.values():
        for item in items:
            assert set(item) == {"id", "credentials", "decision", "data"}
            assert item["decision"]["type"] == "PASSED"
            assert item["decision"]["details"]["label"]
            assert all(set(c) == {"id", "category"} for c in item["credentials"])
    assert capabilities["extraction"][0]["data"] == FAKE_IDENTITY
    assert capabilities["liveness"][0]["data"] == FAKE_LIVENESS
    assert capabilities["similarity"][0]["data"] == FAKE_SIMILARITY
    assert [c["category"] for c in capabilities["similarity"][0]["credentials"]] == ["ID", "SELFIE"]
    assert _details(sim, http, execution) == details  # stable on every read


def _decision_types(details: dict) -> list[str]:
    return [
        item["decision"]["type"] for items in details["capabilities"].values() for item in items
    ]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("case-reject-01", "REJECTED"),
        ("please-WARN-me", "WARNING"),
        ("NotExec-3", "NOT_EXECUTED"),
        ("ordinary", "PASSED"),
    ],
)
def test_the_reference_marker_chooses_a_consistent_decision(sim, http, reference, expected):
    execution = Execution(sim.create_account(10013, customer_internal_reference=reference))
    details = _processed(sim, http, execution)
    assert details["decision"]["type"] == expected
    types = _decision_types(details)
    if expected == "NOT_EXECUTED":
        assert set(types) == {"NOT_EXECUTED"}
        assert all(not item["data"] for items in details["capabilities"].values() for item in items)
    elif expected == "PASSED":
        assert set(types) == {"PASSED"}
    else:
        assert types.count(expected) == 1
        assert set(types) == {"PASSED", expected}
        failing = next(
            item
            for items in details["capabilities"].values()
            for item in items
            if item["decision"]["type"] == expected
        )
        assert details["decision"]["details"]["label"] == failing["decision"]["details"]["label"]


def test_a_data_only_workflow_is_rejected_by_its_data_checks(sim, http):
    execution = Execution(sim.create_account(10005, customer_internal_reference="reject"))
    details = _processed(sim, http, execution)
    assert details["capabilities"]["dataChecks"][0]["decision"]["type"] == "REJECTED"
    assert details["capabilities"]["extraction"] == []


def test_an_admin_override_beats_the_marker(sim, http):
    execution = Execution(sim.create_account(10011, customer_internal_reference="reject-me"))
    assert sim.admin.set_decision(execution.id, "WARNING") == {
        "overrides": {execution.id: "WARNING"}
    }
    assert _processed(sim, http, execution)["decision"]["type"] == "WARNING"
    sim.admin.set_decision(execution.id, None)
    assert _details(sim, http, execution)["decision"]["type"] == "REJECTED"
    assert sim.admin.reset() is None
    assert http.get(f"{sim.base_url}/__admin/decisions").json() == {"overrides": {}}


@pytest.mark.parametrize(
    "body",
    [
        {"workflowExecutionId": "bbf3a261-9bf9-400c-b218-cd275596d8d9", "decision": "PASSED"},
        {"workflowExecutionId": None, "decision": "PASSED"},
    ],
)
def test_an_override_for_an_unknown_execution_is_404(sim, http, body):
    assert http.post(f"{sim.base_url}/__admin/decisions", json=body).status_code == 404


def test_an_unknown_decision_type_is_400(sim, http, execution):
    body = {"workflowExecutionId": execution.id, "decision": "MAYBE"}
    assert http.post(f"{sim.base_url}/__admin/decisions", json=body).status_code == 400


def test_details_need_a_tenant_token_and_a_live_execution(sim, http, tenant_auth, execution):
    url = execution_url(sim.base_url, execution)
    assert http.get(url, headers=execution.auth("ID")).status_code == 401
    unknown = url.replace(execution.id, "bbf3a261-9bf9-400c-b218-cd275596d8d9")
    assert http.get(unknown, headers=tenant_auth).status_code == 404
    assert http.delete(url, headers=tenant_auth).status_code == 200
    assert http.get(url, headers=tenant_auth).status_code == 404
    assert sim.admin.requests()[-1]["route"] == "details"
