"""Finding 9.1: the demo clock's duration accepts only ASCII digits and a unit, bounded.

``\\d`` and ``\\s`` match any Unicode digit or space: "١d" (ARABIC-INDIC DIGIT ONE)
moved the clock a day. A duration is ASCII digits and m/h/d, 1 minute to 60 days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from zenmux_refunds.services import demo


@pytest.mark.parametrize("text", [
    "\u0661d",             # Arabic-Indic one
    "\u0661\u0662h",       # Arabic-Indic twelve
    "\uff11d",             # full-width one
    "\u09e7m",             # Bengali one
    "\U0001d7cfd",          # mathematical bold one
    "1\u00a0d",            # no-break space between number and unit
    "\u20031d",            # em space before
    "1d\u2003",            # em space after
    "1\u1680h",            # Ogham space mark
])
def test_non_ascii_digits_and_spaces_are_refused(text):
    with pytest.raises(demo.DemoError, match="duration"):
        demo.parse_duration(text)


@pytest.mark.parametrize("text", ["0m", "0h", "0d", "00m"])
def test_a_duration_is_at_least_one_minute(text):
    with pytest.raises(demo.DemoError, match="at least 1 minute"):
        demo.parse_duration(text)


@pytest.mark.parametrize("text", ["61d", "1441h", "86401m", "99999d", "123456d"])
def test_a_duration_is_at_most_60_days(text):
    with pytest.raises(demo.DemoError, match="duration"):
        demo.parse_duration(text)


@pytest.mark.parametrize("text", [None, 5, b"1d", "1d\n1d", "1D", "+1d", "1dd", "d", "1"])
def test_other_shapes_are_refused(text):
    with pytest.raises(demo.DemoError):
        demo.parse_duration(text)


@pytest.mark.parametrize("text,expected", [
    ("1m", timedelta(minutes=1)), ("90m", timedelta(minutes=90)), ("6h", timedelta(hours=6)),
    (" 2d ", timedelta(days=2)), ("60d", timedelta(days=60)), ("1440h", timedelta(days=60)),
])
def test_plain_durations_still_work(text, expected):
    assert demo.parse_duration(text) == expected
