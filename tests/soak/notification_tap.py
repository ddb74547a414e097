"""Every S3 notification twice: the soak sends again the very message S3 (moto) queued.

Why a tap and not a hand-built copy: S3 delivers at least once, and its duplicate is the *same*
message. A copy built by hand from the object (say with its versionId, which moto's
notifications do not carry, docs/local-cloud.md) would name a different capture identity to
the pipeline, whose idempotency keys on bucket, key and versionId (else the eTag), and would
test another race than the one production has. The tap records the body moto's S3 backend
puts on the queue for each object, so the second copy is identical whatever moto's format is:
the object's real key, size and eTag, and versionId and sequencer where moto writes them.

It works because the local cloud's moto server runs in this process (local_cloud.runtime):
its S3 backend sends notifications through `moto.s3.notifications._send_sqs_message`.
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any
from urllib.parse import unquote_plus

from moto.s3 import notifications

_HOOK = "_send_sqs_message"


class NotificationTapError(RuntimeError):
    """moto changed, or a notification the soak expected was never sent."""


class NotificationTap:
    """Records each S3 → SQS notification body by (bucket, key) while installed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[tuple[str, str], list[str]] = {}
        self._original: Any = None

    def __enter__(self) -> NotificationTap:
        original = getattr(notifications, _HOOK, None)
        if not callable(original):
            raise NotificationTapError(
                f"moto.s3.notifications.{_HOOK} is gone: the soak cannot copy S3 notifications"
            )
        self._original = original

        def tapped(account_id: str, event_body: Any, queue_name: str, region_name: str) -> None:
            self._record(event_body)
            original(account_id, event_body, queue_name, region_name)

        setattr(notifications, _HOOK, tapped)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        setattr(notifications, _HOOK, self._original)

    def _record(self, event_body: dict[str, Any]) -> None:
        body = json.dumps(event_body)  # what moto sends: json.dumps of the same dict
        with self._lock:
            for record in event_body.get("Records", []):
                s3 = record["s3"]
                key = (s3["bucket"]["name"], unquote_plus(s3["object"]["key"]))
                self._bodies.setdefault(key, []).append(body)

    def take(self, bucket: str, key: str) -> str:
        """The oldest notification body recorded for this object and not yet taken."""
        with self._lock:
            bodies = self._bodies.get((bucket, key))
            if not bodies:
                raise NotificationTapError(f"S3 sent no notification for s3://{bucket}/{key}")
            return bodies.pop(0)


def check_names_object(body: str, *, etag: str, size: int, version_id: str | None) -> None:
    """The copy must name the object just written: its eTag, size and (if given) versionId."""
    s3_object = json.loads(body)["Records"][0]["s3"]["object"]
    problems = []
    if s3_object.get("eTag") != etag.strip('"'):
        problems.append("eTag")
    if int(s3_object.get("size", -1)) != size:
        problems.append("size")
    if "versionId" in s3_object and s3_object["versionId"] != version_id:
        problems.append("versionId")
    if problems:
        raise NotificationTapError(
            f"the notification names another object version ({', '.join(problems)} differ)"
        )
