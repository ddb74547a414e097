"""Counting outcomes as CloudWatch metrics (Powertools EMF), one metric per count.

One metric per count, so each carries only its own dimensions (``reason`` on a rejection, an
``operation`` on an upload): a shared Metrics object would apply one dimension set to all.
Names and dimensions are codes only, never ids or content.
"""

from __future__ import annotations

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_NAMESPACE = "JumioCapturePipeline"


class EmfMetrics:
    """Emits ``name`` = 1 with the service and the given dimensions."""

    def __init__(self, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        """Emit one count (``value`` for a batch) with ``dimensions`` (codes only)."""
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=self._namespace,
            default_dimensions={"service": self._service, **dimensions},
        ):
            pass
