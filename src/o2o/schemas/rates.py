"""A tariff's destinations, rates and billing increments: from the agreement's TOML, or from a CSV rate
deck beside it (`rate_deck = "deck.csv"`).

The deck's columns are prefix,destination,price,valid_from[,band][,version][,increments]; `increments` is
written as operators sign it, `first/next[/minimum]` seconds (`30/6`, `60/60/60`), and becomes the rate's
own increments. A rate's `valid_from` is a date or a local date-time without offset (`2026-10-15T18:00`),
read in the agreement's time zone; one the zone's clock skips is refused. Errors name the deck's file,
line and field: `deck.csv: line 4: increments: '30/0': …`. Prices carry at most 6 decimals.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from o2o.domain import tariffs as t
from o2o.domain.errors import ValidationError
from o2o.domain.periods import zone
from o2o.schemas.fields import DecimalField, DigitsField, schema_error


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncrementsModel(_Model):
    first: int = Field(1, ge=1)
    next: int = Field(1, ge=1)
    minimum_s: int = Field(0, ge=0)

    def to_domain(self) -> t.Increments:
        return t.Increments(self.first, self.next, self.minimum_s)


class DestinationModel(_Model):
    # An empty prefix is the catch-all destination: it matches every number (data, flat rates).
    prefix: DigitsField | Literal[""]
    name: str
    increments: IncrementsModel | None = None


def six_places(v: Decimal) -> Decimal:
    """Prices and fees carry at most 6 decimals (the rating engine works in millionths)."""
    exponent = v.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValueError("at most 6 decimals")
    return v


def _local_start(value: Any) -> Any:
    """A date, or a local date-time without an offset (it is read in the agreement's zone)."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass  # reported below with the expected form
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date or a local date-time (2026-10-15T18:00)") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(
                f"{value.isoformat()}: give a local date-time without an offset (it is read in the agreement's zone)"
            )
        # Midnight is the plain date: one spelling per start, so that equal starts compare equal.
        return value.date() if value.time() == time(0) else value
    return value


class RateModel(_Model):
    destination: str
    price: DecimalField = Field(ge=0)
    valid_from: datetime | date
    band: str = t.ANY_BAND
    version: str = ""
    increments: IncrementsModel | None = None

    _price_places = field_validator("price")(six_places)
    _start = field_validator("valid_from", mode="before")(_local_start)

    def to_domain(self) -> t.Rate:
        start = self.valid_from
        day, at = (start.date(), start.time()) if isinstance(start, datetime) else (start, time(0))
        increments = self.increments.to_domain() if self.increments else None
        return t.Rate(self.destination, self.price, day, self.band, self.version, increments, at)


def _deck_increments(text: str | None) -> dict[str, int] | None:
    """The deck's `increments` cell: `first/next` or `first/next/minimum` seconds, or empty."""
    if not text or not text.strip():
        return None
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"{text!r} is not first/next[/minimum] seconds (30/6, 60/60/60)")
    first, nxt, *minimum = (int(p) for p in parts)
    if first < 1 or nxt < 1:
        raise ValueError(f"{text!r}: the first and next increments are at least 1 second")
    return {"first": first, "next": nxt, "minimum_s": minimum[0] if minimum else 0}


def _deck_row(row: dict[str, str], where: str, tz: ZoneInfo | None) -> tuple[DestinationModel, RateModel]:
    try:
        increments = _deck_increments(row.get("increments"))
    except ValueError as e:
        raise ValidationError(f"{where}: increments: {e}") from None
    try:
        dest = DestinationModel(prefix=row["prefix"], name=row["destination"])
        rate = RateModel(
            destination=row["destination"],
            price=row["price"],
            valid_from=row["valid_from"],
            band=row.get("band") or t.ANY_BAND,
            version=row.get("version") or "",
            increments=increments,
        )
    except KeyError as e:
        raise ValidationError(f"{where}: the column {e} is missing") from None
    except pydantic.ValidationError as e:
        raise schema_error(where, e) from None
    if tz is not None and isinstance(rate.valid_from, datetime):
        try:
            t.local_start_epoch(rate.valid_from, tz)
        except ValidationError as e:
            raise ValidationError(f"{where}: valid_from: {e}") from None
    return dest, rate


def _deck_rows(
    deck: Path, service_index: int, tz: ZoneInfo | None
) -> tuple[list[DestinationModel], list[RateModel]]:
    """Read a CSV rate deck into destinations and rates, naming the bad line and field on error."""
    dests: dict[str, DestinationModel] = {}
    rates: list[RateModel] = []
    lines: list[int] = []
    # (destination, start, band) → index in `rates`; a start is a date (midnight) or a date-time.
    seen: dict[tuple[str, date, str], int] = {}
    try:
        with deck.open(newline="", encoding="utf-8") as fh:
            for lineno, row in enumerate(csv.DictReader(fh), start=2):
                dest, rate = _deck_row(row, f"{deck}: line {lineno}", tz)
                # A destination with several prefixes repeats its rates, one row per prefix: the same
                # rate again is one rate; a different one for the same start and band contradicts it.
                at = seen.setdefault((rate.destination, rate.valid_from, rate.band), len(rates))
                if at == len(rates):
                    rates.append(rate)
                    lines.append(lineno)
                elif rates[at] != rate:
                    raise ValidationError(
                        f"{deck}: line {lineno}: {rate.destination!r} {rate.band} from {rate.valid_from} "
                        f"differs from line {lines[at]} (price, version or increments)"
                    )
                known = dests.setdefault(dest.prefix, dest)
                if known.name != dest.name:
                    raise ValidationError(
                        f"{deck}: line {lineno}: prefix {dest.prefix!r} is listed for {known.name!r} and {dest.name!r}"
                    )
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError(f"services[{service_index}].rate_deck: cannot read {deck}: {e}") from None
    return list(dests.values()), rates


def _document_zone(doc: dict[str, object]) -> ZoneInfo | None:
    """The document's time zone, to check deck times line by line (a bad zone is reported later)."""
    try:
        return zone(str(doc.get("timezone", "UTC")))
    except ValidationError:
        return None


def expand_decks(doc: dict[str, object], base: Path | None) -> None:
    services = doc.get("services")
    if not isinstance(services, list):
        return
    tz = _document_zone(doc)
    for i, svc in enumerate(services):
        if isinstance(svc, dict) and svc.get("rate_deck"):
            if base is None:
                raise ValidationError(f"services[{i}].rate_deck: only allowed in a file")
            dests, rates = _deck_rows(base / str(svc.pop("rate_deck")), i, tz)
            svc.setdefault("destinations", [])
            svc["destinations"] = list(svc["destinations"]) + [d.model_dump() for d in dests]
            svc["rates"] = list(svc.get("rates", [])) + [r.model_dump() for r in rates]
