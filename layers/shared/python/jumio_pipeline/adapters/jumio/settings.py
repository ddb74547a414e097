"""Settings of the Jumio client, read once from the environment.

A frozen dataclass so that one validated value object travels from the Lambda's cold start to
every call: a bad setting fails the cold start with a message naming the variable, instead of
failing each call later in a way that looks like a Jumio outage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import jumio_pipeline

REGIONS = ("amer-1", "emea-1", "apac-1")
_ENV_NAMES = {
    "connect_timeout": "JUMIO_CONNECT_TIMEOUT",
    "read_timeout": "JUMIO_READ_TIMEOUT",
    "max_attempts": "JUMIO_MAX_ATTEMPTS",
    "max_retry_seconds": "JUMIO_MAX_RETRY_SECONDS",
    "backoff_base": "JUMIO_BACKOFF_BASE",
    "backoff_cap": "JUMIO_BACKOFF_CAP",
    "pool_size": "JUMIO_POOL_SIZE",
}
DEFAULT_REGION = "amer-1"
DEFAULT_USER_AGENT = f"jumio-capture-pipeline/{jumio_pipeline.__version__}"


@dataclass(frozen=True)
class JumioSettings:
    """Where Jumio lives and how patiently to talk to it.

    ``base_url`` (the simulator) replaces every regional host: auth, account, api and
    retrieval are then all served from that one base.
    """

    region: str = DEFAULT_REGION
    base_url: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    max_attempts: int = 5
    max_retry_seconds: float = 20.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    pool_size: int = 10
    token_refresh_margin: float = 60.0

    def __post_init__(self) -> None:
        """Reject settings that could only fail later, naming the setting that is wrong."""
        if self.region not in REGIONS:
            allowed = ", ".join(REGIONS)
            raise ValueError(f"JUMIO_REGION must be one of {allowed}; got {self.region!r}")
        if self.base_url is not None:
            object.__setattr__(self, "base_url", _checked_base_url(self.base_url))
        if not self.user_agent.strip():
            raise ValueError("JUMIO_USER_AGENT must not be empty: Jumio requires one on every call")
        for name in ("connect_timeout", "read_timeout", "max_retry_seconds", "backoff_base"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{_ENV_NAMES[name]} must be a positive number of seconds")
        if self.backoff_cap < self.backoff_base:
            raise ValueError("JUMIO_BACKOFF_CAP must be at least JUMIO_BACKOFF_BASE")
        if self.token_refresh_margin < 0:
            raise ValueError("token_refresh_margin must not be negative")
        for name in ("max_attempts", "pool_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{_ENV_NAMES[name]} must be a whole number of at least 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JumioSettings:
        """Build the settings from ``JUMIO_*`` variables; unset or empty means the default."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def text(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds; got {raw!r}") from None

        def whole(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{name} must be a whole number; got {raw!r}") from None

        region = text("JUMIO_REGION", DEFAULT_REGION)
        if region not in REGIONS:
            raise ValueError(f"JUMIO_REGION must be one of {', '.join(REGIONS)}; got {region!r}")
        return cls(
            region=region,
            base_url=text("JUMIO_BASE_URL", "") or None,
            user_agent=text("JUMIO_USER_AGENT", DEFAULT_USER_AGENT),
            connect_timeout=number("JUMIO_CONNECT_TIMEOUT", defaults.connect_timeout),
            read_timeout=number("JUMIO_READ_TIMEOUT", defaults.read_timeout),
            max_attempts=whole("JUMIO_MAX_ATTEMPTS", defaults.max_attempts),
            max_retry_seconds=number("JUMIO_MAX_RETRY_SECONDS", defaults.max_retry_seconds),
            backoff_base=number("JUMIO_BACKOFF_BASE", defaults.backoff_base),
            backoff_cap=number("JUMIO_BACKOFF_CAP", defaults.backoff_cap),
            pool_size=whole("JUMIO_POOL_SIZE", defaults.pool_size),
        )

    @property
    def worst_case_call_seconds(self) -> float:
        """The longest one call can take: its last attempt may start just before the retry
        deadline and then wait for its connect and read timeouts."""
        one_attempt = self.connect_timeout + self.read_timeout
        if self.max_attempts == 1:
            return one_attempt
        return self.max_retry_seconds + one_attempt

    def service_base(self, service: str) -> str:
        """The base URL of one Jumio service (auth, account, api, retrieval) in this region."""
        if self.base_url is not None:
            return self.base_url
        return f"https://{service}.{self.region}.jumio.ai"


def _checked_base_url(value: str) -> str:
    """An http(s) origin with an optional path, without query or fragment, no trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("JUMIO_BASE_URL must be an absolute http(s) URL")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("JUMIO_BASE_URL must have no credentials, query or fragment")
    return value.strip().rstrip("/")
