"""Retrieval routes (contract §5), with the tenant access token: status and details.

Details list the parts that exist at that moment for any status, so a client can check by a
documented route whether a part landed before it finalizes. Capabilities and the overall
decision appear only once the execution is PROCESSED (see `decisions`). Timestamps not yet
reached (`startedAt` before the first action or finalize, `completedAt` before the end) are
left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jumio_simulator import decisions
from jumio_simulator.lookup import find_execution
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.model import PROCESSED, Credential, WorkflowExecution, format_timestamp
from jumio_simulator.tenant_api import execution_href, require_tenant

if TYPE_CHECKING:
    from jumio_simulator.app import Simulator


def _settled_execution(
    sim: Simulator, request: ApiRequest, params: dict[str, str]
) -> WorkflowExecution:
    """The execution (404 if unknown or deleted) with any due expiry applied. Hold the lock."""
    require_tenant(sim, request)
    execution = find_execution(sim.state, params["account"], params["execution"])
    sim.lifecycle.settle(execution, sim.base_url(request.base_url))
    return execution


def retrieval_status(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """GET .../status: {account{id, href}, workflowExecution{id, href, definitionKey, status}}."""
    base = sim.base_url(request.base_url)
    with sim.state.lock:
        execution = _settled_execution(sim, request, params)
        return ApiResponse(
            200,
            {
                "account": {
                    "id": execution.account_id,
                    "href": f"{base}/api/v1/accounts/{execution.account_id}",
                },
                "workflowExecution": {
                    "id": execution.id,
                    "href": execution_href(base, execution),
                    "definitionKey": execution.definition_key,
                    "status": execution.status,
                },
            },
        )


def _present_parts(base: str, execution: WorkflowExecution, credential: Credential) -> list:
    """`[{classifier, href}]` of the parts there now; hrefs name the part-download route."""
    href = f"{base}/api/v1/accounts/{execution.account_id}/credentials/{credential.id}/parts"
    return [
        {"classifier": name, "href": f"{href}/{name}"}
        for name, part in credential.parts.items()
        if part.count > 0
    ]


def retrieval_details(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """GET /api/v1/accounts/{a}/workflow-executions/{w}: the documented details shape."""
    base = sim.base_url(request.base_url)
    with sim.state.lock:
        execution = _settled_execution(sim, request, params)
        workflow: dict[str, object] = {
            "id": execution.id,
            "status": execution.status,
            "definitionKey": execution.definition_key,
        }
        if execution.user_reference is not None:
            workflow["userReference"] = execution.user_reference
        workflow["customerInternalReference"] = execution.customer_internal_reference
        body: dict[str, object] = {
            "workflow": workflow,
            "account": {"id": execution.account_id},
            "createdAt": format_timestamp(execution.created_at),
        }
        for key, moment in (
            ("startedAt", execution.started_at),
            ("completedAt", execution.completed_at),
        ):
            if moment is not None:
                body[key] = format_timestamp(moment)
        credentials = list(execution.credentials.values())
        body["credentials"] = [
            {
                "id": credential.id,
                "category": credential.category,
                "parts": _present_parts(base, execution, credential),
            }
            for credential in credentials
        ]
        if execution.status == PROCESSED:
            kind = decisions.decision_for(
                execution.customer_internal_reference, execution.decision_override
            )
            pairs = [(credential.id, credential.category) for credential in credentials]
            body["capabilities"], body["decision"] = decisions.result(kind, execution.id, pairs)
        return ApiResponse(200, body)
