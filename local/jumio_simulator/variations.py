"""What the simulator varies per seed where Jumio documents nothing (contract §7, §9).

Jumio documents no conflict status, no upsert rule for updating a part never added and no
`Retry-After` on 429. A client must not depend on any one guess, so each seed fixes one
answer per question: one run is consistent, another seed may differ. Every draw comes from its
own `random.Random` seeded with a string naming the seed and the question, so the answers are
stable across Python runs and independent of each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Undocumented refusals, by kind. Strict mode answers each with its own status and a
# machine-readable detail prefix; opaque mode answers all with one generic detail.
PART_EXISTS = "PART_EXISTS"  # POST of an image part that is already there
PART_MISSING = "PART_MISSING"  # PUT (update) of an image part never added
NOTHING_TO_DELETE = "NOTHING_TO_DELETE"  # DELETE of an absent part / of no pages
ALREADY_FINALIZED = "ALREADY_FINALIZED"  # a second finalize
NOT_ACTIVE = "NOT_ACTIVE"  # upload, update, delete after finalize (ACQUIRED, PROCESSED)
SESSION_EXPIRED = "SESSION_EXPIRED"  # any Credentials call after the idle timeout
DELETED = "DELETED"  # any Credentials call on a deleted execution, with its own token
CONFLICT_KINDS = (
    PART_EXISTS,
    PART_MISSING,
    NOTHING_TO_DELETE,
    ALREADY_FINALIZED,
    NOT_ACTIVE,
    SESSION_EXPIRED,
    DELETED,
)
OPAQUE_STATUSES = (400, 403, 404, 409)
UPSERT = "upsert"
REFUSE = "refuse"


@dataclass(frozen=True)
class SeedProfile:
    """The answers one seed gives to the undocumented questions."""

    seed: int
    conflict_status: dict[str, int]
    update_of_missing_part: str
    retry_after_on_429: bool

    def describe(self) -> dict[str, object]:
        """The JSON view `GET /__admin/config` shows."""
        return {
            "conflictStatus": dict(self.conflict_status),
            "updateOfMissingPart": self.update_of_missing_part,
            "retryAfterOn429": self.retry_after_on_429,
        }


def _draw(seed: int, question: str) -> random.Random:
    return random.Random(f"jumio-simulator/{seed}/{question}")


def profile_for(seed: int) -> SeedProfile:
    """The seed's answers; the same seed always gives the same profile."""
    return SeedProfile(
        seed=seed,
        conflict_status={
            kind: _draw(seed, f"conflict/{kind}").choice(OPAQUE_STATUSES) for kind in CONFLICT_KINDS
        },
        update_of_missing_part=_draw(seed, "update-of-missing-part").choice((REFUSE, UPSERT)),
        retry_after_on_429=_draw(seed, "retry-after").random() < 0.5,
    )
