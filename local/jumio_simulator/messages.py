"""Transport-neutral request/response objects, so handlers never touch sockets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from jumio_simulator.errors import ApiError, bad_request, unauthorized


@dataclass(frozen=True)
class ApiRequest:
    """One parsed HTTP request. `headers` is case-insensitive (an `email.message.Message`)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    def header(self, name: str) -> str:
        """A header value, '' when absent."""
        return (self.headers.get(name) or "").strip()

    def content_type(self) -> str:
        """The Content-Type header as sent (parameters included)."""
        return self.header("Content-Type")

    def require_user_agent(self) -> None:
        """Jumio refuses requests without a User-Agent naming the caller: 403."""
        if not self.header("User-Agent"):
            raise ApiError(403, "User-Agent header is required")

    def bearer_token(self) -> str:
        """The Bearer token, or 401 when the Authorization header is missing or not Bearer."""
        scheme, _, token = self.header("Authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization: Bearer <token> is required")
        return token.strip()

    def json_body(self) -> object:
        """The body parsed as JSON, or 400 naming the problem."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise bad_request(f"body is not valid JSON ({type(error).__name__})") from error


@dataclass
class ApiResponse:
    """A JSON answer."""

    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The UTF-8 JSON bytes sent on the wire."""
        return json.dumps(self.body).encode("utf-8")
