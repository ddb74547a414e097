"""Jumio's decision as the pipeline keeps it (types, labels, risk score) and the poll schedule.

The details documents are the Jumio simulator's own, with fake personal data and decoys in
every capability's ``data`` (tests/unit/verdict_details.py): none of it may reach the decision
the ledger keeps.
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

import pytest

from jumio_pipeline.domain.verdict import (
    CAPABILITIES,
    CapabilityDecision,
    Decision,
    DecisionType,
    DecisionUnreadable,
    Verdict,
    parse_decision,
    poll_plan,
)
from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS
from jumio_simulator.decisions import FAKE_IDENTITY, FAKE_LIVENESS
from tests.unit.verdict_details import assert_no_data_in, data_values, details_document


def _ok(label: str) -> CapabilityDecision:
    return CapabilityDecision(DecisionType.PASSED, label)


def test_a_passed_execution_keeps_every_capability_decision_and_label():
    decision = parse_decision(details_document("PASSED"))

    assert decision == Decision(
        type=DecisionType.PASSED,
        label="PASSED",
        risk_score=12,
        capabilities={
            "usability": (_ok("OK"), _ok("OK")),
            "imageChecks": (_ok("OK"),),
            "extraction": (_ok("OK"),),
            "dataChecks": (_ok("OK"), _ok("OK")),
            "liveness": (_ok("OK"),),
            "similarity": (_ok("MATCH"),),
            "watchlistScreening": (_ok("NOT_LISTED"),),
        },
    )
    assert decision.verdict is Verdict.PASSED
    assert list(decision.as_record()["capabilities"]) == list(CAPABILITIES)


@pytest.mark.parametrize(
    ("kind", "label", "risk", "capability", "verdict"),
    [
        ("REJECTED", "MANIPULATED_DOCUMENT", 96, "imageChecks", Verdict.REJECTED),
        ("WARNING", "ALERT", 58, "watchlistScreening", Verdict.WARNING),
        ("NOT_EXECUTED", "TECHNICAL_ERROR", None, "liveness", Verdict.WARNING),
    ],
)
def test_the_decision_names_the_capability_that_decided(kind, label, risk, capability, verdict):
    decision = parse_decision(details_document(kind))

    assert (decision.type, decision.label, decision.risk_score) == (
        DecisionType(kind),
        label,
        risk,
    )
    assert decision.capabilities[capability][0] == CapabilityDecision(DecisionType(kind), label)
    assert decision.verdict is verdict


def test_not_executed_is_a_warning_for_a_person_to_look_at():
    decision = Decision(DecisionType.NOT_EXECUTED, "TECHNICAL_ERROR")

    assert decision.verdict is Verdict.WARNING
    assert {Decision(t).verdict for t in DecisionType} == {
        Verdict.PASSED,
        Verdict.REJECTED,
        Verdict.WARNING,
    }


@pytest.mark.parametrize("kind", ["PASSED", "REJECTED", "WARNING", "NOT_EXECUTED"])
def test_nothing_of_the_capability_data_reaches_the_kept_decision(kind):
    details = details_document(kind)
    strings, numbers = data_values(details)
    if kind != "NOT_EXECUTED":  # the simulator leaves data empty when nothing was executed
        assert {FAKE_IDENTITY["lastName"], FAKE_IDENTITY["documentNumber"]} <= strings
        assert FAKE_LIVENESS["predictedAge"] in numbers

    record = parse_decision(details).as_record()

    assert_no_data_in(record, details)


@pytest.mark.parametrize("kind", ["PASSED", "REJECTED", "WARNING", "NOT_EXECUTED"])
def test_a_kept_decision_reads_back_the_same(kind):
    decision = parse_decision(details_document(kind))

    assert Decision.from_record(json.loads(json.dumps(decision.as_record()))) == decision


def test_labels_and_risk_are_optional():
    details = {
        "decision": {"type": "WARNING"},
        "capabilities": {"usability": [{"decision": {"type": "PASSED", "details": {}}}]},
    }

    decision = parse_decision(details)

    assert decision == Decision(
        DecisionType.WARNING,
        None,
        None,
        {"usability": (CapabilityDecision(DecisionType.PASSED),)},
    )
    assert decision.as_record() == {
        "type": "WARNING",
        "capabilities": {"usability": [{"type": "PASSED"}]},
    }
    assert parse_decision({"decision": {"type": "PASSED"}}).capabilities == {}


@pytest.mark.parametrize(
    ("score", "kept"), [(58, 58), (58.9, 58), (True, None), ("12", None), (None, None)]
)
def test_only_a_numeric_risk_score_is_kept(score, kept):
    details = {"decision": {"type": "WARNING", "risk": {"score": score}}}

    assert parse_decision(details).risk_score == kept


def test_capabilities_jumio_may_add_later_are_not_kept():
    details = details_document("PASSED")
    details["capabilities"]["faceAuthentication"] = [
        {"decision": {"type": "PASSED", "details": {"label": "OK"}}, "data": {"x": "y"}}
    ]

    assert "faceAuthentication" not in parse_decision(details).capabilities


SECRET = "Barraclough-Zt8-secret"


def _decision_with(path: str, value: Any) -> dict[str, Any]:
    details = details_document("PASSED")
    if path == "decision":
        details["decision"] = value
    elif path == "capabilities":
        details["capabilities"] = value
    elif path == "capabilities.liveness":
        details["capabilities"]["liveness"] = value
    else:
        details["capabilities"]["liveness"][0] = value
    return details


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("decision", None, "decision"),
        ("decision", SECRET, "decision"),
        ("decision", {"type": SECRET}, "decision.type"),
        ("decision", {"type": "PASSED", "details": {"label": 7}}, "decision.details.label"),
        (
            "decision",
            {"type": "PASSED", "details": {"label": SECRET * 10}},
            "decision.details.label",
        ),
        ("capabilities", [SECRET], "capabilities"),
        ("capabilities.liveness", {"decision": SECRET}, "capabilities.liveness"),
        ("item", SECRET, "capabilities.liveness.0.decision"),
        ("item", {"data": {"firstName": SECRET}}, "capabilities.liveness.0.decision"),
        ("item", {"decision": {"type": "MAYBE"}}, "capabilities.liveness.0.decision.type"),
    ],
)
def test_details_without_a_readable_decision_name_the_field_never_a_value(path, value, field):
    with pytest.raises(DecisionUnreadable) as caught:
        parse_decision(_decision_with(path, value))

    assert caught.value.field == field
    assert SECRET not in str(caught.value)


def test_details_that_are_not_an_object_have_no_decision():
    with pytest.raises(DecisionUnreadable):
        parse_decision([SECRET])
    with pytest.raises(DecisionUnreadable) as caught:
        parse_decision({"workflow": {"status": "ACQUIRED"}})
    assert caught.value.field == "decision"


# --- Jumio's poll schedule ---------------------------------------------------------------------


def test_the_waits_are_the_gaps_between_jumios_poll_times():
    waits = [poll_plan(done).wait_seconds for done in range(len(POLL_SCHEDULE_SECONDS))]

    assert waits == [40, 20, 40, 60, 80, 100, 120, 140, 160, 180]
    assert list(accumulate(waits)) == list(POLL_SCHEDULE_SECONDS)
    assert [poll_plan(done).round for done in range(3)] == [0, 1, 2]
    assert not any(poll_plan(done).exhausted for done in range(10))


@pytest.mark.parametrize("done", [10, 11, 50])
def test_the_schedule_is_spent_after_ten_polls(done):
    plan = poll_plan(done)

    assert (plan.exhausted, plan.wait_seconds, plan.round) == (True, None, done)


def test_a_shorter_schedule_is_followed_the_same_way():
    schedule = (1, 2, 4)

    waits = [poll_plan(done, schedule).wait_seconds for done in range(3)]

    assert waits == [1, 1, 2]
    assert poll_plan(3, schedule).exhausted
