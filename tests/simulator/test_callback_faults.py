"""Callback faults (redelivery is undocumented): late, twice, out of order, or never - seeded."""

from __future__ import annotations

import json

import pytest

from tests.simulator.helpers import CallbackReceiver, Execution, wait_for

LOG_KEYS = {
    "seq",
    "workflowExecutionId",
    "status",
    "copy",
    "fault",
    "delayMs",
    "outcome",
    "httpStatus",
    "scheduledAt",
    "sentAt",
}
HOUR_MS = 3_600_000


def _finalized(sim, http, url: str) -> Execution:
    execution = Execution(sim.create_account(10011, callback_url=url))
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 200
    return execution


def _log_of(sim, execution: Execution) -> list[dict]:
    return [e for e in sim.admin.callbacks() if e["workflowExecutionId"] == execution.id]


def test_a_dropped_callback_is_never_sent(sim, http, callbacks):
    sim.admin.set_faults({"callbacks": {"script": ["drop", "ok"]}})
    dropped = _finalized(sim, http, callbacks.url)
    wait_for(lambda: _log_of(sim, dropped))
    delivered = _finalized(sim, http, callbacks.url)
    assert callbacks.next()["workflowExecution"]["id"] == delivered.id
    assert sim.admin.flush_callbacks() == 0
    assert callbacks.received.empty()
    [entry] = _log_of(sim, dropped)
    assert (entry["fault"], entry["outcome"], entry["sentAt"]) == ("drop", "dropped", None)
    assert sim.admin.faults()["remainingCallbackScript"] == []


def test_a_duplicate_is_delivered_twice_with_the_same_payload(sim, http, callbacks):
    sim.admin.set_faults({"callbacks": {"pDuplicate": 1.0}})
    execution = _finalized(sim, http, callbacks.url)
    first, second = callbacks.next(), callbacks.next()
    strip = lambda body: {k: v for k, v in body.items() if k != "callbackSentAt"}  # noqa: E731
    assert strip(first) == strip(second)
    assert first["workflowExecution"]["status"] == "PROCESSED"
    wait_for(lambda: all(e["outcome"] == "delivered" for e in _log_of(sim, execution)))
    log = _log_of(sim, execution)
    assert [(e["copy"], e["fault"], e["httpStatus"]) for e in log] == [
        ("original", None, 200),
        ("duplicate", "duplicate", 200),
    ]


def test_a_late_duplicate_arrives_after_newer_callbacks(sim, http, callbacks):
    sim.admin.set_faults(
        {"callbacks": {"pDuplicate": 1.0, "delayMs": 0, "duplicateDelayMs": HOUR_MS}}
    )
    older = _finalized(sim, http, callbacks.url)
    assert callbacks.next()["workflowExecution"]["id"] == older.id
    sim.admin.set_faults({})
    newer = _finalized(sim, http, callbacks.url)
    assert callbacks.next()["workflowExecution"]["id"] == newer.id
    assert [e["outcome"] for e in _log_of(sim, older)] == ["delivered", "scheduled"]
    assert sim.admin.flush_callbacks() == 1
    stale = callbacks.next()
    assert stale["workflowExecution"] == {**stale["workflowExecution"], "id": older.id}
    assert stale["workflowExecution"]["status"] == "PROCESSED"


def test_a_delayed_callback_waits_in_the_log_until_due(sim, http, callbacks):
    sim.admin.set_faults({"callbacks": {"delayMs": [HOUR_MS, HOUR_MS]}})
    execution = _finalized(sim, http, callbacks.url)
    wait_for(lambda: _log_of(sim, execution))
    [entry] = _log_of(sim, execution)
    assert (entry["outcome"], entry["delayMs"], entry["sentAt"]) == ("scheduled", HOUR_MS, None)
    assert callbacks.received.empty()
    sim.admin.flush_callbacks()
    assert callbacks.next()["workflowExecution"]["id"] == execution.id


def test_delivery_never_holds_up_the_request_that_caused_it(sim):
    held = CallbackReceiver(hold=True)
    try:
        execution = Execution(sim.create_account(10011, token_lifetime="5m", callback_url=held.url))
        sim.admin.advance_clock(301)  # expires the token: TOKEN_EXPIRED is called back
        assert held.arrived.wait(timeout=10)
        assert held.received.empty()  # the callback is still unanswered, the request returned
        held.release()
        assert held.next()["workflowExecution"]["status"] == "TOKEN_EXPIRED"
        wait_for(lambda: _log_of(sim, execution)[0]["outcome"] == "delivered")
    finally:
        held.close()


def _plans(sim, seed: int) -> list[tuple]:
    """The callback plan of 8 TOKEN_EXPIRED callbacks under `seed`."""
    sim.admin.reset()
    sim.admin.set_config({"rateLimits": {"enabled": False}})
    sim.admin.set_faults(
        {
            "seed": seed,
            "callbacks": {"pDrop": 0.3, "pDuplicate": 0.3, "delayMs": [0, 20]},
        }
    )
    for _ in range(8):
        sim.create_account(10011, token_lifetime="5m", callback_url="http://127.0.0.1:9/cb")
    sim.admin.advance_clock(301)
    return [(e["copy"], e["fault"], e["delayMs"]) for e in sim.admin.callbacks()]


def test_callback_faults_are_reproducible_per_seed(sim):
    first = _plans(sim, 21)
    assert first == _plans(sim, 21)
    assert {"drop", "duplicate", None} <= {fault for _, fault, _ in first}
    assert _plans(sim, 22) != first


def test_the_logs_never_show_the_callback_url(sim, http, callbacks):
    secret_url = callbacks.url.replace("/jumio-callback", "/cb/s3cr3t-Zq9Wv")
    sim.admin.set_faults({"callbacks": {"pDuplicate": 1.0}})
    execution = _finalized(sim, http, secret_url)
    callbacks.next(), callbacks.next()
    log = _log_of(sim, execution)
    assert all(set(entry) == LOG_KEYS for entry in log)
    assert "s3cr3t" not in json.dumps(sim.admin.callbacks())
    assert "s3cr3t" not in json.dumps(sim.admin.requests())


def test_only_ending_statuses_are_called_back(sim, http, callbacks):
    execution = _finalized(sim, http, callbacks.url)
    assert callbacks.next()["workflowExecution"]["status"] == "PROCESSED"
    assert [e["status"] for e in _log_of(sim, execution)] == ["PROCESSED"]


def test_reset_cancels_pending_callbacks(sim, http, callbacks):
    sim.admin.set_faults({"callbacks": {"delayMs": HOUR_MS}})
    execution = _finalized(sim, http, callbacks.url)
    wait_for(lambda: _log_of(sim, execution))
    sim.admin.reset()
    assert sim.admin.callbacks() == []
    assert sim.admin.flush_callbacks() == 0
    assert callbacks.received.empty()


@pytest.mark.parametrize(
    "callbacks_config",
    [
        {"pDrop": 0.7, "pDuplicate": 0.7},
        {"pDrop": -0.1},
        {"delayMs": [5, 1]},
        {"delayMs": "soon"},
        {"script": ["twice"]},
        {"retries": 3},
    ],
)
def test_invalid_callback_fault_config_is_400(sim, http, callbacks_config):
    response = http.post(f"{sim.base_url}/__admin/faults", json={"callbacks": callbacks_config})
    assert response.status_code == 400
