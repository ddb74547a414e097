"""The settings an admin may change while the simulator runs: error mode, seed, idle timeout.

Start-up values come from `SimulatorConfig`; `POST /__admin/config` changes them and
`POST /__admin/reset` puts the start-up values back. The seed chooses the answers to
undocumented questions (`variations.profile_for`); the fault streams have their own seed.
"""

from __future__ import annotations

import threading

from jumio_simulator.error_modes import ERROR_MODES
from jumio_simulator.variations import SeedProfile, profile_for

DEFAULT_SEED = 0
DEFAULT_SESSION_IDLE_SECONDS = 15 * 60


class ConfigError(ValueError):
    """A config value outside what the simulator accepts; the admin API answers 400."""


def check_error_mode(value: object) -> str:
    """`opaque` or `strict`, else ConfigError."""
    if value not in ERROR_MODES:
        raise ConfigError(f"errorMode must be one of {', '.join(ERROR_MODES)}")
    return str(value)


def check_seed(value: object) -> int:
    """An integer seed, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("seed must be an integer")
    return value


def check_idle_seconds(value: object) -> float:
    """A positive number of seconds, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError("sessionIdleSeconds must be a positive number")
    return float(value)


class RuntimeConfig:
    """Thread-safe holder of the changeable settings and the seed's profile."""

    def __init__(self, error_mode: str, seed: int | None, session_idle_seconds: float) -> None:
        self._lock = threading.Lock()
        self._start = (
            check_error_mode(error_mode),
            DEFAULT_SEED if seed is None else check_seed(seed),
            check_idle_seconds(session_idle_seconds),
        )
        self._apply(*self._start)

    def _apply(self, error_mode: str, seed: int, idle: float) -> None:
        with self._lock:
            self._error_mode = error_mode
            self._profile = profile_for(seed)
            self._idle = idle

    @property
    def error_mode(self) -> str:
        """`opaque` or `strict`."""
        with self._lock:
            return self._error_mode

    @property
    def profile(self) -> SeedProfile:
        """The active seed's answers to undocumented questions."""
        with self._lock:
            return self._profile

    @property
    def session_idle_seconds(self) -> float:
        """Seconds without an action after which a started session expires."""
        with self._lock:
            return self._idle

    def update(self, body: dict[str, object]) -> None:
        """Apply `errorMode`, `seed`, `sessionIdleSeconds` where given (checked first)."""
        with self._lock:
            mode, seed, idle = self._error_mode, self._profile.seed, self._idle
        if "errorMode" in body:
            mode = check_error_mode(body["errorMode"])
        if "seed" in body:
            seed = check_seed(body["seed"])
        if "sessionIdleSeconds" in body:
            idle = check_idle_seconds(body["sessionIdleSeconds"])
        self._apply(mode, seed, idle)

    def restore(self) -> None:
        """Back to the start-up values (on reset)."""
        self._apply(*self._start)

    def describe(self) -> dict[str, object]:
        """The JSON view of `GET /__admin/config` (without the rate limits)."""
        with self._lock:
            return {
                "errorMode": self._error_mode,
                "seed": self._profile.seed,
                "sessionIdleSeconds": self._idle,
                "undocumented": self._profile.describe(),
            }
