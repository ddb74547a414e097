"""The soak's definitions: what counts as finalized once, decided once, stuck, lost, duplicate,
and latency.

Run by `make soak` before the soak itself (pytest does not collect tests/soak in `make test`).
"""

from __future__ import annotations

import pytest

from tests.soak.figures import (
    NO_REASON,
    DeadLetter,
    EventSeen,
    JumioPart,
    JumioRequest,
    SessionView,
    compute,
    dead_letter_table,
    duplicate_parts,
    jumio_traffic_table,
    lost_parts,
    percentile,
    verdict_table,
)

PARTS = ("FRONT", "BACK", "FACE", "PREPARED_DATA")
ALL_AT_JUMIO = {part: JumioPart(count=1, adds=1) for part in PARTS}
ALL_LANDED = dict.fromkeys(PARTS, "UPLOADED")


def view(wf: str = "aaaa-1", **changes: object) -> SessionView:
    fields: dict[str, object] = {
        "label": "soak-1",
        "workflow_execution_id": wf,
        "parts_sent": PARTS,
        "ledger_status": "FINALIZED",
        "registered_at": 100,
        "ended_at": 110,
        "ledger_parts": dict(ALL_LANDED),
        "finalize_count": 1,
        "jumio_parts": dict(ALL_AT_JUMIO),
        "reference": "soak-1",
        "decision": "PASSED",
        "verdict_source": "callback",
        "decided_at": 115,
        "end_state": "Passed",
        "events": (EventSeen("PASSED", "PASSED", "callback"),),
        "callback": "sent",
    }
    fields.update(changes)
    return SessionView(**fields)  # type: ignore[arg-type]


def test_a_clean_run_meets_the_goal() -> None:
    figures = compute(
        [view("a-1"), view("b-1", registered_at=101, ended_at=121, decided_at=131)], []
    )

    assert figures.finalized_once == 2
    assert figures.decided_once == 2
    assert figures.problems == []
    assert figures.latency_median == 10.0
    assert figures.latency_p90 == 20.0
    assert figures.span_seconds == 21
    assert figures.verdict_latency_median == 15.0
    assert figures.verdict_latency_p90 == 30.0
    assert figures.verdict_span_seconds == 31
    assert figures.decided_per_minute == 2 * 60 / 31
    assert figures.end_states == {"Passed": 2}
    assert figures.decisions == {"PASSED": 2}
    assert figures.arrivals == {"callback": 2}
    assert figures.events == {1: 2}


def test_finalized_in_the_ledger_but_twice_at_jumio_is_not_finalized_once() -> None:
    figures = compute([view(finalize_count=2)], [])

    assert figures.finalized_once == 0
    assert "1 session(s) not finalized once" in figures.problems


def test_a_session_without_an_end_state_is_stuck_even_if_never_registered() -> None:
    undecided = {"decision": None, "end_state": None, "events": (), "decided_at": None}
    registered = view(
        "a-1", ledger_status="REGISTERED", ended_at=None, finalize_count=0, **undecided
    )
    never = view(
        "b-1", ledger_status=None, registered_at=None, ended_at=None, finalize_count=0, **undecided
    )
    expired = view(
        "c-1",
        ledger_status="EXPIRED",
        finalize_count=0,
        **{**undecided, "end_state": "Expired", "events": (EventSeen("EXPIRED"),)},
    )

    figures = compute([registered, never, expired], [])

    assert [v.workflow_execution_id for v in figures.stuck] == ["a-1", "b-1"]
    assert figures.end_states == {"Expired": 1, "(none)": 2}
    assert figures.decided_once == 0


def test_finalized_without_a_decision_has_not_ended() -> None:
    waiting = view(decision=None, end_state=None, events=(), decided_at=None)

    figures = compute([waiting], [])

    assert figures.stuck == [waiting]
    assert "1 session(s) not decided exactly once as asked" in figures.problems


def test_decided_once_as_asked_with_each_verdict_and_path() -> None:
    rejected = view(
        "r-1",
        reference="soak-2-reject",
        decision="REJECTED",
        verdict_source="polling",
        end_state="Rejected",
        events=(EventSeen("REJECTED", "REJECTED", "polling"),),
        callback="dropped",
    )
    not_executed = view(
        "n-1",
        reference="soak-8-notexec",
        decision="NOT_EXECUTED",
        end_state="Warning",
        events=(EventSeen("WARNING", "NOT_EXECUTED", "callback"),),
    )

    figures = compute([view(), rejected, not_executed], [])

    assert figures.decided_once == 3
    assert figures.problems == []
    assert figures.end_states == {"Passed": 1, "Rejected": 1, "Warning": 1}
    assert figures.arrivals == {"callback": 2, "polling": 1}
    table = verdict_table([view(), rejected, not_executed]).splitlines()
    assert table[2].split() == ["PASSED", "PASSED", "callback", "sent", "1"]
    assert ["REJECTED", "REJECTED", "polling", "dropped", "1"] in [r.split() for r in table]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"decision": None}, "no decision in the ledger"),
        ({"events": ()}, "0 events"),
        ({"events": (EventSeen("PASSED", "PASSED", "callback"),) * 2}, "2 events"),
        ({"events": (EventSeen("REJECTED", "PASSED", "callback"),)}, "verdict REJECTED, asked"),
        ({"reference": "soak-5-warn"}, "verdict PASSED, asked WARNING"),
        ({"events": (EventSeen("PASSED", "WARNING", "callback"),)}, "event says WARNING"),
        ({"verdict_source": "polling"}, "event via callback, ledger via polling"),
        ({"end_state": "Failed"}, "ended in Failed, not Passed"),
        ({"end_state": None}, "ended in no end state, not Passed"),
    ],
)
def test_each_way_of_not_being_decided_once_is_named(changes, why) -> None:
    session = view(**changes)

    figures = compute([session], [])

    assert figures.decided_once == 0
    assert any(why in problem for problem in session.verdict_problems()), session.verdict_problems()
    assert "1 session(s) not decided exactly once as asked" in figures.problems


def test_a_part_with_no_outcome_and_no_dead_letter_is_lost() -> None:
    parts = {"FRONT": "UPLOADED", "BACK": "REJECTED", "FACE": "UPLOADED"}  # no PREPARED_DATA
    session = view(ledger_status="EXPIRED", ledger_parts=parts)

    assert [(p, why) for _, p, why in lost_parts([session], [])] == [
        ("PREPARED_DATA", "neither landed nor rejected, and in no DLQ")
    ]


def test_a_part_parked_in_a_dlq_is_not_lost_but_counted_as_a_dead_letter() -> None:
    session = view(ledger_status="EXPIRED", ledger_parts={"FRONT": "UPLOADED"})
    letters = [
        DeadLetter("PreparedDataDLQ", "SESSION_NOT_REGISTERED", "aaaa-1", "PREPARED_DATA"),
        DeadLetter("CaptureEventsDLQ", NO_REASON, "aaaa-1", "BACK"),
        DeadLetter("CaptureEventsDLQ", NO_REASON, "aaaa-1", "FACE"),
    ]

    figures = compute([session], letters)

    assert figures.lost == []
    assert figures.dead_letters == {
        ("PreparedDataDLQ", "SESSION_NOT_REGISTERED"): 1,
        ("CaptureEventsDLQ", NO_REASON): 2,
    }
    assert "3 message(s) in DLQs" in figures.problems
    assert "CaptureEventsDLQ" in dead_letter_table(figures)


def test_a_part_absent_at_jumio_under_a_finalized_session_is_lost() -> None:
    at_jumio = {**ALL_AT_JUMIO, "FACE": JumioPart(count=0, adds=0)}
    session = view(jumio_parts=at_jumio)  # the ledger claims every part landed

    lost = lost_parts([session], [])

    assert [(p, why) for _, p, why in lost] == [
        ("FACE", "not at Jumio, yet the session was finalized")
    ]


def test_an_image_added_twice_is_a_duplicate_but_a_put_after_a_lost_post_is_not() -> None:
    replaced = {**ALL_AT_JUMIO, "FRONT": JumioPart(count=1, adds=1, updates=1)}
    twice = {**ALL_AT_JUMIO, "BACK": JumioPart(count=1, adds=2)}

    assert duplicate_parts([view(jumio_parts=replaced)]) == []
    assert [(p, why) for _, p, why in duplicate_parts([view(jumio_parts=twice)])] == [
        ("BACK", "added 2 times")
    ]


def test_prepared_data_sent_again_is_not_an_image_duplicate() -> None:
    again = {**ALL_AT_JUMIO, "PREPARED_DATA": JumioPart(count=1, adds=1, updates=2)}

    assert duplicate_parts([view(jumio_parts=again)]) == []


def test_document_pages_beyond_those_sent_are_duplicates() -> None:
    assert duplicate_parts([view(document_pages=2, pages_sent=2)]) == []
    assert [p for _, p, _ in duplicate_parts([view(document_pages=3, pages_sent=2)])] == [
        "DOCUMENT"
    ]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]

    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None


def test_no_finalized_session_has_no_latency_and_no_throughput() -> None:
    figures = compute(
        [view(ledger_status="EXPIRED", finalize_count=0, decision=None, decided_at=None)], []
    )

    assert figures.latency_median is None
    assert figures.finalized_per_minute == 0.0
    assert figures.verdict_latency_median is None
    assert figures.decided_per_minute is None


def test_the_traffic_table_counts_injected_faults_apart_from_answers() -> None:
    requests = [
        JumioRequest("add_part", "POST", "/p", 200, None),
        JumioRequest("add_part", "POST", "/p", None, "drop"),
        JumioRequest("add_part", "POST", "/p", 409, None),
        JumioRequest("add_part", "POST", "/p", 503, "503"),
    ]

    row = jumio_traffic_table(requests).splitlines()[2].split()

    assert jumio_traffic_table(requests).splitlines()[0].split()[2:6] == [
        "2xx",
        "409",
        "fault",
        "500",
    ]
    # route, requests, 2xx, 409, fault 500, fault 503, fault 429, fault drop
    assert row == ["add_part", "4", "1", "1", "0", "1", "0", "1"]
