"""What validation costs on top of the upload itself: validate + add_part versus a bare POST.

For a typical 500 KB capture and the worst case (a 15 MB 8000 x 8000 JPEG), against one Jumio
simulator started in this process: (a) ``validate_capture`` + ``CredentialsClient.add_part``
and (b) a bare ``requests`` multipart POST of the same bytes to the same endpoint, interleaved,
each run on a fresh account so every run is a real add. Peak memory: each variant once more in
a fresh subprocess reading its own RSS high-water mark (VmHWM; ``ru_maxrss`` would carry the
parent's peak across exec on Linux), beside a baseline subprocess that only imports the
same modules and reads the bytes; add_part must fit a 256 MB Lambda.

Run: ``.venv/bin/python benchmarks/bench_add_part.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "layers" / "shared" / "python", REPO / "local"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DEFAULT_RUNS = 7
LAMBDA_MIB = 256
GOAL_RATIO = 1.10


def validated_upload(base_url: str, href: str, token: str, data: bytes) -> None:
    """Variant (a): what add_part does with the bytes (validate, then add the part)."""
    from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
    from jumio_pipeline.domain.image_validation import validate_capture

    info = validate_capture(data, classifier="FRONT")
    with JumioHttp(JumioSettings(base_url=base_url)) as http:
        CredentialsClient(http).add_part(href, token, data, info.content_type, "FRONT.jpg")


def bare_upload(href: str, token: str, data: bytes) -> None:
    """Variant (b): the same bytes as one multipart POST, no validation, no retry policy."""
    import requests

    response = requests.post(
        href,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        files=[("file", ("FRONT.jpg", data, "image/jpeg"))],
        timeout=60,
    )
    response.raise_for_status()


def front_part(simulator: object) -> tuple[str, str]:
    """A fresh account's FRONT href and token (not timed)."""
    from jumio_pipeline.domain.session import parse_registration

    session = parse_registration(simulator.create_account(10013))  # type: ignore[attr-defined]
    credential = session.credential_of_category("ID")
    return credential.parts["FRONT"], credential.token


def time_variants(simulator: object, data: bytes, runs: int) -> dict[str, list[float]]:
    """Interleaved wall times of both variants; the order alternates per run."""
    times: dict[str, list[float]] = {"validate+add_part": [], "bare POST": []}
    base_url = simulator.base_url  # type: ignore[attr-defined]
    for run in range(runs):
        order = ["validate+add_part", "bare POST"]
        if run % 2:
            order.reverse()
        for variant in order:
            href, token = front_part(simulator)
            started = time.perf_counter()
            if variant == "bare POST":
                bare_upload(href, token, data)
            else:
                validated_upload(base_url, href, token, data)
            times[variant].append(time.perf_counter() - started)
    return times


def peak_rss_mib(mode: str, simulator: object, capture: Path) -> float:
    """Peak RSS (MiB) of a fresh process running one variant (or only reading: baseline)."""
    href, token = front_part(simulator)
    env = {
        **os.environ,
        "BENCH_HREF": href,
        "BENCH_TOKEN": token,
        "BENCH_BASE_URL": simulator.base_url,  # type: ignore[attr-defined]
    }
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(capture)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return float(output.strip().splitlines()[-1])


def child(mode: str, capture: Path) -> None:
    """Run one variant in this fresh process and print its RSS high-water mark in MiB."""
    import requests  # noqa: F401 - the baseline imports what the variants import

    from jumio_pipeline.adapters.jumio import CredentialsClient  # noqa: F401
    from jumio_pipeline.domain.image_validation import validate_capture  # noqa: F401

    data = capture.read_bytes()
    href, token = os.environ["BENCH_HREF"], os.environ["BENCH_TOKEN"]
    if mode == "validated":
        validated_upload(os.environ["BENCH_BASE_URL"], href, token, data)
    elif mode == "bare":
        bare_upload(href, token, data)
    print(_peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's RSS high-water mark in MiB.

    ``ru_maxrss`` survives ``execve`` on Linux, so a child forked from this (large) parent would
    report the parent's peak; VmHWM is reset by exec and is the child's own. ru_maxrss is the
    fallback where /proc is missing.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Build the captures, start the simulator, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    from jumio_pipeline.domain.image_validation import MAX_BYTES
    from jumio_simulator.testing import run_simulator
    from tests.support import images

    cases = {
        "typical 1600x1200 500 KB": images.jpeg_of_size(500 * 1024, 1600, 1200),
        "worst 8000x8000 15 MB": images.jpeg_of_size(MAX_BYTES, 8000, 8000),
    }
    header = (
        f"{'capture':<26}{'validate+add (ms)':>18}{'bare POST (ms)':>16}{'ratio':>8}"
        f"{'base RSS':>10}{'add RSS':>9}{'bare RSS':>10}  (MiB)"
    )
    print(f"runs per variant: {args.runs} (interleaved); Lambda memory: {LAMBDA_MIB} MiB")
    print(header)
    print("-" * len(header))
    with run_simulator(processing_delay=0) as simulator, tempfile.TemporaryDirectory() as tmp:
        for name, data in cases.items():
            times = time_variants(simulator, data, args.runs)
            validated = statistics.median(times["validate+add_part"])
            bare = statistics.median(times["bare POST"])
            capture = Path(tmp) / "capture.jpg"
            capture.write_bytes(data)
            rss = {
                m: peak_rss_mib(m, simulator, capture) for m in ("baseline", "validated", "bare")
            }
            print(
                f"{name:<26}{validated * 1000:>18.1f}{bare * 1000:>16.1f}"
                f"{validated / bare:>8.2f}{rss['baseline']:>10.1f}{rss['validated']:>9.1f}"
                f"{rss['bare']:>10.1f}"
            )
    print(
        f"goal: ratio <= {GOAL_RATIO:.2f} for the worst case; add RSS < {LAMBDA_MIB} MiB "
        "(RSS includes the interpreter and imports; 'base' only imports and reads the bytes)"
    )


if __name__ == "__main__":
    main()
