"""The race order and the fault plan the soak sets up."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from local_cloud.demo_verdicts import expected_verdict
from tests.soak import fault_plan
from tests.soak.workload import (
    CAPTURE,
    DATA,
    REGISTRATION,
    Delivery,
    SoakSession,
    create_sessions,
    race,
    sent_before_registration,
)


def _sessions(count: int) -> list[SoakSession]:
    return [
        SoakSession(i, f"wf-{i}", {"ID": "c1", "SELFIE": "c2", "DATA": "c3"}, "{}")
        for i in range(count)
    ]


def test_the_race_holds_every_delivery_once_in_a_seeded_order() -> None:
    sessions = _sessions(5)

    first = race(sessions, random.Random(3), "shuffled")
    again = race(sessions, random.Random(3), "shuffled")

    assert first == again
    assert sorted(d.kind for d in first).count(REGISTRATION) == 5
    assert [d.kind for d in first].count(CAPTURE) == 15
    assert [d.kind for d in first].count(DATA) == 5
    assert [d.kind for d in first] != sorted(d.kind for d in first)  # interleaved


def test_data_first_puts_every_registration_last() -> None:
    kinds = [d.kind for d in race(_sessions(4), random.Random(1), "data-first")]

    assert kinds[-4:] == [REGISTRATION] * 4
    assert REGISTRATION not in kinds[:-4]


def test_fault_rates_override_the_defaults_and_apply_to_the_pipelines_routes_only() -> None:
    rates = fault_plan.parse_rates("p500=0.2, pDrop=0, retryAfter=2")

    config = fault_plan.fault_config(rates, seed=7)

    assert config["seed"] == 7
    assert set(config["routes"]) == {*fault_plan.CREDENTIALS_ROUTES, "status", "details"}
    assert "token" not in config["routes"]
    assert "account_create" not in config["routes"]
    assert config["routes"]["add_part"] == {
        "p500": 0.2,
        "p503": 0.10,
        "p429": 0.10,
        "retryAfter": 2,
    }


@pytest.mark.parametrize("text", ["p501=0.1", "p500", "p500=lots"])
def test_unreadable_fault_rates_are_refused(text: str) -> None:
    with pytest.raises(fault_plan.FaultRatesError):
        fault_plan.parse_rates(text)


def test_the_default_plan_is_accepted_by_the_simulator(simulator) -> None:
    answer = simulator.admin.set_faults(fault_plan.fault_config(fault_plan.DEFAULT_RATES, 1))

    assert answer["routes"]["finalize"]["pDrop"] == 0.05
    assert answer["routes"]["status"]["pDrop"] == 0.05
    assert answer["callbacks"]["pDrop"] == 0.2
    assert answer["callbacks"]["pDuplicate"] == 0.2


def test_parts_sent_before_their_registration_are_named_per_session() -> None:
    first, second = _sessions(2)
    finished = [
        Delivery(DATA, first),
        Delivery(CAPTURE, first, "ID", "FRONT"),
        Delivery(REGISTRATION, first),
        Delivery(CAPTURE, first, "ID", "BACK"),
        Delivery(REGISTRATION, second),
        Delivery(DATA, second),
    ]

    assert sent_before_registration(finished) == {"wf-0": ("PREPARED_DATA", "FRONT")}


def test_sessions_carry_the_callback_url_and_references_that_ask_for_each_verdict() -> None:
    asked: list[dict[str, object]] = []

    def create_account(key, **options):
        asked.append({"key": key, **options})
        index = len(asked)
        return {
            "account": {"id": f"acc-{index}"},
            "workflowExecution": {
                "id": f"wf-{index}",
                "credentials": [{"id": "c1", "category": "ID", "api": {"token": "t"}}],
            },
        }

    sessions = create_sessions(create_account, 20, "10m", "http://127.0.0.1:9/secret")

    assert {a["callback_url"] for a in asked} == {"http://127.0.0.1:9/secret"}
    references = [a["customer_internal_reference"] for a in asked]
    assert references == [s.reference for s in sessions]
    assert Counter(expected_verdict(r) for r in references) == {
        "PASSED": 14,
        "REJECTED": 2,
        "WARNING": 4,  # two warnings and two NOT_EXECUTED
    }
    assert json.loads(sessions[1].registration)["reference"] == "soak-2-reject"
