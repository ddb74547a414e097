"""Jumio's verdict on a session, as the pipeline keeps and publishes it: decisions, no data.

The details of a PROCESSED workflow execution (retrieval API) carry an overall ``decision``
and, per capability (usability, image checks, extraction, data checks, liveness, similarity,
watchlist screening), items that each hold a ``decision`` and a ``data`` object. Only decision
types and labels are taken: ``data`` holds what Jumio extracted from the documents (names,
dates of birth, document numbers) and is never read. The poll schedule Jumio asks clients to
follow lives here too, with the end state each decision leads to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jumio_pipeline.domain.workflow_status import POLL_SCHEDULE_SECONDS

# The capability groups of the details, in Jumio's order.
CAPABILITIES = (
    "usability",
    "imageChecks",
    "extraction",
    "dataChecks",
    "liveness",
    "similarity",
    "watchlistScreening",
)
_MAX_LABEL = 100


class DecisionType(StrEnum):
    """Jumio's decision types."""

    PASSED = "PASSED"
    REJECTED = "REJECTED"
    WARNING = "WARNING"
    NOT_EXECUTED = "NOT_EXECUTED"


class Verdict(StrEnum):
    """How a session ends, as an operator reads it (the state machine's end states)."""

    PASSED = "PASSED"
    REJECTED = "REJECTED"
    WARNING = "WARNING"  # also NOT_EXECUTED: Jumio could not decide, a person has to look
    EXPIRED = "EXPIRED"


class VerdictSource(StrEnum):
    """How the pipeline learned that Jumio had finished."""

    CALLBACK = "callback"
    POLLING = "polling"


@dataclass(frozen=True)
class CapabilityDecision:
    """One capability item's decision: a type and a label, nothing Jumio extracted."""

    type: DecisionType
    label: str | None = None

    def as_record(self) -> dict[str, str]:
        record = {"type": self.type.value}
        if self.label:
            record["label"] = self.label
        return record


@dataclass(frozen=True)
class Decision:
    """The overall decision of a processed execution and its capabilities' decisions."""

    type: DecisionType
    label: str | None = None
    risk_score: int | None = None
    capabilities: dict[str, tuple[CapabilityDecision, ...]] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        """The end state: NOT_EXECUTED is a WARNING (nothing passed, nothing was refused)."""
        if self.type is DecisionType.NOT_EXECUTED:
            return Verdict.WARNING
        return Verdict(self.type.value)

    def as_record(self) -> dict[str, Any]:
        """JSON-safe, for the ledger and the published event."""
        record: dict[str, Any] = {"type": self.type.value}
        if self.label:
            record["label"] = self.label
        if self.risk_score is not None:
            record["riskScore"] = self.risk_score
        record["capabilities"] = {
            name: [item.as_record() for item in items] for name, items in self.capabilities.items()
        }
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Decision:
        """The inverse of :meth:`as_record` (a decision read back from the ledger)."""
        capabilities = {
            name: tuple(
                CapabilityDecision(DecisionType(item["type"]), item.get("label")) for item in items
            )
            for name, items in (record.get("capabilities") or {}).items()
        }
        risk = record.get("riskScore")
        return cls(
            type=DecisionType(record["type"]),
            label=record.get("label"),
            risk_score=None if risk is None else int(risk),
            capabilities=capabilities,
        )


class DecisionUnreadable(ValueError):
    """The details hold no decision in the documented shape (names the field, never a value)."""

    def __init__(self, field_path: str) -> None:
        super().__init__(f"the details have no valid {field_path}")
        self.field = field_path


def parse_decision(details: Any) -> Decision:
    """The decisions of a PROCESSED execution's details; ``data`` is never looked at."""
    if not isinstance(details, dict):
        raise DecisionUnreadable("details object")
    overall = _decision_of(details.get("decision"), "decision")
    risk = (details.get("decision") or {}).get("risk")
    score = risk.get("score") if isinstance(risk, dict) else None
    capabilities: dict[str, tuple[CapabilityDecision, ...]] = {}
    groups = details.get("capabilities") or {}
    if not isinstance(groups, dict):
        raise DecisionUnreadable("capabilities")
    for name in CAPABILITIES:
        items = groups.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            raise DecisionUnreadable(f"capabilities.{name}")
        capabilities[name] = tuple(
            _decision_of(
                item.get("decision") if isinstance(item, dict) else None,
                f"capabilities.{name}.{index}.decision",
            )
            for index, item in enumerate(items)
        )
    return Decision(
        type=overall.type,
        label=overall.label,
        risk_score=int(score)
        if isinstance(score, (int, float)) and not isinstance(score, bool)
        else None,
        capabilities=capabilities,
    )


def _decision_of(raw: Any, where: str) -> CapabilityDecision:
    if not isinstance(raw, dict):
        raise DecisionUnreadable(where)
    try:
        decision_type = DecisionType(raw.get("type"))
    except ValueError:
        raise DecisionUnreadable(f"{where}.type") from None
    details = raw.get("details")
    label = details.get("label") if isinstance(details, dict) else None
    if label is not None and (not isinstance(label, str) or len(label) > _MAX_LABEL):
        raise DecisionUnreadable(f"{where}.details.label")
    return CapabilityDecision(decision_type, label or None)


@dataclass(frozen=True)
class PollPlan:
    """The next step of waiting for Jumio: how long to wait, or that the schedule is spent."""

    round: int
    wait_seconds: int | None

    @property
    def exhausted(self) -> bool:
        return self.wait_seconds is None


def poll_plan(completed_rounds: int, schedule: tuple[int, ...] = POLL_SCHEDULE_SECONDS) -> PollPlan:
    """How long to wait before poll number ``completed_rounds + 1``.

    Jumio's schedule gives the times of the polls after finalize (40, 60, 100, ... s): the
    waits are the gaps between them, so poll n happens at ``schedule[n - 1]`` seconds whatever
    the earlier waits were.
    """
    if completed_rounds >= len(schedule):
        return PollPlan(completed_rounds, None)
    previous = schedule[completed_rounds - 1] if completed_rounds else 0
    return PollPlan(completed_rounds, max(1, schedule[completed_rounds] - previous))
