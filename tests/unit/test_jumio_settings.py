"""Settings from the environment, and the URLs built from them when an href is missing."""

from __future__ import annotations

import pytest

import jumio_pipeline
from jumio_pipeline.adapters.jumio import JumioSettings, urls

ACCOUNT = "572ac7b5-9f83-409d-ba8e-f0014e411c7e"
WORKFLOW = "41f71912-1c6b-4e2f-b340-d6dc10cd69b8"


def test_defaults_without_any_variable() -> None:
    settings = JumioSettings.from_env({})
    assert settings.region == "amer-1"
    assert settings.base_url is None
    assert settings.user_agent == f"jumio-capture-pipeline/{jumio_pipeline.__version__}"
    assert (settings.connect_timeout, settings.read_timeout) == (3.05, 30.0)
    assert (settings.max_attempts, settings.max_retry_seconds) == (5, 20.0)


def test_every_variable_is_read() -> None:
    settings = JumioSettings.from_env(
        {
            "JUMIO_REGION": "emea-1",
            "JUMIO_BASE_URL": "http://127.0.0.1:8080/",
            "JUMIO_USER_AGENT": "Acme Onboarding/2.1",
            "JUMIO_CONNECT_TIMEOUT": "1.5",
            "JUMIO_READ_TIMEOUT": "10",
            "JUMIO_MAX_ATTEMPTS": "3",
            "JUMIO_MAX_RETRY_SECONDS": "4",
            "JUMIO_BACKOFF_BASE": "0.05",
            "JUMIO_BACKOFF_CAP": "0.2",
            "JUMIO_POOL_SIZE": "4",
        }
    )
    assert settings == JumioSettings(
        region="emea-1",
        base_url="http://127.0.0.1:8080",
        user_agent="Acme Onboarding/2.1",
        connect_timeout=1.5,
        read_timeout=10.0,
        max_attempts=3,
        max_retry_seconds=4.0,
        backoff_base=0.05,
        backoff_cap=0.2,
        pool_size=4,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"JUMIO_REGION": "mars-1"}, "JUMIO_REGION"),
        ({"JUMIO_READ_TIMEOUT": "soon"}, "JUMIO_READ_TIMEOUT"),
        ({"JUMIO_CONNECT_TIMEOUT": "0"}, "JUMIO_CONNECT_TIMEOUT"),
        ({"JUMIO_MAX_ATTEMPTS": "2.5"}, "JUMIO_MAX_ATTEMPTS"),
        ({"JUMIO_MAX_ATTEMPTS": "0"}, "JUMIO_MAX_ATTEMPTS"),
        ({"JUMIO_MAX_RETRY_SECONDS": "-1"}, "JUMIO_MAX_RETRY_SECONDS"),
        ({"JUMIO_BASE_URL": "ftp://jumio.example"}, "JUMIO_BASE_URL"),
        ({"JUMIO_BASE_URL": "http://127.0.0.1:9/?token=x"}, "JUMIO_BASE_URL"),
        ({"JUMIO_BACKOFF_BASE": "2", "JUMIO_BACKOFF_CAP": "1"}, "JUMIO_BACKOFF_CAP"),
    ],
)
def test_bad_settings_fail_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        JumioSettings.from_env(env)


def test_an_empty_user_agent_is_refused() -> None:
    with pytest.raises(ValueError, match="JUMIO_USER_AGENT"):
        JumioSettings(user_agent=" ")


def test_settings_are_frozen() -> None:
    settings = JumioSettings()
    with pytest.raises(AttributeError):
        settings.region = "emea-1"  # type: ignore[misc]


@pytest.mark.parametrize("region", ["amer-1", "emea-1", "apac-1"])
def test_regional_hosts_follow_the_contract(region: str) -> None:
    settings = JumioSettings(region=region)
    assert urls.token_url(settings) == f"https://auth.{region}.jumio.ai/oauth2/token"
    assert urls.accounts_url(settings) == f"https://account.{region}.jumio.ai/api/v1/accounts"
    assert urls.account_url(settings, ACCOUNT) == (
        f"https://account.{region}.jumio.ai/api/v1/accounts/{ACCOUNT}"
    )
    retrieval = f"https://retrieval.{region}.jumio.ai/api/v1/accounts/{ACCOUNT}"
    assert urls.retrieval_account_url(settings, ACCOUNT) == retrieval
    assert urls.retrieval_status_url(settings, ACCOUNT, WORKFLOW) == (
        f"{retrieval}/workflow-executions/{WORKFLOW}/status"
    )
    workflow = (
        f"https://api.{region}.jumio.ai/api/v1/accounts/{ACCOUNT}/workflow-executions/{WORKFLOW}"
    )
    assert urls.workflow_execution_href(settings, ACCOUNT, WORKFLOW) == workflow


def test_the_base_url_replaces_every_host() -> None:
    settings = JumioSettings(region="apac-1", base_url="http://127.0.0.1:8080")
    assert urls.token_url(settings) == "http://127.0.0.1:8080/oauth2/token"
    assert urls.accounts_url(settings) == "http://127.0.0.1:8080/api/v1/accounts"
    assert urls.retrieval_account_url(settings, ACCOUNT) == (
        f"http://127.0.0.1:8080/api/v1/accounts/{ACCOUNT}"
    )
    assert urls.workflow_execution_href(settings, ACCOUNT, WORKFLOW) == (
        f"http://127.0.0.1:8080/api/v1/accounts/{ACCOUNT}/workflow-executions/{WORKFLOW}"
    )


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        (("not-a-uuid", WORKFLOW), "account_id"),
        ((ACCOUNT, "../../admin"), "workflow_execution_id"),
        ((ACCOUNT, "33333333-3333-3333-aaaaaaaaaaaa"), "workflow_execution_id"),
        ((ACCOUNT, "{fdb1bc31-99a0-4671-8f2a-2bf7ca2faace}"), "workflow_execution_id"),
    ],
)
def test_ids_must_be_uuids_before_a_url_is_built(ids: tuple[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        urls.workflow_execution_href(JumioSettings(), *ids)


@pytest.mark.parametrize(
    "href",
    [
        "https://api.amer-1.jumio.ai.evil.example/api/v1/x",
        "http://api.amer-1.jumio.ai/api/v1/x",
        "https://user:pw@api.amer-1.jumio.ai/api/v1/x",
        "https://api.amer-1.jumio.ai/api/v1/x?token=1",
        "",
    ],
)
def test_a_token_is_only_sent_to_jumio_hosts(href: str) -> None:
    with pytest.raises(ValueError, match="href"):
        urls.require_jumio_href(JumioSettings(), href)


def test_hrefs_under_the_base_url_are_accepted_and_others_not() -> None:
    settings = JumioSettings(base_url="http://127.0.0.1:8080")
    href = "http://127.0.0.1:8080/api/v1/accounts/a/workflow-executions/w"
    assert urls.require_jumio_href(settings, href) == href
    with pytest.raises(ValueError, match="JUMIO_BASE_URL"):
        urls.require_jumio_href(settings, "http://127.0.0.1:8081/api/v1/x")
    assert urls.require_jumio_href(JumioSettings(), "https://api.emea-1.jumio.ai/api/v1/x")


@pytest.mark.parametrize(
    ("href", "allowed"),
    [
        (f"https://api.amer-1.jumio.ai/api/v1/accounts/{ACCOUNT}", True),
        (f"https://api.emea-1.jumio.ai/api/v1/accounts/{ACCOUNT}", False),  # another region
        (f"https://retrieval.amer-1.jumio.ai/api/v1/accounts/{ACCOUNT}", False),
        ("https://api.amer-1.jumio.ai.evil.example/api/v1/x", False),
        ("http://api.amer-1.jumio.ai/api/v1/x", False),
        ("https://user@api.amer-1.jumio.ai/api/v1/x", False),
    ],
)
def test_only_the_configured_credentials_api_host_takes_tokens(href: str, allowed: bool) -> None:
    assert urls.is_api_href(JumioSettings(region="amer-1"), href) is allowed


def test_with_a_base_url_only_hrefs_under_it_are_api_hrefs() -> None:
    settings = JumioSettings(base_url="http://127.0.0.1:8080")
    assert urls.is_api_href(settings, "http://127.0.0.1:8080/api/v1/accounts/x")
    assert not urls.is_api_href(settings, "http://127.0.0.1:9090/api/v1/accounts/x")
