"""Jumio's retrieval API, read with the tenant's OAuth token: workflow status and details.

Only what the pipeline needs to recover from uncertainty (the status) and to check which
parts Jumio holds (the details' credentials). The answers are checked against the documented
shapes: anything else is reported as Jumio being unavailable, never taken as a status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jumio_pipeline.adapters.jumio.tenant import TenantClient
from jumio_pipeline.domain.errors import JumioUnavailable
from jumio_pipeline.domain.workflow_status import WorkflowStatus


class JumioRetrieval:
    """``WorkflowStatusReader`` over the tenant client of the current credentials."""

    def __init__(self, tenant: Callable[[], TenantClient]) -> None:
        self._tenant = tenant

    def workflow_status(self, account_id: str, workflow_execution_id: str) -> WorkflowStatus:
        """The execution's documented status now."""
        answer = self._tenant().retrieval_status(account_id, workflow_execution_id)
        status = (answer.get("workflowExecution") or {}).get("status")
        try:
            return WorkflowStatus(status)
        except ValueError:
            raise JumioUnavailable(
                "status: an answer without a documented workflowExecution.status",
                operation="status",
            ) from None

    def workflow_details(self, account_id: str, workflow_execution_id: str) -> dict[str, Any]:
        """The execution's details as Jumio sends them (the caller takes decisions only)."""
        answer = self._tenant().retrieval_details(account_id, workflow_execution_id)
        if not isinstance(answer, dict):
            raise JumioUnavailable("details: an answer that is not an object", operation="details")
        return answer

    def present_parts(
        self, account_id: str, workflow_execution_id: str
    ) -> dict[str, frozenset[str]]:
        """Credential id → the classifiers Jumio lists for it now (details' credentials)."""
        answer = self._tenant().retrieval_details(account_id, workflow_execution_id)
        credentials = answer.get("credentials")
        if not isinstance(credentials, list):
            raise JumioUnavailable(
                "details: an answer without a credentials list", operation="details"
            )
        present: dict[str, frozenset[str]] = {}
        for credential in credentials:
            if isinstance(credential, dict) and isinstance(credential.get("id"), str):
                parts = credential.get("parts") or []
                present[credential["id"]] = frozenset(
                    part["classifier"]
                    for part in parts
                    if isinstance(part, dict) and isinstance(part.get("classifier"), str)
                )
        return present
