"""``make cost`` end to end with one session, in its own process (it runs its own local cloud).

The cost model prices what a real run through the local cloud asked of AWS; a run that no
longer drives the pipeline (it once called a demo step that had been replaced) would leave the
README's figures without a command that reproduces them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_one_session_is_counted_from_its_start_to_its_erasure(tmp_path: Path) -> None:
    saved = tmp_path / "counts.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/cost_model.py", "--sessions", "1", "--save", str(saved)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(saved.read_text())

    assert counts["executions"] == 1
    assert counts["lambda_invocations"]["StartSessionFunction"] == 1
    assert counts["lambda_invocations"]["FinalizeFunction"] >= 1
    # The app's three presigned POSTs, each a billed upload and an event notification.
    assert counts["s3_requests"]["PUT/COPY/POST/LIST"] >= 3
    assert counts["sqs_requests"]["S3 event notification"] == 3
    assert counts["s3_bytes_put"] > 0
    # Every state entered is priced; the bookkeeping states folded into Finalize are gone.
    entered = set(counts["transitions_by_state"])
    assert {"WaitForAllParts", "Finalize", "WaitForVerdict", "RecordDecision"} <= entered
    assert not entered & {"RecordFinalized", "PlanVerdictWait"}
    assert sum(counts["transitions_by_state"].values()) == counts["state_transitions"]
    assert "$" in result.stdout  # the priced report
