"""Fault injection: 429/500/503, reset, drop-after-process, scripts, and seeded reproducibility."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.simulator.helpers import Execution, api_session, file_field, image_bytes


def _add_front(http, execution: Execution) -> requests.Response:
    return http.post(
        execution.part_href("ID", "front"),
        headers=execution.auth("ID"),
        files=file_field(image_bytes()),
    )


def _front_adds(sim, execution: Execution) -> int:
    credential_id = execution.credential("ID")["id"]
    credential = sim.admin.state()["workflowExecutions"][execution.id]["credentials"][credential_id]
    return credential["parts"]["FRONT"]["adds"]


def test_429_has_retry_after_and_the_documented_body(sim, http, execution):
    sim.admin.set_faults({"routes": {"add_part": {"p429": 1.0, "retryAfter": 3}}})
    response = _add_front(http, execution)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Request limit exceeded",
    }
    assert _front_adds(sim, execution) == 0
    assert sim.admin.requests()[-1]["fault"] == "429"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_do_not_change_state(sim, http, execution, status):
    sim.admin.set_faults({"routes": {"*": {f"p{status}": 1.0}}})
    response = _add_front(http, execution)
    assert response.status_code == status
    assert response.json()["status"] == status
    assert _front_adds(sim, execution) == 0


def test_reset_closes_the_connection_before_processing(sim, http, execution):
    sim.admin.set_faults({"script": {"add_part": ["reset"]}})
    with pytest.raises(requests.ConnectionError):
        _add_front(http, execution)
    assert _front_adds(sim, execution) == 0
    entry = sim.admin.requests()[-1]
    assert (entry["route"], entry["status"], entry["fault"]) == ("add_part", None, "reset")


def test_drop_processes_then_closes_without_answer(strict, http, execution):
    sim = strict
    sim.admin.set_faults({"routes": {"add_part": {"pDrop": 1.0}}})
    with pytest.raises(requests.ConnectionError):
        _add_front(http, execution)
    assert _front_adds(sim, execution) == 1
    sim.admin.set_faults({})
    assert _add_front(http, execution).json()["detail"].startswith("PART_EXISTS")
    faults = [entry["fault"] for entry in sim.admin.requests() if entry["route"] == "add_part"]
    assert faults == ["drop", None]


def test_script_is_consumed_first_then_requests_succeed(strict, http, execution):
    sim = strict
    sim.admin.set_faults({"script": {"add_part": ["503", "429", "ok", "500"]}})
    statuses = [_add_front(http, execution).status_code for _ in range(5)]
    assert statuses == [503, 429, 200, 500, 409]
    assert sim.admin.faults()["remainingScript"] == {"add_part": []}


def test_a_scripted_400_refuses_without_processing(sim, http, execution):
    sim.admin.set_faults({"script": {"finalize": ["400"]}})
    refused = http.put(execution.href(), headers=execution.auth("ID"))
    assert refused.status_code == 400
    assert set(refused.json()) == {"title", "status", "detail"}
    assert sim.admin.state()["workflowExecutions"][execution.id]["finalizeCount"] == 0
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 200


def test_faults_only_touch_their_route(sim, http, execution):
    sim.admin.set_faults({"routes": {"finalize": {"p503": 1.0}}})
    assert _add_front(http, execution).status_code == 200
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 503


def test_admin_routes_are_never_faulted(sim):
    sim.admin.set_faults({"routes": {"*": {"pReset": 1.0}}})
    assert sim.admin.state() == {"accounts": {}, "workflowExecutions": {}}


def _statuses_under_seed(sim, http, seed: int) -> list[int]:
    sim.admin.reset()
    execution = Execution(sim.create_account(10011))
    sim.admin.set_faults(
        {"seed": seed, "routes": {"status": {"p429": 0.3, "p500": 0.2, "p503": 0.2}}}
    )
    token = {"Authorization": f"Bearer {sim.access_token()}"}
    url = f"{sim.base_url}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}/status"
    return [http.get(url, headers=token).status_code for _ in range(30)]


def test_the_same_seed_reproduces_the_same_faults(sim, http):
    first = _statuses_under_seed(sim, http, 11)
    second = _statuses_under_seed(sim, http, 11)
    assert first == second
    assert {200, 429} <= set(first)
    assert _statuses_under_seed(sim, http, 12) != first


@pytest.mark.parametrize(
    "config",
    [
        {"routes": {"no_such_route": {"p429": 0.5}}},
        {"routes": {"add_part": {"p429": 1.5}}},
        {"routes": {"add_part": {"p429": 0.6, "p500": 0.6}}},
        {"routes": {"add_part": {"pTeapot": 0.1}}},
        {"script": {"add_part": ["418"]}},
        {"seed": "x"},
    ],
)
def test_invalid_fault_config_is_400(sim, http, config):
    response = http.post(f"{sim.base_url}/__admin/faults", json=config)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_concurrent_adds_of_one_part_land_exactly_once(strict, execution):
    sim = strict

    def add(_: int) -> int:
        with api_session() as session:
            return _add_front(session, execution).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(add, range(8)))
    assert statuses == [200] + [409] * 7
    assert _front_adds(sim, execution) == 1


def test_a_slow_answer_comes_after_the_request_took_effect(sim, http, execution):
    sim.admin.set_faults(
        {"routes": {"add_part": {"slowMs": 1500}}, "script": {"add_part": ["slow"]}}
    )

    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(
            execution.part_href("ID", "front"),
            headers=execution.auth("ID"),
            files=file_field(image_bytes()),
            timeout=(3, 0.5),
        )

    assert _front_adds(sim, execution) == 1  # it took effect before the answer
    deadline = time.monotonic() + 10
    while not (logged := [r for r in sim.admin.requests() if r["route"] == "add_part"]):
        assert time.monotonic() < deadline, "the slow answer was never logged"
        time.sleep(0.1)  # logged once the late answer is written
    assert logged[0]["fault"] == "slow"
