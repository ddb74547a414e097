"""Fault injection: scripted faults first, then seeded probabilities, so runs are reproducible.

Two streams, both seeded from the config's `seed`: one for API requests (per route), one for
callbacks (drop, duplicate, delays). Separate streams keep callback timing from shifting the
request faults and the other way round.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from jumio_simulator.routing import ROUTE_NAMES
from jumio_simulator.runtime_config import DEFAULT_SEED

SCRIPT_ENTRIES = ("400", "429", "500", "503", "reset", "drop", "slow", "ok")
_PROBABILITY_KEYS = {
    "pReset": "reset",
    "p429": "429",
    "p500": "500",
    "p503": "503",
    "pDrop": "drop",
    "pSlow": "slow",
}
# `slowMs`: how long a `slow` answer waits after the request was processed (a client whose
# read timeout is shorter gives up on a request that took effect).
DEFAULT_SLOW_MS = 3000
_ROUTE_KEYS = set(_PROBABILITY_KEYS) | {"latencyMs", "retryAfter", "slowMs"}
CALLBACK_SCRIPT_ENTRIES = ("ok", "drop", "duplicate")
_CALLBACK_KEYS = {"pDrop", "pDuplicate", "delayMs", "duplicateDelayMs", "script"}


class FaultConfigError(ValueError):
    """A fault configuration that names an unknown route, key or value."""


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: `kind` None means answer normally."""

    kind: str | None
    latency_ms: int
    retry_after: int
    slow_ms: int = DEFAULT_SLOW_MS


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
    for key in ("latencyMs", "retryAfter", "slowMs"):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultConfigError(f"routes.{name}.{key} must be a non-negative integer")


@dataclass(frozen=True)
class CallbackPlan:
    """How one callback goes out: `delays` holds one delay in seconds per copy sent."""

    fault: str | None
    delays: tuple[float, ...]


def _delay_range(name: str, value: object) -> list[int]:
    """`delayMs` as `[min, max]`: an integer means a fixed delay."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)
        or value[0] > value[1]
    ):
        raise FaultConfigError(f"callbacks.{name} must be [min, max] milliseconds, 0 <= min <= max")
    return [int(value[0]), int(value[1])]


def _check_callback_faults(spec: object) -> dict[str, object]:
    if not isinstance(spec, dict):
        raise FaultConfigError("callbacks must be an object")
    unknown = set(spec) - _CALLBACK_KEYS
    if unknown:
        raise FaultConfigError(f"callbacks has unknown keys {sorted(unknown)}")
    total = 0.0
    for key in ("pDrop", "pDuplicate"):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise FaultConfigError(f"callbacks.{key} must be a number between 0 and 1")
        total += value
    if total > 1:
        raise FaultConfigError("callbacks.pDrop and callbacks.pDuplicate add up to more than 1")
    delay = _delay_range("delayMs", spec.get("delayMs", 0))
    script = spec.get("script", [])
    if not isinstance(script, list) or any(e not in CALLBACK_SCRIPT_ENTRIES for e in script):
        raise FaultConfigError(
            f"callbacks.script must be a list of {', '.join(CALLBACK_SCRIPT_ENTRIES)}"
        )
    return {
        "pDrop": spec.get("pDrop", 0),
        "pDuplicate": spec.get("pDuplicate", 0),
        "delayMs": delay,
        "duplicateDelayMs": _delay_range("duplicateDelayMs", spec.get("duplicateDelayMs", delay)),
        "script": list(script),
    }


def validate_fault_config(config: object) -> dict[str, object]:
    """A normalised copy of a `POST /__admin/faults` body, or FaultConfigError naming the problem."""
    if not isinstance(config, dict):
        raise FaultConfigError("fault config must be a JSON object")
    unknown = set(config) - {"seed", "routes", "script", "callbacks"}
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
        "callbacks": _check_callback_faults(config.get("callbacks") or {}),
    }


class FaultInjector:
    """Holds the active fault config and draws decisions from one `random.Random(seed)`."""

    def __init__(self, default_seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._default_seed = DEFAULT_SEED if default_seed is None else default_seed
        self._config: dict[str, object] = validate_fault_config({})
        self._remaining: dict[str, list[str]] = {}
        self._callback_script: list[str] = []
        self._random = random.Random(self._default_seed)
        self._callback_random = random.Random(f"callbacks/{self._default_seed}")

    def configure(self, config: object) -> None:
        """Replace the whole config; the random stream restarts from its seed."""
        normalised = validate_fault_config(config)
        with self._lock:
            self._config = normalised
            self._remaining = {
                name: list(entries) for name, entries in normalised["script"].items()
            }  # type: ignore[union-attr]
            callbacks: dict[str, object] = normalised["callbacks"]  # type: ignore[assignment]
            self._callback_script = list(callbacks["script"])  # type: ignore[call-overload]
            seed = self._default_seed if normalised["seed"] is None else normalised["seed"]
            self._random = random.Random(seed)
            self._callback_random = random.Random(f"callbacks/{seed}")

    def describe(self) -> dict[str, object]:
        """The active config plus what is left of each script."""
        with self._lock:
            return {
                **self._config,
                "remainingScript": {k: list(v) for k, v in self._remaining.items()},
                "remainingCallbackScript": list(self._callback_script),
            }

    def callback_plan(self) -> CallbackPlan:
        """How the next callback goes out: script entry first, else one seeded draw.

        A duplicate's delay is drawn independently of the original's, so the copy may arrive
        first, much later, or after callbacks of newer executions (out of order).
        """
        with self._lock:
            spec: dict[str, object] = self._config["callbacks"]  # type: ignore[assignment]
            if self._callback_script:
                fault: str | None = self._callback_script.pop(0)
            else:
                draw = self._callback_random.random()
                p_drop, p_dup = float(spec["pDrop"]), float(spec["pDuplicate"])  # type: ignore[arg-type]
                fault = "drop" if draw < p_drop else "duplicate" if draw < p_drop + p_dup else None
            fault = None if fault == "ok" else fault
            if fault == "drop":
                return CallbackPlan("drop", ())
            delays = [self._delay(spec["delayMs"])]
            if fault == "duplicate":
                delays.append(self._delay(spec["duplicateDelayMs"]))
            return CallbackPlan(fault, tuple(delays))

    def _delay(self, bounds: object) -> float:
        low, high = bounds  # type: ignore[misc]
        return self._callback_random.randint(int(low), int(high)) / 1000

    def decide(self, route: str) -> FaultDecision:
        """The fault for the next request on `route`: script entry first, else a seeded draw."""
        with self._lock:
            routes: dict[str, dict[str, int | float]] = self._config["routes"]  # type: ignore[assignment]
            spec = routes.get(route, routes.get("*", {}))
            latency = int(spec.get("latencyMs", 0))
            retry_after = int(spec.get("retryAfter", 1))
            slow = int(spec.get("slowMs", DEFAULT_SLOW_MS))
            for name in (route, "*"):
                queue = self._remaining.get(name)
                if queue:
                    entry = queue.pop(0)
                    kind = None if entry == "ok" else entry
                    return FaultDecision(kind, latency, retry_after, slow)
            if not any(spec.get(key, 0) for key in _PROBABILITY_KEYS):
                return FaultDecision(None, latency, retry_after, slow)
            draw = self._random.random()
            threshold = 0.0
            for key, kind in _PROBABILITY_KEYS.items():
                threshold += float(spec.get(key, 0))
                if draw < threshold:
                    return FaultDecision(kind, latency, retry_after, slow)
            return FaultDecision(None, latency, retry_after, slow)
