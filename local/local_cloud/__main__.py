"""`python -m local_cloud up | demo | session`: see local_cloud.cli (and docs/local-cloud.md).

Why so small: the command line lives in local_cloud.cli so that tests can call `main(argv)`.
"""

from __future__ import annotations

import sys

from local_cloud.cli import main

if __name__ == "__main__":
    sys.exit(main())
