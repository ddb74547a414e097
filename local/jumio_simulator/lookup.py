"""Finding accounts, executions and credentials by path id: anything unknown or deleted is 404."""

from __future__ import annotations

import uuid

from jumio_simulator.errors import not_found
from jumio_simulator.model import Account, Credential, SimulatorState, WorkflowExecution


def is_uuid(value: str) -> bool:
    """True for a canonical (hyphenated) UUID string."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def find_account(
    state: SimulatorState, account_id: str, *, include_deleted: bool = False
) -> Account:
    """The live account (or a deleted one when asked), else 404."""
    account = state.accounts.get(account_id.lower()) if is_uuid(account_id) else None
    if account is None or (account.deleted and not include_deleted):
        raise not_found("account not found")
    return account


def find_execution(
    state: SimulatorState, account_id: str, execution_id: str, *, include_deleted: bool = False
) -> WorkflowExecution:
    """The live workflow execution of that live account (or deleted ones when asked), else 404."""
    account = find_account(state, account_id, include_deleted=include_deleted)
    execution = state.executions.get(execution_id.lower()) if is_uuid(execution_id) else None
    if execution is None or execution.account_id != account.id:
        raise not_found("workflow execution not found")
    if execution.deleted and not include_deleted:
        raise not_found("workflow execution not found")
    return execution


def find_credential(execution: WorkflowExecution, credential_id: str) -> Credential:
    """The credential of that execution, else 404."""
    credential = (
        execution.credentials.get(credential_id.lower()) if is_uuid(credential_id) else None
    )
    if credential is None:
        raise not_found("credential not found")
    return credential
