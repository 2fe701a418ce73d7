"""An obligation's due date is a rule of the domain (it was a helper of the store): the agreement's payment
days counted from the first day after the period, across month and year ends."""

from __future__ import annotations

from datetime import date

import pytest

from o2o.domain.obligations import obligations_due
from o2o.domain.periods import Period


@pytest.mark.parametrize(
    ("period", "days", "due"),
    [
        ("2026-10", 30, date(2026, 12, 1)),
        ("2026-12", 0, date(2027, 1, 1)),
        ("2028-02", 10, date(2028, 3, 11)),
        ("2026-01", 45, date(2026, 3, 18)),
    ],
)
def test_obligations_fall_due_payment_days_after_the_period(period: str, days: int, due: date) -> None:
    assert obligations_due(Period.parse(period), days) == due
