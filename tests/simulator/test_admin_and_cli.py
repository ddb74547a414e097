"""The admin API (state, request log, clock, reset) and the `python -m jumio_simulator` CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from jumio_simulator.error_modes import DEFAULT_ERROR_MODE
from tests.simulator.helpers import USER_AGENT, Execution, file_field, image_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_request_log_records_routes_without_bodies_or_tokens(sim, http, execution):
    sim.admin.clear_requests()
    http.post(
        execution.part_href("ID", "front"),
        headers=execution.auth("ID"),
        files=file_field(image_bytes()),
    )
    http.put(execution.href(), headers=execution.auth("ID"))
    log = sim.admin.requests()
    assert [(e["route"], e["method"], e["status"], e["fault"]) for e in log] == [
        ("add_part", "POST", 200, None),
        ("finalize", "PUT", 200, None),
    ]
    assert log[0]["seq"] < log[1]["seq"]
    assert log[1]["path"] == execution.href().removeprefix(sim.base_url)
    assert all(
        set(entry) == {"seq", "route", "method", "path", "status", "fault", "at"} for entry in log
    )
    assert execution.token("ID") not in str(log)


def test_unknown_paths_are_logged_as_404(sim, http):
    response = http.get(f"{sim.base_url}/api/v1/nothing")
    assert response.status_code == 404
    assert sim.admin.requests()[-1]["route"] is None


def test_clear_requests_empties_the_log(sim, execution):
    assert sim.admin.requests()
    sim.admin.clear_requests()
    assert sim.admin.requests() == []


def test_reset_forgets_state_faults_log_and_clock(sim, execution):
    sim.admin.set_faults({"routes": {"token": {"p500": 1.0}}})
    sim.admin.advance_clock(120)
    sim.admin.reset()
    assert sim.admin.state() == {"accounts": {}, "workflowExecutions": {}}
    assert sim.admin.requests() == []
    assert sim.admin.faults()["routes"] == {}
    assert Execution(sim.create_account(10011)).id


def test_clock_refuses_a_negative_advance(sim, http):
    response = http.post(f"{sim.base_url}/__admin/clock", json={"advanceSeconds": -1})
    assert response.status_code == 400


def test_tenant_token_expires_after_an_hour_of_simulated_time(sim, http, tenant_auth):
    url = f"{sim.base_url}/api/v1/accounts"
    body = {"customerInternalReference": "ref", "workflowDefinition": {"key": 10011}}
    assert http.post(url, json=body, headers=tenant_auth).status_code == 200
    sim.admin.advance_clock(3600)
    assert http.post(url, json=body, headers=tenant_auth).status_code == 401


def test_cli_prints_its_base_url_and_serves():
    process = subprocess.Popen(
        [
            str(REPO_ROOT / ".venv" / "bin" / "python"),
            "-m",
            "jumio_simulator",
            "--port",
            "0",
            "--client-id",
            "cli",
            "--client-secret",
            "s",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        response = requests.post(
            f"{base_url}/oauth2/token",
            auth=("cli", "s"),
            data={"grant_type": "client_credentials"},
            headers={"User-Agent": USER_AGENT},
            timeout=5,
        )
        assert response.status_code == 200
        assert requests.get(f"{base_url}/__admin/requests", timeout=5).json()[0]["route"] == "token"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _cli_config(*flags: str) -> dict:
    process = subprocess.Popen(
        [
            str(REPO_ROOT / ".venv" / "bin" / "python"),
            "-m",
            "jumio_simulator",
            "--port",
            "0",
            *flags,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        return requests.get(f"{base_url}/__admin/config", timeout=5).json()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_sets_error_mode_seed_idle_time_and_switches_limits_off():
    config = _cli_config(
        "--error-mode", "opaque", "--seed", "3", "--session-idle-seconds", "60", "--no-rate-limits"
    )
    assert (config["errorMode"], config["seed"], config["sessionIdleSeconds"]) == ("opaque", 3, 60)
    assert config["rateLimits"]["enabled"] is False


def test_cli_takes_rate_limits_as_json():
    config = _cli_config("--rate-limits", '{"account": {"burst": 2, "perSecond": 0.5}}')
    assert config["errorMode"] == DEFAULT_ERROR_MODE
    assert config["rateLimits"]["enabled"] is True
    assert config["rateLimits"]["account"] == {"burst": 2, "perSecond": 0.5}


def test_config_shows_the_seeds_answers_to_undocumented_questions(sim):
    undocumented = sim.admin.config()["undocumented"]
    assert set(undocumented) == {"conflictStatus", "updateOfMissingPart", "retryAfterOn429"}
    assert set(undocumented["conflictStatus"].values()) <= {400, 403, 404, 409}
