"""The cost model's arithmetic: item sizes as DynamoDB bills them, prices per 1,000 sessions,
and the verdict against the goal (benchmarks/cost_model.py, benchmarks/cost_measure.py)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import cost_measure
import cost_model


def counts(**overrides):
    base = {
        "sessions": 4,
        "lambda_invocations": {"FinalizeFunction": 4},
        "lambda_ms": {"FinalizeFunction": [100, 100, 300, 5000]},
        "lambda_memory_mb": {"FinalizeFunction": 1024},
        "lambda_gb_seconds": 5.5,
        "sqs_requests": {"SendMessage": 8},
        "state_transitions": 40,
        "transitions_by_state": {"Finalize": 4},
        "executions": 4,
        "write_units": {"ledger": 400},
        "read_units": {"ledger": 40},
        "s3_requests": {"PUT/COPY/POST/LIST": 12, "GET/HEAD": 12, "DELETE (free)": 12},
        "s3_bytes_put": 0,
        "kms_requests": 0,
        "secrets_requests": 0,
        "s3_kms_requests": 0,
        "log_bytes": 0,
        "eventbridge_events": 4,
        "entry_invocations": 0,
        "retention_days": 30,
        "bucket_key_enabled": True,
        "verdict_sources": {},
        "end_states": {},
    }
    return {**base, **overrides}


def test_item_size_counts_names_and_values_as_dynamodb_does():
    item = {
        "pk": {"S": "abc"},  # 2 + 3
        "n": {"N": "12345"},  # 1 + (ceil(5 / 2) + 1)
        "ok": {"BOOL": True},  # 2 + 1
        "m": {"M": {"k": {"S": "vv"}}},  # 1 + 3 + (1 + 2 + 1)
    }

    assert cost_measure.item_size(item) == 5 + 5 + 3 + 8


def test_prices_per_thousand_sessions_use_the_median_duration_and_the_stated_prices():
    rows = {item: (quantity, dollars) for item, quantity, _, dollars in cost_model.price(counts())}

    assert rows["Step Functions transitions"] == (10, pytest.approx(0.25))
    # median 200 ms at 1 GB, one invocation per session
    assert rows["Lambda duration"][0] == pytest.approx(0.2)
    assert rows["Lambda duration"][1] == pytest.approx(0.2 * 0.0000133334 * 1000)
    assert rows["DynamoDB writes"][1] == pytest.approx(100 * 1000 * 0.625 / 1e6)
    assert rows["S3 PUT/LIST requests"][1] == pytest.approx(3 * 0.005)


def test_the_report_names_the_dominant_item_and_how_far_over_the_goal_it_is():
    out = io.StringIO()

    total = cost_model.report(counts(write_units={"ledger": 4000}), out)

    text = out.getvalue()
    assert total > cost_model.GOAL_PER_1000
    assert "Dominant item: DynamoDB writes" in text
    assert f"${total - cost_model.GOAL_PER_1000:.4f} over" in text


def test_s3_requests_are_classed_as_s3_prices_them():
    bucket = "captures"
    assert cost_measure._s3_tier("PUT", "/captures/k", "", bucket) == "PUT/COPY/POST/LIST"
    assert cost_measure._s3_tier("GET", "/captures", "versions", bucket) == "PUT/COPY/POST/LIST"
    assert cost_measure._s3_tier("GET", "/captures/k", "", bucket) == "GET/HEAD"
    assert cost_measure._s3_tier("POST", "/captures", "delete", bucket) == "DELETE (free)"


def test_the_apps_presigned_post_counts_as_an_s3_upload_though_no_header_is_signed():
    # The app uploads with a form (policy and signature are form fields), not a signed request.
    form_upload = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "multipart/form-data; boundary=x",
        "HTTP_USER_AGENT": "python-requests/2.32",
    }
    signed = {
        "REQUEST_METHOD": "POST",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    assert cost_measure._service(form_upload) == "s3"
    assert cost_measure._service(signed) == "sqs"
    assert cost_measure._service({"REQUEST_METHOD": "GET"}) is None
