"""Fixtures shared by every test: the Jumio simulator, moto in-process and the provisioned stack.

Integration tests run the real template.yaml: the local cloud's provisioner creates every
resource in moto (in-process, ``mock_aws``), the project's invoker runs the real handler code
for Lambda invokes (including Step Functions tasks), and the functions talk over real HTTP to
the Jumio simulator on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

# No test may reach a real AWS account, even by accident.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


# Keep the Jumio client's own backoff and the wait for a late session short in tests; the
# retry *decisions* are the deployed ones.
FAST_RETRIES = {
    "JUMIO_BACKOFF_BASE": "0.01",
    "JUMIO_BACKOFF_CAP": "0.05",
    "SESSION_WAIT_BASE_SECONDS": "1",
    # A failed record comes back after 1 s instead of the deployed 10 s, 30 s, ... backoff.
    "RETRY_BACKOFF_BASE_SECONDS": "1",
    "RETRY_BACKOFF_CAP_SECONDS": "1",
    # Jumio's poll schedule (40 s .. 940 s after finalize), compressed to seconds.
    "VERDICT_POLL_SCHEDULE_SECONDS": "1,2,3,4,5,6,7,8,9,10",
}


@pytest.fixture(scope="session")
def _simulator_server() -> Iterator[object]:
    from jumio_simulator.testing import run_simulator

    with run_simulator(processing_delay=0.05) as handle:
        yield handle


@pytest.fixture
def simulator(_simulator_server):
    """The Jumio simulator over real HTTP on loopback, reset before each test."""
    _simulator_server.admin.reset()
    return _simulator_server


@pytest.fixture(scope="module")
def _module_simulator_server() -> Iterator[object]:
    from jumio_simulator.testing import run_simulator

    with run_simulator() as handle:
        yield handle


@pytest.fixture
def jumio_sim(_module_simulator_server):
    """A simulator of the test module's own, without the shared one's processing delay (for
    tests of the Jumio client that script faults), reset before each test: no state, no faults,
    no request log."""
    _module_simulator_server.admin.reset()
    return _module_simulator_server


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process with Step Functions really executing ASL and Lambda run by our invoker."""
    from moto import mock_aws

    from local_cloud import invoker

    # No "lambda": {"use_docker": False}: that selects moto's echo-only backend, which never
    # calls the _invoke_lambda that our invoker replaces.
    config = {"stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):
        invoker.install(mode="inprocess")
        try:
            yield
        finally:
            invoker.uninstall()


@pytest.fixture
def stack(aws, simulator):
    """template.yaml provisioned in moto, its functions pointed at the simulator."""
    from local_cloud.provisioner import provision

    provisioned = provision(
        TEMPLATE,
        parameters={"JumioBaseUrl": simulator.base_url, "LogLevel": "DEBUG"},
        env=FAST_RETRIES,
    )
    store_tenant_credentials(provisioned, simulator)
    return provisioned


def store_tenant_credentials(stack, simulator) -> None:
    """The simulator's client credentials in the stack's tenant secret, as an operator puts
    the real ones there after the first deploy (retrieval and deletion read them)."""
    import json

    import boto3

    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.physical("JumioTenantCredentials"),
        SecretString=json.dumps(
            {"clientId": simulator.client_id, "clientSecret": simulator.client_secret}
        ),
    )


@pytest.fixture
def poller(stack):
    """Drains the stack's SQS event sources synchronously through the real handlers."""
    from local_cloud.poller import EventSourcePoller

    return EventSourcePoller(stack)
