"""Tenant calls with the OAuth2 access token: accounts, retrieval status, deletion.

The access token is fetched with the client credentials and reused until shortly before it
expires (Jumio asks not to fetch one per transaction and limits the token endpoint to 10/s);
one lock keeps concurrent threads from fetching it twice. A 401 means the token went stale
early: it is dropped, fetched once more and the call repeated once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from jumio_pipeline.adapters.jumio import urls
from jumio_pipeline.adapters.jumio.http import JumioHttp
from jumio_pipeline.adapters.jumio.responses import json_body
from jumio_pipeline.domain.errors import JumioAuthError, JumioNotFound, JumioUnavailable

logger = logging.getLogger(__name__)


class TenantClient:
    """Account create/update, retrieval status and deletion for one Jumio tenant."""

    def __init__(
        self,
        http: JumioHttp,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ValueError("client_id must be a non-empty string")
        if not isinstance(client_secret, str) or not client_secret:
            raise ValueError("client_secret must be a non-empty string")
        self._http = http
        self._settings = http.settings
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_good_until = 0.0

    def __repr__(self) -> str:
        """Never show the secret or the token."""
        return f"TenantClient(client_id={self._client_id!r})"

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an account and its first workflow execution.

        Not repeated once the request may have reached Jumio (a read timeout or reset): each
        success starts a billable workflow execution, so the caller reconciles instead.
        """
        _require_body(body)
        response = self._call(
            "account_create", "POST", urls.accounts_url(self._settings), body, False
        )
        return json_body("account_create", response)

    def update_account(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Start a new workflow execution on an existing account (same no-repeat rule)."""
        _require_body(body)
        url = urls.account_url(self._settings, account_id)
        return json_body("account_update", self._call("account_update", "PUT", url, body, False))

    def retrieval_status(self, account_id: str, wf_id: str) -> dict[str, Any]:
        """The status of one workflow execution (INITIATED, ACQUIRED, PROCESSED, ...)."""
        url = urls.retrieval_status_url(self._settings, account_id, wf_id)
        return json_body("status", self._call("status", "GET", url))

    def retrieval_details(self, account_id: str, wf_id: str) -> dict[str, Any]:
        """The details of one workflow execution (credentials and parts; decision when done)."""
        url = urls.retrieval_workflow_url(self._settings, account_id, wf_id)
        return json_body("details", self._call("details", "GET", url))

    def delete_workflow_execution(self, account_id: str, wf_id: str) -> None:
        """Delete one workflow execution's images and data; unknown means already gone."""
        url = urls.retrieval_workflow_url(self._settings, account_id, wf_id)
        self._delete("delete_workflow", url)

    def delete_account(self, account_id: str) -> None:
        """Delete the account and every workflow under it; unknown means already gone."""
        self._delete("delete_account", urls.retrieval_account_url(self._settings, account_id))

    def _delete(self, operation: str, url: str) -> None:
        """DELETE where 404 means the goal is reached: logged, not raised."""
        try:
            self._call(operation, "DELETE", url)
        except JumioNotFound:
            logger.info("jumio %s: already gone (HTTP 404)", operation)

    def _call(
        self,
        operation: str,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        retry_after_sent: bool = True,
    ) -> requests.Response:
        """One tenant call; on 401 drop the token, fetch a new one, and try once more."""
        token = self._access_token()
        try:
            return self._http.send(
                operation,
                method,
                url,
                bearer=token,
                json_body=body,
                retry_after_sent=retry_after_sent,
            )
        except JumioAuthError as error:
            if error.status != 401:
                raise
        logger.info("jumio %s: access token refused (401), fetching a new one", operation)
        self._forget(token)
        return self._http.send(
            operation,
            method,
            url,
            bearer=self._access_token(),
            json_body=body,
            retry_after_sent=retry_after_sent,
        )

    def _access_token(self) -> str:
        """The cached access token, fetched first if there is none or it is about to expire."""
        with self._lock:
            if self._token is not None and self._clock() < self._token_good_until:
                return self._token
            fetched_at = self._clock()
            response = self._http.send(
                "token",
                "POST",
                urls.token_url(self._settings),
                basic_auth=(self._client_id, self._client_secret),
                form={"grant_type": "client_credentials"},
            )
            token, lifetime = _token_and_lifetime(json_body("token", response))
            margin = min(self._settings.token_refresh_margin, lifetime / 2)
            self._token = token
            self._token_good_until = fetched_at + lifetime - margin
            return token

    def _forget(self, token: str) -> None:
        """Drop the cached token, unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._token_good_until = 0.0


def _token_and_lifetime(body: dict[str, Any]) -> tuple[str, float]:
    """The access token and its lifetime in seconds from the token answer, both checked."""
    token, lifetime = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not token:
        raise JumioUnavailable("token: answer without an access_token", operation="token")
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
        raise JumioUnavailable("token: answer without a positive expires_in", operation="token")
    return token, float(lifetime)


def _require_body(body: object) -> None:
    """Account bodies are JSON objects; say so before sending anything."""
    if not isinstance(body, dict) or not body:
        raise ValueError("account body must be a non-empty JSON object")
