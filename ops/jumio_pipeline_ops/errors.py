"""The one error an operator command raises on purpose: printed as one line, no traceback."""

from __future__ import annotations


class OpsError(Exception):
    """A command cannot go on (unknown stack, resource or session; invalid arguments).

    Messages name ids and codes only, never a token, a body or a value of personal data.
    """
