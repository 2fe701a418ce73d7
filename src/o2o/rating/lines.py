"""Many usage lines of different tariffs rated in one DuckDB run: `rate_lines` gives each line's usages
exactly what `engine.rate_groups` gives them (the same rated, summary and unrated rows, the same figures),
for the fixed cost of one rating instead of one per line.

Why: a rating's fixed cost (~25 statements bound, planned and run, the deck's tables registered, the
summary read back, ~20–40 ms) is paid per run whatever the data; a period's fifty-odd lines, most of them
small, paid it fifty-odd times, more than the records cost.

How: every usage of every line is a group G (its files numbered G · SRC_STRIDE + i, as `rate_groups` numbers
them). What the single-tariff steps (`o2o.rating.steps`) write as constants of the one tariff is a column of
the small table `ml_groups`, one row per group, joined to each record once: the service and its
agreement's other services, the period, the kind, the service's billing increments and volume increment,
the slot starts of its rate versions, its fees, base unit and prefix catch-all. The zone offsets and the
time bands stay CASE expressions, one per distinct zone and band set, chosen by a small id. The decks'
tables are concatenated with each line's number j folded into their keys (j · J_SPAN + key): one LEFT JOIN
per prefix length of any deck above the shortest expanded length, one join of the expanded short prefixes
(every deck expanded to that length), one join of the rates (each deck's rate key, its band and slot
counts its own). A record's prefix, rate and increments are then its own deck's, and its arithmetic its
tariff's, as when its line is rated alone.

Which lines go together: those whose outputs have the same column types (record rounding and mode, the
integer width of the arithmetic, the charge's and the price's decimal widths), tier-priced lines excepted
(a tier's price depends on the line's volume: they are rated by `rate_groups`, each line in its run).
A run that fails is not the end of its lines: each is rated alone, so that a bad file gets its own error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from o2o.columnar.parquet_parts import copy_by_group
from o2o.domain.agreements import Agreement
from o2o.domain.errors import O2OError, ValidationError
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind
from o2o.domain.usage import CANONICAL_COLUMNS
from o2o.rating import steps
from o2o.rating.clock import band_ids, sql_band, sql_offset
from o2o.rating.deck import CATCH_ALL_PID, _expand
from o2o.rating.engine import (
    _DAY_NUMBER_SQL,
    _DAY_SQL,
    _KEY_COLS,
    _OUTPUT_COLS,
    RATED_FILE,
    SRC_STRIDE,
    UNRATED_FILE,
    _quote,
    _session,
    _summaries,
    check_usage,
    connect,
    max_price,
    rate_groups,
    rating_results,
    read_footer,
    step_context,
    usage_stats,
    write_unrated,
)
from o2o.rating.exact import MICROS, UNROUNDED_PLACES, sql_round_ratio
from o2o.rating.result import RatingResult

# A line's keys (prefix and expanded keys below 2 · 10^15) are moved by j · J_SPAN; rate keys by j · R_SPAN.
J_SPAN = 10**16
R_SPAN = 1 << 40
MAX_LINES = 900  # j · J_SPAN stays below 2^63
_KINDS = {ServiceKind.VOICE: 0, ServiceKind.SMS: 1, ServiceKind.DATA: 2}
_GROUP_SQL = f"(src // {SRC_STRIDE})"


@dataclass(frozen=True, slots=True)
class LineRating:
    """One usage line to rate: a service of an agreement, its usages (files, output folder) and period."""

    agreement: Agreement
    service_id: str
    groups: Sequence[tuple[Sequence[Path], Path]]
    period: Period | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    job: LineRating
    ctx: steps.StepContext
    records: list[int]
    footers: list[list[pq.FileMetaData]]


def rate_lines(
    lines: Sequence[LineRating],
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
    usage_columns: bool = True,
) -> list[list[RatingResult] | Exception]:
    """Each line's results (one per usage, as `rate_groups` gives them), or the error rating it alone
    raised, for the caller to raise where it reports that line (see the module's docstring)."""
    out: list[list[RatingResult] | Exception | None] = [None] * len(lines)
    chains: dict[tuple[Any, ...], list[tuple[int, _Line]]] = {}
    alone: list[int] = []
    for i, job in enumerate(lines):
        try:
            prepared = _prepare(job)
        except (O2OError, OSError, pa.ArrowException):
            alone.append(i)  # its error comes from rating it alone, below
            continue
        key = _shape(prepared.ctx)
        if key is None:
            alone.append(i)
        else:
            chains.setdefault(key, []).append((i, prepared))
    for chain in chains.values():
        for start in range(0, len(chain), MAX_LINES):
            part = chain[start : start + MAX_LINES]
            if len(part) == 1:
                alone.append(part[0][0])
                continue
            try:
                results = _rate_chain([p for _, p in part], memory_limit, threads, connection, usage_columns)
            except (O2OError, duckdb.Error, OSError, pa.ArrowException):
                alone += [i for i, _ in part]
                continue
            for (i, _), result in zip(part, results, strict=True):
                out[i] = result
    for i in sorted(alone):
        job = lines[i]
        try:
            out[i] = rate_groups(
                job.agreement,
                job.service_id,
                job.groups,
                job.period,
                memory_limit=memory_limit,
                threads=threads,
                connection=connection,
                usage_columns=usage_columns,
            )
        except Exception as exc:  # raised by the caller where it reports this line
            out[i] = exc
    return [r if r is not None else RuntimeError("line not rated") for r in out]


def _prepare(job: LineRating) -> _Line:
    for paths, _ in job.groups:
        check_usage(job.agreement, job.service_id, paths)
    for _, out_dir in job.groups:
        out_dir.mkdir(parents=True, exist_ok=True)
    footers = [[read_footer(path) for path in paths] for paths, _ in job.groups]
    stats = usage_stats(footers)
    if stats is None:
        raise ValidationError("usage statistics missing from the files' footers")  # rated alone: it scans
    records, figures = stats
    ctx = step_context(job.agreement, job.service_id, figures, job.period)
    return _Line(job, ctx, records, footers)


def _shape(ctx: steps.StepContext) -> tuple[Any, ...] | None:
    """What lines of one run share (their outputs' column types), or None for a line rated alone."""
    deck = ctx.deck
    fees = max(deck.setup_micros, deck.minimum_micros) * deck.base
    if deck.tier_mode is not None or deck.kind not in _KINDS or fees >= 1 << 62:
        return None
    return (ctx.record_places, ctx.mode, ctx.num_type, ctx.charge_width, max_price(deck) < 10**12)


def _rate_chain(
    lines: list[_Line],
    memory_limit: str | None,
    threads: int | None,
    connection: duckdb.DuckDBPyConnection | None,
    usage_columns: bool,
) -> list[list[RatingResult]]:
    con = connect(memory_limit, threads) if connection is None else _session(connection.cursor())
    try:
        groups = [g for line in lines for g in line.job.groups]
        _usage_files(con, [paths for paths, _ in groups])
        chain = _Chain(lines)
        chain.register(con)
        out_dirs = [out for _, out in groups]
        rated = [d / RATED_FILE for d in out_dirs]
        keys = _KEY_COLS if not usage_columns else _OUTPUT_COLS
        copy_by_group(con, chain.rated_select(keys), dict(enumerate(rated)), out_dirs[0].parent)
        rows_of, figures = _summaries(con, chain.summary_select(rated), len(out_dirs), out_dirs)
        records = [n for line in lines for n in line.records]
        unrated_by = write_unrated(
            con,
            [d / UNRATED_FILE for d in out_dirs],
            [g for g in range(len(out_dirs)) if int(figures[g][0]) < records[g]],
            lambda usage: chain.with_steps("rating_priced", usage, full=True),
        )
        results: list[list[RatingResult]] = []
        g = 0
        for line in lines:
            n = len(line.job.groups)
            span = range(g, g + n)
            results.append(
                rating_results(
                    line.job.agreement,
                    line.ctx,
                    line.job.period,
                    [out_dirs[k] for k in span],
                    [records[k] for k in span],
                    {k - g: figures[k] for k in span},
                    {k - g: rows_of[k] for k in span},
                    {k - g: unrated_by[k] for k in span},
                )
            )
            g += n
        return results
    except duckdb.Error as exc:
        names = ", ".join(line.job.service_id for line in lines)
        raise ValidationError(f"rating {names} failed: {exc}") from None
    finally:
        con.close()


def _usage_files(con: duckdb.DuckDBPyConnection, groups: list[Sequence[Path]]) -> None:
    """The view `usage_files` over every file of every group, as `engine._usage_view` makes it (the
    canonical columns, NULL where a file lacks one, and `src`), by one scan of all the files (its threads
    share them out; a union of one scan per file runs them one after the other)."""
    files = [(g * SRC_STRIDE + i, path) for g, paths in enumerate(groups) for i, path in enumerate(paths)]
    con.register(
        "ml_files",
        pa.table(
            {
                "fidx": pa.array(range(len(files)), pa.int64()),
                "src": pa.array([f[0] for f in files], pa.int64()),
            }
        ),
    )
    cols = ", ".join(f"CAST(u.{name} AS {kind}) AS {name}" for name, kind in CANONICAL_COLUMNS.items())
    listed = ", ".join(_quote(path) for _, path in files)
    con.execute(
        f"""CREATE TEMP VIEW usage_files AS SELECT CAST(f.src AS INTEGER) AS src, {cols}
            FROM read_parquet([{listed}], union_by_name = true) u JOIN ml_files f ON f.fidx = u.file_index"""
    )


class _Chain:
    """The tables and the step texts of one run over several lines (see the module's docstring)."""

    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        ctx0 = lines[0].ctx
        self.places, self.mode, self.num_type = ctx0.record_places, ctx0.mode, ctx0.num_type
        self.width = ctx0.charge_width
        self.narrow_price = max_price(ctx0.deck) < 10**12
        decks = [line.ctx.deck for line in lines]
        with_prefixes = [d for d in decks if d.lengths]
        self.top = max((d.lengths[0] for d in with_prefixes), default=1)
        self.e = min((d.expanded_length for d in with_prefixes), default=0)
        self.lengths = sorted({n for d in with_prefixes for n in d.lengths if n > self.e}, reverse=True)
        self.slot_columns = max(len(d.slot_starts) for d in decks)
        self.kinds = sorted({_KINDS[d.kind] for d in decks})
        # One CASE per distinct zone (over the zone's lines' time range) and per distinct band set.
        zones: dict[str, tuple[int, int]] = {}
        for line in lines:
            lo, hi = line.ctx.data_range
            was = zones.get(line.ctx.timezone)
            zones[line.ctx.timezone] = (lo, hi) if was is None else (min(was[0], lo), max(was[1], hi))
        self.zones = zones
        self.zone_ids = {tz: i for i, tz in enumerate(zones)}
        band_sets: dict[str, int] = {}
        self.band_set_of = [
            band_sets.setdefault(sql_band(line.ctx.tariff, "local_day", "sod", "weekday"), len(band_sets))
            for line in lines
        ]
        self.band_sets = list(band_sets)

    # -- the tables -------------------------------------------------------------------------------------

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        lines = self.lines
        cols: dict[str, list[Any]] = {
            name: []
            for name in (
                "grp", "g_j", "g_jkey", "g_rkey", "g_kind", "g_service", "g_others", "g_first", "g_next",
                "g_min", "g_vol", "g_lo", "g_hi", "g_tz", "g_bands_set", "g_bands", "g_slots", "g_fees",
                "g_floor", "g_base", "g_catch",
            )
        }  # fmt: skip
        slots: list[list[int | None]] = [[] for _ in range(self.slot_columns)]
        grp = 0
        for j, line in enumerate(lines):
            c, d = line.ctx, line.ctx.deck
            inc = c.tariff.increments
            for _ in line.job.groups:
                lo, hi = c.period_range if c.period_range is not None else (None, None)
                row = {
                    "grp": grp, "g_j": j, "g_jkey": j * J_SPAN, "g_rkey": j * R_SPAN,
                    "g_kind": _KINDS[d.kind], "g_service": c.service_id, "g_others": list(c.other_services),
                    "g_first": inc.first, "g_next": inc.next, "g_min": inc.minimum_s,
                    "g_vol": c.tariff.volume_increment if d.kind is ServiceKind.DATA else 1,
                    "g_lo": lo, "g_hi": hi, "g_tz": self.zone_ids[c.timezone],
                    "g_bands_set": self.band_set_of[j], "g_bands": d.band_count,
                    "g_slots": len(d.slot_starts) + 1, "g_fees": d.setup_micros * d.base,
                    "g_floor": d.minimum_micros * d.base, "g_base": d.base,
                    "g_catch": CATCH_ALL_PID if d.catch_all is not None else None,
                }  # fmt: skip
                for name, value in row.items():
                    cols[name].append(value)
                for k in range(self.slot_columns):
                    slots[k].append(d.slot_starts[k] if k < len(d.slot_starts) else None)
                grp += 1
        types = {
            "g_kind": pa.int32(),
            "g_tz": pa.int32(),
            "g_bands_set": pa.int32(),
            "g_service": pa.string(),
        }
        others = pa.array(cols.pop("g_others"), pa.list_(pa.string()))
        table = {name: pa.array(values, types.get(name, pa.int64())) for name, values in cols.items()}
        for k, values in enumerate(slots):
            table[f"g_s{k}"] = pa.array(values, pa.int64())
        con.register("ml_groups", pa.table(table))
        # Apart: only the unrated records' reasons need them (a list per record is dear to carry).
        con.register("ml_others", pa.table({"grp": table["grp"], "g_others": others}))

        def stacked(tables: list[pa.Table]) -> pa.Table:
            return pa.concat_tables(
                [t.append_column("j", pa.array([j] * t.num_rows, pa.int64())) for j, t in enumerate(tables)]
            )

        decks = [line.ctx.deck for line in lines]
        prefixes = stacked([d.prefixes for d in decks])
        con.register("ml_prefixes", prefixes)
        con.register("ml_pids", stacked([d.pids for d in decks]))
        con.register("ml_rates_in", stacked([d.rates for d in decks]))
        con.register("ml_names", stacked([d.names for d in decks]))
        con.register("ml_expanded", self._expanded())
        band_rows = [
            (j, i, name) for j, line in enumerate(lines) for name, i in band_ids(line.ctx.tariff).items()
        ]
        con.register(
            "ml_band_names",
            pa.table(
                {
                    "j": pa.array([r[0] for r in band_rows], pa.int64()),
                    "band_id": pa.array([r[1] for r in band_rows], pa.int64()),
                    "band": pa.array([r[2] for r in band_rows], pa.string()),
                }
            ),
        )
        inc_rows = [
            (j, i + 1, inc.first, inc.next, inc.minimum_s)
            for j, d in enumerate(decks)
            for i, inc in enumerate(d.increment_rules)
        ]
        con.register(
            "ml_increments",
            pa.table(
                {
                    name: pa.array([r[k] for r in inc_rows], pa.int64())
                    for k, name in enumerate(("j", "inc_id", "first", "next", "minimum_s"))
                }
            ),
        )
        enums = {
            "destination": "SELECT DISTINCT destination FROM ml_names",
            "prefix": "SELECT DISTINCT prefix FROM ml_pids",
            "version": "SELECT DISTINCT version FROM ml_rates_in WHERE version IS NOT NULL",
            "band": "SELECT DISTINCT band FROM ml_band_names",
        }
        for name, query in enums.items():
            con.execute(f"CREATE TEMP TYPE ml_{name} AS ENUM ({query})")
        con.execute(
            f"""CREATE TEMP TABLE ml_rates AS
                SELECT r.j * {R_SPAN} + (p.pid * g.bands + (r.rkey // g.slots) % g.bands) * g.slots
                         + r.rkey % g.slots AS rkey,
                       r.price_micros, CAST(r.version AS ml_version) AS version,
                       CAST(r.destination AS ml_destination) AS destination,
                       CAST(p.prefix AS ml_prefix) AS prefix, CAST(b.band AS ml_band) AS band,
                       i.first AS inc_first, i.next AS inc_next, i.minimum_s AS inc_min,
                       g.fees, g.floor, g.base
                FROM ml_rates_in r
                JOIN (SELECT DISTINCT g_j AS j, g_bands AS bands, g_slots AS slots, g_fees AS fees,
                             g_floor AS floor, g_base AS base FROM ml_groups) g ON g.j = r.j
                JOIN ml_pids p ON p.j = r.j AND p.dest_id = r.rkey // (g.slots * g.bands)
                JOIN ml_band_names b ON b.j = r.j AND b.band_id = (r.rkey // g.slots) % g.bands
                LEFT JOIN ml_increments i ON i.j = r.j AND i.inc_id = r.inc_id"""
        )
        con.execute(
            """CREATE TEMP TABLE ml_declared AS
               SELECT p.j, n.destination, MIN(p.pid) AS pid
               FROM ml_pids p JOIN ml_names n ON n.j = p.j AND n.dest_id = p.dest_id
               GROUP BY p.j, n.destination"""
        )

    def _expanded(self) -> pa.Table:
        """Every line's short prefixes expanded to the run's length `e`, keys moved by j · J_SPAN."""
        keys: list[int] = []
        pids: list[int] = []
        for j, line in enumerate(self.lines):
            d = line.ctx.deck
            if not d.lengths:
                continue
            if d.expanded_length == self.e:
                ekeys = d.expanded.column("ekey").to_pylist()
                epids = d.expanded.column("pid").to_pylist()
            else:
                short = [
                    (p, pid)
                    for pid, p in zip(
                        d.pids.column("pid").to_pylist(), d.pids.column("prefix").to_pylist(), strict=True
                    )
                    if 0 < len(p) <= self.e
                ]
                found = _expand(short, self.e)
                ekeys, epids = list(found), list(found.values())
            keys += [j * J_SPAN + k for k in ekeys]
            pids += epids
        return pa.table({"fkey": pa.array(keys, pa.int64()), "pid": pa.array(pids, pa.int64())})

    # -- the steps --------------------------------------------------------------------------------------

    def _offset(self) -> str:
        cases = [sql_offset("start_epoch", tz, lo, hi) for tz, (lo, hi) in self.zones.items()]
        if len(set(cases)) == 1:
            return cases[0]
        return "(CASE g_tz " + " ".join(f"WHEN {i} THEN {c}" for i, c in enumerate(cases)) + " END)"

    def _band(self) -> str:
        if len(self.band_sets) == 1:
            return self.band_sets[0]
        whens = " ".join(f"WHEN {i} THEN {b}" for i, b in enumerate(self.band_sets))
        return f"(CASE g_bands_set {whens} END)"

    def _billed(self) -> str:
        inc = SimpleNamespace(first="g_first", next="g_next", minimum_s="g_min")
        ctx = self.lines[0].ctx
        by_kind = {
            0: "CASE WHEN duration_s IS NULL OR duration_s < 0 THEN NULL WHEN duration_s = 0 THEN 0 "
            f"ELSE {steps._billed_seconds(ctx, inc, 'duration_s')} END",  # type: ignore[arg-type]
            1: "CASE WHEN volume < 0 THEN NULL ELSE COALESCE(volume, 1) END",
            2: "CASE WHEN volume IS NULL OR volume < 0 THEN NULL ELSE ((volume + g_vol - 1) // g_vol) * g_vol END",
        }
        if len(self.kinds) == 1:
            return by_kind[self.kinds[0]]
        return "CASE g_kind " + " ".join(f"WHEN {k} THEN ({by_kind[k]})" for k in self.kinds) + " END"

    def _destined(self) -> str:
        top, e = self.top, self.e
        joins, ids = [], []
        for n in self.lengths:
            key = f"b.bkey // {10 ** (top - n)}" if n < top else "b.bkey"
            short = (
                f"WHEN b.blen >= {n} THEN TRY_CAST(substr(b.b_number, 1, {n}) AS BIGINT) " if n < top else ""
            )
            joins.append(
                f"LEFT JOIN (SELECT j * {J_SPAN} + pkey AS fkey, pid FROM ml_prefixes WHERE plen = {n}) p{n} "
                f"ON p{n}.fkey = b.g_jkey + CASE WHEN b.blen >= {top} THEN {key} {short}END"
            )
            ids.append(f"p{n}.pid")
        if e:
            head = f"b.bkey // {10 ** (top - e)}" if e < top else "b.bkey"
            whens = [f"WHEN b.blen >= {top} THEN {10**e} + {head}"]
            if e < top:
                whens.append(
                    f"WHEN b.blen >= {e} THEN {10**e} + TRY_CAST(substr(b.b_number, 1, {e}) AS BIGINT)"
                )
            whens += [f"WHEN b.blen = {m} THEN {10**m} + TRY_CAST(b.b_number AS BIGINT)" for m in range(1, e)]
            joins.append(f"LEFT JOIN ml_expanded x ON x.fkey = b.g_jkey + CASE {' '.join(whens)} END")
            ids.append("x.pid")
        ids.append("b.g_catch")
        joins.append("LEFT JOIN ml_declared dd ON dd.j = b.g_j AND dd.destination = b.declared")
        return f"""
SELECT b.*, CAST(CASE WHEN b.declared IS NULL THEN COALESCE({", ".join(ids)}) ELSE dd.pid END AS BIGINT) AS pid
FROM (SELECT *, TRY_CAST(substr(b_number, 1, {top}) AS BIGINT) AS bkey, length(b_number) AS blen
      FROM rating_banded) b
{chr(10).join(joins)}"""

    def _priced(self, full: bool) -> str:
        slot = " + ".join(
            f"CAST(COALESCE(d.start_epoch >= d.g_s{k}, FALSE) AS BIGINT)" for k in range(self.slot_columns)
        )
        slot = slot or "0"
        own = SimpleNamespace(first="r.inc_first", next="r.inc_next", minimum_s="r.inc_min")
        rebilled = steps._billed_seconds(self.lines[0].ctx, own, "d.duration_s")  # type: ignore[arg-type]
        billed = (
            "CASE WHEN d.billed_quantity IS NULL OR d.billed_quantity = 0 THEN d.billed_quantity "
            f"WHEN r.inc_first IS NOT NULL THEN {rebilled} ELSE d.billed_quantity END"
        )
        # Which service a record of another names matters to its reason only (`full`: the unrated records).
        other = "list_contains(d.g_others, d.service)" if full else "FALSE"
        reason = (
            f"CASE WHEN d.service <> d.g_service AND {other} THEN 'other_service' "
            "WHEN d.service <> d.g_service THEN 'unknown_service' "
            "WHEN d.start_epoch IS NULL THEN 'no_start_time' "
            "WHEN d.g_lo IS NOT NULL AND (d.start_epoch < d.g_lo OR d.start_epoch >= d.g_hi) THEN 'outside_period' "
            "WHEN d.billed_quantity IS NULL THEN 'bad_quantity' "
            "WHEN d.pid IS NULL THEN 'no_destination' "
            "WHEN r.price_micros IS NULL THEN 'no_rate' END"
        )
        return f"""
SELECT d.src, d.line, d.record_id, d.service, d.a_number, d.b_number, d.start_epoch, d.duration_s,
       d.volume, d.route, d.local_day, r.fees, r.floor, r.base,
       {billed} AS billed_quantity, r.band, r.destination, CASE WHEN d.declared IS NULL THEN r.prefix END AS prefix,
       r.price_micros, r.version AS rate_version, {reason} AS reason
FROM rating_destined d
LEFT JOIN ml_rates r ON r.rkey = d.g_rkey + (d.pid * d.g_bands + d.band_id) * d.g_slots + ({slot})"""

    def _records(self) -> str:
        big = self.num_type
        num = (
            f"CASE WHEN reason IS NOT NULL THEN NULL WHEN billed_quantity = 0 THEN CAST(0 AS {big}) "
            f"ELSE GREATEST(CAST(price_micros AS {big}) * billed_quantity + fees, CAST(floor AS {big})) END"
        )
        places = self.places if self.places is not None else UNROUNDED_PLACES
        charge = sql_round_ratio("num", "base", places, self.mode, int_type=big, width=self.width)
        return f"""
SELECT *, {charge} AS charge
FROM (SELECT *, CASE WHEN reason IS NULL THEN rate_version END AS rate_version_out,
             CASE WHEN reason IS NULL THEN price_micros END AS price_out, {num} AS num
      FROM rating_priced) p"""

    def with_steps(self, last: str, usage: str = "SELECT * FROM usage_files", full: bool = False) -> str:
        """The steps up to `last` over `usage`; `full`: each unpriced record's reason told exactly (else
        only whether it has one)."""
        local = f"start_epoch + {self._offset()}"
        others = f"JOIN ml_others o ON o.grp = u.src // {SRC_STRIDE}" if full else ""
        ctes = {
            "usage": usage,
            "rating_clock": f"""
SELECT u.src, u.line, u.record_id, COALESCE(NULLIF(u.service, ''), g.g_service) AS service, u.a_number,
       u.b_number, u.start_epoch, u.duration_s, u.volume, u.route, u.destination AS declared,
       g.* EXCLUDE (grp), {"o.g_others, " if full else ""}{local} AS local_epoch, ({local}) // 86400 AS local_day
FROM usage u JOIN ml_groups g ON g.grp = u.src // {SRC_STRIDE} {others}""",
            "rating_banded": f"""
SELECT *, {self._band()} AS band_id, {self._billed()} AS billed_quantity
FROM (SELECT *, local_epoch - local_day * 86400 AS sod, (local_day + 3) % 7 AS weekday FROM rating_clock) k""",
            "rating_destined": self._destined(),
            "rating_priced": self._priced(full),
            "rating_records": self._records(),
        }
        out = []
        for name, sql in ctes.items():
            out.append(f"{name} AS ({sql})")
            if name == last:
                return "WITH " + ",\n".join(out)
        raise ValueError(f"no step {last}")

    def rated_select(self, keys: str) -> str:
        price = "CAST(price_out AS DECIMAL(38, 0)) * CAST('0.000001' AS DECIMAL(38, 6))"
        if self.narrow_price:
            price = "CAST(price_out AS DECIMAL(12, 0)) * CAST('0.000001' AS DECIMAL(6, 6))"
        exact = ""
        if self.places is None:
            exact = f", CAST(num AS DECIMAL(38, 0)) AS exact_numerator, base * {MICROS} AS exact_denominator"
        return f"""{self.with_steps("rating_records")}
SELECT {keys}, {_DAY_SQL} AS day, band, destination, prefix, rate_version_out AS rate_version, {price} AS price,
       billed_quantity, charge{exact}, {_GROUP_SQL} AS grp
FROM rating_records WHERE reason IS NULL"""

    def summary_select(self, rated: list[Path]) -> str:
        """Per group, service, destination and day over the rated files (a few of their columns), ordered."""
        num = (
            "CAST(exact_numerator AS DECIMAL(38, 0))"
            if self.places is None
            else "CAST(NULL AS DECIMAL(38, 0))"
        )
        listed = ", ".join(_quote(path) for path in rated)
        rows = (
            f"SELECT file_index AS grp, destination, {_DAY_NUMBER_SQL} AS local_day, billed_quantity, charge, "
            f"{num} AS num FROM read_parquet([{listed}])"
        )
        if self.places is not None:
            amount = "SUM(charge)"
        else:
            amount = sql_round_ratio("SUM(num)", "g.g_base", UNROUNDED_PLACES, self.mode)
        return f"""
SELECT r.grp, g.g_service AS service, destination, {_DAY_SQL} AS day, COUNT(*) AS events,
       CAST(SUM(billed_quantity) AS BIGINT) AS billed_quantity, {amount} AS amount, SUM(num) AS num
FROM ({rows}) r JOIN ml_groups g ON g.grp = r.grp
GROUP BY r.grp, g.g_service, g.g_base, destination, local_day
ORDER BY r.grp, service, destination, local_day"""
