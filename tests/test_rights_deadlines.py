"""Answer deadlines in business days, across weekends and Zug's holidays (P32)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import holidays
import pytest

from flask_allcot_privacy.rights import deadlines
from flask_allcot_privacy.rights.deadlines import Calendar
from flask_allcot_privacy.settings import ConfigurationError

from .conftest import make_host_app

ZUG = Calendar(("CH", "ZG"))


def _zug(year: int) -> dict[str, date]:
    """Zug's holidays of ``year`` by name, as the holidays library lists them."""
    listed = holidays.country_holidays("CH", subdiv="ZG", years=year)
    return {str(name): day for day, name in listed.items()}


def test_the_library_lists_the_holidays_these_tests_rely_on() -> None:
    names = _zug(2026)
    for name in ("Ascension Day", "Corpus Christi", "Immaculate Conception", "Christmas Day"):
        assert name in names, f"{name} is not a Zug holiday in the holidays library"


def test_weekends_are_skipped() -> None:
    # Monday 2026-03-02 + 7 business days = Wednesday 2026-03-11 (no holidays then).
    assert ZUG.add_business_days(date(2026, 3, 2), 7) == date(2026, 3, 11)
    # From a Friday: the weekend does not count.
    assert ZUG.add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    # Confirmed on a Saturday: counting starts on Monday.
    assert ZUG.add_business_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


@pytest.mark.parametrize(
    "holiday", ["Ascension Day", "Corpus Christi", "Immaculate Conception", "Christmas Day"]
)
def test_each_zug_holiday_adds_a_day(holiday: str) -> None:
    """P32: a deadline spanning one of Zug's holidays is one business day later."""
    day = _zug(2026)[holiday]
    assert not ZUG.is_business_day(day)
    assert ZUG.holiday_name(day) == holiday
    weekends_only = Calendar(None)
    start = weekends_only.subtract_business_days(day, 3)
    assert weekends_only.add_business_days(start, 4) < ZUG.add_business_days(start, 4)
    assert ZUG.add_business_days(start, 4) == weekends_only.add_business_days(start, 5)


def test_ascension_and_corpus_christi_2026() -> None:
    # Wednesday 2026-05-13 + 7: skips Ascension (Thu 14 May) and the weekends -> Mon 25 May.
    assert ZUG.add_business_days(date(2026, 5, 13), 7) == date(2026, 5, 25)
    # Wednesday 2026-06-03 + 1 skips Corpus Christi (Thu 4 June) -> Friday 5 June.
    assert ZUG.add_business_days(date(2026, 6, 3), 1) == date(2026, 6, 5)


def test_christmas_week_2026() -> None:
    # Monday 2026-12-07: Immaculate Conception (Tue 8) and Christmas (Fri 25) are skipped.
    assert ZUG.add_business_days(date(2026, 12, 7), 7) == date(2026, 12, 17)
    # Friday 2026-12-18 + 7: the 25th is skipped -> 2026-12-30 (Wednesday).
    assert ZUG.add_business_days(date(2026, 12, 18), 7) == date(2026, 12, 30)
    # Into the new year: New Year's Day 2027 (Friday) is skipped as well.
    assert ZUG.add_business_days(date(2026, 12, 23), 7) == date(2027, 1, 5)


def test_reminder_day_is_two_business_days_before() -> None:
    # Deadline Monday 2026-05-25: two business days before is Thursday 21 May.
    assert ZUG.subtract_business_days(date(2026, 5, 25), 2) == date(2026, 5, 21)
    # Deadline Friday 2026-05-15: Ascension (Thursday 14th) does not count -> Tuesday 12th.
    assert ZUG.subtract_business_days(date(2026, 5, 15), 2) == date(2026, 5, 12)


def test_deadline_counts_in_the_officers_time_zone(tmp_path: Path) -> None:
    """Friday 23:30 UTC is already Saturday in Zug: counting starts from Saturday."""
    app = make_host_app(tmp_path)
    with app.app_context():
        friday_night = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
        assert deadlines.local_date(friday_night) == date(2026, 3, 7)
        assert deadlines.deadline_for(friday_night) == date(2026, 3, 17)
        friday_noon = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
        assert deadlines.deadline_for(friday_noon) == date(2026, 3, 17)
        monday = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
        assert deadlines.deadline_for(monday) == date(2026, 3, 18)


def test_days_and_calendar_are_configurable(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_REQUEST_DEADLINE_DAYS=3, PRIVACY_HOLIDAYS=None)
    with app.app_context():
        # Thursday 2026-12-24 + 3 with weekends only: Christmas counts -> Tuesday 29th.
        moment = datetime(2026, 12, 24, 10, tzinfo=UTC)
        assert deadlines.deadline_for(moment) == date(2026, 12, 29)


@pytest.mark.parametrize(
    ("value", "advice"),
    [
        (("XX", None), "country 'XX'"),
        (("CH", "XX"), "subdivision 'XX' of 'CH'"),
        ("CH", "PRIVACY_HOLIDAYS is 'CH'"),
    ],
)
def test_unknown_calendar_is_refused_at_init(tmp_path: Path, value: object, advice: str) -> None:
    with pytest.raises(ConfigurationError, match=advice):
        make_host_app(tmp_path, PRIVACY_HOLIDAYS=value)


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_REQUEST_TIMEZONE"):
        make_host_app(tmp_path, PRIVACY_REQUEST_TIMEZONE="Mars/Olympus")
