"""One formatter of event-day times (issue 21): every screen, message and table agrees."""

from __future__ import annotations

import math

import pytest

from twin.clock_text import hhmm


@pytest.mark.parametrize(
    ("time_s", "seconds", "text"),
    [
        (0.0, False, "00:00"),
        (18 * 3600 + 40 * 60 + 5, True, "18:40:05"),
        (8 * 3600 + 59 * 60 + 45, False, "08:59"),  # cut, never rounded up to 09:00
        (8 * 3600 + 59 * 60 + 45.9, True, "08:59:45"),
        (24 * 3600 + 10 * 60, False, "00:10"),  # past midnight, as the wall clock reads it
        (25 * 3600 + 5, True, "01:00:05"),
        (None, False, "--:--"),
        (math.nan, True, "--:--"),
        (math.inf, False, "--:--"),
    ],
)
def test_times_read_as_a_clock_shows_them(time_s, seconds, text):
    assert hhmm(time_s, seconds=seconds) == text


def test_every_screen_and_the_command_line_use_the_one_formatter():
    """The copies are gone: the recorder's, the replay page's, the summary's, the alert list's
    and the command line's names are this one function."""
    from layouts import alerts, clock, replay_day, summary
    from twin.cli import main
    from twin.service import recorder

    for module in (recorder, replay_day, summary, clock, alerts, main):
        assert module.hhmm is hhmm, module.__name__
    assert not hasattr(alerts, "clock") and not hasattr(main, "clock")
