"""`python -m local_cloud up|demo` — placeholder until the up/demo commands are written.

Why a stub: the Makefile already calls these commands; this says clearly what exists.
"""

from __future__ import annotations

import sys

USAGE = """usage: python -m local_cloud <command> [options]

commands:
  up      start the local cloud (moto server + Jumio simulator) and provision template.yaml
  demo    run the whole pipeline locally (--sessions N)

Not implemented yet: the building blocks are local_cloud.server, .provisioner, .invoker
and .poller.
"""


def main(argv: list[str]) -> int:
    """Print usage; exit 2 for any command, since none is implemented yet."""
    print(USAGE, file=sys.stderr if argv else sys.stdout)
    return 2 if argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
