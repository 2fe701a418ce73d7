"""A TAP declaration's amounts in the lake: each record's charge, tax, currency and exchange rate.

A TAP batch's call events are imported as a usage CSV (`o2o.tap3.usage_csv`), which carries the usage
columns only; the events' amounts are written beside it (`AMOUNT_CSV_COLUMNS`, by record id) and joined
here onto the accepted records of the canonical Parquet (`o2o.domain.usage.AMOUNT_COLUMNS`): exact
DECIMAL(38, the batch's decimal places), never a float. A declaration of any other source has none of
these columns; every reader of the canonical columns selects them by name, so it is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

# DECIMAL(38, s) holds the batch's amounts exactly: TAP's places are 0 to 6, an exchange rate's a few.
MAX_SCALE = 30


@dataclass(frozen=True, slots=True)
class DeclaredAmounts:
    """The charge and tax of a declaration's records in one currency, summed from the stored records."""

    currency: str
    records: int
    charge: Decimal
    tax: Decimal
    local_currency: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "records": self.records,
            "charge": f"{self.charge:f}",
            "tax": f"{self.tax:f}",
            "local_currency": self.local_currency,
        }


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_amounts(
    usage_parquet: Path,
    amounts_csv: Path,
    *,
    currency: str,
    decimal_places: int,
    rate_places: int,
    local_currency: str | None,
    workdir: Path,
    memory_limit: str = "1GB",
) -> list[DeclaredAmounts]:
    """Rewrite `usage_parquet` with each record's amounts from `amounts_csv` (joined by record id, the
    records in line order); the amounts summed from the file written. Raises ValueError when a record has
    no amounts (the two files are written together, so that is a bug, not bad input)."""
    for label, scale in (("decimal places", decimal_places), ("exchange rate decimal places", rate_places)):
        if not 0 <= scale <= MAX_SCALE:
            raise ValueError(f"{amounts_csv}: {label} {scale} is not 0 to {MAX_SCALE}")
    money, rate = f"DECIMAL(38, {decimal_places})", f"DECIMAL(38, {rate_places})"
    local = "CAST(NULL AS VARCHAR)" if local_currency is None else _q(local_currency)
    out = workdir / "usage-amounts.parquet"
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"SET memory_limit = {_q(memory_limit)}")  # beyond it, the join and sort spill
        con.execute(f"SET temp_directory = {_q(str(workdir / 'spill'))}")
        con.execute(
            f"""COPY (
                SELECT u.*, CAST(a.charge AS {money}) AS charge, CAST(a.tax AS {money}) AS tax,
                       {_q(currency)} AS currency,
                       CAST(nullif(a.exchange_rate, '') AS {rate}) AS exchange_rate, {local} AS local_currency
                FROM read_parquet({_q(str(usage_parquet))}) u
                LEFT JOIN read_csv({_q(str(amounts_csv))}, all_varchar = true, header = true) a
                  ON a.record_id = u.record_id
                ORDER BY u.line
            ) TO {_q(str(out))} (FORMAT parquet, COMPRESSION zstd)"""
        )
        missing = con.execute(
            f"SELECT count(*) FROM read_parquet({_q(str(out))}) WHERE charge IS NULL OR tax IS NULL"
        ).fetchone()
    finally:
        con.close()
    if missing and missing[0]:
        out.unlink(missing_ok=True)
        raise ValueError(f"{usage_parquet}: {missing[0]} record(s) without amounts in {amounts_csv}")
    out.replace(usage_parquet)
    return declared_amounts(usage_parquet) or []


def _exact(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(value)


def declared_amounts(path: Path) -> list[DeclaredAmounts] | None:
    """The charge and tax of the declaration's records per currency, summed exactly from its file; None
    when its records carry no amounts (any declaration but a TAP file's)."""
    if "charge" not in pq.read_schema(path).names:
        return None
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT currency, count(*), sum(charge), sum(tax), any_value(local_currency) "
            f"FROM read_parquet({_q(str(path))}) GROUP BY currency ORDER BY currency"
        ).fetchall()
    finally:
        con.close()
    return [
        DeclaredAmounts(str(cur), int(n), _exact(charge), _exact(tax), local)
        for cur, n, charge, tax, local in rows
    ]
