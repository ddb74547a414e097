"""start_session's settings: the claim's lease and the longest pacing wait, and what is required.

The lease must outlive one invocation (a claim whose holder is still working must not look
abandoned), and a wait for the account pacer longer than the limit is answered as throttled
instead of holding the function; a bad value fails the cold start naming its variable.
"""

from __future__ import annotations

import pytest

from jumio_pipeline.handlers.settings import SettingsError, StartSessionSettings
from tests.unit.services.conftest import MAX_PACING_WAIT_SECONDS, START_LEASE_SECONDS

ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "start-session-test",
    "LEDGER_TABLE": "ledger",
    "SOURCE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/start-sessions",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/start-sessions-dlq",
    "MAX_RECEIVE_COUNT": "5",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:session",
    "JUMIO_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:tenant",
    "CALLBACK_FUNCTION_URL": "https://abc123.lambda-url.us-east-1.on.aws/",
    "CALLBACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:callback",
    "CAPTURES_BUCKET": "captures",
    "SESSION_STARTED_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/session-started",
}


def test_the_lease_is_a_minute_and_a_pacing_wait_at_most_ten_seconds_by_default():
    settings = StartSessionSettings.from_env(ENVIRONMENT)

    assert (settings.start_lease_seconds, settings.max_pacing_wait_seconds) == (60, 10.0)
    # The service tests' world runs with the function's defaults.
    assert (START_LEASE_SECONDS, MAX_PACING_WAIT_SECONDS) == (60, 10.0)
    assert settings.captures_bucket == "captures"
    assert settings.started_queue_url.endswith("/session-started")


def test_the_lease_and_the_wait_can_be_set():
    settings = StartSessionSettings.from_env(
        {**ENVIRONMENT, "START_LEASE_SECONDS": "120", "MAX_PACING_WAIT_SECONDS": "0"}
    )

    assert (settings.start_lease_seconds, settings.max_pacing_wait_seconds) == (120, 0.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("START_LEASE_SECONDS", "0"),
        ("START_LEASE_SECONDS", "a minute"),
        ("MAX_PACING_WAIT_SECONDS", "-1"),
    ],
)
def test_a_bad_lease_or_wait_fails_the_cold_start_naming_its_variable(name, value):
    with pytest.raises(SettingsError) as refused:
        StartSessionSettings.from_env({**ENVIRONMENT, name: value})

    assert name in str(refused.value)
    assert f"'{value}'" not in str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "JUMIO_CREDENTIALS_SECRET_ARN",
        "CALLBACK_FUNCTION_URL",
        "CALLBACK_SECRET_ARN",
        "CAPTURES_BUCKET",
        "SESSION_STARTED_QUEUE_URL",
        "STATE_MACHINE_ARN",
    ],
)
def test_each_resource_the_function_uses_is_required(name):
    environment = {key: value for key, value in ENVIRONMENT.items() if key != name}

    with pytest.raises(SettingsError, match=name):
        StartSessionSettings.from_env(environment)
