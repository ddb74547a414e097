"""The demo's two seams with the stack, on the real template.yaml: a subscriber created at run
time on the verdict bus receives what the pipeline's publisher sends, and the callback URL
built from the stack's outputs and the CallbackSecret value reaches the callback function.

Why: the local cloud's EventBridge delivery is put in place when the template's bus is
created; a rule created later through the API (as a subscribing service does) must be
delivered the same way, as AWS sends it. And a callback URL built wrongly would be refused as
NOT_FOUND: the demo would then only ever show polling.
"""

from __future__ import annotations

import json

import boto3
import requests

from jumio_pipeline.adapters.verdict_events import EventBridgeVerdicts
from local_cloud import demo_verdicts
from local_cloud.demo_verdicts import VerdictSubscriber

WF = "5d15fc80-a14a-435f-9334-5541ffe00b7e"
DETAIL = {
    "schemaVersion": "1",
    "workflowExecutionId": WF,
    "accountId": "9e4c8f7a-52a8-4b27-9a0b-0a2c0b7c1d11",
    "reference": "demo-3-warn",
    "verdict": "WARNING",
    "decision": {"type": "WARNING", "label": "ALERT", "riskScore": 58, "capabilities": {}},
    "source": "polling",
    "finalizedAt": "2026-01-01T00:00:00Z",
    "decidedAt": "2026-01-01T00:00:05Z",
    "publishedAt": "2026-01-01T00:00:05Z",
}


def test_a_rule_created_at_run_time_receives_the_pipelines_verdict_event(stack) -> None:
    bus = stack.outputs["VerdictBusName"]
    subscriber = VerdictSubscriber(boto3.client("events"), boto3.client("sqs"), bus)
    subscriber.subscribe()

    EventBridgeVerdicts(bus).publish(DETAIL)
    EventBridgeVerdicts(bus).publish({**DETAIL, "workflowExecutionId": "other"})

    received = subscriber.receive(now=1.0)
    assert sorted(e.workflow_execution_id for e in received) == sorted([WF, "other"])
    event = next(e for e in received if e.workflow_execution_id == WF)
    assert (event.verdict, event.decision, event.label, event.source) == (
        "WARNING",
        "WARNING",
        "ALERT",
        "polling",
    )
    assert event.event_id  # the whole event as AWS delivers it, not only the detail
    assert subscriber.receive(now=2.0) == []  # each message read once


def test_the_subscriber_ignores_other_events_on_the_bus(stack) -> None:
    bus = stack.outputs["VerdictBusName"]
    subscriber = VerdictSubscriber(boto3.client("events"), boto3.client("sqs"), bus)
    subscriber.subscribe()
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "someone-else",
                "DetailType": demo_verdicts.DETAIL_TYPE,
                "Detail": json.dumps(DETAIL),
            }
        ]
    )
    assert subscriber.receive(now=1.0) == []


def test_the_operators_callback_url_reaches_the_callback_function(stack) -> None:
    url = demo_verdicts.operator_callback_url(stack.outputs, boto3.client("secretsmanager"))
    # An empty body past the secret path is refused as an invalid callback (400), which only
    # happens once the path matched; a wrong secret is NOT_FOUND (404).
    assert requests.post(url, json={}, timeout=30).status_code == 400
    assert requests.post(url + "x", json={}, timeout=30).status_code == 404


def test_a_run_time_rule_gets_the_event_as_aws_delivers_it(stack) -> None:
    bus = stack.outputs["VerdictBusName"]
    sqs = boto3.client("sqs")
    subscriber = VerdictSubscriber(boto3.client("events"), sqs, bus)
    subscriber.subscribe()
    EventBridgeVerdicts(bus).publish(DETAIL)
    (message,) = sqs.receive_message(QueueUrl=subscriber.queue_url)["Messages"]
    event = json.loads(message["Body"])
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["detail"] == DETAIL
