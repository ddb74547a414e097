"""Every Jumio attempt is counted: the EMF lines the client prints, against the simulator.

Each attempt (retries included) writes ``JumioCalls`` (Count, by service, operation and
statusClass) and ``JumioCallLatency`` (Milliseconds, by service and operation) as CloudWatch
embedded-metric JSON on stdout, which is what Lambda ships to CloudWatch. The simulator's own
request log is the witness of how many attempts there were.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, TenantClient
from jumio_pipeline.adapters.metrics import EmfMetrics
from jumio_pipeline.domain.errors import JumioAuthError, JumioError, JumioUnavailable
from jumio_simulator.testing import SimulatorHandle
from tests.support.images import make_jpeg
from tests.support.jumio_settings import fast_settings

NAMESPACE = "JumioCapturePipelineTest"
SERVICE = "metrics-test"


@pytest.fixture
def http(jumio_sim: SimulatorHandle) -> Iterator[JumioHttp]:
    with JumioHttp(
        fast_settings(jumio_sim.base_url), metrics=EmfMetrics(NAMESPACE, SERVICE)
    ) as client:
        yield client


def emf_lines(stdout: str) -> list[dict[str, Any]]:
    """The embedded-metric objects printed, one per line, in order."""
    found = []
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "_aws" in value:
            found.append(value)
    return found


def metric(blob: dict[str, Any]) -> dict[str, Any]:
    """One EMF object as (namespace, name, unit, dimensions, value)."""
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    [definition] = directive["Metrics"]
    [dimension_names] = directive["Dimensions"]
    value = blob[definition["Name"]]
    return {
        "namespace": directive["Namespace"],
        "name": definition["Name"],
        "unit": definition["Unit"],
        "dimensions": {name: blob[name] for name in dimension_names},
        "value": value[0] if isinstance(value, list) else value,
    }


def jumio_calls(stdout: str) -> list[tuple[str, str]]:
    """(operation, statusClass) of every JumioCalls count, in order."""
    calls = []
    for blob in emf_lines(stdout):
        found = metric(blob)
        if found["name"] != "JumioCalls":
            continue
        assert found["unit"] == "Count"
        assert found["value"] == 1
        assert found["namespace"] == NAMESPACE
        assert set(found["dimensions"]) == {"service", "operation", "statusClass"}
        assert found["dimensions"]["service"] == SERVICE
        calls.append((found["dimensions"]["operation"], found["dimensions"]["statusClass"]))
    return calls


def latencies(stdout: str) -> list[tuple[str, float]]:
    """(operation, milliseconds) of every JumioCallLatency, in order."""
    found = []
    for blob in emf_lines(stdout):
        one = metric(blob)
        if one["name"] != "JumioCallLatency":
            continue
        assert one["unit"] == "Milliseconds"
        assert one["namespace"] == NAMESPACE
        assert one["dimensions"] == {
            "service": SERVICE,
            "operation": one["dimensions"]["operation"],
        }
        found.append((one["dimensions"]["operation"], one["value"]))
    return found


def routes_hit(jumio_sim: SimulatorHandle, route: str) -> list[int | None]:
    return [entry["status"] for entry in jumio_sim.admin.requests() if entry["route"] == route]


def finalize_target(jumio_sim: SimulatorHandle) -> tuple[str, str]:
    account = jumio_sim.create_account(10013)
    [api] = [c["api"] for c in account["workflowExecution"]["credentials"] if c["category"] == "ID"]
    return api["workflowExecution"], api["token"]


def test_each_retry_of_a_call_is_counted_with_its_status_class(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    href, token = finalize_target(jumio_sim)
    jumio_sim.admin.set_faults({"script": {"finalize": ["503", "reset"]}})
    capsys.readouterr()

    CredentialsClient(http).finalize(href, token)

    out = capsys.readouterr().out
    assert len(routes_hit(jumio_sim, "finalize")) == 3
    assert jumio_calls(out) == [("finalize", "5xx"), ("finalize", "network"), ("finalize", "2xx")]
    times = latencies(out)
    assert [operation for operation, _ in times] == ["finalize"] * 3
    assert all(ms >= 0 for _, ms in times)


def test_a_call_whose_retries_ran_out_counts_every_attempt_once(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    href, token = finalize_target(jumio_sim)
    jumio_sim.admin.set_faults({"script": {"finalize": ["503", "500", "503", "503"]}})
    capsys.readouterr()

    with pytest.raises(JumioUnavailable):
        CredentialsClient(http).finalize(href, token)

    out = capsys.readouterr().out
    assert routes_hit(jumio_sim, "finalize") == [503, 500, 503]
    assert jumio_calls(out) == [("finalize", "5xx")] * 3
    assert len(latencies(out)) == 3


def test_tenant_calls_count_the_token_and_a_throttled_attempt(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = TenantClient(http, jumio_sim.client_id, jumio_sim.client_secret)
    jumio_sim.admin.set_faults({"script": {"account_create": ["429"]}})
    capsys.readouterr()

    tenant.create_account(
        {"customerInternalReference": "metrics-0001", "workflowDefinition": {"key": 10013}}
    )

    assert jumio_calls(capsys.readouterr().out) == [
        ("token", "2xx"),
        ("account_create", "429"),
        ("account_create", "2xx"),
    ]


def test_an_add_that_is_not_repeated_counts_the_add_and_the_update_that_settles_it(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    account = jumio_sim.create_account(10013)
    [api] = [c["api"] for c in account["workflowExecution"]["credentials"] if c["category"] == "ID"]
    jumio_sim.admin.set_faults({"script": {"add_part": ["503"]}})
    capsys.readouterr()

    CredentialsClient(http).add_part(
        api["parts"]["front"], api["token"], make_jpeg(800, 500), "image/jpeg", "FRONT.jpg"
    )

    assert jumio_calls(capsys.readouterr().out) == [("add_part", "5xx"), ("update_part", "2xx")]


def test_a_refusal_is_a_4xx_call(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    href, _ = finalize_target(jumio_sim)
    capsys.readouterr()

    with pytest.raises(JumioAuthError):
        CredentialsClient(http).finalize(href, "not-the-token")

    assert jumio_calls(capsys.readouterr().out) == [("finalize", "4xx")]


def test_a_host_that_refuses_connections_counts_each_attempt_as_network(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    with JumioHttp(fast_settings(base_url), metrics=EmfMetrics(NAMESPACE, SERVICE)) as http:
        capsys.readouterr()
        with pytest.raises(JumioUnavailable):
            http.send("status", "GET", f"{base_url}/api/v1/accounts/a/workflow-executions/w/status")

    assert jumio_calls(capsys.readouterr().out) == [("status", "network")] * 3


def test_an_operation_name_outside_the_known_set_is_counted_as_other(
    jumio_sim: SimulatorHandle, http: JumioHttp, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with pytest.raises(JumioError):
        http.send("status-of-5b2c9e9a-0d7e", "GET", f"{jumio_sim.base_url}/api/v1/unknown")

    out = capsys.readouterr().out
    assert jumio_calls(out) == [("other", "4xx")]
    assert "5b2c9e9a" not in out


def test_namespace_and_service_come_from_powertools_variables(
    jumio_sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "OtherNamespace")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "finalize")
    href, token = finalize_target(jumio_sim)
    with JumioHttp(fast_settings(jumio_sim.base_url)) as http:
        capsys.readouterr()
        CredentialsClient(http).finalize(href, token)

    [calls, latency] = [metric(blob) for blob in emf_lines(capsys.readouterr().out)]
    assert (calls["namespace"], calls["dimensions"]["service"]) == ("OtherNamespace", "finalize")
    assert (latency["namespace"], latency["name"]) == ("OtherNamespace", "JumioCallLatency")


def test_the_namespace_defaults_to_the_pipelines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    capsys.readouterr()
    EmfMetrics.from_env().milliseconds("JumioCallLatency", 12.5, operation="status")
    [latency] = [metric(blob) for blob in emf_lines(capsys.readouterr().out)]
    assert latency == {
        "namespace": "JumioCapturePipeline",
        "name": "JumioCallLatency",
        "unit": "Milliseconds",
        "dimensions": {"service": "service_undefined", "operation": "status"},
        "value": 12.5,
    }


def test_a_client_outside_a_function_writes_no_metrics(
    jumio_sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script (the local cloud's session helper prints JSON on stdout) is not a function."""
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    href, token = finalize_target(jumio_sim)
    with JumioHttp(fast_settings(jumio_sim.base_url)) as http:
        capsys.readouterr()
        CredentialsClient(http).finalize(href, token)

    assert emf_lines(capsys.readouterr().out) == []
