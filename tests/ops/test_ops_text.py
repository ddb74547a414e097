"""The operator CLI's pure parts: durations as typed and printed, and the last privacy check.

The commands themselves run against the local cloud in tests/integration/test_ops_cli.py;
these cases are the ones a real stack cannot easily produce (a report that would leak).
"""

from __future__ import annotations

import pytest

from jumio_pipeline_ops.durations import parse_duration, span, time_left
from jumio_pipeline_ops.errors import OpsError
from jumio_pipeline_ops.output import check_printable


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), (" 5M ", 300)],
)
def test_durations_are_read_as_operators_type_them(typed, seconds):
    assert parse_duration(typed) == seconds


@pytest.mark.parametrize("typed", ["", "m", "-5m", "1.5h", "30 minutes", "1w"])
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(typed)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (3725, "1h02m"),
        (90000, "1d01h"),
    ],
)
def test_spans_are_short(seconds, shown):
    assert span(seconds) == shown


def test_time_left_says_which_side_of_the_expiry_it_is():
    assert time_left(1_000 + 125, 1_000) == "expires in 2m"
    assert time_left(1_000 - 125, 1_000) == "expired 2m ago"


def test_a_report_with_a_url_is_not_printed():
    with pytest.raises(OpsError, match="would contain a URL") as refused:
        check_printable("upload to https://bucket.example/presigned?sig=abc")

    assert "presigned" not in str(refused.value)


def test_a_report_with_a_known_secret_is_not_printed_and_the_error_does_not_repeat_it():
    token = "eyJ.fake-session-token.sig"

    with pytest.raises(OpsError, match="token or an href") as refused:
        check_printable(f"part FRONT {token}", [token, ""])

    assert token not in str(refused.value)


def test_a_report_without_either_passes():
    check_printable("session 0b7d6a9e-3f51-4c43-9a1e-5f2a8d1c6e70  FINALIZED", ["secret", ""])
