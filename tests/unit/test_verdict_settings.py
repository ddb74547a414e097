"""The verdict functions' settings: Jumio's poll schedule and the callback's source allowlist.

A malformed schedule must fail the cold start naming its variable, never with a wait of zero
or a poll earlier than the one before it (Step Functions would poll Jumio in a tight loop).
"""

from __future__ import annotations

import pytest

from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS
from jumio_pipeline.handlers.settings import CallbackSettings, SettingsError, VerdictPollSettings

BASE = {
    "POWERTOOLS_SERVICE_NAME": "verdict-test",
    "LEDGER_TABLE": "ledger",
    "JUMIO_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:tenant",
}
CALLBACK = {
    "POWERTOOLS_SERVICE_NAME": "callback-test",
    "LEDGER_TABLE": "ledger",
    "CALLBACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:callback",
}


def test_jumios_own_schedule_is_the_default():
    blank = {**BASE, "VERDICT_POLL_SCHEDULE_SECONDS": "  "}  # blank counts as unset

    assert VerdictPollSettings.from_env(BASE).schedule == POLL_SCHEDULE_SECONDS
    assert VerdictPollSettings.from_env(blank).schedule == POLL_SCHEDULE_SECONDS


@pytest.mark.parametrize(
    ("value", "schedule"),
    [("1,2,3,4,5,6,7,8,9,10", tuple(range(1, 11))), (" 5, 10 ,20 ", (5, 10, 20)), ("7", (7,))],
)
def test_a_schedule_is_poll_times_in_seconds_after_finalize(value, schedule):
    settings = VerdictPollSettings.from_env({**BASE, "VERDICT_POLL_SCHEDULE_SECONDS": value})

    assert settings.schedule == schedule


@pytest.mark.parametrize(
    "value",
    ["0,40", "0", "40,40", "60,40", "40,60,50", "-40,60", "40;60", "40,,60", "forty", "40,"],
)
def test_a_schedule_that_does_not_increase_from_one_second_names_its_variable(value):
    with pytest.raises(SettingsError) as refused:
        VerdictPollSettings.from_env({**BASE, "VERDICT_POLL_SCHEDULE_SECONDS": value})

    assert "VERDICT_POLL_SCHEDULE_SECONDS" in str(refused.value)
    assert f"'{value}'" not in str(refused.value)


def test_the_poll_function_needs_the_tenant_secret():
    environment = {name: value for name, value in BASE.items() if "SECRET" not in name}

    with pytest.raises(SettingsError, match="JUMIO_CREDENTIALS_SECRET_ARN"):
        VerdictPollSettings.from_env(environment)


def test_without_an_allowlist_any_source_may_call_back():
    assert CallbackSettings.from_env(CALLBACK).source_networks == ()
    assert CallbackSettings.from_env({**CALLBACK, "CALLBACK_SOURCE_IPS": " "}).source_networks == ()


def test_the_allowlist_is_addresses_and_blocks_separated_by_commas():
    settings = CallbackSettings.from_env(
        {**CALLBACK, "CALLBACK_SOURCE_IPS": " 203.0.113.7, 198.51.100.0/24 ,,2001:db8::/32,"}
    )

    assert [str(network) for network in settings.source_networks] == [
        "203.0.113.7/32",
        "198.51.100.0/24",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize("entry", ["203.0.113.999", "not-an-address", "10.0.0.0/33"])
def test_a_malformed_allowlist_fails_the_cold_start_naming_the_variable_not_the_value(entry):
    with pytest.raises(SettingsError, match="CALLBACK_SOURCE_IPS") as failed:
        CallbackSettings.from_env({**CALLBACK, "CALLBACK_SOURCE_IPS": f"203.0.113.7,{entry}"})
    assert entry not in str(failed.value)


def test_the_poll_schedule_has_at_most_jumios_ten_polls():
    with pytest.raises(SettingsError, match="VERDICT_POLL_SCHEDULE_SECONDS"):
        VerdictPollSettings.from_env(
            {**BASE, "VERDICT_POLL_SCHEDULE_SECONDS": ",".join(str(n) for n in range(1, 12))}
        )


def test_the_callback_needs_its_secret():
    environment = {name: value for name, value in CALLBACK.items() if "SECRET" not in name}

    with pytest.raises(SettingsError, match="CALLBACK_SECRET_ARN"):
        CallbackSettings.from_env(environment)
