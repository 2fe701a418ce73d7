from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2o.domain.currencies import minor_units
from o2o.domain.errors import MoneyError, UnknownCurrencyError
from o2o.domain.money import D, Money, Rounding, from_minor, round_amount, round_to_currency, to_minor


def test_d_refuses_float_and_bool() -> None:
    with pytest.raises(MoneyError, match="float"):
        D(0.1)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        D(True)  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="not a decimal"):
        D("1,5")
    with pytest.raises(MoneyError, match="finite"):
        D("NaN")


def test_d_is_exact() -> None:
    assert D("0.1") + D("0.2") == D("0.3")
    assert D(" 1_000.50 ") == Decimal("1000.50")


@pytest.mark.parametrize(
    ("code", "places"),
    [("RUB", 2), ("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("CNY", 2), ("JPY", 0), ("KZT", 2)],
)
def test_minor_units(code: str, places: int) -> None:
    assert minor_units(code) == places


def test_unknown_currency() -> None:
    with pytest.raises(UnknownCurrencyError, match="XYZ"):
        minor_units("XYZ")


def test_named_rounding_modes() -> None:
    assert round_amount(D("2.345"), 2) == D("2.35")
    assert round_amount(D("2.345"), 2, Rounding.HALF_EVEN) == D("2.34")
    assert round_amount(D("2.341"), 2, Rounding.UP) == D("2.35")
    assert round_amount(D("2.349"), 2, Rounding.DOWN) == D("2.34")
    assert round_to_currency(D("100.5"), "JPY") == D("101")


def test_minor_units_round_trip_and_refusal() -> None:
    assert to_minor(D("12.34"), "EUR") == 1234
    assert from_minor(1234, "EUR") == D("12.34")
    assert to_minor(D("1500"), "JPY") == 1500
    with pytest.raises(MoneyError, match="minor unit"):
        to_minor(D("0.005"), "EUR")


def test_money_refuses_mixed_currencies() -> None:
    with pytest.raises(MoneyError, match="EUR with USD"):
        Money.of("1", "EUR") + Money.of("1", "USD")
    assert (Money.of("1.005", "EUR")).rounded().amount == D("1.01")


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=50))
def test_sum_in_minor_units_equals_decimal_sum(units: list[int]) -> None:
    amounts = [from_minor(u, "EUR") for u in units]
    assert to_minor(sum(amounts, D(0)), "EUR") == sum(units)


def test_an_entered_amount_finer_than_the_minor_unit_is_refused_naming_the_field() -> None:
    from o2o.domain.money import parse_amount

    assert parse_amount("243.6", "GBP", "--amount") == Decimal("243.60")
    assert parse_amount("1200", "JPY", "--amount") == Decimal(1200)
    with pytest.raises(MoneyError, match=r"--amount: 243\.601 GBP has more decimals"):
        parse_amount("243.601", "GBP", "--amount")
    with pytest.raises(MoneyError, match=r"--amount: 1\.5 JPY"):
        parse_amount("1.5", "JPY", "--amount")
    with pytest.raises(MoneyError, match="--amount: -1 is negative"):
        parse_amount("-1", "GBP", "--amount")
    assert parse_amount("-1.25", "EUR", "amount", signed=True) == Decimal("-1.25")
