"""Put the layer and the local tools on the venv's import path.

Lambda puts the layer's ``python/`` folder on ``sys.path``; locally a ``.pth`` file does the
same, and adds ``local/`` and ``ops/`` so that ``python -m jumio_simulator``, ``python -m
local_cloud`` and ``python -m jumio_pipeline_ops`` work from the repo root without installing
the project.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = [ROOT / "layers" / "shared" / "python", ROOT / "local", ROOT / "ops", ROOT]


def main() -> None:
    site_packages = Path(site.getsitepackages()[0])
    pth = site_packages / "jumio_pipeline_dev.pth"
    pth.write_text("".join(f"{path}\n" for path in PATHS))
    sys.stdout.write(f"wrote {pth}\n")


if __name__ == "__main__":
    main()
