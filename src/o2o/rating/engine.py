"""The rating engine's DuckDB adapter: registers the inputs as views, runs the steps, writes Parquet.

`rate_usage` prices one service's canonical usage Parquet files by the agreement's tariff and writes
`rated.parquet` (each priced record), `summary.parquet` (per service, destination and local day) and
`unrated.parquet` (each record that cannot be priced, with its reason). It touches no store: the
caller passes the agreement and the files. Only this module knows DuckDB (read_parquet, COPY, DATE
arithmetic); the step texts in `o2o.rating.steps` are portable SELECTs.
Invariants: records = rated + unrated; money is DECIMAL(38, s) in SQL and Decimal in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb

from o2o.domain.agreements import Agreement
from o2o.domain.currencies import minor_units
from o2o.domain.errors import ValidationError
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind
from o2o.domain.usage import CANONICAL_COLUMNS
from o2o.rating import steps
from o2o.rating.deck import build_deck
from o2o.rating.exact import MICROS, UNROUNDED_PLACES, round_fraction
from o2o.rating.result import QUANTITY_UNITS, RatingResult

RATED_FILE = "rated.parquet"
SUMMARY_FILE = "summary.parquet"
UNRATED_FILE = "unrated.parquet"

_DAY_SQL = "CAST(DATE '1970-01-01' + CAST(local_day AS INTEGER) AS DATE)"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _usage_view(paths: Sequence[Path]) -> str:
    """One view over every usage file with the canonical columns and `src`, the file's index."""
    selects = []
    for i, path in enumerate(paths):
        cols = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in CANONICAL_COLUMNS.items())
        selects.append(f"SELECT {i} AS src, {cols} FROM read_parquet({_quote(path)})")
    return " UNION ALL ".join(selects)


def connect(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one run (spills to a temp directory beyond `memory_limit`)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def rate_usage(
    agreement: Agreement,
    service_id: str,
    usage_paths: Sequence[Path],
    out_dir: Path,
    period: Period | None = None,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> RatingResult:
    """Price the usage of `service_id` in `usage_paths` and write the three Parquet files to `out_dir`."""
    service = agreement.service(service_id)
    if service.kind is ServiceKind.RECURRING:
        raise ValidationError(f"service {service_id} is recurring: it is rated by period, without usage")
    if not usage_paths:
        raise ValidationError("no usage files to rate")
    for path in usage_paths:
        if not path.is_file():
            raise ValidationError(f"usage file {path} does not exist")
    deck = build_deck(service_id, service.kind, service.tariff)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = connect(memory_limit, threads)
    try:
        con.execute(f"CREATE VIEW usage AS {_usage_view(usage_paths)}")
        lo, hi = con.execute("SELECT MIN(start_epoch), MAX(start_epoch) FROM usage").fetchall()[0]
        ctx = steps.StepContext(
            service_id=service_id,
            other_services=tuple(s.id for s in agreement.services if s.id != service_id),
            tariff=service.tariff,
            deck=deck,
            timezone=agreement.timezone,
            data_range=(int(lo or 0), int(hi or 0)),
            period_range=period.bounds_epoch(agreement.timezone) if period else None,
            record_places=agreement.rounding.record_decimals,
            mode=agreement.rounding.mode,
        )
        return _run(con, agreement, ctx, out_dir, period)
    except duckdb.Error as exc:
        raise ValidationError(f"rating {service_id} failed: {exc}") from None
    finally:
        con.close()


def _run(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    ctx: steps.StepContext,
    out_dir: Path,
    period: Period | None,
) -> RatingResult:
    con.register("deck_prefixes", ctx.deck.prefixes)
    con.register("deck_rates", ctx.deck.rates)
    con.execute(f"CREATE TEMP VIEW rating_clock AS {steps.clock_view(ctx)}")
    con.execute(f"CREATE TEMP VIEW rating_banded AS {steps.banded_view(ctx)}")
    con.execute(f"CREATE TEMP VIEW rating_destined AS {steps.destined_view(ctx)}")
    con.execute(f"CREATE TEMP TABLE rating_priced AS {steps.priced_table(ctx)}")
    con.execute(f"CREATE TEMP VIEW rating_charged AS {steps.charged_view(ctx)}")
    rated, summary, unrated = out_dir / RATED_FILE, out_dir / SUMMARY_FILE, out_dir / UNRATED_FILE
    con.execute(
        f"""COPY (SELECT src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume,
                 route, {_DAY_SQL} AS day, band, destination, prefix, rate_version,
                 CAST(price_micros AS DECIMAL(38, 0)) * CAST('0.000001' AS DECIMAL(38, 6)) AS price,
                 billed_quantity, charge
              FROM rating_charged ORDER BY {steps.ORDER_KEY})
            TO {_quote(rated)} (FORMAT parquet)"""
    )
    con.execute(f"CREATE TEMP TABLE rating_summary AS {steps.summary_select(ctx)}")
    con.execute(
        f"""COPY (SELECT service, destination, {_DAY_SQL} AS day, events, billed_quantity, amount
              FROM rating_summary ORDER BY service, destination, local_day)
            TO {_quote(summary)} (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume,
                 route, reason FROM rating_priced WHERE reason IS NOT NULL ORDER BY src, line)
            TO {_quote(unrated)} (FORMAT parquet)"""
    )
    reasons = con.execute(
        "SELECT reason, COUNT(*) FROM rating_priced WHERE reason IS NOT NULL GROUP BY reason"
    ).fetchall()
    totals = con.execute(
        "SELECT COALESCE(SUM(events), 0), COALESCE(SUM(billed_quantity), 0), COALESCE(SUM(amount), 0), "
        "CAST(COALESCE(SUM(num), 0) AS VARCHAR) FROM rating_summary"
    ).fetchall()[0]
    count_rated, quantity, amount_sum, num_text = totals
    unrated_by = {str(r): int(n) for r, n in reasons}
    amount, unrounded = _line_amounts(agreement, ctx, Decimal(amount_sum), int(num_text))
    return RatingResult(
        agreement_id=agreement.id,
        service=ctx.service_id,
        currency=agreement.currency,
        period=str(period) if period else None,
        records=int(count_rated) + sum(unrated_by.values()),
        rated=int(count_rated),
        unrated=unrated_by,
        billed_quantity=int(quantity),
        quantity_unit=QUANTITY_UNITS[ctx.deck.kind.value],
        amount=amount,
        amount_unrounded=unrounded,
        rated_path=rated,
        summary_path=summary,
        unrated_path=unrated,
    )


def _line_amounts(
    agreement: Agreement, ctx: steps.StepContext, record_sum: Decimal, num: int
) -> tuple[Decimal, Decimal]:
    """The line total, rounded once: from rounded records, or from the exact numerator sum."""
    policy = agreement.rounding
    places = policy.line_decimals if policy.line_decimals is not None else minor_units(agreement.currency)
    if ctx.record_places is not None:
        exact = Fraction(record_sum)
        shown = record_sum
    else:
        exact = Fraction(num, ctx.deck.base * MICROS)
        shown = round_fraction(exact, UNROUNDED_PLACES, policy.mode)
    return round_fraction(exact, places, policy.mode), shown
