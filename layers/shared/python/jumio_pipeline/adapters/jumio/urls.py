"""Jumio URLs: checks on the hrefs Jumio handed out, and fallbacks built from the region.

The rule of the contract (§1) is to take credential URLs verbatim from the account response;
the builders here serve the tenant routes, and finalize for an account response without its href. Every id is checked to
be a UUID first, so a bad id fails here with its name instead of becoming a wrong request.
A token is sent only to a Jumio host (or the configured base), never to an arbitrary href.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from jumio_pipeline.adapters.jumio.settings import JumioSettings


def require_uuid(name: str, value: object) -> str:
    """Return ``value`` in lower case if it is a UUID, else raise naming the field."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a UUID string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{name} is not a UUID") from None
    if str(parsed) != value.lower():
        raise ValueError(f"{name} is not a UUID in its canonical form")
    return value.lower()


def require_jumio_href(settings: JumioSettings, href: object, *, name: str = "href") -> str:
    """Accept an href only if a bearer token may safely be sent to it.

    That is an https URL on a ``*.jumio.ai`` host, or any URL under the configured base URL
    (the simulator); never with user info, a query or a fragment.
    """
    if not isinstance(href, str) or not href:
        raise ValueError(f"{name} must be a non-empty URL string")
    parts = urlsplit(href)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{name} must have no credentials, query or fragment")
    if settings.base_url is not None:
        if href == settings.base_url or href.startswith(settings.base_url + "/"):
            return href
        raise ValueError(f"{name} is not under the configured JUMIO_BASE_URL")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host.endswith(".jumio.ai"):
        raise ValueError(f"{name} must be an https URL on a jumio.ai host")
    return href


def is_api_href(settings: JumioSettings, href: str) -> bool:
    """An href of the configured Credentials API: ``https://api.{region}.jumio.ai/...``, or
    under JUMIO_BASE_URL when that is set; no user info, query or fragment."""
    try:
        require_jumio_href(settings, href)
    except ValueError:
        return False
    if settings.base_url is not None:
        return True
    host = (urlsplit(href).hostname or "").lower()
    return host == f"api.{settings.region}.jumio.ai"


def token_url(settings: JumioSettings) -> str:
    """The OAuth2 client-credentials endpoint of the region."""
    return f"{settings.service_base('auth')}/oauth2/token"


def accounts_url(settings: JumioSettings) -> str:
    """Where a new account (and its first workflow execution) is created."""
    return f"{settings.service_base('account')}/api/v1/accounts"


def account_url(settings: JumioSettings, account_id: str) -> str:
    """Where an existing account gets a new workflow execution (PUT)."""
    return f"{accounts_url(settings)}/{require_uuid('account_id', account_id)}"


def retrieval_account_url(settings: JumioSettings, account_id: str) -> str:
    """The account on the retrieval host: deleting it removes every workflow under it."""
    account = require_uuid("account_id", account_id)
    return f"{settings.service_base('retrieval')}/api/v1/accounts/{account}"


def retrieval_workflow_url(settings: JumioSettings, account_id: str, workflow_id: str) -> str:
    """One workflow execution on the retrieval host (details, deletion)."""
    workflow = require_uuid("workflow_execution_id", workflow_id)
    return f"{retrieval_account_url(settings, account_id)}/workflow-executions/{workflow}"


def retrieval_status_url(settings: JumioSettings, account_id: str, workflow_id: str) -> str:
    """The status of one workflow execution on the retrieval host."""
    return f"{retrieval_workflow_url(settings, account_id, workflow_id)}/status"


def workflow_execution_href(settings: JumioSettings, account_id: str, workflow_id: str) -> str:
    """The Credentials-API workflow execution (finalize), for a response that lacks the href."""
    account = require_uuid("account_id", account_id)
    workflow = require_uuid("workflow_execution_id", workflow_id)
    base = settings.service_base("api")
    return f"{base}/api/v1/accounts/{account}/workflow-executions/{workflow}"
