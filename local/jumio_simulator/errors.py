"""The error every simulated refusal raises, so handlers can stop early with Jumio's shape.

A refusal Jumio does not document (a conflict) carries its kind, so the dispatcher can answer
it as the active error mode says: strict keeps a machine-readable detail prefix, opaque turns
every conflict into one generic body (see `error_modes`).
"""

from __future__ import annotations

HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """A refusal answered as JSON `{"title", "status", "detail"}` (the documented 429 shape)."""

    def __init__(
        self,
        status: int,
        detail: str,
        headers: dict[str, str] | None = None,
        *,
        conflict_kind: str | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.conflict_kind = conflict_kind

    def body(self) -> dict[str, object]:
        """The JSON body Jumio-style clients parse."""
        return {
            "title": HTTP_TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
        }


def bad_request(detail: str) -> ApiError:
    """400: the request itself is malformed or breaks a documented limit."""
    return ApiError(400, detail)


def unauthorized(detail: str) -> ApiError:
    """401: missing, unknown, foreign or expired token."""
    return ApiError(401, detail)


def not_found(detail: str) -> ApiError:
    """404: an id that is not a UUID, unknown, deleted or not under its parent."""
    return ApiError(404, detail)


def forbidden(detail: str) -> ApiError:
    """403: a valid token used where it was not issued for, or a missing User-Agent."""
    return ApiError(403, detail)


def conflict(kind: str, code: str, detail: str) -> ApiError:
    """An undocumented refusal: strict answers 409 with `CODE: detail` (PART_EXISTS, ...)."""
    return ApiError(409, f"{code}: {detail}", conflict_kind=kind)


def undocumented_not_found(kind: str, detail: str) -> ApiError:
    """An undocumented refusal that strict mode answers 404 (absent part, deleted execution)."""
    return ApiError(404, detail, conflict_kind=kind)
