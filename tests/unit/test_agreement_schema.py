import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from o2o.domain.errors import ValidationError
from o2o.domain.tariffs import ServiceKind, local_band
from o2o.schemas.agreement import agreement_from_json, load_agreement_file, to_domain

BASE = textwrap.dedent(
    """
    id = "AG-1"
    currency = "EUR"
    timezone = "Europe/Berlin"
    valid_from = 2026-01-01
    [[parties]]
    operator = "ALFA"
    country_code = "44"
    [[parties]]
    operator = "BETA"
    country_code = "49"
    [tolerance]
    relative = 0.01
    absolute = "1000"
    figure = "lower"
    [[services]]
    id = "voice-ALFA"
    kind = "voice"
    provider = "ALFA"
    customer = "BETA"
    increments = { first = 30, next = 6 }
    bands = [{ name = "peak", days = ["mon", "tue", "wed", "thu", "fri"], start = 08:00:00, end = 20:00:00 }]
    holidays = [2026-12-25]
    destinations = [{ prefix = "44", name = "UK" }, { prefix = "447", name = "UK mobile" }]
    rates = [
      { destination = "UK", price = 0.0123, valid_from = 2026-01-01 },
      { destination = "UK mobile", price = "0.05", valid_from = 2026-01-01, band = "peak" },
    ]
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ag.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_agreement_has_exact_decimals(tmp_path: Path) -> None:
    model = load_agreement_file(write(tmp_path, BASE))
    ag = to_domain(model)
    svc = ag.service("voice-ALFA")
    assert svc.kind is ServiceKind.VOICE
    assert svc.tariff.rates[0].price == Decimal("0.0123")
    assert ag.tolerance.relative == Decimal("0.01")
    assert svc.tariff.increments.first == 30
    # The stored form round-trips to the same domain value.
    assert agreement_from_json(model.model_dump_json()) == ag


def test_bad_field_names_its_path(tmp_path: Path) -> None:
    text = BASE.replace('price = "0.05"', 'price = "abc"')
    with pytest.raises(ValidationError, match=r"services\[0\]\.rates\[1\]\.price: not a decimal"):
        load_agreement_file(write(tmp_path, text))


def test_unknown_destination_and_band(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a listed destination"):
        load_agreement_file(write(tmp_path, BASE.replace('destination = "UK",', 'destination = "FR",')))
    with pytest.raises(ValidationError, match="not a defined band"):
        load_agreement_file(write(tmp_path, BASE.replace('band = "peak"', 'band = "night"')))


def test_unknown_currency_and_zone(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="currency: unknown currency 'EUX'"):
        load_agreement_file(write(tmp_path, BASE.replace('currency = "EUR"', 'currency = "EUX"')))
    with pytest.raises(ValidationError, match="timezone"):
        load_agreement_file(write(tmp_path, BASE.replace("Europe/Berlin", "Mars/Olympus")))


def test_rate_deck_file_is_read_relative_to_the_agreement(tmp_path: Path) -> None:
    (tmp_path / "deck.csv").write_text(
        "prefix,destination,price,valid_from,version\n"
        "49,DE,0.010,2026-01-01,v1\n"
        "4915,DE mobile,0.07,2026-01-01,v1\n"
    )
    text = BASE.replace('kind = "voice"', 'kind = "voice"\nrate_deck = "deck.csv"')
    ag = to_domain(load_agreement_file(write(tmp_path, text)))
    prefixes = {d.prefix for d in ag.service("voice-ALFA").tariff.destinations}
    assert {"44", "447", "49", "4915"} <= prefixes


def test_a_prefix_given_two_destinations_in_a_rate_deck_is_refused_by_line(tmp_path: Path) -> None:
    """Rows repeat a prefix for other versions and bands of one destination, never for another."""
    (tmp_path / "deck.csv").write_text(
        "prefix,destination,price,valid_from,version\n"
        "4915,DE mobile,0.07,2026-01-01,v1\n"
        "4915,DE mobile,0.06,2026-10-01,v2\n"
        "4915,DE fixed,0.01,2026-10-01,v2\n"
    )
    text = BASE.replace('kind = "voice"', 'kind = "voice"\nrate_deck = "deck.csv"')
    with pytest.raises(
        ValidationError, match=r"deck.csv: line 4: prefix '4915' is listed for 'DE mobile' and 'DE fixed'"
    ):
        load_agreement_file(write(tmp_path, text))


def test_bad_rate_deck_row_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "deck.csv").write_text(
        "prefix,destination,price,valid_from\n49,DE,0.010,2026-01-01\n4x,DE2,1,2026-01-01\n"
    )
    text = BASE.replace('kind = "voice"', 'kind = "voice"\nrate_deck = "deck.csv"')
    with pytest.raises(ValidationError, match=r"deck.csv: line 3"):
        load_agreement_file(write(tmp_path, text))


def test_band_of_a_local_time(tmp_path: Path) -> None:
    from datetime import datetime

    tariff = to_domain(load_agreement_file(write(tmp_path, BASE))).service("voice-ALFA").tariff
    assert local_band(tariff, datetime(2026, 10, 5, 9, 0)) == "peak"  # a Monday
    assert local_band(tariff, datetime(2026, 10, 4, 9, 0)) == "any"  # a Sunday
    assert local_band(tariff, datetime(2026, 12, 25, 9, 0)) == "weekend"  # listed holiday
