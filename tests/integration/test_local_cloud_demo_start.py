"""The demo's start request and its reading of the real function's answer.

Why: the demo starts every session through the start-session function and reads from its answer
which credential each capture belongs to (the answer names parts, not categories) and which
POST uploads it. If that reading drifted from what Jumio's account says, the demo would upload
to keys no part expects; the simulator's own state says which credential has which category.
"""

from __future__ import annotations

from local_cloud import demo_data, start_client
from local_cloud.demo_data import DemoSession
from tests.integration.session_support import session_item

REGION = "us-east-1"


def test_a_demo_start_carries_its_decision_marker_and_maps_each_capture_to_its_credential(
    stack, simulator
):
    url = stack.function_url("StartSessionFunction")

    answer = start_client.start_session(url, demo_data.start_request(2), region=REGION)
    session = DemoSession.from_start_answer(2, answer)

    state = simulator.admin.state()["workflowExecutions"][session.workflow_execution_id]
    categories = {cred_id: cred["category"] for cred_id, cred in state["credentials"].items()}
    assert {categories[cred_id]: cred_id for cred_id in session.credential_ids.values()} == (
        session.credential_ids
    )
    assert set(session.credential_ids) == {"ID", "SELFIE", "DATA"}
    for category, classifier in (("ID", "FRONT"), ("ID", "BACK"), ("SELFIE", "FACE")):
        upload = session.uploads[classifier]
        assert upload["key"] == session.capture_key(category, classifier)
        assert upload["contentType"] == "image/jpeg"
    item = session_item(stack, session.workflow_execution_id)
    assert item["reference"] == "demo-2-reject"  # the simulator's REJECTED marker
    assert item["status"] == "REGISTERED"
