"""Schedule expressions: what the Scheduler accepts, and when they fire (computed, no clock read)."""

from __future__ import annotations

from datetime import datetime

import pytest

from automl_cfn.schedule import ScheduleError, check, is_time_zone, next_runs, runs_per_month

AFTER = datetime(2026, 11, 27, 12, 0)   # a Friday


@pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(15 minutes)", "rate(1 day)", "rate(7 days)",
                                        "cron(0 3 ? * MON *)", "cron(0/15 * ? * MON-FRI *)", "cron(0 3 L * ? *)",
                                        "cron(0 3 15W * ? *)", "cron(0 3 ? * 6L *)", "cron(0 3 ? * 3#2 *)",
                                        "cron(30 1 1,15 JAN-MAR ? 2027)"])
def test_documented_forms_are_accepted(expression):
    check(expression)


@pytest.mark.parametrize("expression, fragment", [
    ("rate(1 minutes)", "write rate(1 minute)"), ("rate(2 hour)", "write rate(2 hours)"),
    ("rate(5 weeks)", "not a schedule expression"), ("cron(0 3 ? * ? *)", "exactly one"),
    ("cron(0 3 1 * MON *)", "exactly one"), ("cron(0 3 ? 13 MON *)", "allowed: 1-12"),
    ("cron(0 3 ? * MON 2300)", "allowed: 1970-2199"), ("cron(0 3 32W * ? *)", "day-of-month"),
    ("cron(0 3 ? * 8#1 *)", "'#' takes one day"), ("cron(0/0 3 ? * MON *)", "increment"),
    ("cron(0 ? ? * MON *)", "'?' is allowed only"), ("at(2026-12-01T00:00:00)", "not a schedule expression"),
])
def test_the_rest_is_refused_with_what_is_wrong(expression, fragment):
    with pytest.raises(ScheduleError, match=None) as raised:
        check(expression)
    assert fragment in str(raised.value)


def test_next_runs_of_cron_forms():
    assert next_runs("cron(0 3 ? * MON *)", AFTER, 2) == [datetime(2026, 11, 30, 3, 0), datetime(2026, 12, 7, 3, 0)]
    assert next_runs("cron(0 3 L * ? *)", AFTER, 2) == [datetime(2026, 11, 30, 3, 0), datetime(2026, 12, 31, 3, 0)]
    # 3#2: the second Tuesday; 6L: the last Friday; 1W in a month starting on Saturday: Monday the 3rd.
    assert next_runs("cron(0 3 ? * 3#2 *)", AFTER, 1) == [datetime(2026, 12, 8, 3, 0)]
    assert next_runs("cron(0 3 ? * 6L *)", AFTER, 1) == [datetime(2026, 12, 25, 3, 0)]
    assert next_runs("cron(0 9 1W * ? *)", datetime(2026, 12, 15), 1) == [datetime(2027, 1, 1, 9, 0)]
    assert next_runs("cron(0 9 1W * ? *)", datetime(2027, 4, 15), 1) == [datetime(2027, 5, 3, 9, 0)]
    assert next_runs("cron(0/20 12 ? * FRI *)", AFTER, 3) == [datetime(2026, 11, 27, 12, 20),
                                                              datetime(2026, 11, 27, 12, 40),
                                                              datetime(2026, 12, 4, 12, 0)]


def test_a_rate_runs_from_when_the_schedule_was_made():
    made = datetime(2026, 11, 1, 8, 30)
    assert next_runs("rate(7 days)", AFTER, 2, start=made) == [datetime(2026, 11, 29, 8, 30),
                                                               datetime(2026, 12, 6, 8, 30)]


def test_runs_per_month_for_the_cost_estimate():
    assert runs_per_month("rate(15 minutes)") == 2880
    assert runs_per_month("cron(0 3 ? * MON *)") == 5
    assert runs_per_month("cron(0 3 1 * ? *)") == 1


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+1", "US/Eastern", "GMT",
                                  "Europe/Kyiv", "Mars/Olympus", "europe/berlin", "Europe", "Europe/__init__", "zones",
                                  "../../etc/passwd", "/etc/localtime", "", "Europe/Berlin/"])
def test_time_zone_names_agree_with_zoneinfo(name):
    """The settings check reads tzdata's list instead of importing zoneinfo: both must say the same."""
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
        accepted = True
    except (LookupError, ValueError, OSError):   # "Europe" is a directory: ZoneInfo raises IsADirectoryError
        accepted = False
    assert is_time_zone(name) is accepted
