"""The demo's verdict logic, checked without starting anything.

Why: the demo's exit code is only worth something if it fails when a session gets no verdict,
the wrong verdict, two events, or a verdict by callback whose callback was dropped; and if
what it asks the simulator for (references, callback faults, the poll schedule) is what the
simulator and the pipeline's own settings accept.
"""

from __future__ import annotations

import json

import pytest

from jumio_pipeline.domain.verdict_event import DETAIL_TYPE, EVENT_SOURCE
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS
from jumio_pipeline.handlers.settings import VerdictPollSettings
from jumio_simulator.faults import FaultInjector
from local_cloud import demo_data, demo_verdicts
from local_cloud.demo import DemoResult, Rejection, Tracked, session_table
from local_cloud.demo_data import DemoSession
from local_cloud.demo_verdicts import (
    CallbackFate,
    SessionVerdict,
    VerdictEvent,
    callback_fates,
    expected_verdict,
    verdict_problems,
)

WF = "5d15fc80-a14a-435f-9334-5541ffe00b7e"


def _event(verdict="PASSED", decision="PASSED", label="PASSED", source="callback", wf=WF):
    body = {
        "version": "0",
        "id": "evt-1",
        "detail-type": DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "detail": {
            "schemaVersion": "1",
            "workflowExecutionId": wf,
            "accountId": "acc",
            "reference": "demo-1",
            "verdict": verdict,
            "decision": {"type": decision, "label": label, "capabilities": {}},
            "source": source,
        },
    }
    return VerdictEvent.from_body(json.dumps(body))


def _verdict(**changes) -> SessionVerdict:
    fields = {
        "short_id": "5d15fc80",
        "reference": "demo-1",
        "events": (_event(),),
        "ledger_decision": "PASSED",
        "ledger_source": "callback",
        "end_state": "Passed",
        "callback": CallbackFate(copies=1),
    }
    fields.update(changes)
    return SessionVerdict(**fields)


def test_five_sessions_ask_for_each_verdict_and_the_rest_pass() -> None:
    references = [demo_data.reference(i) for i in range(1, 6)]
    assert [expected_verdict(r) for r in references] == [
        "PASSED",
        "REJECTED",
        "WARNING",
        "PASSED",
        "PASSED",
    ]
    assert demo_data.registration_message({"x": 1}, 2)["reference"] == "demo-2-reject"


@pytest.mark.parametrize(
    ("reference", "verdict"),
    [
        ("case-NOTEXEC-reject", "WARNING"),  # the simulator's order: notexec first
        ("Rejected-7", "REJECTED"),
        ("demo-warn", "WARNING"),
        ("demo-9", "PASSED"),
    ],
)
def test_expected_verdict_follows_the_simulators_markers(reference, verdict) -> None:
    assert expected_verdict(reference) == verdict


def test_the_demo_poll_schedule_is_jumios_at_a_tenth_and_the_pipeline_accepts_it() -> None:
    assert demo_verdicts.DEMO_POLL_SCHEDULE[0] == POLL_SCHEDULE_SECONDS[0] // 10
    assert len(demo_verdicts.DEMO_POLL_SCHEDULE) == len(POLL_SCHEDULE_SECONDS)
    settings = VerdictPollSettings.from_env(
        {
            "LEDGER_TABLE": "t",
            "JUMIO_CREDENTIALS_SECRET_ARN": "arn",
            "POWERTOOLS_SERVICE_NAME": "poll_verdict",
            **demo_verdicts.FUNCTION_ENV,
        }
    )
    assert settings.schedule == demo_verdicts.DEMO_POLL_SCHEDULE


def test_callback_faults_drop_and_duplicate_in_turn_and_the_simulator_accepts_them() -> None:
    config = demo_verdicts.callback_faults(5)
    assert config["callbacks"]["script"] == ["ok", "drop", "duplicate", "ok", "drop"]
    injector = FaultInjector()
    injector.configure(config)
    plans = [injector.callback_plan() for _ in range(5)]
    assert [plan.fault for plan in plans] == [None, "drop", "duplicate", None, "drop"]
    assert len(plans[2].delays) == 2


def test_callback_url_is_the_function_url_followed_by_the_secret_and_prints_masked() -> None:
    url = demo_verdicts.callback_url("http://127.0.0.1:9001/", "s3cr3t")
    assert url == "http://127.0.0.1:9001/s3cr3t"
    assert demo_verdicts.callback_url("http://127.0.0.1:9001", "s3cr3t") == url
    assert "s3cr3t" not in demo_verdicts.masked(url)
    assert demo_verdicts.masked(url).startswith("http://127.0.0.1:9001/<CallbackSecret")


def test_callback_fates_read_the_simulators_log() -> None:
    log = [
        {"workflowExecutionId": "a", "copy": "original", "outcome": "delivered", "httpStatus": 200},
        {"workflowExecutionId": "b", "copy": "original", "outcome": "dropped", "httpStatus": None},
        {"workflowExecutionId": "c", "copy": "original", "outcome": "delivered", "httpStatus": 200},
        {"workflowExecutionId": "c", "copy": "duplicate", "outcome": "failed", "httpStatus": None},
        {"workflowExecutionId": "d", "copy": "original", "outcome": "delivered", "httpStatus": 404},
    ]
    fates = callback_fates(log)
    assert fates["a"].description == "sent"
    assert fates["b"].dropped
    assert fates["b"].description == "dropped"
    assert fates["c"].description == "sent-2x"
    assert fates["c"].refused == ()
    assert fates["d"].refused == (404,)


def test_a_session_decided_as_asked_has_no_problem() -> None:
    assert verdict_problems([_verdict()]) == []


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"events": ()}, "no 'Verification Completed' event"),
        ({"events": (_event(), _event())}, "2 'Verification Completed' events"),
        ({"reference": "demo-2-reject"}, "the reference asked for REJECTED"),
        ({"ledger_decision": None}, "the ledger holds no decision"),
        ({"ledger_decision": "WARNING"}, "the ledger says WARNING"),
        ({"ledger_source": "polling"}, "the ledger says via polling"),
        ({"callback": CallbackFate(dropped=True)}, "its callback was dropped"),
        ({"callback": CallbackFate(copies=1, refused=(404,))}, "answered 404"),
        ({"end_state": "Failed"}, "ended in Failed, not Passed"),
        ({"end_state": None}, "ended in None"),
    ],
)
def test_each_wrong_verdict_is_named(changes, complaint) -> None:
    problems = verdict_problems([_verdict(**changes)])
    assert len(problems) == 1, problems
    assert complaint in problems[0]
    assert "session 5d15fc80" in problems[0]


def test_a_dropped_callback_with_the_verdict_found_by_polling_is_fine() -> None:
    session = _verdict(
        events=(_event(source="polling"),),
        ledger_source="polling",
        callback=CallbackFate(dropped=True),
    )
    assert verdict_problems([session]) == []
    assert demo_verdicts.arrival_counts([session, _verdict()]) == {"polling": 1, "callback": 1}


def _result(tracked: list[Tracked]) -> DemoResult:
    return DemoResult(
        tracked=tracked,
        rejection=Rejection("k", reason="TOO_SMALL", retake_landed=True),
        finalize_counts={t.session.workflow_execution_id: 1 for t in tracked},
    )


def test_the_demo_fails_when_a_session_reaches_no_verdict() -> None:
    session = DemoSession(1, "acc", WF, {})
    decided = Tracked(session, sent_at=0.0, status="FINALIZED", outcome="FINALIZED")
    decided.verdict = _verdict()
    assert _result([decided]).problems == []

    undecided = Tracked(session, sent_at=0.0, status="FINALIZED", outcome="FINALIZED")
    undecided.verdict = _verdict(events=(), ledger_decision=None, end_state=None)
    problems = _result([undecided]).problems
    assert problems
    assert "no 'Verification Completed' event" in problems[0]


def test_a_failed_session_needs_no_event_to_stop_waiting_but_still_fails_the_demo() -> None:
    session = DemoSession(1, "acc", WF, {})
    failed = Tracked(session, sent_at=0.0, status="FAILED", outcome="FAILED")
    assert failed.has_verdict  # nothing more will come: the wait ends
    failed.verdict = _verdict(events=(), ledger_decision=None, end_state="Failed")
    problems = _result([failed]).problems
    assert any("ended FAILED, not FINALIZED" in p for p in problems)
    assert any("no 'Verification Completed' event" in p for p in problems)


def test_the_table_shows_verdict_label_and_arrival_per_session() -> None:
    session = DemoSession(2, "acc", WF, {})
    tracked = Tracked(session, sent_at=0.0, status="FINALIZED", outcome="FINALIZED", parts_landed=4)
    tracked.verdict = _verdict(
        reference="demo-2-reject",
        events=(_event("REJECTED", "REJECTED", "MANIPULATED_DOCUMENT", "polling"),),
        callback=CallbackFate(dropped=True),
        end_state="Rejected",
    )
    tracked.verdict_after = 12.34
    row = session_table(_result([tracked])).splitlines()[2].split()
    assert row == [
        "demo-2-reject",
        "5d15fc80",
        "4/4",
        "1",
        "REJECTED",
        "MANIPULATED_DOCUMENT",
        "polling",
        "dropped",
        "Rejected",
        "-",
        "12.3",
        "-",
    ]
