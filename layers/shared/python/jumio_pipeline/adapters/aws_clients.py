"""AWS clients built on first use instead of at import: a cold start pays only for what it calls.

Why: a boto3 client or resource loads its service model and endpoint rules when it is built
(tens of milliseconds each, on a cold start), and a handler holds several adapters whose
clients one execution environment may never call (the DLQ, the requeue, the audit trail serve
rare paths). An adapter keeps a :class:`Deferred` stand-in instead; the real client is built the
first time one of its attributes is read, once, and then reused by every later invocation of
the environment, as a client built at import would be.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3

# One lock for every build: boto3's default session is not safe to set up from two threads
# (re-entrant: a build may use another stand-in).
_BUILD_LOCK = threading.RLock()
_OWN = frozenset({"_build", "_what", "_built"})


class Deferred:
    """Stands in for the object ``build()`` returns, building it on first attribute access."""

    def __init__(self, build: Callable[[], Any], what: str) -> None:
        self._build = build
        self._what = what
        self._built: Any = None

    def __getattr__(self, name: str) -> Any:
        # Only called for names the stand-in itself lacks: every client attribute and method.
        # Its own fields and dunders are never delegated (copy and pickle probe for them).
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.built(), name)

    def built(self) -> Any:
        """The real object, built now if it was not yet."""
        if self._built is None:
            with _BUILD_LOCK:
                if self._built is None:
                    self._built = self._build()
        return self._built

    @property
    def is_built(self) -> bool:
        """Whether the real object exists yet."""
        return self._built is not None

    def __repr__(self) -> str:
        return f"<Deferred {self._what}{'' if self.is_built else ' (not built yet)'}>"


def client(service_name: str, **kwargs: Any) -> Any:
    """A boto3 client of ``service_name``, built on first use."""
    return Deferred(lambda: boto3.client(service_name, **kwargs), f"{service_name} client")


def dynamodb_table(table_name: str, resource: Any = None) -> Any:
    """A DynamoDB ``Table`` of ``resource`` (at once), or of a resource built on first use."""
    if resource is not None:
        return resource.Table(table_name)
    return Deferred(lambda: boto3.resource("dynamodb").Table(table_name), "dynamodb table")
