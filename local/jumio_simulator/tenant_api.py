"""Tenant routes: OAuth token, account create/update, deletions (retrieval: retrieval_api)."""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from jumio_simulator.account_rules import AccountRequest, parse_account_request
from jumio_simulator.errors import bad_request, unauthorized
from jumio_simulator.lookup import find_account, find_execution
from jumio_simulator.messages import ApiRequest, ApiResponse
from jumio_simulator.model import (
    TENANT_TOKEN_SECONDS,
    Account,
    Credential,
    PartRecord,
    TokenOwner,
    WorkflowExecution,
)
from jumio_simulator.tokens import new_access_token, new_jwt_like_token
from jumio_simulator.workflows import CHANNELS_BY_CATEGORY, CLASSIFIERS_BY_CATEGORY, categories_for

if TYPE_CHECKING:
    from jumio_simulator.app import Simulator


def _basic_credentials(request: ApiRequest) -> tuple[str, str]:
    scheme, _, encoded = request.header("Authorization").partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("HTTP Basic client credentials are required")
    try:
        client_id, _, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError) as error:
        raise unauthorized("HTTP Basic credentials are malformed") from error
    return client_id, secret


def issue_token(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """POST /oauth2/token: client credentials grant; 401 on a wrong client id or secret."""
    client_id, secret = _basic_credentials(request)
    id_ok = hmac.compare_digest(client_id.encode(), sim.config.client_id.encode())
    secret_ok = hmac.compare_digest(secret.encode(), sim.config.client_secret.encode())
    if not (id_ok and secret_ok):
        raise unauthorized("invalid client credentials")
    form = parse_qs(request.body.decode("utf-8", errors="replace"))
    if form.get("grant_type") != ["client_credentials"]:
        raise bad_request("form field grant_type=client_credentials is required")
    token = new_access_token()
    with sim.state.lock:
        sim.state.tenant_tokens[token] = sim.state.now() + TENANT_TOKEN_SECONDS
    return ApiResponse(
        200, {"access_token": token, "expires_in": TENANT_TOKEN_SECONDS, "token_type": "Bearer"}
    )


def require_tenant(sim: Simulator, request: ApiRequest) -> None:
    """401 unless the Bearer token is a live tenant access token."""
    token = request.bearer_token()
    with sim.state.lock:
        expires_at = sim.state.tenant_tokens.get(token)
        if expires_at is None or sim.state.now() >= expires_at:
            raise unauthorized("access token is unknown or expired")


def _new_execution(sim: Simulator, account: Account, spec: AccountRequest) -> WorkflowExecution:
    state = sim.state
    execution = WorkflowExecution(
        id=str(uuid.uuid4()),
        account_id=account.id,
        definition_key=spec.workflow_key,
        token_expires_at=state.now() + spec.token_lifetime_seconds,
        callback_url=spec.callback_url,
        user_reference=spec.user_reference,
        customer_internal_reference=spec.customer_internal_reference,
        created_at=state.now(),
    )
    for category in categories_for(spec.workflow_key, spec.requested_categories):
        channels = CHANNELS_BY_CATEGORY[category]
        classifiers = CLASSIFIERS_BY_CATEGORY[category] if "API" in channels else []
        token = new_jwt_like_token() if "API" in channels else None
        credential = Credential(
            id=str(uuid.uuid4()),
            category=category,
            allowed_channels=list(channels),
            classifiers=list(classifiers),
            token=token,
            parts={name: PartRecord() for name in classifiers},
        )
        execution.credentials[credential.id] = credential
        if token:
            state.token_owner[token] = TokenOwner(execution.id, credential.id)
    state.executions[execution.id] = execution
    account.workflow_ids.append(execution.id)
    return execution


def execution_href(base: str, execution: WorkflowExecution) -> str:
    """The Credentials-API href of an execution (finalize target)."""
    return f"{base}/api/v1/accounts/{execution.account_id}/workflow-executions/{execution.id}"


def credential_api_block(
    base: str, execution: WorkflowExecution, credential: Credential
) -> dict[str, object]:
    """The `api` object of a credential: its token, part hrefs and the execution href."""
    wf_href = execution_href(base, execution)
    parts = {
        name.lower(): f"{wf_href}/credentials/{credential.id}/parts/{name}"
        for name in credential.classifiers
    }
    return {"token": credential.token, "parts": parts, "workflowExecution": wf_href}


def _account_response(
    sim: Simulator, base: str, account: Account, execution: WorkflowExecution
) -> dict[str, object]:
    credentials = []
    for credential in execution.credentials.values():
        entry: dict[str, object] = {
            "id": credential.id,
            "category": credential.category,
            "allowedChannels": list(credential.allowed_channels),
        }
        if credential.token:
            entry["api"] = credential_api_block(base, execution, credential)
        credentials.append(entry)
    body: dict[str, object] = {"timestamp": sim.state.timestamp(), "account": {"id": account.id}}
    if any({"WEB", "SDK"} & set(c.allowed_channels) for c in execution.credentials.values()):
        session = new_jwt_like_token()
        body["web"] = {"href": f"{base}/web/v4/app?authorizationToken={session}&locale=en"}
        body["sdk"] = {"token": session}
    body["workflowExecution"] = {"id": execution.id, "credentials": credentials}
    return body


def create_account(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """POST /api/v1/accounts: a new account with its first workflow execution."""
    require_tenant(sim, request)
    spec = parse_account_request(request.json_body())
    base = sim.base_url(request.base_url)
    with sim.state.lock:
        account = Account(id=str(uuid.uuid4()))
        sim.state.accounts[account.id] = account
        execution = _new_execution(sim, account, spec)
        return ApiResponse(200, _account_response(sim, base, account, execution))


def update_account(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """PUT /api/v1/accounts/{a}: a NEW workflow execution on an existing account (404 if unknown)."""
    require_tenant(sim, request)
    with sim.state.lock:
        find_account(sim.state, params["account"])
    spec = parse_account_request(request.json_body())
    base = sim.base_url(request.base_url)
    with sim.state.lock:
        account = find_account(sim.state, params["account"])
        execution = _new_execution(sim, account, spec)
        return ApiResponse(200, _account_response(sim, base, account, execution))


def _delete_execution(execution: WorkflowExecution) -> None:
    """Mark it deleted and drop its data; its tokens stay known so a late call can be told."""
    execution.deleted = True
    for credential in execution.credentials.values():
        credential.prepared_data = None


def delete_workflow(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """DELETE .../workflow-executions/{w}: the execution answers 404 everywhere afterwards."""
    require_tenant(sim, request)
    with sim.state.lock:
        execution = find_execution(sim.state, params["account"], params["execution"])
        _delete_execution(execution)
    return ApiResponse(200, {})


def delete_account(sim: Simulator, request: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """DELETE /api/v1/accounts/{a}: the account and every execution under it."""
    require_tenant(sim, request)
    with sim.state.lock:
        account = find_account(sim.state, params["account"])
        account.deleted = True
        for execution_id in account.workflow_ids:
            _delete_execution(sim.state.executions[execution_id])
    return ApiResponse(200, {})
