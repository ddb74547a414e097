"""Every item of a DynamoDB Query or Scan, across pages.

boto3's resource Table has no paginator; without following ``LastEvaluatedKey`` a query
silently stops at 1 MB, which for erasure would mean data left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def all_items(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield the items of ``table.query`` or ``table.scan`` called with ``kwargs``, page by page."""
    while True:
        page = operation(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
