"""Opaque, JWT-looking tokens: clients must treat Jumio's tokens as opaque, so ours carry no data."""

from __future__ import annotations

import base64
import secrets

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS512","zip":"GZIP"}').rstrip(b"=").decode()


def _segment(size: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(size)).rstrip(b"=").decode()


def new_jwt_like_token() -> str:
    """Three base64url segments starting with `eyJ`, the payload and signature random."""
    return f"{_HEADER}.{_segment(96)}.{_segment(64)}"


def new_access_token() -> str:
    """A tenant OAuth access token (also opaque)."""
    return new_jwt_like_token()
