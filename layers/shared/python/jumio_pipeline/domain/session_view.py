"""An operator's view of a session: the record plus the bookkeeping the pipeline never reads.

The functions decide on :class:`SessionRecord` and :class:`PartRecord`; someone on call also
wants to know when things happened (registered, last part, outcome, callback, polls) and why a
retake was refused. Those facts live beside the records here so the records the pipeline runs
on stay as small as its decisions need. Ids, times, counts and codes only: nothing Jumio
extracted, no token, no href.
"""

from __future__ import annotations

from dataclasses import dataclass

from jumio_pipeline.domain.session_state import PartRecord, SessionRecord


@dataclass(frozen=True)
class Rejection:
    """A refusal recorded beside a part that had landed (``lastRejection``): code, the field
    path it names (prepared data; never the value) and time."""

    reason: str
    at: int | None = None
    field: str | None = None


@dataclass(frozen=True)
class PartView:
    """A part as recorded, with when it changed last, the field path a refusal of prepared
    data names (never the value), and the last refusal kept beside it."""

    record: PartRecord
    updated_at: int | None = None
    field: str | None = None
    last_rejection: Rejection | None = None


@dataclass(frozen=True)
class SessionView:
    """A session as recorded, with its timeline (epoch seconds) and the verdict's bookkeeping."""

    record: SessionRecord
    registered_at: int | None = None
    last_part_at: int | None = None
    outcome_at: int | None = None
    outcome_error: str | None = None
    callback_received_at: int | None = None
    conflicting_callback_status: str | None = None
    last_polled_status: str | None = None
    last_polled_at: int | None = None
    polls: int = 0
    verdict_published_at: int | None = None
    erased_at: int | None = None
    deletion_request_id: str | None = None
