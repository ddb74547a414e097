"""The Jumio client: settings, one pooled HTTP session, Credentials-API and tenant calls.

Build ``JumioSettings.from_env()`` and one ``JumioHttp`` per Lambda container (at cold start),
then ``CredentialsClient(http)`` and ``TenantClient(http, client_id, client_secret)`` on it.
"""

from jumio_pipeline.adapters.jumio.credentials import CredentialsClient
from jumio_pipeline.adapters.jumio.http import JumioHttp
from jumio_pipeline.adapters.jumio.settings import JumioSettings
from jumio_pipeline.adapters.jumio.tenant import TenantClient

__all__ = ["CredentialsClient", "JumioHttp", "JumioSettings", "TenantClient"]
