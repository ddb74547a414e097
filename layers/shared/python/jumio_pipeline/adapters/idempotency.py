"""Powertools idempotency as the pipeline uses it: "run once" guards and their record ids.

Records are named ``{key_prefix}#{md5(json.dumps(data, sort_keys=True))}`` when the guarded
function has a fixed ``key_prefix`` (Powertools' default prefix, ``{function}.{module}.{qualname}``,
would differ between Lambda and the local runner). add_part and upload_prepared_data use the
fixed prefixes below, so that erasure can compute and delete the records of what it erases;
a test in tests/integration/test_deletion.py checks that the ids computed here are the ones
Powertools writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import jmespath
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from jumio_pipeline.adapters import aws_clients
from jumio_pipeline.domain.capture_identity import ObjectVersion

CAPTURE_KEY_PREFIX = "add_part.deliver_once"
PREPARED_DATA_KEY_PREFIX = "upload_prepared_data"
ERASURE_REQUEST_KEY_PREFIX = "deletion.request"
ONE_DAY_SECONDS = 86400

Result = TypeVar("Result")


def idempotency_record_id(key_prefix: str, data: Any) -> str:
    """The record id Powertools writes for ``data`` under ``key_prefix``."""
    digest = hashlib.md5(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False)
    return f"{key_prefix}#{digest.hexdigest()}"


def capture_version_labels(version_id: str | None, etag: str | None) -> set[str]:
    """The labels add_part may have keyed a version on (``CaptureIdentity.version_label``).

    The notification's versionId when it has one (AWS), else ``etag:{eTag}`` (moto's events
    carry no versionId), else ``null``. Erasure cannot know which one the event carried, so it
    removes the records of every label the version could have had.
    """
    labels = {version_id} if version_id else set()
    if etag:
        labels.add(f"etag:{etag.strip(chr(34))}")
    return labels or {"null"}


def capture_idempotency_ids(bucket: str, key: str, version_id: str, etag: str | None) -> set[str]:
    """The record ids one capture version may have (add_part keys on [bucket, key, version])."""
    return {
        idempotency_record_id(CAPTURE_KEY_PREFIX, [bucket, key, label])
        for label in capture_version_labels(version_id, etag)
    }


class RunOnce:
    """A Powertools idempotency guard with a fixed key prefix, applied to any function.

    ``guard(fn)`` returns ``fn`` wrapped so that a call with the same ``data_keyword`` value
    runs once within the expiry window; concurrent copies meet the in-progress record.
    """

    def __init__(
        self,
        *,
        table_name: str,
        key_prefix: str,
        data_keyword: str,
        event_key_jmespath: str | None = None,
        expires_after_seconds: int = ONE_DAY_SECONDS,
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=event_key_jmespath or "",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        # Built on first use: the layer builds its DynamoDB client in its constructor.
        self._persistence = aws_clients.Deferred(
            lambda: DynamoDBPersistenceLayer(table_name=table_name), "idempotency store"
        )
        self._key_prefix = key_prefix
        self._data_keyword = data_keyword

    def guard(self, function: Callable[..., Result]) -> Callable[..., Result]:
        """``function`` under the guard."""
        return idempotent_function(
            data_keyword_argument=self._data_keyword,
            persistence_store=self._persistence,
            config=self.config,
            key_prefix=self._key_prefix,
        )(function)

    def record_id(self, data: Any) -> str:
        """The id of the record that guards ``data`` (erasure deletes it by this id)."""
        selector = self.config.event_key_jmespath
        return idempotency_record_id(
            self._key_prefix, jmespath.search(selector, data) if selector else data
        )

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets Powertools bound an in-progress record by the invocation's remaining time."""
        self.config.register_lambda_context(context)


class IdempotencyRecords:
    """Deletes idempotency records, so that erasure leaves no id of erased data behind."""

    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = aws_clients.dynamodb_table(table_name, resource)

    def delete_for(
        self, bucket: str, versions: Iterable[ObjectVersion], extra_ids: Iterable[str]
    ) -> int:
        """Delete the records of these capture versions and the given ids; how many existed."""
        ids: set[str] = set(extra_ids)
        for version in versions:
            if not version.is_delete_marker:
                ids |= capture_idempotency_ids(
                    bucket, version.key, version.version_id, version.etag
                )
        removed = 0
        for record_id in sorted(ids):
            answer = self._table.delete_item(Key={"id": record_id}, ReturnValues="ALL_OLD")
            removed += 1 if answer.get("Attributes") else 0
        return removed
