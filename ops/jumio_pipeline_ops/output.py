"""Printing a report: human text or JSON, and a last check that nothing secret goes out.

Reports are built from allowlisted fields (ids, statuses, codes, counts, times), so a token,
an href, a presigned URL or personal data has no way into them. The check here is the second
line: any URL, and any token or href the command had in hand, stops the output instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jumio_pipeline_ops.context import Context
from jumio_pipeline_ops.errors import OpsError


def emit(ctx: Context, report: Any, text: str, *, secrets: Iterable[str] = ()) -> None:
    """Write ``report`` as JSON (``--json``) or ``text``, after :func:`check_printable`."""
    rendered = json.dumps(report, indent=2, default=str) if ctx.as_json else text.rstrip("\n")
    check_printable(rendered, secrets)
    ctx.out.write(rendered + "\n")


def check_printable(rendered: str, secrets: Iterable[str] = ()) -> None:
    """OpsError if ``rendered`` holds a URL or one of ``secrets`` (never saying which)."""
    if "://" in rendered:
        raise OpsError("refusing to print: the report would contain a URL")
    if any(secret and secret in rendered for secret in secrets):
        raise OpsError("refusing to print: the report would contain a token or an href")


def table(rows: Iterable[Iterable[str]], indent: int = 2) -> str:
    """Left-aligned columns, two spaces apart."""
    materialised = [list(row) for row in rows]
    if not materialised:
        return ""
    widths = [
        max(len(row[i]) for row in materialised if i < len(row))
        for i in range(len(materialised[0]))
    ]
    lines = []
    for row in materialised:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((" " * indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)
