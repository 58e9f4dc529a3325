"""EventBridge Scheduler expressions: checked as the Scheduler documents them, and their next run times.

- `rate(value unit)`: a positive whole number and minute(s), hour(s) or day(s), singular only for 1.
- `cron(minutes hours day-of-month month day-of-week year)`: six fields. Values and wildcards per field
  (`, - * /` everywhere; `? L W` in day-of-month; `? L #` in day-of-week); exactly one of day-of-month
  and day-of-week is `?`; `#` stands alone in its field.

Sources: the EventBridge Scheduler User Guide, "Schedule types" (cron-based and rate-based schedules).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
CRON = re.compile(r"cron\(([^()]*)\)")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, low, high, the wildcards besides , - * /
FIELDS = (("minutes", 0, 59, ""), ("hours", 0, 23, ""), ("day-of-month", 1, 31, "?LW"), ("month", 1, 12, ""),
          ("day-of-week", 1, 7, "?L#"), ("year", 1970, 2199, ""))
ALLOWED = "rate(N minutes|hours|days) or cron(minutes hours day-of-month month day-of-week year)"


def is_time_zone(name: str) -> bool:
    """An IANA time zone name, as listed by the tzdata package this project installs (the list
    zoneinfo.available_timezones reads).  Reading it is much cheaper than importing zoneinfo, which
    loads sysconfig to find the system's database; `pipeline schedule` then uses zoneinfo itself."""
    from importlib.util import find_spec

    spec = find_spec("tzdata")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            with open(f"{folder}/zones", encoding="utf-8") as listing:
                return name in listing.read().splitlines()
        except OSError:
            continue
    from zoneinfo import ZoneInfo   # no tzdata package: the system's database decides

    try:
        ZoneInfo(name)
    except (LookupError, ValueError, OSError):   # not found (a KeyError), malformed, or a directory ("Europe")
        return False
    return True


class ScheduleError(ValueError):
    """What is wrong with an expression, in one line."""


def check(expression: str) -> None:
    """Raise ScheduleError unless `expression` is a rate or cron expression the Scheduler accepts."""
    rate = RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleError("the rate must be a positive whole number")
        if (value == 1) != (not unit.endswith("s")):
            right = unit.rstrip("s") if value == 1 else unit + ("" if unit.endswith("s") else "s")
            raise ScheduleError(f"write rate({value} {right}) (singular only for 1)")
        return
    cron = CRON.fullmatch(expression)
    if not cron:
        raise ScheduleError(f"not a schedule expression; allowed: {ALLOWED}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(f"cron has {len(fields)} fields, needs 6: minutes hours day-of-month month "
                            "day-of-week year (e.g. cron(0 3 ? * MON *))")
    for text, spec in zip(fields, FIELDS):
        _check_field(text, *spec)
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError("cron: exactly one of day-of-month and day-of-week must be '?' (e.g. cron(0 3 ? * MON *) "
                            "or cron(0 3 1 * ? *))")


def _check_field(text: str, name: str, low: int, high: int, extra: str) -> None:
    if text == "?":
        if "?" not in extra:
            raise ScheduleError(f"cron {name}: '?' is allowed only in day-of-month and day-of-week")
        return
    if "#" in text:
        if "#" not in extra or "," in text or not re.fullmatch(r"([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5]", text):
            raise ScheduleError(f"cron {name}: {text!r}; '#' takes one day and its week of the month, e.g. 3#2 "
                                "(the second Tuesday), alone in the field")
        return
    if "L" in extra and name == "day-of-month" and re.fullmatch(r"L|LW|([1-9]|[12]\d|3[01])W", text):
        return
    if "L" in extra and name == "day-of-week" and re.fullmatch(r"L|[1-7]L", text):
        return
    for part in text.split(","):
        if part == "*":
            continue
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and 0 < int(step) <= high):
            raise ScheduleError(f"cron {name}: {text!r}; the increment after '/' must be 1 to {high}")
        bounds = [_number(value, name) for value in (base.split("-", 1) if base != "*" else [])]
        if any(b is None or not low <= b <= high for b in bounds):
            raise ScheduleError(f"cron {name}: {text!r}; allowed: {low}-{high}{_names(name)} with , - * /"
                                + (f" {' '.join(extra)}" if extra else ""))
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ScheduleError(f"cron {name}: {text!r}; a range runs from low to high (use two ranges joined by ',')")


def _number(value: str, name: str) -> int | None:
    if value.isdigit():
        return int(value)
    if name == "month" and value.upper() in MONTHS:
        return MONTHS.index(value.upper()) + 1
    if name == "day-of-week" and value.upper() in DAYS:
        return DAYS.index(value.upper()) + 1
    return None


def _names(name: str) -> str:
    return {"month": " or JAN-DEC", "day-of-week": " or SUN-SAT"}.get(name, "")


# -- next run times ------------------------------------------------------------------

def runs_per_month(expression: str) -> int:
    """How often the expression fires in 30 days (from a Monday, 00:00): what the cost estimate assumes."""
    rate = RATE.fullmatch(expression)
    if rate:
        minutes = int(rate.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[rate.group(2).rstrip("s")]
        return 30 * 1440 // minutes
    start = datetime(2026, 1, 5)
    runs = next_runs(expression, start - timedelta(minutes=1), count=30 * 1440)
    return sum(1 for run in runs if run < start + timedelta(days=30))


def next_runs(expression: str, after: datetime, count: int = 5, start: datetime | None = None) -> list[datetime]:
    """The next `count` run times after `after` (naive local times of the schedule's time zone).
    A rate runs every interval from `start` (when the schedule was created); without it, from `after`."""
    rate = RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        step = timedelta(**{f"{unit}s": value})
        first = start or after
        if first <= after:
            first += step * ((after - first) // step + 1)
        return [first + step * i for i in range(count)]
    fields = CRON.fullmatch(expression).group(1).split()
    runs: list[datetime] = []
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = moment.date()
    for _ in range(366 * 5):   # five years of days, then give up: the year field may have ended
        if len(runs) >= count:
            break
        if _day_matches(fields, day):
            for hour in _values(fields[1], 0, 23):
                for minute in _values(fields[0], 0, 59):
                    when = datetime(day.year, day.month, day.day, hour, minute)
                    if when >= moment and len(runs) < count:
                        runs.append(when)
        day += timedelta(days=1)
    return runs


def _values(text: str, low: int, high: int, name: str = "") -> list[int]:
    found: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            first, last = (_number(v, name) for v in base.split("-", 1))
        else:
            first = _number(base, name)
            last = high if step else first
        found.update(range(first, last + 1, int(step) if step else 1))
    return sorted(found)


def _day_matches(fields: list[str], day) -> bool:
    import calendar

    _, _, day_of_month, month, day_of_week, year = fields
    if day.month not in _values(month, 1, 12, "month") or day.year not in _values(year, 1970, 2199):
        return False
    last = calendar.monthrange(day.year, day.month)[1]
    weekday = (day.isoweekday() % 7) + 1            # SUN=1 .. SAT=7, as cron counts
    if day_of_month != "?":
        if day_of_month == "L":
            return day.day == last
        if day_of_month.endswith("W"):
            target = last if day_of_month == "LW" else min(int(day_of_month[:-1]), last)
            return day == _nearest_weekday(day.replace(day=target), last)
        return day.day in _values(day_of_month, 1, 31)
    if "#" in day_of_week:
        wanted, nth = day_of_week.split("#")
        return weekday == _number(wanted, "day-of-week") and (day.day - 1) // 7 + 1 == int(nth)
    if day_of_week.endswith("L"):
        wanted = _number(day_of_week[:-1] or "7", "day-of-week") if day_of_week != "L" else 7
        return weekday == wanted and day.day + 7 > last
    return weekday in _values(day_of_week, 1, 7, "day-of-week")


def _nearest_weekday(day, last: int):
    """The weekday nearest `day` within its month (W)."""
    if day.isoweekday() == 6:   # Saturday: Friday, or Monday when Friday is in the month before
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    if day.isoweekday() == 7:   # Sunday: Monday, or Friday when Monday is in the month after
        return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)
    return day
