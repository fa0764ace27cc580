"""Deadline arithmetic for erasure requests (GDPR Art. 12(3)): one month, extendable by two."""

import calendar
import datetime

MAX_EXTENSION_MONTHS = 2


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day.day, last))


def due_date_for(received_on: datetime.date) -> datetime.date:
    """One month after receipt."""
    return add_months(received_on, 1)
