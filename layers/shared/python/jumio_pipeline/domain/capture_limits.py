"""Jumio's size limit on a capture, apart from the image checks that enforce it.

The start-session function hands out upload URLs bounded by it and never decodes an image: it
reads the limit here, without importing Pillow (a cold start's cost, ``benchmarks/``).
"""

from __future__ import annotations

MAX_BYTES = 15_000_000  # Jumio's 15 MB, read as 15,000,000 bytes
