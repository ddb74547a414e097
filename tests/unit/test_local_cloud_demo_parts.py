"""The demo's inputs and output, checked without starting anything.

Why: the demo's verdict is only worth something if its valid captures really are valid, its
invalid one is refused for the reason it announces, its fake data passes the real model, and
its command line refuses nonsense with a message naming the argument.
"""

from __future__ import annotations

import io
import json

import pytest

from jumio_pipeline.domain.errors import CaptureRejected
from jumio_pipeline.domain.image_validation import validate_capture
from jumio_pipeline.domain.prepared_data import parse_message_ids, validate_prepared_data
from local_cloud import demo_data
from local_cloud.cli import build_parser
from local_cloud.demo_data import DemoSession
from local_cloud.report import ProgressLine, format_table

WF = "5d15fc80-a14a-435f-9334-5541ffe00b7e"
ID_CRED = "53644e76-7246-415c-b9c7-ddcff291e74d"
SELFIE_CRED = "5376ff6d-cb5e-47e8-87cb-17df701a1762"


@pytest.mark.parametrize(
    ("make", "classifier"),
    [(demo_data.id_front, "FRONT"), (demo_data.id_back, "BACK"), (demo_data.selfie, "FACE")],
)
def test_valid_demo_captures_pass_the_pipelines_validation(make, classifier) -> None:
    info = validate_capture(make(), classifier=classifier)
    assert info.content_type == "image/jpeg"
    assert max(info.width, info.height) > 300


def test_the_invalid_demo_capture_is_refused_as_too_small() -> None:
    with pytest.raises(CaptureRejected) as refused:
        validate_capture(demo_data.too_small_front(), classifier="FRONT")
    assert refused.value.reason == "TOO_SMALL"


def test_fake_prepared_data_passes_the_real_model() -> None:
    session = DemoSession(3, "acc", WF, {"ID": ID_CRED, "DATA": SELFIE_CRED})
    body = json.dumps(demo_data.prepared_data_message(session))
    ids, raw = parse_message_ids(body)
    assert ids.workflow_execution_id == WF
    assert ids.credential_id is None  # defaults to the session's DATA credential
    validated = validate_prepared_data(raw)
    assert validated.body == demo_data.fake_prepared_data(3)
    assert validated.body["email"].endswith("@example.com")


def test_demo_session_builds_the_documented_key_layout() -> None:
    response = {
        "account": {"id": "acc-1"},
        "workflowExecution": {
            "id": WF,
            "credentials": [
                {"id": ID_CRED, "category": "ID", "api": {"token": "x"}},
                {"id": SELFIE_CRED, "category": "SELFIE", "api": {"token": "y"}},
                {"id": "no-api", "category": "FACEMAP"},
            ],
        },
    }
    session = DemoSession.from_account_response(1, response)
    assert session.credential_ids == {"ID": ID_CRED, "SELFIE": SELFIE_CRED}
    assert session.capture_key("ID", "FRONT") == f"captures/{WF}/{ID_CRED}/FRONT.jpg"
    assert session.part_sort_key("SELFIE", "FACE") == f"PART#{SELFIE_CRED}#FACE"
    assert session.short_id == "5d15fc80"


def test_table_columns_line_up() -> None:
    table = format_table(["a", "long header"], [["value", 1], ["v", 12345]]).splitlines()
    assert table[0] == "a      long header"
    assert table[1] == "-----  -----------"
    assert table[3] == "v      12345"


def test_progress_on_a_pipe_prints_only_changes() -> None:
    out = io.StringIO()
    progress = ProgressLine(out)
    progress.update("1/3")
    progress.update("1/3")
    progress.update("2/3")
    progress.say("table", stamp=False)
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[-1] for line in lines] == ["1/3", "2/3", "table"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--sessions", "0"], "must be at least 1"),
        (["demo", "--sessions", "five"], "is not a whole number"),
        (["up", "--port", "70000"], "port must be 0..65535"),
    ],
)
def test_cli_refuses_bad_arguments_naming_them(argv, message, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    assert message in capsys.readouterr().err
