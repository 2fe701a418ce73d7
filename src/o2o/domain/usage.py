"""The canonical usage record as stored in the lake (one Parquet file per declaration).

Times are integer epoch seconds UTC (portable across DuckDB and Spark); numbers are E.164 digits with
the raw text kept; `line` is the source line (CSV data lines count from 2, after the header).
A pseudonymised declaration (`o2o.domain.pseudonyms`) carries keyed hashes as its numbers and the
b-number's destination as the declarer resolved it (`destination`: a name of the tariff, or empty when
none matched); a clear one leaves `destination` NULL and rating finds it by prefix.
"""

from __future__ import annotations

from o2o.domain.agreements import Service
from o2o.domain.tariffs import ServiceKind

# name → DuckDB/Spark SQL type, in file order.
CANONICAL_COLUMNS: dict[str, str] = {
    "line": "BIGINT",
    "record_id": "VARCHAR",
    "service": "VARCHAR",
    "a_number": "VARCHAR",
    "b_number": "VARCHAR",
    "a_raw": "VARCHAR",
    "b_raw": "VARCHAR",
    "start_epoch": "BIGINT",
    "duration_s": "BIGINT",
    "volume": "BIGINT",
    "route": "VARCHAR",
    "destination": "VARCHAR",  # declared (pseudonymised usage); NULL: found by the b-number's prefix
}

# What a TAP declaration's records carry besides (`o2o.lake.usage_amounts`), absent from any other
# declaration's file: the event's charge and tax (DECIMAL(38, the batch's TapDecimalPlaces), exact), the TAP
# currency, the exchange rate of the event's exchange rate code (DECIMAL(38, the most places of the batch's
# rates); NULL: none) to the batch's local currency. Readers select the canonical columns by name.
AMOUNT_COLUMNS: dict[str, str] = {
    "charge": "DECIMAL",
    "tax": "DECIMAL",
    "currency": "VARCHAR",
    "exchange_rate": "DECIMAL",
    "local_currency": "VARCHAR",
}

# What a usage file (CSV or Parquet) must and may carry.
REQUIRED_INPUT_COLUMNS = ("a_number", "b_number", "start_time")
OPTIONAL_INPUT_COLUMNS = ("record_id", "service", "duration_s", "volume", "route", "destination")
# The column whose presence makes a usage file pseudonymised: its numbers are pseudonyms, not numbers.
DECLARED_DESTINATION = "destination"


def numbers_required(service: Service) -> bool:
    """Whether a usage record of `service` must carry subscriber numbers (`a_number`, `b_number`).

    Voice and SMS records are matched between the parties by their numbers, so they always need them. A
    data or recurring record needs them only when its tariff prices by destination (a non-empty number
    prefix): a session priced by volume alone is declared by many operators without any number.
    """
    if service.kind in (ServiceKind.VOICE, ServiceKind.SMS):
        return True
    return any(d.prefix for d in service.tariff.destinations)
