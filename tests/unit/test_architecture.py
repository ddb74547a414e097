"""The layer rule of the shared package is enforced, not only written down.

`make lint` runs import-linter with the contracts in pyproject.toml; these tests run the same
contracts on a copy of the package with one forbidden import added, and expect a refusal, so a
contract that silently stopped checking (a renamed package, a typo) fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "python" / "jumio_pipeline"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_as_it_stands_keeps_every_contract() -> None:
    result = _lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize(
    ("module", "forbidden_import", "broken_contract"),
    [
        ("domain/session.py", "import boto3", "the domain is pure"),
        ("domain/session.py", "import aws_lambda_powertools", "the domain is pure"),
        ("services/capture.py", "import requests", "only through the ports"),
        ("handlers/settings.py", "import boto3", "handler support reaches AWS"),
        ("services/capture.py", "import jumio_pipeline.adapters.ledger", "handlers > services"),
        ("domain/session.py", "import jumio_pipeline.services.ports", "handlers > services"),
    ],
)
def test_a_forbidden_import_breaks_make_lint(
    tmp_path: Path, module: str, forbidden_import: str, broken_contract: str
) -> None:
    copy = tmp_path / "jumio_pipeline"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{forbidden_import}  # noqa\n")

    result = _lint(tmp_path)

    assert result.returncode != 0
    assert f"{broken_contract}" in result.stdout
    assert "BROKEN" in result.stdout
