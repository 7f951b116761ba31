"""Answer deadlines in business days (P32): weekends and the public holidays skipped.

The holidays are those the ``holidays`` library lists for ``PRIVACY_HOLIDAYS``
(country and subdivision; Switzerland, canton Zug by default). Days are counted
in ``PRIVACY_REQUEST_TIMEZONE``, the privacy officers' calendar: a request
confirmed late on a Friday evening in Zug counts from that Friday, wherever the
server's clock is.
"""

from __future__ import annotations

import typing as t
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from flask import Flask, current_app

from ..settings import ConfigurationError

#: Officers are reminded this many business days before a deadline.
REMIND_BEFORE_DAYS = 2


class Calendar:
    """Business days of one place: Monday to Friday, except its public holidays."""

    def __init__(self, place: tuple[str, str | None] | None) -> None:
        self.place = place
        self._holidays: t.Any = (
            holidays.country_holidays(place[0], subdiv=place[1]) if place else {}
        )

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name as the library gives it, or None."""
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def add_business_days(self, start: date, days: int) -> date:
        """The ``days``-th business day after ``start`` (``start`` itself not counted)."""
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day

    def subtract_business_days(self, end: date, days: int) -> date:
        """The ``days``-th business day before ``end``."""
        day = end
        counted = 0
        while counted < days:
            day -= timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day


def check_config(app: Flask) -> None:
    """Refuse a PRIVACY_HOLIDAYS the ``holidays`` library does not know, saying what it knows."""
    place = app.config["PRIVACY_HOLIDAYS"]
    if place is None:
        return
    country, subdivision = place
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ConfigurationError(
            f"PRIVACY_HOLIDAYS names the country {country!r}, which the holidays library does "
            "not know. Use an ISO 3166-1 alpha-2 code such as 'CH', 'DE' or 'US', or None "
            "for weekends only."
        )
    if subdivision is not None and subdivision not in supported[country]:
        raise ConfigurationError(
            f"PRIVACY_HOLIDAYS names the subdivision {subdivision!r} of {country!r}, which the "
            f"holidays library does not know. Known: {', '.join(supported[country])}; "
            "or None for the whole country."
        )
    app.config["PRIVACY_HOLIDAYS"] = (country, subdivision)


def calendar() -> Calendar:
    """The business-day calendar of the current app."""
    place = current_app.config["PRIVACY_HOLIDAYS"]
    return Calendar(None if place is None else (place[0], place[1]))


def local_date(moment: datetime) -> date:
    """The day ``moment`` falls on in PRIVACY_REQUEST_TIMEZONE."""
    return moment.astimezone(ZoneInfo(current_app.config["PRIVACY_REQUEST_TIMEZONE"])).date()


def deadline_for(confirmed_at: datetime) -> date:
    """The last day to answer a request confirmed at ``confirmed_at``.

    PRIVACY_REQUEST_DEADLINE_DAYS business days after the day of confirmation.
    """
    days = current_app.config["PRIVACY_REQUEST_DEADLINE_DAYS"]
    return calendar().add_business_days(local_date(confirmed_at), days)


def reminder_day(deadline: date) -> date:
    """The day officers are reminded of ``deadline``: two business days before it."""
    return calendar().subtract_business_days(deadline, REMIND_BEFORE_DAYS)
