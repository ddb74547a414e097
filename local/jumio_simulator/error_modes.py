"""How refusals Jumio does not document are answered: `strict` or `opaque`.

Jumio documents 400/401/403/404 "with information about the cause" and the 429 body, and
nothing about conflicts (a part already there, an execution already finalized, ...).

- `strict`: each conflict keeps its own status and a machine-readable detail prefix
  (`PART_EXISTS: ...`, `ALREADY_FINALIZED: ...`, `WORKFLOW_NOT_ACTIVE: ...`). Convenient, and
  exactly what a client must not rely on against the real Jumio.
- `opaque`: every conflict answers one identical generic detail with a status the seed draws
  from (400, 403, 404, 409) per conflict kind (see `variations`). Other refusals keep their
  plain sentence, which never starts with a code token.

`DEFAULT_ERROR_MODE` is the one place that chooses the default for the CLI, `run_simulator`
and `SimulatorConfig`.
"""

from __future__ import annotations

from jumio_simulator.errors import ApiError
from jumio_simulator.variations import SeedProfile

STRICT = "strict"
OPAQUE = "opaque"
ERROR_MODES = (OPAQUE, STRICT)
DEFAULT_ERROR_MODE = OPAQUE
GENERIC_CONFLICT_DETAIL = "The request could not be processed."


def as_answered(error: ApiError, mode: str, profile: SeedProfile) -> ApiError:
    """The error as the mode answers it: unchanged, or the conflict made generic."""
    if mode == STRICT or error.conflict_kind is None:
        return error
    status = profile.conflict_status[error.conflict_kind]
    return ApiError(status, GENERIC_CONFLICT_DETAIL, dict(error.headers))
