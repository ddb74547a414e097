"""Start the local cloud: one moto server on loopback that executes state machines and runs
Lambda handlers in child processes.

Why these steps: moto's Step Functions engine calls Lambda through boto3 at
localhost:$MOTO_PORT, so MOTO_PORT must be the server's port; execution is off unless
switched on through /moto-api/config; and moto's Lambda runs Docker unless the invoker
replaces its runner. Note: `{"lambda": {"use_docker": false}}` must NOT be set — it swaps in
moto's echo-only Lambda backend, which never reaches the replaced runner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from local_cloud import invoker

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


@dataclass
class LocalCloud:
    """A running moto server; `endpoint_url` for boto3, `stop()` to shut it down."""

    endpoint_url: str
    port: int
    _server: Any

    def stop(self) -> None:
        """Stop the Lambda workers first, then the server, and put moto's runner back.

        Workers first: a request thread of the server that is waiting for a busy worker is then
        answered (with an error) instead of holding the stop up.
        """
        invoker.uninstall()
        self._server.stop()

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    function_env: Mapping[str, str] | None = None,
    echo_logs: bool = True,
) -> LocalCloud:
    """Start moto on host:port (0 picks a free port) and install the subprocess invoker."""
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    actual_port = server.get_host_and_port()[1]
    endpoint_url = f"http://{host}:{actual_port}"
    os.environ["MOTO_PORT"] = str(actual_port)  # where moto's Step Functions reaches Lambda
    response = requests.post(f"{endpoint_url}/moto-api/config", json=MOTO_CONFIG, timeout=10)
    if response.status_code >= 300:
        server.stop()
        raise RuntimeError(f"moto refused its config: HTTP {response.status_code}")
    invoker.install("subprocess", endpoint_url=endpoint_url, env=function_env, echo=echo_logs)
    return LocalCloud(endpoint_url=endpoint_url, port=actual_port, _server=server)
