"""The route table: method + path pattern → route name (the names faults and logs use)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = r"(?P<{}>[^/]+)"
_ACCOUNT = "/api/v1/accounts/" + _ID.format("account")
_EXECUTION = _ACCOUNT + "/workflow-executions/" + _ID.format("execution")
_PARTS = _EXECUTION + "/credentials/" + _ID.format("credential") + "/parts"
_CLASSIFIER = _PARTS + "/" + _ID.format("classifier")

ROUTE_NAMES = (
    "token",
    "account_create",
    "account_update",
    "add_part",
    "update_part",
    "prepared_data",
    "document",
    "delete_part",
    "delete_pages",
    "finalize",
    "status",
    "details",
    "delete_workflow",
    "delete_account",
)

# (method, pattern, route name); a classifier route is refined by `_refine` below.
_TABLE: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/oauth2/token"), "token"),
    ("POST", re.compile(r"/api/v1/accounts"), "account_create"),
    ("PUT", re.compile(_ACCOUNT), "account_update"),
    ("DELETE", re.compile(_ACCOUNT), "delete_account"),
    ("PUT", re.compile(_EXECUTION), "finalize"),
    ("DELETE", re.compile(_EXECUTION), "delete_workflow"),
    ("GET", re.compile(_EXECUTION + "/status"), "status"),
    ("GET", re.compile(_EXECUTION), "details"),
    ("POST", re.compile(_CLASSIFIER), "add_part"),
    ("PUT", re.compile(_CLASSIFIER), "update_part"),
    ("DELETE", re.compile(_CLASSIFIER), "delete_part"),
    ("POST", re.compile(_PARTS), "document"),
]


@dataclass(frozen=True)
class RouteMatch:
    """A matched route: its name and the raw path parameters (validated by the handlers)."""

    name: str
    params: dict[str, str]


def _refine(method: str, name: str, params: dict[str, str]) -> str:
    """PREPARED_DATA and DOCUMENT share the classifier path but are their own operations."""
    classifier = params.get("classifier")
    if classifier == "PREPARED_DATA" and method in ("POST", "PUT"):
        return "prepared_data"
    if classifier == "DOCUMENT" and method == "POST":
        return "document"
    if classifier == "DOCUMENT" and method == "DELETE":
        return "delete_pages"
    return name


def match_route(method: str, path: str) -> RouteMatch | None:
    """The route for this request, or None (unknown path or method)."""
    for route_method, pattern, name in _TABLE:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            params = found.groupdict()
            if name == "document":
                params["classifier"] = "DOCUMENT"
            return RouteMatch(_refine(method, name, params), params)
    return None


def path_is_known(path: str) -> bool:
    """True when some route has this path (so a wrong method is a 405, not a 404)."""
    return any(pattern.fullmatch(path) for _, pattern, _ in _TABLE)
