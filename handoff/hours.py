"""A shop's business hours: open intervals per weekday, in the shop's time zone.

    hours = BusinessHours.parse({"mon-fri": "09:00-18:00", "sat": "10:00-16:00"},
                                timezone="Asia/Shanghai")
    hours.is_open(now)       # -> bool
    hours.next_opening(now)  # -> the next moment the team is back (aware datetime)

An interval may run past midnight ("20:00-02:00": open until 2 a.m. the next day).
A day that is not listed is closed. ``BusinessHours.always()`` is open all the time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handoff.errors import InvalidHours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Interval = tuple[int, int]  # minutes after midnight, start < end (end may pass 1440)


def _days(spec: str) -> tuple[int, ...]:
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "all"):
        return tuple(range(7))
    days: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (p.strip()[:3] for p in part.split("-", 1))
            if first not in DAYS or last not in DAYS:
                raise InvalidHours(f"unknown weekday in {spec!r}")
            start, end = DAYS.index(first), DAYS.index(last)
            days.extend(DAYS.index(DAYS[(start + i) % 7]) for i in range((end - start) % 7 + 1))
        elif part[:3] in DAYS:
            days.append(DAYS.index(part[:3]))
        else:
            raise InvalidHours(f"unknown weekday in {spec!r}")
    return tuple(days)


def _intervals(spec: str) -> tuple[Interval, ...]:
    if spec.strip().lower() in ("closed", ""):
        return ()
    out: list[Interval] = []
    for part in spec.split(","):
        match = _TIME.match(part)
        if not match:
            raise InvalidHours(f"not a time range: {part!r} (write 09:00-18:00)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise InvalidHours(f"not a time range: {part!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            end += 24 * 60  # past midnight
        out.append((start, end))
    return tuple(sorted(out))


@dataclass(frozen=True)
class BusinessHours:
    """Open intervals per weekday (0 = Monday) in ``timezone``."""

    week: tuple[tuple[Interval, ...], ...]
    timezone: str = "UTC"

    @classmethod
    def parse(cls, spec: Mapping[str, str], *, timezone: str = "UTC") -> BusinessHours:
        """Read ``{"mon-fri": "09:00-18:00", "sat": "10:00-14:00,15:00-17:00"}``."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidHours(f"unknown time zone {timezone!r}") from exc
        week: dict[int, tuple[Interval, ...]] = {}
        for days, times in spec.items():
            for day in _days(str(days)):
                week[day] = tuple(sorted(week.get(day, ()) + _intervals(str(times))))
        return cls(tuple(week.get(d, ()) for d in range(7)), timezone)

    @classmethod
    def from_text(cls, text: str, *, timezone: str = "UTC") -> BusinessHours:
        """Read ``"mon-fri=09:00-18:00; sat=10:00-14:00"`` (a setting's form);
        an empty text or ``always`` is :meth:`always`."""
        text = text.strip()
        if not text or text.lower() == "always":
            return cls.always()
        spec: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            days, sep, times = part.partition("=")
            if not sep:
                raise InvalidHours(f"write days=hours, e.g. mon-fri=09:00-18:00 (got {part!r})")
            spec[days.strip()] = ",".join(filter(None, (spec.get(days.strip(), ""), times)))
        return cls.parse(spec, timezone=timezone)

    @classmethod
    def always(cls) -> BusinessHours:
        """Open every minute of every day."""
        return cls(tuple(((0, 24 * 60),) for _ in range(7)), "UTC")

    def _local(self, at: dt.datetime) -> dt.datetime:
        if at.tzinfo is None:
            raise InvalidHours("business hours need an aware datetime")
        return at.astimezone(ZoneInfo(self.timezone))

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the team works at ``at`` (an aware datetime)."""
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if any(start <= minute < end for start, end in self.week[today]):
            return True
        # an interval of yesterday that runs past midnight
        return any(end > 24 * 60 and minute < end - 24 * 60 for _, end in self.week[yesterday])

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The next moment the team is back (``at`` itself when open; None if never open)."""
        if self.is_open(at):
            return at
        local = self._local(at)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + dt.timedelta(days=offset)
            for start, _ in self.week[(local.weekday() + offset) % 7]:
                opening = (day.replace(tzinfo=None) + dt.timedelta(minutes=start)).replace(
                    tzinfo=ZoneInfo(self.timezone))
                if opening > local:
                    return opening
        return None
