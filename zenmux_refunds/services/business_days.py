"""Business days as customers count them: Monday to Friday, less the public holidays of
``ZENMUX_BUSINESS_DAYS_COUNTRY`` (default US) from the maintained ``holidays`` library.

The policy stays pure (``policy.add_business_days`` takes the holidays as an
argument); this module supplies the configured calendar to every caller that shows or
promises a date: the refund's expected arrival (1-3 business days) and an e-mail
request's review due date (7 business days).
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime
from functools import lru_cache

import holidays as holiday_calendars

from zenmux_refunds.config import settings
from zenmux_refunds.domain import policy


@lru_cache(maxsize=8)
def _calendar(country: str) -> Container[date]:
    # a HolidayBase grows the years it knows as dates are asked of it
    return holiday_calendars.country_holidays(country)


def holidays() -> Container[date]:
    """The configured country's public holidays."""
    return _calendar(settings().business_days_country)


def add(d: date, n: int) -> date:
    """The ``n``-th business day after ``d``."""
    return policy.add_business_days(d, n, holidays())


def arrival_dates(approved_at: datetime) -> tuple[date, date]:
    """Expected arrival of a refund approved at ``approved_at``: 1 to 3 business days."""
    return policy.arrival_dates(approved_at, holidays())
