"""The countries a synthetic network is drawn from: numbering plans, currencies, time zones, number blocks.

Invariants: each country's number blocks are distinct, start with a non-zero digit and are not
prefixes of one another; a national significant number is a block followed by `subscriber_digits`
digits; written nationally (trunk prefix + number) it never starts with the international prefix,
so `o2o.domain.numbers.normalise_number` gives the E.164 digits back. Countries without a trunk prefix
(Singapore) are never written nationally.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Country:
    """A country's numbering plan and the blocks its operators' subscribers are numbered from."""

    code: str
    name: str
    country_code: str
    trunk_prefix: str
    international_prefix: str
    currency: str
    timezone: str
    utc_offset: str  # fixed offset some of its switches write times in, e.g. "+03:00"
    mobile_blocks: tuple[str, ...]  # one per operator of the country, in order
    fixed_block: str  # the incumbent's fixed-line block (first operator of the country)
    subscriber_digits: int
    price_factor: Decimal  # currency units per US dollar, roughly, for plausible prices

    @property
    def utc_offset_s(self) -> int:
        sign = -1 if self.utc_offset.startswith("-") else 1
        hours, minutes = self.utc_offset[1:].split(":")
        return sign * (int(hours) * 3600 + int(minutes) * 60)


COUNTRIES: tuple[Country, ...] = (
    Country(
        "GB", "United Kingdom", "44", "0", "00", "GBP", "Europe/London", "+00:00",
        ("77", "78", "79", "75"), "20", 8, Decimal("0.8"),
    ),
    Country(
        "DE", "Germany", "49", "0", "00", "EUR", "Europe/Berlin", "+01:00",
        ("151", "160", "170", "176"), "30", 8, Decimal("0.9"),
    ),
    Country(
        "RU", "Russia", "7", "8", "810", "RUB", "Europe/Moscow", "+03:00",
        ("916", "925", "903", "950"), "495", 7, Decimal(90),
    ),
    Country(
        "US", "United States", "1", "1", "011", "USD", "America/New_York", "-05:00",
        ("212", "646", "917", "332"), "202", 7, Decimal(1),
    ),
    Country(
        "CH", "Switzerland", "41", "0", "00", "CHF", "Europe/Zurich", "+01:00",
        ("79", "78", "76", "77"), "44", 7, Decimal("0.9"),
    ),
    Country(
        "JP", "Japan", "81", "0", "010", "JPY", "Asia/Tokyo", "+09:00",
        ("90", "80", "70", "60"), "3", 8, Decimal(150),
    ),
    Country(
        "KZ", "Kazakhstan", "7", "8", "810", "KZT", "Asia/Almaty", "+05:00",
        ("701", "705", "777", "747"), "727", 7, Decimal(480),
    ),
    Country(
        "CN", "China", "86", "0", "00", "CNY", "Asia/Shanghai", "+08:00",
        ("139", "138", "186", "133"), "10", 8, Decimal(7),
    ),
    Country(
        "FR", "France", "33", "0", "00", "EUR", "Europe/Paris", "+01:00",
        ("61", "62", "63", "64"), "1", 7, Decimal("0.9"),
    ),
    Country(
        "TR", "Turkey", "90", "0", "00", "TRY", "Europe/Istanbul", "+03:00",
        ("532", "542", "505", "555"), "212", 7, Decimal(40),
    ),
    Country(
        "AE", "United Arab Emirates", "971", "0", "00", "AED", "Asia/Dubai", "+04:00",
        ("50", "55", "52", "56"), "4", 7, Decimal("3.7"),
    ),
    Country(
        "SG", "Singapore", "65", "", "001", "SGD", "Asia/Singapore", "+08:00",
        ("8", "9", "7", "5"), "6", 7, Decimal("1.3"),
    ),
)  # fmt: skip

# The order operators are placed in: a large home market first, a domestic competitor third.
PLACEMENT = ("GB", "DE", "GB", "RU", "US", "CH", "JP", "KZ", "CN", "FR", "TR", "AE", "SG")

_BY_CODE = {c.code: c for c in COUNTRIES}


def country(code: str) -> Country:
    return _BY_CODE[code]


def placement(n: int) -> list[tuple[Country, int]]:
    """The country of each of `n` operators and its rank inside that country (0 = incumbent)."""
    seen: dict[str, int] = {}
    out: list[tuple[Country, int]] = []
    i = 0
    while len(out) < n:
        code = PLACEMENT[i % len(PLACEMENT)] if i < len(PLACEMENT) else COUNTRIES[i % len(COUNTRIES)].code
        i += 1
        rank = seen.get(code, 0)
        if rank >= len(_BY_CODE[code].mobile_blocks):
            continue
        seen[code] = rank + 1
        out.append((_BY_CODE[code], rank))
    return out
