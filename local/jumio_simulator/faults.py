"""Fault injection: scripted faults first, then seeded probabilities, so runs are reproducible."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from jumio_simulator.routing import ROUTE_NAMES

SCRIPT_ENTRIES = ("400", "429", "500", "503", "reset", "drop", "ok")
_PROBABILITY_KEYS = {
    "pReset": "reset",
    "p429": "429",
    "p500": "500",
    "p503": "503",
    "pDrop": "drop",
}
_ROUTE_KEYS = set(_PROBABILITY_KEYS) | {"latencyMs", "retryAfter"}
DEFAULT_SEED = 0


class FaultConfigError(ValueError):
    """A fault configuration that names an unknown route, key or value."""


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: `kind` None means answer normally."""

    kind: str | None
    latency_ms: int
    retry_after: int


def _check_route_name(name: str) -> None:
    if name != "*" and name not in ROUTE_NAMES:
        raise FaultConfigError(f"unknown route name {name!r}; known: *, {', '.join(ROUTE_NAMES)}")


def _check_route_faults(name: str, spec: object) -> None:
    if not isinstance(spec, dict):
        raise FaultConfigError(f"routes.{name} must be an object")
    unknown = set(spec) - _ROUTE_KEYS
    if unknown:
        raise FaultConfigError(f"routes.{name} has unknown keys {sorted(unknown)}")
    total = 0.0
    for key in _PROBABILITY_KEYS:
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise FaultConfigError(f"routes.{name}.{key} must be a number between 0 and 1")
        total += value
    if total > 1:
        raise FaultConfigError(f"routes.{name} probabilities add up to more than 1")
    for key in ("latencyMs", "retryAfter"):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultConfigError(f"routes.{name}.{key} must be a non-negative integer")


def validate_fault_config(config: object) -> dict[str, object]:
    """A normalised copy of a `POST /__admin/faults` body, or FaultConfigError naming the problem."""
    if not isinstance(config, dict):
        raise FaultConfigError("fault config must be a JSON object")
    unknown = set(config) - {"seed", "routes", "script"}
    if unknown:
        raise FaultConfigError(f"fault config has unknown keys {sorted(unknown)}")
    seed = config.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultConfigError("seed must be an integer")
    routes = config.get("routes") or {}
    script = config.get("script") or {}
    if not isinstance(routes, dict) or not isinstance(script, dict):
        raise FaultConfigError("routes and script must be objects")
    for name, spec in routes.items():
        _check_route_name(name)
        _check_route_faults(name, spec)
    for name, entries in script.items():
        _check_route_name(name)
        if not isinstance(entries, list) or any(entry not in SCRIPT_ENTRIES for entry in entries):
            raise FaultConfigError(f"script.{name} must be a list of {', '.join(SCRIPT_ENTRIES)}")
    return {
        "seed": seed,
        "routes": {name: dict(spec) for name, spec in routes.items()},
        "script": {name: list(entries) for name, entries in script.items()},
    }


class FaultInjector:
    """Holds the active fault config and draws decisions from one `random.Random(seed)`."""

    def __init__(self, default_seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._default_seed = DEFAULT_SEED if default_seed is None else default_seed
        self._config: dict[str, object] = validate_fault_config({})
        self._remaining: dict[str, list[str]] = {}
        self._random = random.Random(self._default_seed)

    def configure(self, config: object) -> None:
        """Replace the whole config; the random stream restarts from its seed."""
        normalised = validate_fault_config(config)
        with self._lock:
            self._config = normalised
            self._remaining = {
                name: list(entries) for name, entries in normalised["script"].items()
            }  # type: ignore[union-attr]
            seed = normalised["seed"]
            self._random = random.Random(self._default_seed if seed is None else seed)

    def describe(self) -> dict[str, object]:
        """The active config plus what is left of each script."""
        with self._lock:
            return {
                **self._config,
                "remainingScript": {k: list(v) for k, v in self._remaining.items()},
            }

    def decide(self, route: str) -> FaultDecision:
        """The fault for the next request on `route`: script entry first, else a seeded draw."""
        with self._lock:
            routes: dict[str, dict[str, int | float]] = self._config["routes"]  # type: ignore[assignment]
            spec = routes.get(route, routes.get("*", {}))
            latency = int(spec.get("latencyMs", 0))
            retry_after = int(spec.get("retryAfter", 1))
            for name in (route, "*"):
                queue = self._remaining.get(name)
                if queue:
                    entry = queue.pop(0)
                    return FaultDecision(None if entry == "ok" else entry, latency, retry_after)
            if not any(spec.get(key, 0) for key in _PROBABILITY_KEYS):
                return FaultDecision(None, latency, retry_after)
            draw = self._random.random()
            threshold = 0.0
            for key, kind in _PROBABILITY_KEYS.items():
                threshold += float(spec.get(key, 0))
                if draw < threshold:
                    return FaultDecision(kind, latency, retry_after)
            return FaultDecision(None, latency, retry_after)
