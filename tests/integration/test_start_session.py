"""Starting a session in one call, from outside: the function URL (SigV4) and the queue.

A backend signs its request as any AWS caller would; the function gets the tenant's token,
creates the account at the simulator with the stack's callback URL, registers the session and
answers with presigned POSTs, with which the test then uploads the captures over plain HTTP,
as an app would.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
import requests

from local_cloud import sigv4
from tests.integration.session_support import session_item
from tests.support.images import make_jpeg

REGION = "us-east-1"


def start(stack: Any, body: Any, *, signed: bool = True) -> requests.Response:
    url = stack.function_url("StartSessionFunction")
    data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if signed:
        headers = sigv4.sign("POST", url, region=REGION, body=data, headers=headers)
    return requests.post(url, data=data, headers=headers, timeout=60)


def account_requests(simulator: Any) -> list[dict[str, Any]]:
    return [
        r for r in simulator.admin.requests() if r["route"] in ("account_create", "account_update")
    ]


def upload(post: dict[str, Any], content: bytes, **changes: str) -> requests.Response:
    """What an app does with one presigned POST: its fields, then the file."""
    fields = {**post["fields"], **changes}
    return requests.post(post["url"], data=fields, files={"file": ("capture", content)}, timeout=30)


def test_a_signed_start_creates_the_session_and_hands_out_upload_posts(stack, simulator):
    answer = start(stack, {"reference": "order-1001", "workflowDefinitionKey": 10013})

    assert answer.status_code == 201
    body = answer.json()
    wf_id = body["workflowExecutionId"]
    assert (body["reference"], body["status"], body["created"]) == (
        "order-1001",
        "REGISTERED",
        True,
    )
    item = session_item(stack, wf_id)
    assert item["status"] == "REGISTERED"
    assert item["reference"] == "order-1001"
    parts = {capture["part"] for capture in body["captures"]}
    assert parts | {data["part"] for data in body["preparedData"]} == set(item["requiredParts"])
    for capture in body["captures"]:
        types = {u["contentType"] for u in capture["uploads"]}
        assert types == {"image/jpeg", "image/png"}
        for one in capture["uploads"]:
            assert one["fields"]["key"] == one["key"]
            assert one["key"].startswith(f"captures/{wf_id}/{capture['credentialId']}/")
    assert [r["route"] for r in account_requests(simulator)] == ["account_create"]
    text = json.dumps(body)
    tokens = [c["token"] for c in item["credentials"].values() if c.get("token")]
    assert tokens
    assert not any(token in text for token in tokens)  # no Jumio token in the answer
    assert simulator.base_url not in text  # nor a Jumio href


def test_the_app_uploads_with_the_posts_and_the_parts_land(stack, poller, simulator):
    body = start(stack, {"reference": "order-1002", "workflowDefinitionKey": 10013}).json()
    front = next(c for c in body["captures"] if c["classifier"] == "FRONT")
    jpeg = next(u for u in front["uploads"] if u["contentType"] == "image/jpeg")

    stored = upload(jpeg, make_jpeg(900, 600))
    poller.drain("AddPartFunction")

    assert stored.status_code in (200, 201, 204)
    part = (
        boto3.resource("dynamodb")
        .Table(stack.physical("LedgerTable"))
        .get_item(
            Key={"pk": body["workflowExecutionId"], "sk": f"PART#{front['credentialId']}#FRONT"},
            ConsistentRead=True,
        )["Item"]
    )
    assert part["status"] == "UPLOADED"


def test_the_same_reference_answers_the_same_session_and_creates_once(stack, simulator):
    request = {"reference": "order-1003", "workflowDefinitionKey": 10013}

    first = start(stack, request)
    again = start(stack, request)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["workflowExecutionId"] == first.json()["workflowExecutionId"]
    assert again.json()["created"] is False
    assert again.json()["captures"]  # fresh upload POSTs for the same keys
    assert len(account_requests(simulator)) == 1


def test_concurrent_starts_of_one_reference_create_one_session(stack, simulator):
    request = {"reference": "order-1004", "workflowDefinitionKey": 10013}
    answers: list[requests.Response] = []

    def call() -> None:
        answers.append(start(stack, request))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(account_requests(simulator)) == 1
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1
    for other in answers:
        # The others got the same session, or were told to come back shortly.
        assert other.status_code in (200, 201, 409)
        if other.status_code == 409:
            assert other.json()["error"] == "START_IN_PROGRESS"
            assert int(other.headers["Retry-After"]) >= 1
        else:
            assert other.json()["workflowExecutionId"] == created[0].json()["workflowExecutionId"]


def test_an_account_update_starts_a_new_execution_on_the_same_account(stack, simulator):
    first = start(stack, {"reference": "order-1005", "workflowDefinitionKey": 10013}).json()

    second = start(
        stack,
        {
            "reference": "order-1005-retry",
            "workflowDefinitionKey": 10013,
            "accountId": first["accountId"],
        },
    )

    assert second.status_code == 201
    assert second.json()["accountId"] == first["accountId"]
    assert second.json()["workflowExecutionId"] != first["workflowExecutionId"]
    assert [r["route"] for r in account_requests(simulator)] == [
        "account_create",
        "account_update",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"workflowDefinitionKey": 10013}, "reference"),
        ({"reference": "a<b", "workflowDefinitionKey": 10013}, "reference"),
        ({"reference": "jane.doe@example.com", "workflowDefinitionKey": 10013}, "reference"),
        ({"reference": "+41 79 123 45 67", "workflowDefinitionKey": 10013}, "reference"),
        ({"reference": "r" * 101, "workflowDefinitionKey": 10013}, "reference"),
        (
            {"reference": "ok", "workflowDefinitionKey": 10013, "tokenLifetime": "2m"},
            "tokenLifetime",
        ),
        ({"reference": "ok", "workflowDefinitionKey": 10013, "accountId": "nope"}, "accountId"),
        ({"reference": "ok", "workflowDefinitionKey": 10013, "extra": 1}, "extra"),
        (
            {
                "reference": "ok",
                "workflowDefinitionKey": 10013,
                "userConsent": {"userIp": "203.0.113.9", "userLocation": {"country": "USA"}},
            },
            "userConsent",
        ),
        (
            {
                "reference": "ok",
                "workflowDefinitionKey": 10013,
                "userConsent": {"userIp": "203.0.113.9", "userLocation": {"country": "XXX"}},
            },
            "userConsent.userLocation.country",
        ),
    ],
)
def test_bad_input_gets_a_400_naming_the_field_and_reaches_no_one(stack, simulator, body, field):
    answer = start(stack, body)

    assert answer.status_code == 400
    assert answer.json()["error"] == "INVALID_START_REQUEST"
    assert answer.json()["field"] == field
    for value in ("jane.doe@example.com", "+41 79 123 45 67"):
        assert value not in answer.text
    assert account_requests(simulator) == []


def test_consent_for_a_user_in_the_usa_is_passed_to_jumio(stack, simulator):
    consent = {
        "userIp": "203.0.113.9",
        "userLocation": {"country": "USA", "state": "CA"},
        "consent": {"obtained": "yes", "obtainedAt": "2026-11-30T10:00:00Z"},
    }

    answer = start(
        stack, {"reference": "order-1006", "workflowDefinitionKey": 10013, "userConsent": consent}
    )

    assert answer.status_code == 201


def test_an_unsigned_request_is_refused_before_the_function_runs(stack, simulator):
    answer = start(stack, {"reference": "order-1007", "workflowDefinitionKey": 10013}, signed=False)

    assert answer.status_code == 403
    assert account_requests(simulator) == []


def test_a_lost_create_answer_is_never_followed_by_a_second_create(stack, simulator):
    simulator.admin.set_faults({"script": {"account_create": ["drop"]}})
    request = {"reference": "order-1008", "workflowDefinitionKey": 10013}

    first = start(stack, request)
    again = start(stack, request)

    for answer in (first, again):
        assert answer.status_code == 409
        assert answer.json()["error"] == "START_OUTCOME_UNKNOWN"
        assert int(answer.headers["Retry-After"]) >= 30 * 60  # the token's life
    assert len(account_requests(simulator)) == 1
    assert len(simulator.admin.state()["accounts"]) == 1  # Jumio did create it


def test_a_refusal_by_jumio_passes_its_status_on_and_frees_the_reference(stack, simulator):
    simulator.admin.set_faults({"script": {"account_create": ["400"]}})
    request = {"reference": "order-1009", "workflowDefinitionKey": 10013}

    refused = start(stack, request)
    retried = start(stack, request)

    assert refused.status_code == 400
    assert (refused.json()["error"], refused.json()["jumioStatus"]) == ("JUMIO_REJECTED", 400)
    assert retried.status_code == 201  # nothing had been created: the reference was free


def test_starts_at_once_under_jumios_rate_limit_each_create_one_account(stack, simulator):
    """Jumio's limit with no burst allowance: the pacer spaces the creates, and a 429 that still
    comes (nothing was done) is retried, so every start succeeds with exactly one account."""
    simulator.admin.set_config({"rateLimits": {"account": {"burst": 1, "perSecond": 1}}})
    answers: list[requests.Response] = []

    def call(number: int) -> None:
        answers.append(
            start(stack, {"reference": f"order-2{number:03d}", "workflowDefinitionKey": 10013})
        )

    threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers) == [201] * 4
    assert len({a.json()["workflowExecutionId"] for a in answers}) == 4
    assert [r["status"] for r in account_requests(simulator)].count(200) == 4
    assert len(simulator.admin.state()["accounts"]) == 4


# --- the queue variant ------------------------------------------------------------------------


def test_a_queued_start_answers_on_the_started_queue(stack, poller, simulator):
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=stack.physical("StartSessionsQueue"),
        MessageBody=json.dumps({"reference": "order-3001", "workflowDefinitionKey": 10026}),
    )

    poller.drain("StartSessionFunction")

    [message] = sqs.receive_message(
        QueueUrl=stack.physical("SessionStartedQueue"), MaxNumberOfMessages=10
    )["Messages"]
    answer = json.loads(message["Body"])
    assert (answer["reference"], answer["created"]) == ("order-3001", True)
    [document] = answer["captures"]
    assert {u["contentType"] for u in document["uploads"]} == {
        "image/jpeg",
        "image/png",
        "application/pdf",
    }
    assert session_item(stack, answer["workflowExecutionId"])["status"] == "REGISTERED"


def test_a_queued_start_that_cannot_succeed_is_parked_with_its_reason(stack, poller, simulator):
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=stack.physical("StartSessionsQueue"),
        MessageBody=json.dumps({"reference": "jane.doe@example.com", "workflowDefinitionKey": 1}),
    )

    poller.drain("StartSessionFunction")

    [parked] = sqs.receive_message(
        QueueUrl=stack.physical("StartSessionsDLQ"), MessageAttributeNames=["All"]
    )["Messages"]
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert (attributes["reason"], attributes["field"]) == ("INVALID_START_REQUEST", "reference")
    assert "jane.doe" not in attributes["detail"]
    assert account_requests(simulator) == []
