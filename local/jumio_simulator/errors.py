"""The error every simulated refusal raises, so handlers can stop early with Jumio's shape."""

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

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.headers = headers or {}

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


def conflict(code: str, detail: str) -> ApiError:
    """409 with a detail starting with a machine-readable code (PART_EXISTS, ...)."""
    return ApiError(409, f"{code}: {detail}")
