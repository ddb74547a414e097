"""Every sample event in events/ runs through its real handler, with the outcome events/README.md
documents: the sample session's happy path in order, then each other case on its own stack.

Which function takes which file: ``events/<function>_<case>.json``, ``<function>`` being a
directory of functions/ (the longest that matches). The events are the sample session's, with
the sample ids, tokens, hosts, bucket, secret and times of events/README.md. Here the template
runs in moto and Jumio is the simulator, so before an event is invoked each sample value is
replaced by the one this run has: the ids and tokens the simulator gave the account, its URL
for Jumio's hosts, the stack's bucket and callback secret, the S3 version ids of the captures
put here, and every time moved by as much as the account's timestamp is later than the
sample's. A file that named another session (or a token of its own) would therefore meet
nothing it knows, and fail.

The session state machine is replaced by a one-state machine: the handlers are called one by
one here, as its states would call them, and no execution may call them behind the test's
back (the machine itself is tested in test_state_machine*.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from jumio_pipeline.adapters.ledger import Ledger
from jumio_pipeline.domain.session import PartId
from tests.conftest import ROOT
from tests.integration.session_support import wait_until
from tests.support.images import make_jpeg, make_pdf

EVENTS = ROOT / "events"
FUNCTIONS = sorted(
    (path.name for path in (ROOT / "functions").iterdir() if (path / "app.py").exists()),
    key=len,
    reverse=True,
)

# The sample session (events/README.md).
SAMPLE_ACCOUNT = "00000000-0000-4000-8000-0000000000a1"
SAMPLE_WORKFLOW = "00000000-0000-4000-8000-0000000000e1"
SAMPLE_CREDENTIALS = {
    "ID": "00000000-0000-4000-8000-0000000000c1",
    "SELFIE": "00000000-0000-4000-8000-0000000000c2",
    "DATA": "00000000-0000-4000-8000-0000000000c3",
    "FACEMAP": "00000000-0000-4000-8000-0000000000c4",
}
SAMPLE_TOKENS = {
    category: f"sample-api-token-{category.lower()}" for category in ("ID", "SELFIE", "DATA")
}
SAMPLE_SDK_TOKEN = "sample-sdk-token"
SAMPLE_HOSTS = (
    "https://api.amer-1.jumio.ai",
    "https://web.amer-1.jumio.ai",
    "https://retrieval.amer-1.jumio.ai",
)
SAMPLE_BUCKET = "jumio-capture-pipeline-captures-123456789012-us-east-1"
SAMPLE_SECRET = "SAMPLEcallbackPATHsecret000000000000000000000000"
SAMPLE_REFERENCE = "onboarding-0001"
SAMPLE_TIME = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # the account's timestamp
SAMPLE_VERSION = "sample-version-{}"

_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
_EPOCH_MS = re.compile(r"(?<!\d)1[78]\d{11}(?!\d)")

CAPTURES = {  # sample file name -> (credential, bytes of a valid capture)
    "front": ("ID", "FRONT.jpg", lambda: make_jpeg(1600, 1000)),
    "back": ("ID", "BACK.jpg", lambda: make_jpeg(1600, 1000)),
    "face": ("SELFIE", "FACE.jpg", lambda: make_jpeg(800, 1000)),
    "document-1": ("ID", "DOCUMENT/1.pdf", lambda: make_pdf(1)),
}


def function_of(event_file: Path) -> str:
    """The naming rule: the longest functions/ directory the file's stem starts with."""
    stem = event_file.stem
    for function in FUNCTIONS:
        if stem == function or stem.startswith(function + "_"):
            return function
    raise AssertionError(f"{event_file.name} names no function of functions/")


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """The JSON log lines among what a handler printed."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"level"')]


def logical_id(function: str) -> str:
    return "".join(part.title() for part in function.split("_")) + "Function"


@dataclass
class SampleRun:
    """The stack, the simulator's account for the sample session, and the replacements."""

    stack: Any
    simulator: Any
    account: dict[str, Any]
    replacements: dict[str, str] = field(default_factory=dict)
    shift: timedelta = timedelta(0)

    @property
    def workflow_id(self) -> str:
        return self.account["workflowExecution"]["id"]

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.stack.physical("LedgerTable"))

    def credential_id(self, category: str) -> str:
        return self.replacements[SAMPLE_CREDENTIALS[category]]

    def text(self, name: str) -> str:
        """The event file with this run's values in place of the sample's."""
        text = (EVENTS / f"{name}.json").read_text()
        for sample, actual in self.replacements.items():
            text = text.replace(sample, actual)
        text = _ISO_TIME.sub(lambda match: self._shifted_iso(match.group(0)), text)
        return _EPOCH_MS.sub(lambda match: self._shifted_ms(match.group(0)), text)

    def event(self, name: str) -> Any:
        return json.loads(self.text(name))

    def invoke(self, name: str) -> Any:
        """Invoke the event's function with it; the function's answer (an error fails)."""
        function = function_of(EVENTS / f"{name}.json")
        response = boto3.client("lambda").invoke(
            FunctionName=self.stack.function(logical_id(function)).name,
            Payload=self.text(name).encode(),
        )
        answer = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, (name, answer)
        return answer

    def put_capture(self, sample: str) -> None:
        """Upload the capture an S3 event names; its version id replaces the sample's."""
        category, file_name, content = CAPTURES[sample]
        key = f"captures/{self.workflow_id}/{self.credential_id(category)}/{file_name}"
        bucket = self.stack.physical("CapturesBucket")
        version = boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=content())
        self.replacements[SAMPLE_VERSION.format(sample)] = version["VersionId"]

    def dead_letters(self, dlq: str) -> list[dict[str, str]]:
        """The message attributes of every message in a DLQ."""
        sqs = boto3.client("sqs")
        found = []
        while True:
            received = sqs.receive_message(
                QueueUrl=self.stack.physical(dlq),
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=60,
            ).get("Messages", [])
            if not received:
                return found
            for message in received:
                attributes = message.get("MessageAttributes", {})
                found.append({name: value["StringValue"] for name, value in attributes.items()})

    def _shifted_iso(self, text: str) -> str:
        moment = datetime.strptime(text.replace("Z", "+0000"), _iso_format(text)) + self.shift
        if "." in text:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _shifted_ms(self, text: str) -> str:
        return str(int(text) + int(self.shift.total_seconds() * 1000))


def _iso_format(text: str) -> str:
    return "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text else "%Y-%m-%dT%H:%M:%S%z"


@pytest.fixture
def sample(stack: Any, simulator: Any) -> SampleRun:
    """The sample session's account at the simulator, and what replaces the sample values."""
    sfn = boto3.client("stepfunctions")
    sfn.update_state_machine(
        stateMachineArn=stack.physical("SessionStateMachine"),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )
    account = simulator.create_account(10013, customer_internal_reference=SAMPLE_REFERENCE)
    run = SampleRun(stack, simulator, account)
    credentials = {c["category"]: c for c in account["workflowExecution"]["credentials"]}
    run.replacements.update(
        {
            SAMPLE_ACCOUNT: account["account"]["id"],
            SAMPLE_WORKFLOW: account["workflowExecution"]["id"],
            SAMPLE_SDK_TOKEN: account["sdk"]["token"],
            SAMPLE_BUCKET: stack.physical("CapturesBucket"),
            SAMPLE_SECRET: boto3.client("secretsmanager").get_secret_value(
                SecretId=stack.physical("CallbackSecret")
            )["SecretString"],
            **{host: simulator.base_url for host in SAMPLE_HOSTS},
            **{SAMPLE_CREDENTIALS[c]: credentials[c]["id"] for c in SAMPLE_CREDENTIALS},
            **{SAMPLE_TOKENS[c]: credentials[c]["api"]["token"] for c in SAMPLE_TOKENS},
        }
    )
    issued = datetime.strptime(account["timestamp"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    run.shift = issued - SAMPLE_TIME
    return run


# --- what each event must do -----------------------------------------------------------------


def no_batch_failures(answer: Any) -> None:
    assert answer == {"batchItemFailures": []}


def landed(run: SampleRun, category: str, classifier: str) -> None:
    part = run.ledger.get_part(run.workflow_id, PartId(run.credential_id(category), classifier))
    assert part is not None
    assert part.status.value == "UPLOADED", part


def check_register_session_valid(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    record = run.ledger.get(run.workflow_id)
    assert record is not None
    assert record.status.value == "REGISTERED"
    assert len(record.pending_parts) == 4  # FRONT, BACK, FACE, PREPARED_DATA


def check_await_parts_waiting(run: SampleRun, answer: Any) -> None:
    assert answer == {"workflowExecutionId": run.workflow_id, "signalledAtOnce": False}
    assert run.ledger.get(run.workflow_id).has_task_token


def check_capture(category: str, classifier: str) -> Callable[[SampleRun, Any], None]:
    def check(run: SampleRun, answer: Any) -> None:
        no_batch_failures(answer)
        landed(run, category, classifier)

    return check


def check_prepared_data(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    landed(run, "DATA", "PREPARED_DATA")
    assert run.ledger.get(run.workflow_id).pending_parts == frozenset()


def check_finalize_session(run: SampleRun, answer: Any) -> None:
    assert answer["workflowExecutionId"] == run.workflow_id
    # The first wait for the verdict: Jumio's first poll time after finalize.
    assert (answer["round"], answer["exhausted"]) == (0, False), answer
    assert answer["waitSeconds"] > 0
    status = run.simulator.admin.state()["workflowExecutions"][run.workflow_id]["status"]
    assert status in {"ACQUIRED", "PROCESSED"}  # Jumio took the finalize
    assert run.ledger.get(run.workflow_id).status.value == "FINALIZED"  # and it is recorded


def check_await_verdict_waiting(run: SampleRun, answer: Any) -> None:
    assert answer == {"workflowExecutionId": run.workflow_id, "signalledAtOnce": False}


def check_callback_processed(run: SampleRun, answer: Any) -> None:
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {"outcome": "ACCEPTED"}
    assert run.ledger.get(run.workflow_id).callback_status.value == "PROCESSED"


def check_poll_verdict_processed(run: SampleRun, answer: Any) -> None:
    assert answer["workflowExecutionId"] == run.workflow_id
    assert answer["status"] == "PROCESSED", answer


def check_record_decision_passed(run: SampleRun, answer: Any) -> None:
    assert answer["workflowExecutionId"] == run.workflow_id
    assert (answer["verdict"], answer["source"]) == ("PASSED", "callback"), answer
    assert run.ledger.get(run.workflow_id).verdict_published


def erasure_done(scope: str) -> Callable[[SampleRun, Any], None]:
    def check(run: SampleRun, answer: Any) -> None:
        no_batch_failures(answer)
        assert run.dead_letters("RetentionRequestsDLQ") == []
        audit = boto3.resource("dynamodb").Table(run.stack.physical("AuditTable")).scan()["Items"]
        outcomes = {item.get("scope"): item.get("outcome") for item in audit}
        assert outcomes.get(scope) == "COMPLETED", audit

    return check


def check_retention_schedule(run: SampleRun, answer: Any) -> None:
    assert answer == {"selected": 0, "retentionDays": 30}  # nothing is 30 days old here


# The sample session's happy path, in order: (event, capture it names, expected outcome).
HAPPY_PATH: list[tuple[str, str | None, Callable[[SampleRun, Any], None]]] = [
    ("register_session_valid", None, check_register_session_valid),
    ("await_parts_waiting", None, check_await_parts_waiting),
    ("add_part_front", "front", check_capture("ID", "FRONT")),
    ("add_part_back", "back", check_capture("ID", "BACK")),
    ("add_part_face", "face", check_capture("SELFIE", "FACE")),
    ("upload_prepared_data_full", None, check_prepared_data),
    ("finalize_session", None, check_finalize_session),
    ("await_verdict_waiting", None, check_await_verdict_waiting),
    ("callback_processed", None, check_callback_processed),
    ("poll_verdict_processed", None, check_poll_verdict_processed),
    ("record_decision_passed", None, check_record_decision_passed),
    ("deletion_session", None, erasure_done("SESSION")),
    ("deletion_retention_schedule", None, check_retention_schedule),
]


def run_happy_path(run: SampleRun, until: str | None = None) -> None:
    """Run the happy path's events in order (up to and without ``until``), checking each."""
    run_happy_path_from(run, HAPPY_PATH[0][0], until=until)


def run_happy_path_from(run: SampleRun, first: str, *, until: str | None = None) -> None:
    """The happy path's events from ``first`` (included) to ``until`` (excluded)."""
    names = [name for name, _, _ in HAPPY_PATH]
    for name, capture, check in HAPPY_PATH[names.index(first) :]:
        if name == until:
            return
        if capture is not None:
            run.put_capture(capture)
        if name == "callback_processed":  # Jumio calls back once it has processed
            wait_for_processed(run)
        check(run, run.invoke(name))


def wait_for_processed(run: SampleRun) -> None:
    """Jumio processes a finalized execution after a moment (the simulator: 50 ms)."""
    wait_until(
        lambda: (
            run.simulator.admin.state()["workflowExecutions"][run.workflow_id]["status"]
            == "PROCESSED"
        ),
        within=20,
        what="the simulator to process the execution",
    )


def test_the_register_event_is_the_simulators_account_response(sample: SampleRun) -> None:
    """The sample account response has Jumio's shape: with this run's values, it is the
    simulator's answer itself."""
    [record] = sample.event("register_session_valid")["Records"]
    body = json.loads(record["body"])
    assert body["account"] == sample.account
    assert body["reference"] == SAMPLE_REFERENCE


def test_the_happy_path_runs_through_every_handler(sample: SampleRun) -> None:
    run_happy_path(sample)


def test_a_real_handlers_layer_lines_and_jumio_calls_are_its_own(
    sample: SampleRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """finalize's Jumio call is logged by the layer (adapters/jumio/http.py) at INFO."""
    run_happy_path(sample, until="finalize_session")
    capsys.readouterr()
    sample.invoke("finalize_session")
    out = capsys.readouterr().out
    lines = json_lines(out)
    # ... and its Jumio call is counted in the function's namespace, under its service.
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    calls = [(m["service"], m["operation"], m["statusClass"]) for m in emf if "JumioCalls" in m]
    assert calls == [("finalize", "finalize", "2xx")]
    [jumio] = [line for line in lines if line["message"].startswith("jumio finalize PUT -> HTTP 2")]
    assert jumio["name"] == "jumio_pipeline.adapters.jumio.http"
    assert (jumio["level"], jumio["service"]) == ("INFO", "finalize")
    assert jumio["correlation_id"] == sample.workflow_id


def test_queue_handlers_correlate_the_layer_lines_with_the_session_they_name(
    sample: SampleRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """upload_prepared_data and deletion take the id from the message before processing it."""
    run_happy_path(sample, until="upload_prepared_data_full")
    capsys.readouterr()
    sample.invoke("upload_prepared_data_full")
    upload = json_lines(capsys.readouterr().out)
    [jumio] = [line for line in upload if line["message"].startswith("jumio upload_prepared_da")]
    assert jumio["correlation_id"] == sample.workflow_id

    run_happy_path_from(sample, "finalize_session", until="deletion_session")
    capsys.readouterr()
    sample.invoke("deletion_session")
    erasure = json_lines(capsys.readouterr().out)
    [jumio] = [line for line in erasure if line["message"].startswith("jumio delete_workflow")]
    [done] = [line for line in erasure if line["message"] == "erasure request done"]
    assert jumio["correlation_id"] == done["correlation_id"] == sample.workflow_id
    assert done["requestId"] == "erasure-session-0001"


# --- the other cases --------------------------------------------------------------------------


def check_start_session_url(run: SampleRun, answer: Any) -> None:
    assert answer["statusCode"] == 201, answer
    started = json.loads(answer["body"])
    assert started["workflowExecutionId"]
    assert started["accountId"]
    parts = {capture["part"].rsplit("/", 1)[-1] for capture in started["captures"]}
    assert parts == {"FRONT", "BACK", "FACE"}


def check_start_session_invalid(run: SampleRun, answer: Any) -> None:
    assert answer["statusCode"] == 400, answer
    body = json.loads(answer["body"])
    assert body["field"] == "reference"
    assert "sample@example.com" not in answer["body"]


def check_callback_wrong_path(run: SampleRun, answer: Any) -> None:
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"error": "NOT_FOUND"}


def check_check_token_alive(run: SampleRun, answer: Any) -> None:
    assert answer["workflowExecutionId"] == run.workflow_id
    assert answer["secondsUntilTokenExpiry"] > 0


def check_add_part_test_event(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    assert run.dead_letters("CaptureEventsDLQ") == []


def check_add_part_unknown_part(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    [part] = run.ledger.parts(run.workflow_id, PartId(run.credential_id("ID"), "DOCUMENT"))
    assert (part.status.value, part.reason) == ("REJECTED", "UNKNOWN_PART"), part


def check_register_session_invalid_neighbour(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)  # the bad record is parked; its neighbour is registered
    assert run.ledger.get(run.workflow_id) is not None
    assert [m["reason"] for m in run.dead_letters("SessionsDLQ")] == ["INVALID_JSON"]


def check_upload_prepared_data_minimal(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    landed(run, "DATA", "PREPARED_DATA")


def check_upload_prepared_data_invalid(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    reasons = sorted(m["reason"] for m in run.dead_letters("PreparedDataDLQ"))
    assert reasons == ["INVALID_MESSAGE", "INVALID_PREPARED_DATA"]


def check_record_outcome_failed(run: SampleRun, answer: Any) -> None:
    assert answer["outcome"] == "FAILED"
    assert answer["recorded"] is True
    assert run.ledger.get(run.workflow_id).status.value == "FAILED"


def check_record_outcome_expired(run: SampleRun, answer: Any) -> None:
    assert answer == {
        "workflowExecutionId": run.workflow_id,
        "outcome": "EXPIRED",
        "recorded": True,
        "published": True,  # "Verification Completed" with the verdict EXPIRED
    }


def check_deletion_document_pages(run: SampleRun, answer: Any) -> None:
    no_batch_failures(answer)
    audit = boto3.resource("dynamodb").Table(run.stack.physical("AuditTable")).scan()["Items"]
    assert [(item["scope"], item["outcome"], item["reason"]) for item in audit] == [
        ("DOCUMENT_PAGES", "FAILED", "UNKNOWN_PART")  # the sample's ID credential has no pages
    ]
    [parked] = run.dead_letters("RetentionRequestsDLQ")
    assert (parked["reason"], parked["field"]) == ("UNKNOWN_PART", "credentialId")


# event -> (the happy-path event before which it runs, capture to put first, expected outcome)
OTHER_CASES: dict[str, tuple[str | None, str | None, Callable[[SampleRun, Any], None]]] = {
    "start_session_url": ("register_session_valid", None, check_start_session_url),
    "start_session_invalid": ("register_session_valid", None, check_start_session_invalid),
    "callback_wrong_path": ("register_session_valid", None, check_callback_wrong_path),
    "add_part_test_event": ("register_session_valid", None, check_add_part_test_event),
    "register_session_invalid_neighbour": (
        "register_session_valid",
        None,
        check_register_session_invalid_neighbour,
    ),
    "check_token_alive": ("await_parts_waiting", None, check_check_token_alive),
    "add_part_unknown_part": ("await_parts_waiting", "document-1", check_add_part_unknown_part),
    "upload_prepared_data_minimal": (
        "upload_prepared_data_full",
        None,
        check_upload_prepared_data_minimal,
    ),
    "upload_prepared_data_invalid": (
        "upload_prepared_data_full",
        None,
        check_upload_prepared_data_invalid,
    ),
    "record_outcome_failed": ("finalize_session", None, check_record_outcome_failed),
    "record_outcome_expired": ("finalize_session", None, check_record_outcome_expired),
    # Parts are erased at Jumio only before finalize (after it, a SESSION erasure does it).
    "deletion_part": ("add_part_back", None, erasure_done("PART")),
    "deletion_document_pages": ("finalize_session", None, check_deletion_document_pages),
    "deletion_account": ("deletion_session", None, erasure_done("ACCOUNT")),
}


@pytest.mark.parametrize("name", sorted(OTHER_CASES))
def test_each_other_case_has_its_documented_outcome(sample: SampleRun, name: str) -> None:
    before, capture, check = OTHER_CASES[name]
    run_happy_path(sample, until=before)
    if capture is not None:
        sample.put_capture(capture)
    check(sample, sample.invoke(name))


# --- the files themselves ----------------------------------------------------------------------


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def test_every_event_file_is_run_by_a_test_and_names_a_function() -> None:
    names = {path.stem for path in event_files()}
    covered = {name for name, _, _ in HAPPY_PATH} | set(OTHER_CASES)
    assert names == covered
    assert {function_of(path) for path in event_files()} == set(FUNCTIONS)


@pytest.mark.parametrize("path", event_files(), ids=lambda path: path.name)
def test_no_event_holds_a_real_looking_token_or_address(path: Path) -> None:
    text = path.read_text()
    assert "eyJ" not in text  # no JWT (Jumio's tokens are JWTs)
    for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
        assert address.endswith("@example.com"), address
    ids = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text))
    session_ids = {SAMPLE_ACCOUNT, SAMPLE_WORKFLOW, *SAMPLE_CREDENTIALS.values()}
    # Every id is the sample session's, or a message/request id of the 00000000-... family.
    assert all(i in session_ids or i.startswith("00000000-0000-4000-8000-") for i in ids), ids
