"""Business days skip weekends and the configured country's public holidays: the pure
rule (``policy.add_business_days`` with the holidays passed in) and the calendar the
service supplies from the ``holidays`` library (``ZENMUX_BUSINESS_DAYS_COUNTRY``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zenmux_refunds import config
from zenmux_refunds.domain import policy
from zenmux_refunds.services import business_days


@pytest.fixture
def country(monkeypatch):
    def use(code: str | None) -> None:
        if code is None:
            monkeypatch.delenv("ZENMUX_BUSINESS_DAYS_COUNTRY", raising=False)
        else:
            monkeypatch.setenv("ZENMUX_BUSINESS_DAYS_COUNTRY", code)
        config.settings.cache_clear()

    yield use
    config.settings.cache_clear()


def test_a_holiday_is_skipped_like_a_weekend():
    christmas = frozenset({date(2026, 12, 25)})
    # Thursday 2026-12-24: Friday is Christmas, then the weekend
    assert policy.add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 25)
    assert policy.add_business_days(date(2026, 12, 24), 1, christmas) == date(2026, 12, 28)
    assert policy.add_business_days(date(2026, 12, 24), 3, christmas) == date(2026, 12, 30)
    assert policy.add_business_days(date(2026, 12, 24), 0, christmas) == date(2026, 12, 24)


@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       n=st.integers(min_value=0, max_value=40),
       off=st.sets(st.integers(min_value=1, max_value=80), max_size=15))
def test_the_nth_business_day_is_a_business_day_with_n_before_it(start, n, off):
    holidays = frozenset(start + timedelta(days=k) for k in off)
    end = policy.add_business_days(start, n, holidays)
    days = [start + timedelta(days=k) for k in range(1, (end - start).days + 1)]
    working = [d for d in days if d.weekday() < 5 and d not in holidays]
    assert len(working) == n
    if n:
        assert working[-1] == end  # it lands on a business day, the n-th one


def test_the_default_calendar_is_the_us_one(country):
    country(None)
    assert config.settings().business_days_country == "US"
    # approved on Christmas Eve 2026 (Thursday): Christmas Day is a US holiday
    approved = datetime(2026, 12, 24, 15, 0, tzinfo=timezone.utc)
    assert business_days.arrival_dates(approved) == (date(2026, 12, 28), date(2026, 12, 30))
    # Thanksgiving 2026 (Thursday 11-26) is one too; the day after is not
    assert business_days.add(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert business_days.add(date(2026, 11, 26), 7) == date(2026, 12, 7)


def test_another_country_has_its_own_holidays(country):
    country("CN")  # National Day Golden Week: 2026-10-01 .. 10-07 are holidays in China
    assert business_days.add(date(2026, 9, 30), 1) > date(2026, 10, 7)
    country("US")
    assert business_days.add(date(2026, 9, 30), 1) == date(2026, 10, 1)


def test_an_unknown_country_is_refused_with_its_name(country):
    with pytest.raises(config.ConfigError, match="ZENMUX_BUSINESS_DAYS_COUNTRY: 'XX'"):
        country("xx")
        config.settings()
