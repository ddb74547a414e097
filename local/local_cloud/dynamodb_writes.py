"""Make moto's DynamoDB item writes atomic, as they are in AWS.

Why: the pipeline decides "exactly once" with conditional writes (the completion claim, the
idempotency records). In AWS a conditional write is atomic; moto checks the condition and then
writes, and another thread — a moto server request thread, a Step Functions task, an
in-process handler — can slip in between, so two conditional writers could both win. This
module serialises moto's item writes (put, update, delete, transactional write) behind one lock.
They are private methods of moto's backend, checked before they are wrapped.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

WRITE_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items")
_LOCK = threading.RLock()
_originals: dict[str, Callable[..., Any]] = {}


class IncompatibleMotoError(RuntimeError):
    """moto's DynamoDB backend no longer has the write methods this module wraps."""


def install() -> None:
    """Wrap the write methods (once per process; the provisioner calls this for every table)."""
    from moto.dynamodb.models import DynamoDBBackend

    with _LOCK:
        if _originals:
            return
        missing = [
            name for name in WRITE_METHODS if not callable(getattr(DynamoDBBackend, name, None))
        ]
        if missing:
            import moto

            raise IncompatibleMotoError(
                f"moto {moto.__version__}: DynamoDBBackend has no {', '.join(missing)}; "
                "local_cloud.dynamodb_writes must be adapted (tested with moto 5.2.5)"
            )
        for name in WRITE_METHODS:
            original = getattr(DynamoDBBackend, name)
            _originals[name] = original
            setattr(DynamoDBBackend, name, _serialised(original))


def uninstall() -> None:
    """Put moto's own methods back."""
    from moto.dynamodb.models import DynamoDBBackend

    with _LOCK:
        for name, original in _originals.items():
            setattr(DynamoDBBackend, name, original)
        _originals.clear()


def installed() -> bool:
    """Whether item writes are serialised."""
    return bool(_originals)


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return write
