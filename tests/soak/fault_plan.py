"""Which faults the simulator injects during a soak, on which routes, and on its callbacks.

Why these routes: they are the calls the pipeline makes — the Credentials API (add/update
part, prepared data, document, finalize, deletes) and the retrieval API (status and details,
read to settle an uncertain answer, to poll for the verdict and to read the decision). The
token and account routes stay clean, because the soak itself creates the accounts before the
faults are switched on, and a fault there would break the soak's own set-up rather than test
the pipeline. Jumio's callbacks are dropped, sent twice and delayed, as Jumio documents no
redelivery: the verdict must then come by polling, and a second copy must change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CREDENTIALS_ROUTES = (
    "add_part",
    "update_part",
    "prepared_data",
    "document",
    "finalize",
    "delete_part",
    "delete_pages",
)
RETRIEVAL_ROUTES = ("status", "details")
PIPELINE_ROUTES = (*CREDENTIALS_ROUTES, *RETRIEVAL_ROUTES)
# One callback in five dropped, one in five sent twice (the copy up to 10 s later); each copy
# waits up to 2 s, so most callbacks still come before the first poll (4 s after finalize with
# the soak's schedule, Jumio's at a tenth).
CALLBACK_FAULTS: dict[str, Any] = {
    "pDrop": 0.2,
    "pDuplicate": 0.2,
    "delayMs": [0, 2000],
    "duplicateDelayMs": [0, 10000],
}
# About 20% 5xx, 10% 429 with Retry-After, 5% processed but the response dropped.
DEFAULT_RATES: dict[str, float] = {
    "p500": 0.10,
    "p503": 0.10,
    "p429": 0.10,
    "retryAfter": 1,
    "pDrop": 0.05,
}
_KEYS = ("p500", "p503", "p429", "pDrop", "pReset", "latencyMs", "retryAfter")
_WHOLE_NUMBER_KEYS = ("latencyMs", "retryAfter")


class FaultRatesError(ValueError):
    """A --fault-rates text the soak cannot read."""


def parse_rates(text: str, base: Mapping[str, float] = DEFAULT_RATES) -> dict[str, float]:
    """`p500=0.2,pDrop=0` over `base`; the simulator checks the ranges when they are set."""
    rates = dict(base)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in _KEYS:
            raise FaultRatesError(
                f"{item!r}: expected KEY=VALUE with KEY one of {', '.join(_KEYS)}"
            )
        try:
            number = float(value)
        except ValueError:
            raise FaultRatesError(f"{item!r}: {value.strip()!r} is not a number") from None
        rates[name] = int(number) if name in _WHOLE_NUMBER_KEYS else number
    return rates


def fault_config(rates: Mapping[str, float], seed: int) -> dict[str, Any]:
    """The simulator's `POST /__admin/faults` body: the same rates on every route the pipeline
    calls, and the callback faults."""
    spec = {name: value for name, value in rates.items() if value}
    return {
        "seed": seed,
        "routes": {route: dict(spec) for route in PIPELINE_ROUTES},
        "callbacks": dict(CALLBACK_FAULTS),
    }


def describe_callbacks() -> str:
    """One line for the report, e.g. `callbacks: pDrop=0.2 pDuplicate=0.2 ...`."""
    delay, late = CALLBACK_FAULTS["delayMs"], CALLBACK_FAULTS["duplicateDelayMs"]
    return (
        f"callbacks dropped {CALLBACK_FAULTS['pDrop']:g}, sent twice "
        f"{CALLBACK_FAULTS['pDuplicate']:g}, delayed {delay[0]}-{delay[1]} ms "
        f"(second copy {late[0]}-{late[1]} ms)"
    )


def describe(rates: Mapping[str, float]) -> str:
    """One line for the report, e.g. `p500=0.1 p503=0.1 p429=0.1 (Retry-After 1 s) pDrop=0.05`."""
    parts = [
        f"{name}={rates[name]:g}"
        for name in ("p500", "p503", "p429", "pDrop", "pReset")
        if rates.get(name)
    ]
    if rates.get("p429"):
        parts.append(f"Retry-After {int(rates.get('retryAfter', 1))} s")
    if rates.get("latencyMs"):
        parts.append(f"latency {int(rates['latencyMs'])} ms")
    return " ".join(parts) or "none"
