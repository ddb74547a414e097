"""Jumio's documented per-tenant rate limits (contract §7), as token buckets.

Token endpoint 10/s; account create/update ("account initiate") 1/s with short bursts
tolerated, stated as 5 per 5 s for recent tenants; retrieval 15/s, stated as 75 per 5 s.
Beyond them Jumio answers 429 with the documented body. A bucket of `burst` tokens refilling
at `perSecond` models "N per second, M per window": burst = the window's count where Jumio
states one (account 5, retrieval 75), else the per-second count (token 10). The simulator
serves one tenant, so one bucket per group. Buckets run on the real monotonic clock (a rate
is about real request pacing, not about the simulated expiry clock).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from jumio_simulator.runtime_config import ConfigError

TOO_MANY_REQUESTS = {
    "title": "Too Many Requests",
    "status": 429,
    "detail": "Request limit exceeded",
}
GROUP_OF_ROUTE = {
    "token": "token",
    "account_create": "account",
    "account_update": "account",
    "status": "retrieval",
    "details": "retrieval",
}
DEFAULT_LIMITS: dict[str, dict[str, float]] = {
    "token": {"burst": 10, "perSecond": 10.0},
    "account": {"burst": 5, "perSecond": 1.0},
    "retrieval": {"burst": 75, "perSecond": 15.0},
}


@dataclass
class TokenBucket:
    """`burst` tokens at most, refilled continuously at `per_second`."""

    burst: int
    per_second: float
    clock: Callable[[], float]
    tokens: float = 0.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self) -> float | None:
        """Take one token: None when granted, else the seconds until one is available."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.per_second


def _check_group(name: str, spec: object) -> dict[str, float]:
    if not isinstance(spec, dict) or set(spec) - {"burst", "perSecond"}:
        raise ConfigError(f"rateLimits.{name} must be an object with burst and perSecond")
    merged = {**DEFAULT_LIMITS[name], **spec}
    burst, rate = merged["burst"], merged["perSecond"]
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ConfigError(f"rateLimits.{name}.burst must be an integer of at least 1")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise ConfigError(f"rateLimits.{name}.perSecond must be a positive number")
    return {"burst": burst, "perSecond": float(rate)}


def normalise_limits(config: object, base: dict[str, object] | None = None) -> dict[str, object]:
    """`{"enabled", "token", "account", "retrieval"}` from a partial config over `base`.

    `False`/`True` switch the limits off/on with the documented numbers; an object may give
    `enabled` and any group's `burst`/`perSecond`. ConfigError names the first problem.
    """
    current: dict[str, object] = base or {"enabled": True, **DEFAULT_LIMITS}
    if config is None:
        return {key: (dict(v) if isinstance(v, dict) else v) for key, v in current.items()}
    if isinstance(config, bool):
        config = {"enabled": config}
    if not isinstance(config, dict):
        raise ConfigError("rateLimits must be a boolean or an object")
    unknown = set(config) - {"enabled", *DEFAULT_LIMITS}
    if unknown:
        raise ConfigError(f"rateLimits has unknown keys {sorted(unknown)}")
    enabled = config.get("enabled", current["enabled"])
    if not isinstance(enabled, bool):
        raise ConfigError("rateLimits.enabled must be a boolean")
    result: dict[str, object] = {"enabled": enabled}
    for name in DEFAULT_LIMITS:
        old = current[name]
        assert isinstance(old, dict)
        result[name] = _check_group(name, {**old, **config[name]}) if name in config else dict(old)
    return result


class RateLimiter:
    """The buckets of the active limits; thread-safe."""

    def __init__(self, config: object, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._start = normalise_limits(config)
        self._configure(self._start)

    def _configure(self, limits: dict[str, object]) -> None:
        with self._lock:
            self._limits = limits
            self._buckets = {
                name: TokenBucket(int(spec["burst"]), float(spec["perSecond"]), self._clock)
                for name, spec in limits.items()
                if isinstance(spec, dict)
            }

    def update(self, config: object) -> None:
        """Change the limits (a partial config over the active one); buckets start full."""
        with self._lock:
            current = self._limits
        self._configure(normalise_limits(config, current))

    def restore(self) -> None:
        """Start-up limits with full buckets (on reset)."""
        self._configure(self._start)

    def describe(self) -> dict[str, object]:
        """The active limits as JSON."""
        with self._lock:
            return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self._limits.items()}

    def wait_for(self, route: str) -> float | None:
        """None when the request may go on, else seconds until the route's bucket refills."""
        group = GROUP_OF_ROUTE.get(route)
        with self._lock:
            if group is None or not self._limits["enabled"]:
                return None
            return self._buckets[group].take()


def retry_after_header(wait_seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, at least 1 (the header takes no fractions)."""
    return {"Retry-After": str(max(1, math.ceil(wait_seconds)))}
