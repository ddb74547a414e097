"""Error modes: strict keeps machine-readable conflict codes; opaque answers every undocumented
conflict with one generic body whose status the seed draws per conflict kind."""

from __future__ import annotations

import re

import pytest

from jumio_simulator.error_modes import DEFAULT_ERROR_MODE, ERROR_MODES, GENERIC_CONFLICT_DETAIL
from jumio_simulator.variations import CONFLICT_KINDS, OPAQUE_STATUSES, REFUSE, UPSERT
from tests.simulator.helpers import (
    Execution,
    execution_url,
    file_field,
    image_bytes,
    seed_where,
)

CODE_TOKEN = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)+\b")


def _opaque(sim, seed: int) -> dict:
    return sim.admin.set_config({"errorMode": "opaque", "seed": seed})


def _front(execution: Execution) -> str:
    return execution.part_href("ID", "front")


def _add_front(http, execution: Execution):
    return http.post(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )


def _assert_generic(response, status: int) -> None:
    assert response.status_code == status
    assert response.json() == {
        "title": response.json()["title"],
        "status": status,
        "detail": GENERIC_CONFLICT_DETAIL,
    }
    assert not CODE_TOKEN.search(response.text)


def _conflicts(sim, http) -> dict[str, object]:
    """One response per conflict kind, provoked on fresh executions."""
    found = {}
    execution = Execution(sim.create_account(10013))
    assert _add_front(http, execution).status_code == 200
    found["PART_EXISTS"] = _add_front(http, execution)
    back = execution.part_href("ID", "back")
    found["NOTHING_TO_DELETE"] = http.delete(back, headers=execution.auth("ID"))
    config = sim.admin.config()
    if config["errorMode"] == "strict" or config["undocumented"]["updateOfMissingPart"] == REFUSE:
        found["PART_MISSING"] = http.put(
            back, headers=execution.auth("ID"), files=file_field(image_bytes())
        )
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 200
    found["ALREADY_FINALIZED"] = http.put(execution.href(), headers=execution.auth("SELFIE"))
    found["NOT_ACTIVE"] = http.delete(_front(execution), headers=execution.auth("ID"))
    idle = Execution(sim.create_account(10013, token_lifetime="2h"))
    assert _add_front(http, idle).status_code == 200
    sim.admin.advance_clock(15 * 60)
    found["SESSION_EXPIRED"] = http.put(
        _front(idle), headers=idle.auth("ID"), files=file_field(image_bytes())
    )
    gone = Execution(sim.create_account(10013))
    tenant = {"Authorization": f"Bearer {sim.access_token()}"}
    assert http.delete(execution_url(sim.base_url, gone), headers=tenant).status_code == 200
    found["DELETED"] = _add_front(http, gone)
    return found


def test_the_default_error_mode_is_the_one_constant(sim):
    assert DEFAULT_ERROR_MODE in ERROR_MODES
    assert sim.admin.config()["errorMode"] == DEFAULT_ERROR_MODE


def test_strict_conflicts_keep_their_codes(strict, http):
    found = _conflicts(strict, http)
    assert found.pop("PART_MISSING").status_code == 404
    prefixes = {
        "PART_EXISTS": "PART_EXISTS",
        "ALREADY_FINALIZED": "ALREADY_FINALIZED",
        "NOT_ACTIVE": "WORKFLOW_NOT_ACTIVE",
        "SESSION_EXPIRED": "WORKFLOW_NOT_ACTIVE",
    }
    for kind, prefix in prefixes.items():
        assert found[kind].status_code == 409, kind
        assert found[kind].json()["detail"].startswith(prefix + ":"), kind
    assert found["NOTHING_TO_DELETE"].status_code == 404
    assert found["DELETED"].status_code == 404


@pytest.mark.parametrize("status", OPAQUE_STATUSES)
def test_opaque_conflicts_are_generic_with_the_seeds_status(sim, http, status):
    seed = seed_where(
        lambda p: p.update_of_missing_part == REFUSE and p.conflict_status["PART_EXISTS"] == status
    )
    mapping = _opaque(sim, seed)["undocumented"]["conflictStatus"]
    assert set(mapping) == set(CONFLICT_KINDS)
    assert mapping["PART_EXISTS"] == status
    found = _conflicts(sim, http)
    assert set(found) == set(CONFLICT_KINDS)
    for kind, response in found.items():
        _assert_generic(response, mapping[kind])


def test_every_status_is_reachable_for_every_conflict_kind():
    for kind in CONFLICT_KINDS:
        for status in OPAQUE_STATUSES:
            assert seed_where(lambda p, k=kind, s=status: p.conflict_status[k] == s) >= 0


def test_one_seed_answers_consistently_and_other_seeds_vary(sim, http):
    seed = seed_where(lambda p: p.conflict_status["PART_EXISTS"] == 400)
    other = seed_where(lambda p: p.conflict_status["PART_EXISTS"] == 409)
    _opaque(sim, seed)
    execution = Execution(sim.create_account(10013))
    assert _add_front(http, execution).status_code == 200
    assert {_add_front(http, execution).status_code for _ in range(3)} == {400}
    _opaque(sim, other)
    _assert_generic(_add_front(http, execution), 409)


def test_opaque_update_of_a_missing_part_is_an_upsert_for_some_seeds(sim, http):
    _opaque(sim, seed_where(lambda p: p.update_of_missing_part == UPSERT))
    assert sim.admin.config()["undocumented"]["updateOfMissingPart"] == UPSERT
    execution = Execution(sim.create_account(10013))
    response = http.put(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )
    assert response.status_code == 200
    credential = execution.credential("ID")["id"]
    parts = sim.admin.state()["workflowExecutions"][execution.id]["credentials"][credential]
    assert parts["parts"]["FRONT"] == {"count": 1, "adds": 0, "updates": 1, "deletes": 0}


def test_opaque_update_of_a_missing_part_is_refused_for_other_seeds(sim, http):
    seed = seed_where(lambda p: p.update_of_missing_part == REFUSE)
    status = _opaque(sim, seed)["undocumented"]["conflictStatus"]["PART_MISSING"]
    execution = Execution(sim.create_account(10013))
    response = http.put(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )
    _assert_generic(response, status)


def test_strict_mode_never_upserts_whatever_the_seed(strict, http):
    strict.admin.set_config({"seed": seed_where(lambda p: p.update_of_missing_part == UPSERT)})
    execution = Execution(strict.create_account(10013))
    response = http.put(
        _front(execution), headers=execution.auth("ID"), files=file_field(image_bytes())
    )
    assert response.status_code == 404


def test_opaque_validation_refusals_keep_a_plain_sentence_without_a_code(sim, http):
    _opaque(sim, 3)
    execution = Execution(sim.create_account(10013))
    refused = http.post(
        _front(execution),
        headers=execution.auth("ID"),
        files=file_field(image_bytes(100, 100)),
    )
    assert refused.status_code == 400
    assert "300 px" in refused.json()["detail"]
    assert not CODE_TOKEN.search(refused.json()["detail"])


def test_opaque_mode_keeps_documented_statuses(sim, http):
    _opaque(sim, 5)
    execution = Execution(sim.create_account(10013))
    other = Execution(sim.create_account(10013))
    assert _add_front(http, other).status_code == 200
    foreign = http.post(
        _front(execution), headers=other.auth("ID"), files=file_field(image_bytes())
    )
    assert foreign.status_code == 401
    unknown = _front(execution).replace(execution.id, "bbf3a261-9bf9-400c-b218-cd275596d8d9")
    assert http.post(unknown, headers=execution.auth("ID")).status_code == 404


def test_reset_restores_the_start_up_error_mode_and_seed(sim):
    _opaque(sim, 99)
    sim.admin.reset()
    config = sim.admin.config()
    assert (config["errorMode"], config["seed"]) == (DEFAULT_ERROR_MODE, 7)


@pytest.mark.parametrize(
    "body",
    [{"errorMode": "lenient"}, {"seed": "x"}, {"sessionIdleSeconds": 0}, {"colour": "red"}, []],
)
def test_invalid_config_is_400_and_changes_nothing(sim, http, body):
    before = sim.admin.config()
    response = http.post(f"{sim.base_url}/__admin/config", json=body)
    assert response.status_code == 400
    assert sim.admin.config() == before
