"""What every command gets: the stack's resources, AWS clients, the clock and the output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from jumio_pipeline.adapters.audit_trail import AuditTrail
from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline_ops.stack import Cloud, Resources


@dataclass
class Context:
    """One command's world; ``now`` and ``sleep`` are injectable so tests need no waiting."""

    cloud: Cloud
    resources: Resources
    out: TextIO
    as_json: bool
    now: Callable[[], float]
    sleep: Callable[[float], None]

    def ledger(self) -> Ledger:
        return Ledger(
            self.resources.physical("LedgerTable"), resource=self.cloud.resource("dynamodb")
        )

    def audit_trail(self) -> AuditTrail:
        return AuditTrail(
            self.resources.physical("AuditTable"), resource=self.cloud.resource("dynamodb")
        )
