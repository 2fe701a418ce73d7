"""The rating engine's DuckDB adapter: registers the inputs, runs the steps, writes Parquet.

`rate_usage` prices one service's canonical usage Parquet files by the agreement's tariff and writes
`rated.parquet` (each priced record), `summary.parquet` (per service, destination and local day) and
`unrated.parquet` (each record that cannot be priced, with its reason). It touches no store: the
caller passes the agreement and the files. Only this module knows DuckDB (read_parquet, COPY, DATE
arithmetic); the step texts in `o2o.rating.steps` are portable SELECTs, which this adapter chains as
common table expressions of the queries that read them. `rate_groups` rates several usages of one
service in one run (a usage line's two sides), each as it is rated alone.
Streaming passes, nothing materialised but small results: pass 1 writes the priced records; the summary
then reads a few columns of the rated file back; only when the counts show unpriced records, an anti-join
of the usage keys (src, line) with the rated file finds them, and pass 2 re-runs the steps on those
records alone (the steps' `usage` is those records) to write each with its reason.
Names a record carries (destination, prefix, rate version, band) are ENUMs of the deck's values.
Invariants: records = rated + unrated; money is DECIMAL(18, s) where proved to fit, else DECIMAL(38, s),
in SQL and Decimal in Python; when the agreement rounds only at the line, `exact_numerator /
exact_denominator` is each record's exact charge.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from o2o.columnar.parquet_parts import copy_by_group
from o2o.domain.agreements import Agreement
from o2o.domain.currencies import minor_units
from o2o.domain.errors import ValidationError
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind, Tariff
from o2o.domain.usage import CANONICAL_COLUMNS
from o2o.rating import steps
from o2o.rating.clock import band_ids
from o2o.rating.deck import Deck, build_deck
from o2o.rating.exact import (
    DUCKDB,
    MICROS,
    UNROUNDED_PLACES,
    Dialect,
    fits_bigint,
    fits_decimal18,
    round_fraction,
)
from o2o.rating.result import QUANTITY_UNITS, RatingResult

RATED_FILE = "rated.parquet"
SUMMARY_FILE = "summary.parquet"
UNRATED_FILE = "unrated.parquet"

_DAY_SQL = "CAST(DATE '1970-01-01' + CAST(local_day AS INTEGER) AS DATE)"
_DAY_NUMBER_SQL = "CAST(day - DATE '1970-01-01' AS BIGINT)"
_INPUT_COLS = "src, line, record_id, service, a_number, b_number, start_epoch, duration_s, volume, route"
# Several usages rated in one run (`rate_groups`) are told apart by their files' numbers: a group's files
# are numbered from group · SRC_STRIDE, and each output carries `src % SRC_STRIDE`, as a run of its own would.
SRC_STRIDE = 1 << 16
_GROUP_SQL = f"src // {SRC_STRIDE}"
_OUTPUT_COLS = _INPUT_COLS.replace("src,", f"src % {SRC_STRIDE} AS src,", 1)
_KEY_COLS = f"src % {SRC_STRIDE} AS src, line"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _usage_view(groups: Sequence[Sequence[Path]], footers: Sequence[Sequence[pq.FileMetaData]]) -> str:
    """One view over every usage file of every group with the canonical columns and `src`, the file's
    number: group · SRC_STRIDE + its index in the group (a column a file lacks, e.g. `destination` in a
    lake file of an older release, is NULL); `footers` are the files' Parquet footers."""
    selects = []
    for g, paths in enumerate(groups):
        for i, path in enumerate(paths):
            present = set(footers[g][i].schema.names)
            cols = ", ".join(
                f"CAST({name if name in present else 'NULL'} AS {kind}) AS {name}"
                for name, kind in CANONICAL_COLUMNS.items()
            )
            selects.append(f"SELECT {g * SRC_STRIDE + i} AS src, {cols} FROM read_parquet({_quote(path)})")
    return " UNION ALL ".join(selects)


def _footer_stats(footers: Sequence[pq.FileMetaData]) -> tuple[int | None, int | None, int, int, int] | None:
    """What `STATS_SQL` gives (min and max start_epoch, max duration_s and volume, count) for files of
    these Parquet footers, from their row groups' statistics, without reading the data; None when a file
    lacks a column or an integer statistic (the data is read then)."""
    lo: int | None = None
    hi: int | None = None
    top = {"duration_s": 0, "volume": 0}
    count = 0
    for meta in footers:
        count += meta.num_rows
        names = meta.schema.names
        for name in ("start_epoch", "duration_s", "volume"):
            if name not in names:
                return None
            col = names.index(name)
            for r in range(meta.num_row_groups):
                st = meta.row_group(r).column(col).statistics
                if st is None or st.physical_type not in ("INT32", "INT64"):
                    return None
                if not st.has_min_max:
                    if st.num_values:  # non-NULL values (what num_values counts) without statistics
                        return None
                    continue  # every value NULL: no bound
                if name == "start_epoch":
                    lo = st.min if lo is None else min(lo, st.min)
                    hi = st.max if hi is None else max(hi, st.max)
                else:
                    top[name] = max(top[name], st.max)
    return lo, hi, top["duration_s"], top["volume"], count


def connect(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one run (spills to a temp directory beyond `memory_limit`)."""
    con = _session(duckdb.connect())
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _session(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection or cursor set for a run: UTC, and no insertion order to keep."""
    con.execute("SET TimeZone = 'UTC'")
    # Outputs are ordered by explicit ORDER BY where order matters; elsewhere threads write as they go.
    con.execute("SET preserve_insertion_order = false")
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
    connection: duckdb.DuckDBPyConnection | None = None,
    usage_columns: bool = True,
) -> RatingResult:
    """Price the usage of `service_id` in `usage_paths` and write the three Parquet files to `out_dir`
    (the rated records keyed by (src, line) alone without `usage_columns`, see `rate_groups`).

    With `connection` (from `connect`), the run takes a cursor of it instead of a new database: opening one
    costs ~20 ms of CPU, which a period's hundred small ratings would pay a hundred times. Everything the run
    makes is TEMP, private to its cursor and gone when the cursor closes; the connection is used by one run
    at a time (its memory limit and threads are the connection's)."""
    (result,) = rate_groups(
        agreement,
        service_id,
        [(usage_paths, out_dir)],
        period,
        memory_limit=memory_limit,
        threads=threads,
        connection=connection,
        usage_columns=usage_columns,
    )
    return result


def rate_groups(
    agreement: Agreement,
    service_id: str,
    groups: Sequence[tuple[Sequence[Path], Path]],
    period: Period | None = None,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    usage_columns: bool = True,
) -> list[RatingResult]:
    """Several usages of `service_id` rated in one run, each group (usage files, output folder) as
    `rate_usage` rates it alone: the same records, figures and files (a tier's volume is its group's).
    Without `usage_columns`, a rated record is keyed by its usage record (`src`, `line`) and carries only
    what rating adds (day, band, destination, prefix, rate version, price, quantity, charge): the usage's
    own columns are in the usage file (a reconciliation's run folder keeps its ratings so; re-encoding
    every record's numbers and ids cost as much as rating).

    Why: a rating's ~25 statements cost ~20 ms whatever the data; the two sides of a usage line (one
    service, one tariff) rated together pay it once. The deck is built for the groups' time range together
    and the integer width for their largest quantities (a record's charge then may be typed wider than
    alone, never with another value)."""
    for paths, _ in groups:
        check_usage(agreement, service_id, paths)
    for _, out_dir in groups:
        out_dir.mkdir(parents=True, exist_ok=True)
    con = connect(memory_limit, threads) if connection is None else _session(connection.cursor())
    try:
        ctx, records = _prepare(con, agreement, service_id, [paths for paths, _ in groups], period)
        return _run(con, agreement, ctx, [out for _, out in groups], period, records, usage_columns)
    except duckdb.Error as exc:
        raise ValidationError(f"rating {service_id} failed: {exc}") from None
    finally:
        con.close()


def check_usage(agreement: Agreement, service_id: str, usage_paths: Sequence[Path | str]) -> None:
    """Refuse a recurring service, no files, or a local file that does not exist (a URL is the engine's
    to read)."""
    service = agreement.service(service_id)
    if service.kind is ServiceKind.RECURRING:
        raise ValidationError(f"service {service_id} is recurring: it is rated by period, without usage")
    if not usage_paths:
        raise ValidationError("no usage files to rate")
    for path in usage_paths:
        if "://" not in str(path) and not Path(path).is_file():
            raise ValidationError(f"usage file {path} does not exist")


def _prepare(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    service_id: str,
    groups: Sequence[Sequence[Path]],
    period: Period | None,
) -> tuple[steps.StepContext, list[int]]:
    """The views `usage_files` and `usage` over the files, and the steps' context (the deck for the data's
    time range, the group of a record when there are several); with the number of records of each group."""
    footers = [[read_footer(path) for path in paths] for paths in groups]
    con.execute(f"CREATE TEMP VIEW usage_files AS {_usage_view(groups, footers)}")
    # STATS_SQL's figures per group: from the files' footers, else in one scan.
    stats = usage_stats(footers)
    if stats is None:
        rows = con.execute(
            f"""SELECT {_GROUP_SQL}, MIN(start_epoch), MAX(start_epoch), MAX(duration_s), MAX(volume), COUNT(*)
                FROM usage_files GROUP BY ALL"""
        ).fetchall()
        stats = _combined(rows, len(groups))
    records, (lo, hi, max_duration, max_volume) = stats
    ctx = step_context(agreement, service_id, (lo, hi, max_duration, max_volume), period)
    if len(groups) > 1:
        ctx = replace(ctx, group=_GROUP_SQL)
    return ctx, records


def read_footer(path: Path) -> pq.FileMetaData:
    """A usage file's Parquet footer (a file that is no Parquet file refused, by name)."""
    try:
        return pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        raise ValidationError(f"usage file {path}: not a readable Parquet file ({exc})") from None


def usage_stats(
    footers: Sequence[Sequence[pq.FileMetaData]],
) -> tuple[list[int], tuple[int | None, int | None, int, int]] | None:
    """Each group's records and, over all groups, what `STATS_SQL` gives (min and max start_epoch, max
    duration_s and volume), from the groups' Parquet footers; None when a file lacks a statistic."""
    known = [_footer_stats(f) for f in footers]
    if any(f is None for f in known):
        return None
    return _combined([(g, *f) for g, f in enumerate(known) if f is not None], len(footers))


def _combined(
    stats: Sequence[Sequence[Any]], groups: int
) -> tuple[list[int], tuple[int | None, int | None, int, int]]:
    """Rows (group, min and max start_epoch, max duration_s and volume, count) folded into each group's
    count and the figures over all groups."""
    records = [0] * groups
    lo, hi, max_duration, max_volume = None, None, 0, 0
    for g, g_lo, g_hi, g_duration, g_volume, count in stats:
        records[int(g)] = int(count)
        lo = g_lo if lo is None or (g_lo is not None and g_lo < lo) else lo
        hi = g_hi if hi is None or (g_hi is not None and g_hi > hi) else hi
        max_duration, max_volume = max(max_duration, g_duration or 0), max(max_volume, g_volume or 0)
    return records, (lo, hi, max_duration, max_volume)


# What the steps' context is made from: the usage's time range and largest quantities (and its count).
STATS_SQL = "SELECT MIN(start_epoch), MAX(start_epoch), MAX(duration_s), MAX(volume), COUNT(*) FROM usage"


def step_context(
    agreement: Agreement,
    service_id: str,
    stats: tuple[int | None, int | None, int | None, int | None],
    period: Period | None,
    dialect: Dialect = DUCKDB,
) -> steps.StepContext:
    """The steps' context for usage of `stats` (min and max start_epoch, max duration_s and volume, as
    `STATS_SQL` gives them): the deck for the data's time range and the narrowest arithmetic proved to
    fit; the same for every engine adapter, which gives its `dialect`."""
    service = agreement.service(service_id)
    lo, hi = int(stats[0] or 0), int(stats[1] or 0)
    deck = build_deck(service_id, service.kind, service.tariff, (lo, hi), agreement.timezone)
    places = agreement.rounding.record_decimals
    bound = _max_numerator(deck, service.tariff, int(stats[2] or 0), int(stats[3] or 0))
    shown = UNROUNDED_PLACES if places is None else places
    return steps.StepContext(
        service_id=service_id,
        other_services=tuple(s.id for s in agreement.services if s.id != service_id),
        tariff=service.tariff,
        deck=deck,
        timezone=agreement.timezone,
        data_range=(lo, hi),
        period_range=period.bounds_epoch(agreement.timezone) if period else None,
        record_places=places,
        mode=agreement.rounding.mode,
        num_type="BIGINT" if fits_bigint(bound, deck.base, shown) else dialect.int128,
        charge_width=18 if fits_decimal18(bound, deck.base, shown) else 38,
        dialect=dialect,
    )


def write_destined(
    agreement: Agreement,
    service_id: str,
    usage_path: Path,
    out: Path,
    columns: Sequence[tuple[str, str]],
    *,
    memory_limit: str | None = None,
    temp_directory: Path | None = None,
    tables: Sequence[tuple[str, str]] = (),
) -> int:
    """Write each record of the canonical usage file `usage_path` with its destination under the
    service's tariff, found as rating finds it (`rating_destined`: longest prefix of the b-number, or
    the destination the record declares), to `out` (Parquet, or CSV with a header when its name ends
    `.csv`), in the file's order; return the number of records. `columns` are (name, SQL) over `line`,
    `record_id`, `service`, `a_number`, `b_number`, `start_epoch`, `duration_s`, `volume`, `route` and
    `destination` (the tariff's name, NULL when none matched), and over `tables`: (name, SELECT over the
    view `usage`), each made a temp table first (e.g. a small table of distinct values worked out once).
    The one way a destination is found outside rating: the pseudonymiser, on the declarer's side."""
    service = agreement.service(service_id)
    if service.kind is ServiceKind.RECURRING:
        raise ValidationError(f"service {service_id} is recurring: it has no usage records")
    con = connect(memory_limit)
    try:
        if temp_directory is not None:  # where DuckDB spills past `memory_limit`
            con.execute(f"SET temp_directory = {_quote(temp_directory)}")
        ctx, (records,) = _prepare(con, agreement, service_id, [[usage_path]], None)
        _register_steps(con, ctx, with_names=True)
        con.execute(f"CREATE TEMP VIEW usage AS {_USAGE}")  # what `tables` read
        for name, select in tables:
            con.execute(f"CREATE TEMP TABLE {name} AS {select}")
        selected = ", ".join(f"{sql} AS {name}" for name, sql in columns)
        fmt = "(FORMAT csv, HEADER)" if out.suffix.lower() == ".csv" else "(FORMAT parquet, COMPRESSION zstd)"
        con.execute(
            f"""COPY ({_with_steps(ctx, "rating_destined")} SELECT {selected} FROM (
                    SELECT d.line, d.record_id, d.service, d.a_number, d.b_number, d.start_epoch,
                           d.duration_s, d.volume, d.route, CAST(n.destination AS VARCHAR) AS destination
                    FROM rating_destined d LEFT JOIN rating_names n ON n.pid = d.pid) r
                  ORDER BY line) TO {_quote(out)} {fmt}"""
        )
        return records
    except duckdb.Error as exc:
        raise ValidationError(f"finding the destinations of {service_id} failed: {exc}") from None
    finally:
        con.close()


def _max_numerator(deck: Deck, tariff: Tariff, max_duration: int, max_volume: int) -> int:
    """An upper bound of any record's charge numerator, to choose the integer width of the arithmetic."""
    if deck.kind is ServiceKind.VOICE:
        billed = max(
            max(max_duration, inc.minimum_s) + inc.first + inc.next
            for inc in (tariff.increments, *deck.increment_rules)
        )
    else:
        billed = max(max_volume, 1) + tariff.volume_increment
    return max_price(deck) * billed + (deck.setup_micros + deck.minimum_micros) * deck.base


def max_price(deck: Deck) -> int:
    """The highest unit price any record can take (rates in force, tiers), in millionths."""
    top = pc.max(deck.rates.column("price_micros")).as_py()
    return max([top or 0] + [lv.price_micros for lv in deck.tiers])


def _register_steps(con: duckdb.DuckDBPyConnection, ctx: steps.StepContext, with_names: bool = False) -> None:
    con.register("deck_prefixes", ctx.deck.prefixes)
    con.register("deck_pids", ctx.deck.pids)
    con.register("deck_expanded", ctx.deck.expanded)
    con.register("deck_rates", ctx.deck.rates)
    con.register("deck_names", ctx.deck.names)
    # The names a record carries (destination, prefix, rate version, band) are ENUMs of the deck's
    # values: the Parquet writer then takes each column's dictionary as it is, without hashing a string
    # per record, and the file still holds plain strings.
    names = {
        "destination": "SELECT destination FROM deck_names",
        "prefix": "SELECT prefix FROM deck_pids",
        "version": "SELECT DISTINCT version FROM deck_rates WHERE version IS NOT NULL",
        "band": " UNION ".join(f"SELECT {steps.lit(b)}" for b in band_ids(ctx.tariff)),
    }
    for name, values in names.items():
        con.execute(f"CREATE TEMP TYPE rating_{name} AS ENUM ({values})")
    # Only the tables the steps read: rates (priced by rate) or names (by tier, or asked for).
    if ctx.deck.tier_mode is None:
        con.execute(
            "CREATE TEMP TABLE rating_rates AS SELECT rkey, price_micros, inc_id, "
            + ", ".join(f"CAST({n} AS rating_{n}) AS {n}" for n in names)
            + f" FROM ({steps.prefix_rates_select(ctx)}) s"
        )
    if ctx.deck.tier_mode is not None or with_names:
        con.execute(
            "CREATE TEMP TABLE rating_names AS SELECT pid, CAST(destination AS rating_destination) AS destination, "
            f"CAST(prefix AS rating_prefix) AS prefix, inc_id FROM ({steps.prefix_names_select(ctx)}) s"
        )
    con.execute(f"CREATE TEMP TABLE rating_declared AS {steps.declared_select()}")


# The steps as the DuckDB adapter names them, in order (each reads the one before; the first reads `usage`).
_STEPS = (
    ("rating_clock", steps.clock_view),
    ("rating_banded", steps.banded_view),
    ("rating_destined", steps.destined_view),
    ("rating_priced", steps.priced_view),
    ("rating_records", steps.records_view),
)
_USAGE = "SELECT * FROM usage_files"


def _with_steps(ctx: steps.StepContext, last: str, usage: str = _USAGE) -> str:
    """The steps up to `last` as common table expressions over `usage` (a SELECT of the usage files), to
    begin the query that reads `last`: bound once there, where a view is bound when made and again when
    read (~2 ms a step of every rating)."""
    ctes = [f"usage AS ({usage})"]
    for name, view in _STEPS:
        ctes.append(f"{name} AS ({view(ctx)})")
        if name == last:
            return "WITH " + ",\n".join(ctes)
    raise ValueError(f"no step {last}")


def _write_rated(
    con: duckdb.DuckDBPyConnection,
    ctx: steps.StepContext,
    rated: list[Path],
    scratch: Path,
    usage_columns: bool = True,
) -> None:
    """Pass 1: every priced record, streamed to Parquet (the exact numerator only when not rounded), with
    the usage's columns or keyed by (src, line) alone; with several groups, one COPY partitioned by group
    (in `scratch`), each part moved to its group's file."""
    # A unit price below 10^6 is a DECIMAL(18, 6): DECIMAL(12, 0) × DECIMAL(6, 6) stays 64-bit.
    price = "CAST(price_micros AS DECIMAL(38, 0)) * CAST('0.000001' AS DECIMAL(38, 6))"
    if max_price(ctx.deck) < 10**12:
        price = "CAST(price_micros AS DECIMAL(12, 0)) * CAST('0.000001' AS DECIMAL(6, 6))"
    exact = ""
    if ctx.record_places is None:
        exact = (
            ", CAST(num AS DECIMAL(38, 0)) AS exact_numerator, "
            f"CAST({ctx.deck.base * MICROS} AS BIGINT) AS exact_denominator"
        )
    grp = "" if len(rated) == 1 else f", {_GROUP_SQL} AS grp"
    usage = _OUTPUT_COLS if usage_columns else _KEY_COLS
    select = f"""{_with_steps(ctx, "rating_records")} SELECT {usage}, {_DAY_SQL} AS day, band, destination, prefix, rate_version,
                 {price} AS price,
                 billed_quantity, charge{exact}{grp}
              FROM rating_records WHERE reason IS NULL"""
    if len(rated) == 1:
        con.execute(f"COPY ({select}) TO {_quote(rated[0])} (FORMAT parquet)")
        return
    copy_by_group(con, select, dict(enumerate(rated)), scratch)


# A summary file's columns, as DuckDB types them (the amount's decimal is the run's own).
_SUMMARY_NAMES = ["service", "destination", "day", "events", "billed_quantity", "amount"]
_SUMMARY_TYPES = [pa.string(), pa.string(), pa.date32(), pa.int64(), pa.int64()]


def _arrow_decimal(duckdb_type: str) -> pa.DataType:
    """The Arrow type of a DuckDB `DECIMAL(p,s)`."""
    found = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if found is None:
        raise RuntimeError(f"a summary amount typed {duckdb_type}, not DECIMAL")
    return pa.decimal128(int(found[1]), int(found[2]))


# An empty unrated file's bytes (its columns are the canonical ones and the reason, whatever the usage).
_EMPTY_UNRATED: list[bytes] = []


def write_unrated(
    con: duckdb.DuckDBPyConnection,
    unrated: Sequence[Path],
    short: Sequence[int],
    steps_over: Callable[[str], str],
) -> dict[int, dict[str, int]]:
    """Pass 2: each group's unrated file (`unrated[g]`, beside its rated file), and per group the unpriced
    records by reason. Only the groups in `short` (fewer rated records than read) have any: the records
    missing from their rated files (an anti-join on the unique key is cheaper than looking every record up
    again) go through the steps again, `steps_over(usage)` (the steps up to `rating_priced` over a SELECT
    of the usage files), which give each its reason; the other groups get the empty file."""
    unrated_by: dict[int, dict[str, int]] = {g: {} for g in range(len(unrated))}
    if short:
        listed = ", ".join(str(g) for g in short)
        rated_keys = " UNION ALL ".join(
            f"SELECT {g * SRC_STRIDE} + src AS src, line FROM read_parquet({_quote(unrated[g].parent / RATED_FILE)})"
            for g in short
        )
        con.execute(
            f"""CREATE TEMP TABLE rating_unpriced_keys AS SELECT src, line FROM usage_files u
                WHERE {_GROUP_SQL} IN ({listed})
                  AND NOT EXISTS (SELECT 1 FROM ({rated_keys}) r WHERE r.src = u.src AND r.line = u.line)"""
        )
        usage = """SELECT u.* FROM usage_files u
                   WHERE EXISTS (SELECT 1 FROM rating_unpriced_keys k WHERE k.src = u.src AND k.line = u.line)"""
        con.execute(
            f"""CREATE TEMP TABLE rating_unrated AS {steps_over(usage)}
                SELECT {_GROUP_SQL} AS grp, {_OUTPUT_COLS}, reason FROM rating_priced WHERE reason IS NOT NULL"""
        )
        for g, reason, n in con.execute(
            "SELECT grp, reason, COUNT(*) FROM rating_unrated GROUP BY ALL"
        ).fetchall():
            unrated_by[int(g)][str(reason)] = int(n)
        for g in short:
            con.execute(
                f"""COPY (SELECT * EXCLUDE (grp) FROM rating_unrated WHERE grp = {g} ORDER BY src, line)
                    TO {_quote(unrated[g])} (FORMAT parquet)"""
            )
    write_empty_unrated(con, [path for g, path in enumerate(unrated) if g not in short])
    return unrated_by


def write_empty_unrated(con: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> None:
    """The unrated files of groups with every record priced: empty, with the canonical columns (the steps
    pass them through unchanged) and the reason, the same bytes every time (written by DuckDB once in a
    process, over the view `usage_files`). The first is written, the others are hard links to it: a new
    file cost ~1.4 ms of system time on the machine measured, a link ~0.02 ms (a copy where the file
    system refuses links). The files are never written again in place."""
    if not paths:
        return
    if not _EMPTY_UNRATED:
        con.execute(
            f"""COPY (SELECT {_OUTPUT_COLS}, CAST(NULL AS VARCHAR) AS reason FROM usage_files WHERE FALSE)
                TO {_quote(paths[0])} (FORMAT parquet)"""
        )
        _EMPTY_UNRATED.append(paths[0].read_bytes())
    else:
        paths[0].write_bytes(_EMPTY_UNRATED[0])
    for path in paths[1:]:
        try:
            os.link(paths[0], path)
        except OSError:
            path.write_bytes(_EMPTY_UNRATED[0])


def _run(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    ctx: steps.StepContext,
    out_dirs: list[Path],
    period: Period | None,
    records: list[int],
    usage_columns: bool = True,
) -> list[RatingResult]:
    _register_steps(con, ctx)
    rated = [d / RATED_FILE for d in out_dirs]
    _write_rated(con, ctx, rated, out_dirs[0].parent, usage_columns)
    # The summary reads back only the few columns it needs from the rated files.
    num = (
        "CAST(exact_numerator AS DECIMAL(38, 0))"
        if ctx.record_places is None
        else "CAST(NULL AS DECIMAL(38, 0))"
    )
    # Each table below has the group as `grp` (0 with one group), each file is one group's rows.
    rated_rows = " UNION ALL ".join(
        f"SELECT {g} AS grp, destination, {_DAY_NUMBER_SQL} AS local_day, "
        f"billed_quantity, charge, {num} AS num FROM read_parquet({_quote(path)})"
        for g, path in enumerate(rated)
    )
    # Every priced record is of the rated service: the summary groups by destination and day only.
    rows_of, figures = _summaries(
        con,
        f"""SELECT grp, service, destination, {_DAY_SQL} AS day, events, billed_quantity, amount, num
            FROM ({steps.summary_select(ctx, f"({rated_rows}) rating_rated", grouped=True)}) s
            ORDER BY grp, service, destination, local_day""",
        len(out_dirs),
        out_dirs,
    )
    unrated_by = write_unrated(
        con,
        [d / UNRATED_FILE for d in out_dirs],
        [g for g in range(len(out_dirs)) if int(figures[g][0]) < records[g]],
        lambda usage: _with_steps(ctx, "rating_priced", usage),
    )
    return rating_results(agreement, ctx, period, out_dirs, records, figures, rows_of, unrated_by)


_Figures = tuple[int, int, Decimal, str]  # a group's rated records, billed quantity, amount, numerator sum


def _summaries(
    con: duckdb.DuckDBPyConnection, select: str, groups: int, out_dirs: Sequence[Path]
) -> tuple[dict[int, list[tuple[Any, ...]]], dict[int, _Figures]]:
    """The summary rows of `select` (group, service, destination, day, events, billed quantity, amount,
    numerator; ordered by group) fetched once, split by group, each group's written to its folder's
    summary file by Arrow (it is small: destinations × days); with each group's figures."""
    cur = con.execute(select)
    types = [*_SUMMARY_TYPES, _arrow_decimal(str(cur.description[6][1]))]
    schema = pa.schema(list(zip(_SUMMARY_NAMES, types, strict=True)))
    rows_of: dict[int, list[tuple[Any, ...]]] = {g: [] for g in range(groups)}
    for row in cur.fetchall():
        rows_of[int(row[0])].append(row[1:])
    figures = {}
    for g, rows in rows_of.items():
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(types)
        part = pa.table([pa.array(columns[i], t) for i, t in enumerate(types)], schema=schema)
        pq.write_table(part, out_dirs[g] / SUMMARY_FILE)
        with localcontext() as exact:  # sums of DECIMAL(38, s) values, never rounded to 28 digits
            exact.prec = 80
            amount_sum = sum((r[5] for r in rows), Decimal(0))
        num_sum = sum(int(r[6]) for r in rows if r[6] is not None)
        figures[g] = (sum(r[3] for r in rows), sum(r[4] for r in rows), amount_sum, str(num_sum))
    return rows_of, figures


def rating_results(
    agreement: Agreement,
    ctx: steps.StepContext,
    period: Period | None,
    out_dirs: Sequence[Path],
    records: Sequence[int],
    figures: dict[int, _Figures],
    rows_of: dict[int, list[tuple[Any, ...]]],
    unrated_by: dict[int, dict[str, int]],
) -> list[RatingResult]:
    """Each group's result from its figures, checked: every record read is rated or unrated."""
    results = []
    for g, out_dir in enumerate(out_dirs):
        count_rated, quantity, amount_sum, num_text = figures[g]
        if int(count_rated) + sum(unrated_by[g].values()) != records[g]:
            raise RuntimeError(
                f"rating lost records: {records[g]} read, {count_rated} rated, {unrated_by[g]} unrated"
            )
        amount, unrounded = line_amounts(agreement, ctx, Decimal(amount_sum), int(num_text))
        results.append(
            RatingResult(
                agreement_id=agreement.id,
                service=ctx.service_id,
                currency=agreement.currency,
                period=str(period) if period else None,
                records=records[g],
                rated=int(count_rated),
                unrated=unrated_by[g],
                billed_quantity=int(quantity),
                quantity_unit=QUANTITY_UNITS[ctx.deck.kind.value],
                amount=amount,
                amount_unrounded=unrounded,
                rated_path=out_dir / RATED_FILE,
                summary_path=out_dir / SUMMARY_FILE,
                summary_rows=tuple(row[:6] for row in rows_of[g]),
                unrated_path=out_dir / UNRATED_FILE,
            )
        )
    return results


def line_amounts(
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
