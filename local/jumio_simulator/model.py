"""The simulator's in-memory world: accounts, workflow executions, credentials, parts, tokens.

One lock guards all of it; the simulated clock (real time plus an admin-controlled offset)
lives here too, because token expiry is a property of this state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

INITIATED = "INITIATED"
ACQUIRED = "ACQUIRED"
PROCESSED = "PROCESSED"
SESSION_EXPIRED = "SESSION_EXPIRED"
TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - a status, not a secret
CALLBACK_STATUSES = frozenset({PROCESSED, SESSION_EXPIRED, TOKEN_EXPIRED})

TENANT_TOKEN_SECONDS = 3600


@dataclass
class PartRecord:
    """History and presence of one classifier on one credential (what tests count)."""

    count: int = 0
    adds: int = 0
    updates: int = 0
    deletes: int = 0
    part_id: str | None = None
    sha256: str | None = None  # of the image file now in place (admin view only)

    def as_state(self) -> dict[str, int]:
        """The admin view of this part."""
        return {
            "count": self.count,
            "adds": self.adds,
            "updates": self.updates,
            "deletes": self.deletes,
        }


@dataclass
class Credential:
    """One credential of a workflow execution; `token` is None when the API channel is absent."""

    id: str
    category: str
    allowed_channels: list[str]
    classifiers: list[str]
    token: str | None
    parts: dict[str, PartRecord] = field(default_factory=dict)
    pages: int = 0
    prepared_data: dict[str, object] | None = None


@dataclass
class WorkflowExecution:
    """One transaction: its credentials, its clock marks, its status and callback target.

    `last_action_at` is the simulated time of the last upload or part deletion: the 15-minute
    session timeout counts from it (None until the first action).
    """

    id: str
    account_id: str
    definition_key: str
    token_expires_at: float
    callback_url: str | None
    user_reference: str | None
    customer_internal_reference: str = ""
    created_at: float = 0.0
    credentials: dict[str, Credential] = field(default_factory=dict)
    status: str = INITIATED
    finalize_count: int = 0
    deleted: bool = False
    last_action_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    decision_override: str | None = None

    @property
    def is_active(self) -> bool:
        """Uploads, updates and deletes are allowed only before finalize and expiry."""
        return self.status == INITIATED and not self.deleted


@dataclass(frozen=True)
class TokenOwner:
    """Who an `api.token` was issued to: one credential of one workflow execution."""

    execution_id: str
    credential_id: str


def format_timestamp(epoch_seconds: float) -> str:
    """Jumio's timestamp format, UTC with milliseconds: 2021-05-28T09:17:50.240Z."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Account:
    """A Jumio account: a holder of workflow executions."""

    id: str
    workflow_ids: list[str] = field(default_factory=list)
    deleted: bool = False


class SimulatorState:
    """Everything the simulator remembers, guarded by `lock` (re-entrant, held briefly)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.generation = 0
        self.accounts: dict[str, Account] = {}
        self.executions: dict[str, WorkflowExecution] = {}
        self.token_owner: dict[str, TokenOwner] = {}
        self.tenant_tokens: dict[str, float] = {}

    def now(self) -> float:
        """The simulated clock in epoch seconds."""
        return time.time() + self.clock_offset

    def timestamp(self, at: float | None = None) -> str:
        """Jumio's timestamp format, UTC with milliseconds: 2021-05-28T09:17:50.240Z."""
        return format_timestamp(self.now() if at is None else at)

    def clear(self) -> None:
        """Forget everything; `generation` lets pending timers notice they are stale."""
        with self.lock:
            self.clock_offset = 0.0
            self.generation += 1
            self.accounts.clear()
            self.executions.clear()
            self.token_owner.clear()
            self.tenant_tokens.clear()

    def as_admin_state(self) -> dict[str, object]:
        """The `GET /__admin/state` document (no tokens, no personal data)."""
        with self.lock:
            accounts = {
                account.id: {
                    "workflowExecutions": list(account.workflow_ids),
                    "deleted": account.deleted,
                }
                for account in self.accounts.values()
            }
            executions = {
                execution.id: {
                    "accountId": execution.account_id,
                    "definitionKey": execution.definition_key,
                    "status": execution.status,
                    "finalizeCount": execution.finalize_count,
                    "deleted": execution.deleted,
                    "credentials": {
                        credential.id: {
                            "category": credential.category,
                            "parts": {
                                name: part.as_state() for name, part in credential.parts.items()
                            },
                            "pages": credential.pages,
                            "sha256": {
                                name: part.sha256
                                for name, part in credential.parts.items()
                                if part.count and part.sha256
                            },
                        }
                        for credential in execution.credentials.values()
                    },
                }
                for execution in self.executions.values()
            }
            return {"accounts": accounts, "workflowExecutions": executions}
