"""Counting outcomes as CloudWatch metrics (Powertools EMF), one metric per count.

One metric per count, so each carries only its own dimensions (``reason`` on a rejection, an
``operation`` on an upload): a shared Metrics object would apply one dimension set to all.
Names and dimensions are codes only, never ids or content.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_NAMESPACE = "JumioCapturePipeline"
UNDEFINED_SERVICE = "service_undefined"  # what Powertools itself calls a nameless service


class EmfMetrics:
    """Emits ``name`` = 1 with the service and the given dimensions."""

    def __init__(self, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmfMetrics:
        """The function's namespace and service from Powertools' variables (as Metrics reads
        them), for adapters built without the handler's settings."""
        env = os.environ if environ is None else environ
        namespace = env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
        service = env.get("POWERTOOLS_SERVICE_NAME", "").strip() or UNDEFINED_SERVICE
        return cls(namespace, service)

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        """Emit one count (``value`` for a batch) with ``dimensions`` (codes only)."""
        self._emit(name, MetricUnit.Count, value, dimensions)

    def milliseconds(self, name: str, value: float, **dimensions: str) -> None:
        """Emit one duration in milliseconds with ``dimensions`` (codes only)."""
        self._emit(name, MetricUnit.Milliseconds, value, dimensions)

    def _emit(
        self, name: str, unit: MetricUnit, value: float, dimensions: Mapping[str, str]
    ) -> None:
        with single_metric(
            name=name,
            unit=unit,
            value=value,
            namespace=self._namespace,
            default_dimensions={"service": self._service, **dimensions},
        ):
            pass
