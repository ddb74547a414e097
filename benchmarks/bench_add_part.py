"""What validation costs on top of the upload itself: validate + add_part versus a bare POST.

For a typical 500 KB capture and the worst case (a 15 MB 8000 x 8000 JPEG), against one Jumio
simulator in its own process (as Jumio is: in this process its threads would hold the GIL the
check needs), interleaved, each run on a fresh account so every run is a real add:
(a) what add_part does now: ``inspect_capture``, then ``CredentialsClient.add_part`` with the
    pixel check beside the upload from 1 MB on (``services/capture.py``), before it for smaller;
(b) what it did before issue 16: ``validate_capture`` whole, then ``add_part``;
(c) a bare ``requests`` multipart POST of the same bytes to the same endpoint.
Each case runs on loopback and again through a throttled link (``--links``, Mbit/s from the
client towards the simulator, e.g. 1000 and 100, relayed by a third process: a Lambda's uplink
to Jumio is not loopback): the check can only hide behind the sending, so how long the sending
takes decides what it costs. "check alone" is ``check_pixel_data`` by itself, in the same runs.
Peak memory: each variant once more in a fresh subprocess reading its own RSS high-water mark
(VmHWM; ``ru_maxrss`` would carry the parent's peak across exec on Linux), beside a baseline
subprocess that only imports the same modules and reads the bytes; add_part must fit a 256 MB
Lambda.

Run: ``.venv/bin/python benchmarks/bench_add_part.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_PATHS = (REPO, REPO / "layers" / "shared" / "python", REPO / "local")
for path in _PATHS:
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DEFAULT_RUNS = 7
DEFAULT_LINKS_MBIT = (1000.0, 100.0)
LAMBDA_MIB = 256
GOAL_RATIO = 1.05
NEW, BEFORE, BARE, CHECK = "validate+add", "validate, then add", "bare POST", "check alone"


def validated_upload(base_url: str, href: str, token: str, data: bytes) -> None:
    """Variant (a): what add_part does with the bytes now (the check beside the upload)."""
    import functools

    from jumio_pipeline.adapters.jumio import CredentialsClient, JumioHttp, JumioSettings
    from jumio_pipeline.domain.image_validation import check_pixel_data, inspect_capture
    from jumio_pipeline.services.capture import CHECK_BESIDE_UPLOAD_FROM_BYTES

    info = inspect_capture(data, classifier="FRONT")
    verify = None
    if len(data) >= CHECK_BESIDE_UPLOAD_FROM_BYTES:
        verify = functools.partial(check_pixel_data, data, info)
    else:
        check_pixel_data(data, info)
    with JumioHttp(JumioSettings(base_url=base_url)) as http:
        CredentialsClient(http).add_part(
            href, token, data, info.content_type, "FRONT.jpg", verify=verify
        )


def validated_first_upload(base_url: str, href: str, token: str, data: bytes) -> None:
    """Variant (b): the path before issue 16 (validate everything, then add the part)."""
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
    from jumio_pipeline.domain.registration import parse_registration

    session = parse_registration(simulator.create_account(10013))  # type: ignore[attr-defined]
    credential = session.credential_of_category("ID")
    return credential.parts["FRONT"], credential.token


def time_variants(
    simulator: object, base_url: str, data: bytes, runs: int
) -> dict[str, list[float]]:
    """Interleaved wall times of the variants (the order rotates per run) and of the check.

    ``base_url`` is where the uploads go: the simulator itself, or a throttled link to it.
    """
    from jumio_pipeline.domain.image_validation import check_pixel_data, inspect_capture

    variants = {
        NEW: lambda href, token: validated_upload(base_url, href, token, data),
        BEFORE: lambda href, token: validated_first_upload(base_url, href, token, data),
        BARE: lambda href, token: bare_upload(href, token, data),
    }
    times: dict[str, list[float]] = {name: [] for name in (*variants, CHECK)}
    names = list(variants)
    info = inspect_capture(data, classifier="FRONT")
    for run in range(runs):
        for name in names[run % 3 :] + names[: run % 3]:
            href, token = front_part(simulator)
            href = base_url + href.removeprefix(simulator.base_url)  # type: ignore[attr-defined]
            started = time.perf_counter()
            variants[name](href, token)
            times[name].append(time.perf_counter() - started)
        started = time.perf_counter()
        check_pixel_data(data, info)
        times[CHECK].append(time.perf_counter() - started)
    return times


def relay(target: str, mbit: float) -> None:
    """Child process: a TCP relay carrying at most ``mbit`` Mbit/s towards ``target``.

    Prints its URL, then serves until killed. Answers come back unthrottled (they are small).
    Every variant goes through the same relay, so it adds the same time to each: a stand-in
    for a real link, not a model of TCP.
    """
    host, port = target.removeprefix("http://").split(":")
    listener = socket.create_server(("127.0.0.1", 0))
    bits_per_second = mbit * 1_000_000

    def pump(source: socket.socket, sink: socket.socket, rate: float | None) -> None:
        due = time.perf_counter()
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if rate:
                    due = max(due, time.perf_counter()) + len(data) * 8 / rate
                    time.sleep(max(0.0, due - time.perf_counter()))
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            source.close()

    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        for args in ((client, upstream, bits_per_second), (upstream, client, None)):
            threading.Thread(target=pump, args=args, daemon=True).start()


@contextmanager
def _process_serving(command: list[str]) -> Iterator[str]:
    """Start a server process that prints its base URL first; yield it; stop the process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in _PATHS)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


class _SimulatorProcess:
    """The simulator's client side (accounts, base URL) for a simulator in another process."""

    def __init__(self, base_url: str) -> None:
        from jumio_simulator.testing import SimulatorHandle

        handle = SimulatorHandle.__new__(SimulatorHandle)
        handle.base_url = base_url
        handle.client_id, handle.client_secret = "local-client", "local-secret"
        self.base_url = base_url
        self.create_account = handle.create_account


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
    from jumio_pipeline.services.capture import CHECK_BESIDE_UPLOAD_FROM_BYTES  # noqa: F401

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
    parser.add_argument("--relay", nargs=2, metavar=("TARGET", "MBIT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--links",
        type=float,
        nargs="*",
        default=list(DEFAULT_LINKS_MBIT),
        metavar="MBIT",
        help="throttled links to measure besides loopback (Mbit/s; none: loopback only)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.relay:
        relay(args.relay[0], float(args.relay[1]))
        return
    from jumio_pipeline.domain.image_validation import MAX_BYTES
    from tests.support import images

    cases = {
        "typical 1600x1200 500 KB": images.jpeg_of_size(500 * 1024, 1600, 1200),
        "worst 8000x8000 15 MB": images.jpeg_of_size(MAX_BYTES, 8000, 8000),
    }
    header = (
        f"{'capture':<26}{'link':>10}{NEW:>14}{'before':>8}{'bare':>8}{'check alone':>13}"
        f"{'ratio':>7}{'quartiles':>11}{'before':>8}{'extra':>10}{'before':>8}"
    )
    print(f"runs per variant: {args.runs} (interleaved); medians in ms")
    print(header)
    print("-" * len(header))
    serve = [sys.executable, "-m", "jumio_simulator", "--port", "0", "--processing-delay", "0"]
    with (
        _process_serving([*serve, "--no-rate-limits"]) as simulator_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        simulator = _SimulatorProcess(simulator_url)
        links: list[float | None] = [None, *args.links]
        for name, data in cases.items():
            for mbit in links:
                with _link(simulator_url, mbit) as base_url:
                    times = time_variants(simulator, base_url, data, args.runs)
                new, before, bare, check = (
                    statistics.median(times[v]) for v in (NEW, BEFORE, BARE, CHECK)
                )
                ratio, low, high = paired_ratio(times, NEW)
                link = "loopback" if mbit is None else f"{mbit:g} Mb/s"
                print(
                    f"{name:<26}{link:>10}{new * 1000:>14.1f}{before * 1000:>8.1f}"
                    f"{bare * 1000:>8.1f}{check * 1000:>13.1f}{ratio:>7.2f}"
                    f"{f'{low:.2f}-{high:.2f}':>11}{paired_ratio(times, BEFORE)[0]:>8.2f}"
                    f"{paired_extra_ms(times, NEW):>10.0f}{paired_extra_ms(times, BEFORE):>8.0f}"
                )
        print(
            f"ratio = median over runs of ({NEW} / bare) within the run (the variants of one run "
            "ran back to back, under the same load), with its quartiles; before = the same for "
            "validate, then add; extra = the same medians of the difference to bare, in ms. "
            f"Goal: ratio <= {GOAL_RATIO:.2f} for the worst case"
        )
        print()
        print(f"peak RSS (MiB, loopback; Lambda memory {LAMBDA_MIB} MiB; 'base' only imports)")
        for name, data in cases.items():
            capture = Path(tmp) / "capture.jpg"
            capture.write_bytes(data)
            rss = {
                m: peak_rss_mib(m, simulator, capture) for m in ("baseline", "validated", "bare")
            }
            print(
                f"{name:<26} base {rss['baseline']:.1f}  {NEW} {rss['validated']:.1f}  "
                f"bare {rss['bare']:.1f}"
            )


def paired_ratio(times: dict[str, list[float]], variant: str) -> tuple[float, float, float]:
    """Median and quartiles of ``variant / bare`` taken run by run: the variants of one run ran
    back to back, so each ratio compares them under the same machine load."""
    ratios = [mine / bare for mine, bare in zip(times[variant], times[BARE], strict=True)]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    low, _, high = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), low, high


def paired_extra_ms(times: dict[str, list[float]], variant: str) -> float:
    """Median of ``variant - bare`` run by run, in ms: what the variant adds to the upload."""
    pairs = zip(times[variant], times[BARE], strict=True)
    return statistics.median(mine - bare for mine, bare in pairs) * 1000


@contextmanager
def _link(simulator_url: str, mbit: float | None) -> Iterator[str]:
    """The simulator's own URL (loopback), or a throttled link to it."""
    if mbit is None:
        yield simulator_url
        return
    with _process_serving([sys.executable, __file__, "--relay", simulator_url, str(mbit)]) as url:
        yield url


if __name__ == "__main__":
    main()
