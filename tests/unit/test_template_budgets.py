"""A function must outlive the Jumio calls it makes: a Lambda timeout leaves the outcome of an
in-flight call unknown, which the state machine cannot retry safely (Finalize) and which SQS
only retries after the whole visibility timeout."""

from __future__ import annotations

from pathlib import Path

from jumio_pipeline.adapters.jumio import JumioSettings
from local_cloud.template import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def _function(name: str) -> tuple[int, dict[str, str]]:
    template = load_yaml(ROOT / "template.yaml")
    globals_ = template["Globals"]["Function"]
    properties = template["Resources"][name]["Properties"]
    timeout = int(properties.get("Timeout", globals_["Timeout"]))
    env = {
        key: value
        for key, value in properties["Environment"]["Variables"].items()
        if isinstance(value, str)
    }
    return timeout, env


def test_finalize_outlives_its_put_and_the_status_read_that_settles_it() -> None:
    timeout, env = _function("FinalizeFunction")
    settings = JumioSettings.from_env(env)
    # The PUT, then the tenant token and the workflow status after an uncertain answer.
    assert timeout > 3 * settings.worst_case_call_seconds


def test_the_worst_case_counts_the_last_attempt_after_the_retry_deadline() -> None:
    one = JumioSettings(max_attempts=1, connect_timeout=3, read_timeout=30)
    many = JumioSettings(max_attempts=5, connect_timeout=3, read_timeout=30, max_retry_seconds=20)
    assert one.worst_case_call_seconds == 33
    assert many.worst_case_call_seconds == 53
