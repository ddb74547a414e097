"""Jumio client settings for tests against the simulator: the deployed retry decisions, with
backoffs of milliseconds so that a retried call does not slow the suite."""

from __future__ import annotations

from typing import Any

from jumio_pipeline.adapters.jumio import JumioSettings


def fast_settings(base_url: str, **overrides: Any) -> JumioSettings:
    """Settings pointing at ``base_url``; any field can be overridden."""
    values: dict[str, Any] = {
        "base_url": base_url,
        "read_timeout": 5.0,
        "max_attempts": 3,
        "max_retry_seconds": 4.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
    }
    return JumioSettings(**{**values, **overrides})
