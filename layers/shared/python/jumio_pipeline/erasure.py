"""Carrying out an erasure request at Jumio and in AWS, in an order a retry can always finish.

The order is the whole design: every step keeps what the next one needs, and every step is
harmless to repeat.

1. close the session (status DELETED; tokens still there) so that no new part lands and the
   state machine's outcome cannot overwrite it; stop its running execution;
2. delete at Jumio, with the token or href the ledger still holds (404 = already gone);
3. remove the Powertools idempotency records of every listed S3 version (their ids are derived
   from the versions, so this happens before the versions go);
4. delete every object version and delete marker under the scope's prefix;
5. last, scrub the ledger: part items removed, tokens and hrefs dropped, ``erasedAt`` set.

A session with ``erasedAt`` is fully erased: a repeated request skips Jumio and finds nothing
left in AWS, and the audit records the repeat as a no-op.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from jumio_pipeline.audit import ErasureCounts, ErasureReport, JumioOutcome
from jumio_pipeline.deletion import (
    DeletionRequest,
    DeletionScope,
    JumioCall,
    JumioOperation,
    SessionErasure,
    capture_idempotency_ids,
    part_jumio_call,
    retention_cutoff,
    session_erasure,
    tenant_jumio_call,
)
from jumio_pipeline.dynamodb_pages import all_items
from jumio_pipeline.errors import InvalidMessage, PipelineError
from jumio_pipeline.jumio import CredentialsClient, JumioHttp, TenantClient
from jumio_pipeline.ledger import SESSION_SK, Ledger, PartStatus, SessionStatus

logger = logging.getLogger(__name__)

S3_DELETE_BATCH = 1000
CONFIRMED = "CONFIRMED"
SKIPPED_ALREADY_ERASED = "SKIPPED_ALREADY_ERASED"
SKIPPED_NOT_REGISTERED = "SKIPPED_NOT_REGISTERED"
SKIPPED_SESSION_DELETED = "SKIPPED_SESSION_DELETED"
DELETED_PART = PartStatus.DELETED.value  # status of a part tombstone


class ErasureRefused(PipelineError):
    """The request can never be carried out as asked (permanent: parked with the reason)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class ErasureIncomplete(PipelineError):
    """S3 refused some deletions; transient: the retry lists what is left and finishes."""


@dataclass(frozen=True)
class ObjectVersion:
    """One listed version or delete marker of a capture."""

    key: str
    version_id: str
    is_delete_marker: bool
    etag: str | None = None


class Eraser:
    """Erases what a request covers; collaborators are injected so tests use real moto ones."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        s3: Any,
        bucket: str,
        idempotency_table: Any,
        stepfunctions: Any,
        credentials: CredentialsClient,
        tenant: Callable[[], TenantClient],
        capture_idempotency_prefixes: tuple[str, ...],
    ) -> None:
        self._ledger = ledger
        self._table = ledger.table
        self._s3 = s3
        self._bucket = bucket
        self._idempotency = idempotency_table
        self._sfn = stepfunctions
        self._credentials = credentials
        self._tenant = tenant
        self._idempotency_prefixes = capture_idempotency_prefixes

    # --- entry points -------------------------------------------------------------------

    def erase(self, request: DeletionRequest) -> ErasureReport:
        """Carry the request out completely, or raise (transient: retry; permanent: park)."""
        report = ErasureReport(
            requestId=request.requestId,
            scope=request.scope.value,
            accountId=request.account_id,
            credentialId=request.credential_id,
            classifier=request.classifier,
            requestedBy=request.requestedBy,
        )
        if request.scope in (DeletionScope.PART, DeletionScope.DOCUMENT_PAGES):
            self._erase_part(request, report)
        elif request.scope is DeletionScope.SESSION:
            self._erase_sessions(request, report, [request.workflow_execution_id or ""])
        else:
            self._erase_account(request, report)
        return report

    def sessions_past_retention(self, retention_days: int, now: float) -> list[str]:
        """Ids of the sessions registered before the retention cutoff and not yet erased.

        A paginated Scan with a filter: it reads the whole ledger once a day, which is fine at
        the volumes of one tenant; a sparse GSI on registeredAt would be the next step.
        Half-erased sessions (DELETED without ``erasedAt``) are selected again to be finished.
        """
        kwargs: dict[str, Any] = {
            "FilterExpression": (
                "sk = :session AND registeredAt < :cutoff "
                "AND (#s <> :deleted OR attribute_not_exists(erasedAt))"
            ),
            "ProjectionExpression": "pk",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":session": SESSION_SK,
                ":cutoff": retention_cutoff(now, retention_days),
                ":deleted": SessionStatus.DELETED.value,
            },
        }
        return sorted(item["pk"] for item in all_items(self._table.scan, **kwargs))

    # --- scopes -------------------------------------------------------------------------

    def _erase_part(self, request: DeletionRequest, report: ErasureReport) -> None:
        """PART / DOCUMENT_PAGES: a redo before finalize; the session stays open."""
        wf = request.workflow_execution_id or ""
        report.workflowExecutionIds.append(wf)
        plan = session_erasure(request, wf)
        item = self._session_item(wf)
        parts = self._part_items(wf, plan.part_sort_key_prefix)
        if item is None:
            report.jumio.append(self._skipped(request, SKIPPED_NOT_REGISTERED))
        else:
            report.accountId = item["accountId"]
            status = SessionStatus(item["status"])
            if status is SessionStatus.DELETED:
                report.jumio.append(self._skipped(request, SKIPPED_SESSION_DELETED))
            elif status is not SessionStatus.REGISTERED:
                raise ErasureRefused(
                    "SESSION_NOT_ACTIVE",
                    f"the session is {status.value}: parts can be deleted at Jumio only before "
                    "finalize; request scope SESSION to erase it",
                )
            elif _only_tombstone(parts, plan):
                report.jumio.append(self._skipped(request, SKIPPED_ALREADY_ERASED))
            else:
                report.jumio.append(self._delete_part_at_jumio(request, item))
        self._erase_objects(plan, parts, report.counts)
        self._forget_part(plan, parts, item, request, report.counts)

    def _erase_sessions(
        self, request: DeletionRequest, report: ErasureReport, workflow_ids: list[str]
    ) -> None:
        """SESSION (one id) and the sessions of an ACCOUNT: close, Jumio, AWS, ledger."""
        items = {wf: self._session_item(wf) for wf in workflow_ids}
        report.workflowExecutionIds.extend(workflow_ids)
        for wf, item in items.items():
            if item is not None:
                report.accountId = report.accountId or item["accountId"]
                self._close_session(wf, item, request.requestId)
                report.counts.executionsStopped += self._stop_execution(item)
        if request.scope is DeletionScope.SESSION:
            report.jumio.append(self._delete_workflow_at_jumio(request, items[workflow_ids[0]]))
        for wf, item in items.items():
            plan = session_erasure(request, wf)
            parts = self._part_items(wf, plan.part_sort_key_prefix)
            self._erase_objects(plan, parts, report.counts)
            self._scrub_session(wf, item, parts, request.requestId, report.counts)

    def _erase_account(self, request: DeletionRequest, report: ErasureReport) -> None:
        """ACCOUNT: Jumio deletes the account and its workflows; every ledger session goes too."""
        account_id = request.account_id or ""
        workflow_ids = self._sessions_of_account(account_id)
        items = [self._session_item(wf) for wf in workflow_ids]
        erased = [item is not None and "erasedAt" in item for item in items]
        if workflow_ids and all(erased):
            report.jumio.append(self._skipped(request, SKIPPED_ALREADY_ERASED))
        else:
            # Close and stop first, so nothing lands while Jumio deletes the account.
            for wf, item in zip(workflow_ids, items, strict=True):
                if item is not None:
                    self._close_session(wf, item, request.requestId)
                    report.counts.executionsStopped += self._stop_execution(item)
            self._tenant().delete_account(account_id)
            report.jumio.append(JumioOutcome(JumioOperation.DELETE_ACCOUNT.value, CONFIRMED))
        self._erase_sessions(request, report, workflow_ids)

    # --- Jumio --------------------------------------------------------------------------

    def _delete_part_at_jumio(self, request: DeletionRequest, item: dict[str, Any]) -> JumioOutcome:
        credential = (item.get("credentials") or {}).get(request.credential_id or "")
        if credential is None:
            raise InvalidMessage(
                "UNKNOWN_CREDENTIAL",
                "credentialId is not a credential of this workflow execution",
                field="credentialId",
            )
        call = part_jumio_call(request, item["accountId"], dict(credential.get("parts") or {}))
        token = credential.get("token")
        if not token:
            raise ErasureRefused("NO_API_TOKEN", "the credential has no API token to delete with")
        if call.operation is JumioOperation.DELETE_ALL_PAGES:
            self._credentials.delete_all_pages(call.href or "", token)
        else:
            self._credentials.delete_part(call.href or "", token)
        return _confirmed(call)

    def _delete_workflow_at_jumio(
        self, request: DeletionRequest, item: dict[str, Any] | None
    ) -> JumioOutcome:
        if item is not None and "erasedAt" in item:
            return self._skipped(request, SKIPPED_ALREADY_ERASED)
        account_id = item["accountId"] if item is not None else request.account_id
        if account_id is None:
            # Never registered here: nothing was sent to Jumio by this pipeline.
            return self._skipped(request, SKIPPED_NOT_REGISTERED)
        call = tenant_jumio_call(request, account_id)
        self._tenant().delete_workflow_execution(account_id, call.workflow_execution_id or "")
        return _confirmed(call)

    @staticmethod
    def _skipped(request: DeletionRequest, outcome: str) -> JumioOutcome:
        operation = {
            DeletionScope.PART: JumioOperation.DELETE_PART,
            DeletionScope.DOCUMENT_PAGES: JumioOperation.DELETE_ALL_PAGES,
            DeletionScope.SESSION: JumioOperation.DELETE_WORKFLOW,
            DeletionScope.ACCOUNT: JumioOperation.DELETE_ACCOUNT,
        }[request.scope]
        return JumioOutcome(
            operation.value,
            outcome,
            workflowExecutionId=request.workflow_execution_id,
            credentialId=request.credential_id,
        )

    # --- ledger -------------------------------------------------------------------------

    def _session_item(self, wf: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": wf, "sk": SESSION_SK}, ConsistentRead=True).get(
            "Item"
        )

    def _part_items(self, wf: str, sort_key_prefix: str) -> list[dict[str, Any]]:
        return [p for p in self._ledger.parts(wf) if p["sk"].startswith(sort_key_prefix)]

    def _sessions_of_account(self, account_id: str) -> list[str]:
        """Every session of an account, through the byAccount GSI (keys only, paginated)."""
        items = all_items(
            self._table.query,
            IndexName="byAccount",
            KeyConditionExpression="accountId = :a",
            ExpressionAttributeValues={":a": account_id},
        )
        return sorted({item["pk"] for item in items if item["sk"] == SESSION_SK})

    def _close_session(self, wf: str, item: dict[str, Any], request_id: str) -> None:
        """Status DELETED before anything is erased: no part lands, no outcome overwrites it."""
        if item["status"] == SessionStatus.DELETED.value:
            return
        self._table.update_item(
            Key={"pk": wf, "sk": SESSION_SK},
            UpdateExpression="SET #s = :deleted, deletionRequestId = :r",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":deleted": SessionStatus.DELETED.value,
                ":r": request_id,
            },
        )

    def _scrub_session(
        self,
        wf: str,
        item: dict[str, Any] | None,
        parts: list[dict[str, Any]],
        request_id: str,
        counts: ErasureCounts,
    ) -> None:
        """Last step: part items gone, tokens and hrefs dropped, the session marked erased.

        The session item stays as a tombstone (ids, category names, status DELETED): it keeps
        a late capture or a replayed registration from bringing the session back.
        """
        for part in parts:
            self._table.delete_item(Key={"pk": wf, "sk": part["sk"]})
            counts.ledgerItems += 1
        if item is None or "erasedAt" in item:
            return
        scrubbed = {
            cid: {"category": cred.get("category", "UNKNOWN"), "parts": {}}
            for cid, cred in (item.get("credentials") or {}).items()
        }
        self._table.update_item(
            Key={"pk": wf, "sk": SESSION_SK},
            UpdateExpression=(
                "SET credentials = :c, erasedAt = :now, deletionRequestId = :r "
                "REMOVE taskToken, pendingParts, landedParts"
            ),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":c": scrubbed, ":now": int(time.time()), ":r": request_id},
        )
        counts.ledgerItems += 1

    def _forget_part(
        self,
        plan: SessionErasure,
        parts: list[dict[str, Any]],
        item: dict[str, Any] | None,
        request: DeletionRequest,
        counts: ErasureCounts,
    ) -> None:
        """PART scope, last step: part items replaced by a tombstone, the part pending again."""
        for part in parts:
            if part["sk"] == plan.tombstone_sort_key and part.get("status") == DELETED_PART:
                continue
            self._table.delete_item(Key={"pk": plan.workflow_execution_id, "sk": part["sk"]})
            counts.ledgerItems += 1
        if item is None or item["status"] != SessionStatus.REGISTERED.value:
            return
        self._table.put_item(
            Item={
                "pk": plan.workflow_execution_id,
                "sk": plan.tombstone_sort_key,
                "status": DELETED_PART,
                "deletionRequestId": request.requestId,
                "updatedAt": int(time.time()),
            }
        )
        if plan.part_ref in set(item.get("requiredParts") or ()):
            try:
                self._table.update_item(
                    Key={"pk": plan.workflow_execution_id, "sk": SESSION_SK},
                    UpdateExpression="ADD pendingParts :p DELETE landedParts :p",
                    ConditionExpression="#s = :registered",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":p": {plan.part_ref},
                        ":registered": SessionStatus.REGISTERED.value,
                    },
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise

    # --- Step Functions -----------------------------------------------------------------

    def _stop_execution(self, item: dict[str, Any]) -> int:
        """Stop the session's execution if it still runs; 1 when one was stopped."""
        arn = item.get("executionArn")
        if not arn:
            return 0
        try:
            status = self._sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                return 0
            self._sfn.stop_execution(
                executionArn=arn, error="SessionDeleted", cause="erased on request"
            )
            return 1
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return 0
            raise

    # --- S3 and idempotency -------------------------------------------------------------

    def _erase_objects(
        self, plan: SessionErasure, parts: list[dict[str, Any]], counts: ErasureCounts
    ) -> None:
        """Idempotency records first (their ids come from the versions), then the versions."""
        versions = list(self._versions(plan.object_prefix))
        ids: set[str] = set()
        for version in versions:
            if not version.is_delete_marker:
                ids |= capture_idempotency_ids(
                    self._idempotency_prefixes,
                    self._bucket,
                    version.key,
                    version.version_id,
                    version.etag,
                )
        for part in parts:
            ids.update(part.get("idempotencyIds") or ())
            if part.get("idempotencyKey"):
                ids.add(part["idempotencyKey"])
        for record_id in sorted(ids):
            removed = self._idempotency.delete_item(Key={"id": record_id}, ReturnValues="ALL_OLD")
            counts.idempotencyRecords += 1 if removed.get("Attributes") else 0
        for start in range(0, len(versions), S3_DELETE_BATCH):
            self._delete_batch(versions[start : start + S3_DELETE_BATCH], counts)

    def _versions(self, prefix: str) -> Iterator[ObjectVersion]:
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                yield ObjectVersion(
                    version["Key"], version["VersionId"], False, version.get("ETag")
                )
            for marker in page.get("DeleteMarkers", []):
                yield ObjectVersion(marker["Key"], marker["VersionId"], True)

    def _delete_batch(self, batch: list[ObjectVersion], counts: ErasureCounts) -> None:
        response = self._s3.delete_objects(
            Bucket=self._bucket,
            Delete={
                "Objects": [{"Key": v.key, "VersionId": v.version_id} for v in batch],
                "Quiet": False,
            },
        )
        markers = {(v.key, v.version_id) for v in batch if v.is_delete_marker}
        for deleted in response.get("Deleted", []):
            if (deleted["Key"], deleted.get("VersionId")) in markers:
                counts.deleteMarkers += 1
            else:
                counts.objectVersions += 1
        if response.get("Errors"):
            codes = sorted({error.get("Code", "?") for error in response["Errors"]})
            raise ErasureIncomplete(
                f"S3 kept {len(response['Errors'])} object version(s): {', '.join(codes)}"
            )


def _only_tombstone(parts: list[dict[str, Any]], plan: SessionErasure) -> bool:
    """A part erased before and not captured again since: Jumio has nothing of it."""
    return bool(parts) and all(
        p["sk"] == plan.tombstone_sort_key and p.get("status") == DELETED_PART for p in parts
    )


def _confirmed(call: JumioCall) -> JumioOutcome:
    return JumioOutcome(
        call.operation.value,
        CONFIRMED,
        workflowExecutionId=call.workflow_execution_id,
        credentialId=call.credential_id,
    )


class TenantClientProvider:
    """The tenant client for the credentials currently in Secrets Manager.

    ``read_secret`` is Powertools' cached ``get_secret(..., transform="json", max_age=...)``;
    the client (and its cached OAuth token) is rebuilt only when the secret's value changes,
    e.g. after a rotation.
    """

    def __init__(self, read_secret: Callable[[], Any], http: JumioHttp) -> None:
        self._read_secret = read_secret
        self._http = http
        self._client: TenantClient | None = None
        self._fingerprint: tuple[str, str] | None = None

    def __call__(self) -> TenantClient:
        secret = self._read_secret()
        if not isinstance(secret, dict):
            raise ErasureRefused("TENANT_CREDENTIALS_INVALID", "the secret is not a JSON object")
        for name in ("clientId", "clientSecret"):
            if not isinstance(secret.get(name), str) or not secret[name]:
                raise ErasureRefused(
                    "TENANT_CREDENTIALS_INVALID", f"the secret has no {name} string"
                )
        fingerprint = (secret["clientId"], secret["clientSecret"])
        if self._client is None or fingerprint != self._fingerprint:
            self._client = TenantClient(self._http, secret["clientId"], secret["clientSecret"])
            self._fingerprint = fingerprint
        return self._client
