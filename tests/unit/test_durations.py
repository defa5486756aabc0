"""Durations for --since / --older-than: 30d, 12h, 90m, 45s, 2w, or plain seconds."""

from __future__ import annotations

import pytest

from mautic_ctl.durations import MAX_SECONDS, parse_duration
from mautic_ctl.errors import InputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45", 45), ("45s", 45), ("90m", 5400), ("12h", 43200), ("30d", 2_592_000), ("2w", 1_209_600),
     ("1.5h", 5400), (" 30 d ", 2_592_000), ("0", 0), ("0s", 0), ("5214w", 5214 * 604800)],
)  # fmt: skip
def test_valid_durations_become_seconds(text, seconds):
    """Each unit multiplies the number; spaces are allowed; no unit means seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "d", "30x", "30D", "-5m", "1h30m", "1e3s", "3.h", ".5h", "thirty days", "30 days"]
)
def test_invalid_durations_are_refused(text):
    """Anything but a number and one unit letter is refused with an example of the form."""
    with pytest.raises(InputError) as exc:
        parse_duration(text)
    assert str(exc.value) == f"{text!r} is not a duration; write e.g. 30d, 12h, 90m or 45s."


@pytest.mark.parametrize("text", ["5215w", "36501d", "99999999999999999999d"])
def test_durations_over_a_century_are_refused(text):
    """A duration over 100 years is refused: subtracting it from now would overflow a datetime."""
    with pytest.raises(InputError) as exc:
        parse_duration(text)
    assert str(exc.value) == f"{text!r} is too long a duration; the most is 100 years (5214w)."
    assert MAX_SECONDS == 100 * 365 * 86400


@pytest.mark.parametrize(
    "text",
    ["9" * 400 + "d", "1" * 10_000_000 + "x", " " * 10_000_000 + "1d"],
    ids=["400-digits", "10MB-digits", "10MB-spaces"],
)
def test_huge_input_is_refused_with_a_short_message(text):
    """A megabyte argument is refused, and the message stays one short line."""
    with pytest.raises(InputError) as exc:
        parse_duration(text)
    message = str(exc.value)
    assert (
        len(message) < 120
        and "\n" not in message
        and message.endswith("is not a duration; write e.g. 30d, 12h, 90m or 45s.")
    )


@pytest.mark.parametrize("value", [None, 30, 1.5, b"30d"])
def test_non_text_is_an_input_error(value):
    """A value that is not text is an InputError, not a TypeError."""
    with pytest.raises(InputError, match="is not a duration"):
        parse_duration(value)  # type: ignore[arg-type]
