"""Jumio's documented rate limits: token 10/s, account initiate 1/s (5 per 5 s), retrieval 15/s
(75 per 5 s).

Buckets here refill far slower than any test runs (`perSecond` 0.001), so which request is
refused never depends on how fast the machine is.
"""

from __future__ import annotations

import pytest

from jumio_simulator.rate_limits import DEFAULT_LIMITS
from jumio_simulator.testing import SimulatorRequestError, retry_throttled, run_simulator
from tests.simulator.helpers import Execution, seed_where, status_url

TOO_MANY = {"title": "Too Many Requests", "status": 429, "detail": "Request limit exceeded"}
FROZEN = 0.001  # one token per ~17 minutes: nothing refills during a test


def _account_body() -> dict:
    return {"customerInternalReference": "ref", "workflowDefinition": {"key": 10011}}


def _create(sim, http, token: str):
    return http.post(
        f"{sim.base_url}/api/v1/accounts",
        json=_account_body(),
        headers={"Authorization": f"Bearer {token}"},
    )


def _token(sim, http):
    return http.post(
        f"{sim.base_url}/oauth2/token",
        auth=(sim.client_id, sim.client_secret),
        data={"grant_type": "client_credentials"},
    )


def test_the_documented_limits_are_on_by_default(sim):
    assert sim.admin.config()["rateLimits"] == {"enabled": True, **DEFAULT_LIMITS}
    assert DEFAULT_LIMITS["token"] == {"burst": 10, "perSecond": 10.0}
    assert DEFAULT_LIMITS["account"]["perSecond"] == 1.0
    assert DEFAULT_LIMITS["account"]["burst"] == 5  # "5 per 5 s"
    assert DEFAULT_LIMITS["retrieval"] == {"burst": 75, "perSecond": 15.0}  # "75 per 5 s"


def test_account_initiate_tolerates_a_burst_then_answers_429(sim, http):
    token = sim.access_token()
    sim.admin.set_config({"rateLimits": {"account": {"burst": 3, "perSecond": FROZEN}}})
    statuses = [_create(sim, http, token).status_code for _ in range(3)]
    refused = _create(sim, http, token)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert len(sim.admin.state()["accounts"]) == 3
    entry = sim.admin.requests()[-1]
    assert (entry["route"], entry["status"], entry["fault"]) == (
        "account_create",
        429,
        "rate_limit",
    )


def test_account_update_shares_the_account_bucket(sim, http):
    execution = Execution(sim.create_account(10011))
    token = sim.access_token()
    sim.admin.set_config({"rateLimits": {"account": {"burst": 1, "perSecond": FROZEN}}})
    url = f"{sim.base_url}/api/v1/accounts/{execution.account_id}"
    auth = {"Authorization": f"Bearer {token}"}
    assert http.put(url, json=_account_body(), headers=auth).status_code == 200
    assert http.put(url, json=_account_body(), headers=auth).status_code == 429
    assert _create(sim, http, token).status_code == 429


def test_the_token_endpoint_allows_its_burst_then_answers_429(sim, http):
    sim.admin.set_config({"rateLimits": {"token": {"burst": 10, "perSecond": FROZEN}}})
    assert [_token(sim, http).status_code for _ in range(10)] == [200] * 10
    refused = _token(sim, http)
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)


def test_retrieval_allows_its_burst_then_answers_429(sim, http, execution, tenant_auth):
    sim.admin.set_config({"rateLimits": {"retrieval": {"burst": 15, "perSecond": FROZEN}}})
    url = status_url(sim.base_url, execution)
    assert [http.get(url, headers=tenant_auth).status_code for _ in range(15)] == [200] * 15
    assert http.get(url, headers=tenant_auth).status_code == 429
    details = url.removesuffix("/status")
    assert http.get(details, headers=tenant_auth).status_code == 429
    assert http.put(execution.href(), headers=execution.auth("ID")).status_code == 200


@pytest.mark.parametrize("present", [True, False])
def test_retry_after_is_present_or_absent_as_the_seed_says(sim, http, present):
    seed = seed_where(lambda p: p.retry_after_on_429 is present)
    config = sim.admin.set_config(
        {"seed": seed, "rateLimits": {"token": {"burst": 1, "perSecond": FROZEN}}}
    )
    assert config["undocumented"]["retryAfterOn429"] is present
    assert _token(sim, http).status_code == 200
    refused = _token(sim, http)
    assert refused.status_code == 429
    if present:
        assert int(refused.headers["Retry-After"]) >= 1
    else:
        assert "Retry-After" not in refused.headers


def test_limits_can_be_switched_off(sim, http):
    token = sim.access_token()
    sim.admin.set_config({"rateLimits": {"account": {"burst": 1, "perSecond": FROZEN}}})
    sim.admin.set_config({"rateLimits": {"enabled": False}})
    assert [_create(sim, http, token).status_code for _ in range(4)] == [200] * 4
    assert sim.admin.config()["rateLimits"]["account"]["burst"] == 1


def test_reset_refills_the_buckets(http):
    limits = {"account": {"burst": 1, "perSecond": FROZEN}}
    with run_simulator(rate_limits=limits) as own:
        token = own.access_token()
        assert _create(own, http, token).status_code == 200
        assert _create(own, http, token).status_code == 429
        own.admin.reset()
        assert own.admin.config()["rateLimits"]["account"] == {"burst": 1, "perSecond": FROZEN}
        assert _create(own, http, own.access_token()).status_code == 200


def test_a_simulator_started_without_limits_never_answers_429(http):
    with run_simulator(rate_limits=False) as own:
        assert own.admin.config()["rateLimits"]["enabled"] is False
        assert {_token(own, http).status_code for _ in range(15)} == {200}


def test_the_helper_retries_429_on_account_create(sim):
    sim.admin.set_faults(
        {
            "routes": {"*": {"retryAfter": 0}},
            "script": {"account_create": ["429", "429"], "token": ["429"]},
        }
    )
    execution = Execution(sim.create_account(10011))
    assert execution.id
    log = [(e["route"], e["status"]) for e in sim.admin.requests()]
    assert log == [
        ("token", 429),
        ("token", 200),
        ("account_create", 429),
        ("account_create", 429),
        ("account_create", 200),
    ]


def test_the_helper_absorbs_a_real_rate_limit(sim):
    sim.admin.set_config({"rateLimits": {"account": {"burst": 1, "perSecond": 20}}})
    ids = {Execution(sim.create_account(10011)).id for _ in range(4)}
    assert len(ids) == 4


def _throttled(retry_after: float | None) -> SimulatorRequestError:
    return SimulatorRequestError("POST", "/api/v1/accounts", 429, "limit", retry_after)


@pytest.mark.parametrize("scale", [1.0, 0.8], ids=["no-jitter", "most-jitter"])
def test_retry_throttled_honours_retry_after_and_backs_off_without_it(scale):
    answers = [_throttled(2.0), _throttled(None), _throttled(None), "done"]
    pauses: list[float] = []

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    done = retry_throttled(call, sleep=pauses.append, clock=lambda: 0.0, jitter=lambda: scale)

    assert done == "done"
    # Retry-After first; then (none sent) the backoff of the 2nd and 3rd attempts, 50 ms
    # doubled per attempt made; each pause scaled by the jitter.
    assert pauses == pytest.approx([2.0 * scale, 0.1 * scale, 0.2 * scale])


def test_retry_throttled_gives_up_after_its_patience_and_on_other_errors():
    now = [0.0]

    def always_429() -> None:
        raise _throttled(None)

    def advance(seconds: float) -> None:
        now[0] += 1.0

    with pytest.raises(SimulatorRequestError) as raised:
        retry_throttled(always_429, patience=5, sleep=advance, clock=lambda: now[0])
    assert raised.value.status == 429
    assert now[0] >= 5

    def refused() -> None:
        raise SimulatorRequestError("POST", "/x", 400, "bad")

    with pytest.raises(SimulatorRequestError):
        retry_throttled(refused, sleep=lambda s: pytest.fail("no retry on 400"))


@pytest.mark.parametrize(
    "limits",
    [
        {"account": {"burst": 0}},
        {"token": {"perSecond": 0}},
        {"retrieval": {"burst": 1.5}},
        {"upload": {"burst": 1}},
        {"enabled": "yes"},
        "fast",
    ],
)
def test_invalid_rate_limits_are_400(sim, http, limits):
    response = http.post(f"{sim.base_url}/__admin/config", json={"rateLimits": limits})
    assert response.status_code == 400
