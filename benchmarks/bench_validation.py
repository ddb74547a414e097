"""How long capture validation takes and how much memory it needs, typical and worst case.

Pillow and libjpeg allocate in C, so tracemalloc would miss most of it: each measurement runs in
a fresh subprocess and reports its own RSS high-water mark (VmHWM; see _max_rss_mib). A baseline
subprocess that imports the same modules and only reads the bytes shows what is not validation.

Run: ``.venv/bin/python benchmarks/bench_validation.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "layers" / "shared" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from jumio_pipeline.domain.image_validation import MAX_BYTES, validate_capture  # noqa: E402

DEFAULT_RUNS = 7


def build_cases() -> dict[str, tuple[bytes, str]]:
    """The captures to measure: name -> (bytes, classifier)."""
    from PIL import Image

    from tests.support import images

    worst_jpeg = images.jpeg_of_size(MAX_BYTES, 8000, 8000)
    progressive = io.BytesIO()
    with Image.open(io.BytesIO(worst_jpeg)) as picture:
        picture.save(progressive, "JPEG", quality=75, progressive=True)
    return {
        "typical JPEG 1600x1200 500 KB": (images.jpeg_of_size(500 * 1024, 1600, 1200), "FRONT"),
        "worst JPEG 8000x8000 15 MB": (worst_jpeg, "FRONT"),
        "progressive JPEG 8000x8000": (progressive.getvalue(), "FRONT"),
        "PNG 8000x8000 RGB": (images.make_png(8000, 8000), "FRONT"),
    }


def measure_validation(data: bytes, *, classifier: str = "FRONT", runs: int = DEFAULT_RUNS) -> dict:
    """Median wall time and RSS high-water of validate_capture(data), each in a fresh process.

    Returns seconds and MiB: ``median_s``, ``min_s``, ``max_s``, ``baseline_rss_mib`` (a process
    that only reads the bytes), ``validate_rss_mib`` and their difference ``validation_mib``.
    """
    with tempfile.TemporaryDirectory() as folder:
        capture = Path(folder) / "capture.bin"
        capture.write_bytes(data)
        baseline = _run_child("read", capture, classifier, 1)
        validated = _run_child("validate", capture, classifier, runs)
    return {
        "size_bytes": len(data),
        "median_s": statistics.median(validated["times"]),
        "min_s": min(validated["times"]),
        "max_s": max(validated["times"]),
        "baseline_rss_mib": baseline["max_rss_mib"],
        "validate_rss_mib": validated["max_rss_mib"],
        "validation_mib": validated["max_rss_mib"] - baseline["max_rss_mib"],
        "result": validated["result"],
    }


def measure_full_pillow_load(data: bytes) -> dict:
    """RSS high-water of a plain Pillow ``load()``: what a naive full decode would cost."""
    with tempfile.TemporaryDirectory() as folder:
        capture = Path(folder) / "capture.bin"
        capture.write_bytes(data)
        baseline = _run_child("read", capture, "FRONT", 1)
        loaded = _run_child("pillow_load", capture, "FRONT", 1)
    return {
        "median_s": statistics.median(loaded["times"]),
        "validation_mib": loaded["max_rss_mib"] - baseline["max_rss_mib"],
    }


def _run_child(mode: str, capture: Path, classifier: str, runs: int) -> dict:
    """Run one measurement in a fresh interpreter, so its RSS high-water mark is its own."""
    command = [sys.executable, __file__, "--child", mode, str(capture), classifier, str(runs)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def _child(mode: str, capture: Path, classifier: str, runs: int) -> None:
    """Inside the subprocess: read the bytes, maybe work on them, print times and max RSS."""
    from PIL import Image

    data = capture.read_bytes()
    times: list[float] = []
    result = "read only"
    for _ in range(runs if mode != "read" else 0):
        started = time.perf_counter()
        if mode == "validate":
            result = repr(validate_capture(data, classifier=classifier))
        else:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
            result = "loaded"
        times.append(time.perf_counter() - started)
    print(json.dumps({"times": times or [0.0], "max_rss_mib": _max_rss_mib(), "result": result}))


def _max_rss_mib() -> float:
    """This process's own RSS high-water mark in MiB.

    Linux carries ``ru_maxrss`` over from the parent across fork + exec (measured here: a child
    of a 500 MiB parent reported 500 MiB), so VmHWM of the process's own address space is read;
    getrusage is only the fallback where /proc is missing (KiB on Linux, bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main() -> None:
    """Measure every case and print a table of medians and memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "FILE", "CLASSIFIER", "RUNS"))
    arguments = parser.parse_args()
    if arguments.child:
        mode, file_name, classifier, runs = arguments.child
        _child(mode, Path(file_name), classifier, int(runs))
        return

    print(f"validate_capture: median of {arguments.runs} runs; RSS high-water per fresh process")
    header = f"{'case':32} {'bytes':>10} {'median':>8} {'min':>8} {'max':>8}"
    header += f" {'base RSS':>9} {'RSS':>8} {'delta':>8}"
    print(header)
    cases = build_cases()
    for name, (data, classifier) in cases.items():
        figures = measure_validation(data, classifier=classifier, runs=arguments.runs)
        print(
            f"{name:32} {figures['size_bytes']:>10} {figures['median_s']:>7.3f}s"
            f" {figures['min_s']:>7.3f}s {figures['max_s']:>7.3f}s"
            f" {figures['baseline_rss_mib']:>7.1f}Mi {figures['validate_rss_mib']:>6.1f}Mi"
            f" {figures['validation_mib']:>6.1f}Mi"
        )
    png, _ = cases["PNG 8000x8000 RGB"]
    naive = measure_full_pillow_load(png)
    print(
        f"\nfor comparison, a full Pillow load() of the 8000x8000 PNG: {naive['median_s']:.3f}s,"
        f" +{naive['validation_mib']:.1f} MiB over the baseline"
    )


if __name__ == "__main__":
    main()
