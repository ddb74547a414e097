"""`python -m local_cloud session`: register one session on a running `make up`, by hand.

Why: to try the pipeline with the AWS CLI or boto3 an operator needs a real workflow execution
at the (simulated) Jumio and its registration on the sessions queue — exactly what an upstream
service does in production. This does both, through the project's own Jumio client and the
public SQS API, and prints the ids and the keys to upload to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from jumio_pipeline.adapters.jumio import JumioHttp, JumioSettings, TenantClient
from local_cloud import demo_data
from local_cloud.demo_data import DemoSession
from local_cloud.runtime import FAKE_CREDENTIALS


@dataclass(frozen=True)
class SessionTarget:
    """Where the running local cloud is (what `up` printed)."""

    endpoint_url: str
    jumio_url: str
    sessions_queue_url: str
    bucket: str
    prepared_data_queue_url: str
    client_id: str = "local-client"
    client_secret: str = "local-secret"  # noqa: S105 - the simulator's documented default
    region: str = "us-east-1"


def create_and_register(target: SessionTarget, workflow_key: int = 10013) -> DemoSession:
    """Create an account at the simulator and send its response to the sessions queue."""
    settings = JumioSettings(base_url=target.jumio_url, user_agent="LocalCloud session-helper/1.0")
    tenant = TenantClient(JumioHttp(settings), target.client_id, target.client_secret)
    response = tenant.create_account(
        {
            "customerInternalReference": "local-cloud-session-helper",
            "workflowDefinition": {"key": workflow_key},
            "tokenLifetime": demo_data.TOKEN_LIFETIME,
        }
    )
    sqs = boto3.client(
        "sqs", endpoint_url=target.endpoint_url, region_name=target.region, **FAKE_CREDENTIALS
    )
    sqs.send_message(
        QueueUrl=target.sessions_queue_url,
        MessageBody=json.dumps(demo_data.registration_message(response, 0)),
    )
    return DemoSession.from_account_response(0, response)


def describe(session: DemoSession, target: SessionTarget) -> dict[str, Any]:
    """The ids and ready-to-run commands for this session (no token: those stay in the ledger)."""
    aws = f"aws --endpoint-url {target.endpoint_url}"
    keys = {
        classifier: session.capture_key(category, classifier)
        for category, classifier in (("ID", "FRONT"), ("ID", "BACK"), ("SELFIE", "FACE"))
        if category in session.credential_ids
    }
    prepared = json.dumps(
        {"workflowExecutionId": session.workflow_execution_id, "data": {"firstName": "Demo"}}
    )
    commands = [f"{aws} s3 cp ./{c.lower()}.jpg s3://{target.bucket}/{k}" for c, k in keys.items()]
    commands.append(
        f"{aws} sqs send-message --queue-url {target.prepared_data_queue_url} "
        f"--message-body '{prepared}'"
    )
    return {
        "accountId": session.account_id,
        "workflowExecutionId": session.workflow_execution_id,
        "credentials": session.credential_ids,
        "keys": keys,
        "commands": commands,
    }
