"""Validate and normalise one usage file into canonical Parquet with DuckDB (streaming, bounded memory).

Each row is accepted or rejected with its file line and a reason; nothing is dropped silently:
rows the CSV reader itself cannot parse (wrong column count, bad encoding) come from DuckDB's rejects
table with their line numbers, and the line numbers of the other rows are corrected for them.
Numbers become E.164 digits by the declarer's numbering plan; times become epoch seconds UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from o2o.domain.errors import ImportRefusedError
from o2o.domain.numbers import sql_clean, sql_normalise
from o2o.domain.operators import NumberingPlan
from o2o.domain.tariffs import ServiceKind
from o2o.domain.usage import CANONICAL_COLUMNS, OPTIONAL_INPUT_COLUMNS, REQUIRED_INPUT_COLUMNS

_ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$"
_INTEGER = r"^\s*-?\d+\s*$"


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """What the rows are checked against."""

    service: str
    kind: ServiceKind
    plan: NumberingPlan
    period_start: int  # epoch seconds, inclusive
    period_end: int  # epoch seconds, exclusive
    period: str


@dataclass(frozen=True, slots=True)
class ImportCounts:
    rows: int
    rejected: int
    duration_s: int
    volume: int


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _connect(workdir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {_q(memory_limit)}")
    con.execute(f"SET temp_directory = {_q(str(workdir / 'spill'))}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET TimeZone = 'UTC'")
    return con


def _source(con: duckdb.DuckDBPyConnection, src: Path, fmt: str) -> list[str]:
    """Register the raw rows as view `raw` (all text) and return the file's column names."""
    if src.stat().st_size == 0:
        raise ImportRefusedError(f"{src}: the file is empty")
    try:
        if fmt == "csv":
            con.execute(
                "CREATE TEMP VIEW raw AS SELECT * FROM read_csv("
                f"{_q(str(src))}, all_varchar = true, header = true, store_rejects = true, "
                "rejects_table = 'csv_rejects', rejects_scan = 'csv_scans')"
            )
        else:
            con.execute(f"CREATE TEMP VIEW raw AS SELECT * FROM read_parquet({_q(str(src))})")
        columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
    except duckdb.Error as e:
        raise ImportRefusedError(f"{src}: cannot read as {fmt}: {e}") from None
    return columns


def _required_columns(kind: ServiceKind) -> tuple[str, ...]:
    extra = {ServiceKind.VOICE: ("duration_s",), ServiceKind.DATA: ("volume",)}.get(kind, ())
    return REQUIRED_INPUT_COLUMNS + extra


def _text(col: str, columns: list[str]) -> str:
    return f'CAST("{col}" AS VARCHAR)' if col in columns else "CAST(NULL AS VARCHAR)"


def _validated_sql(columns: list[str], spec: ImportSpec) -> str:
    t = {c: _text(c, columns) for c in REQUIRED_INPUT_COLUMNS + OPTIONAL_INPUT_COLUMNS}
    volume_default = "'1'" if spec.kind in (ServiceKind.SMS,) else "'0'"
    a_norm = sql_normalise("a_clean", spec.plan)
    b_norm = sql_normalise("b_clean", spec.plan)
    return f"""
    WITH base AS (
        SELECT row_number() OVER () AS rn,
               {t["record_id"]} AS record_id, {t["service"]} AS service_raw,
               {t["a_number"]} AS a_raw, {t["b_number"]} AS b_raw,
               {t["start_time"]} AS start_raw, {t["duration_s"]} AS duration_raw,
               coalesce(nullif(trim({t["volume"]}), ''), {volume_default}) AS volume_raw,
               {t["route"]} AS route
        FROM raw
    ), cleaned AS (
        SELECT *, {sql_clean("a_raw")} AS a_clean, {sql_clean("b_raw")} AS b_clean,
               CASE WHEN regexp_matches(trim(start_raw), {_q(_ISO_WITH_OFFSET)})
                    THEN TRY_CAST(trim(start_raw) AS TIMESTAMPTZ) END AS start_ts
        FROM base
    ), parsed AS (
        SELECT *, {a_norm} AS a_number, {b_norm} AS b_number,
               CAST(epoch_ms(start_ts) // 1000 AS BIGINT) AS start_epoch,
               CASE WHEN regexp_matches(coalesce(duration_raw, '0'), {_q(_INTEGER)})
                    THEN TRY_CAST(trim(coalesce(duration_raw, '0')) AS BIGINT) END AS duration_s,
               CASE WHEN regexp_matches(volume_raw, {_q(_INTEGER)})
                    THEN TRY_CAST(trim(volume_raw) AS BIGINT) END AS volume
        FROM cleaned
    )
    SELECT rn, record_id, {_q(spec.service)} AS service, a_number, b_number, a_raw, b_raw,
           start_epoch, duration_s, volume, route, start_raw, duration_raw, volume_raw,
           CASE
             WHEN trim(coalesce(service_raw, '')) NOT IN ('', {_q(spec.service)})
               THEN 'service: ' || service_raw || ' is not the declared service {spec.service}'
             WHEN a_raw IS NULL OR trim(a_raw) = '' THEN 'a_number: missing'
             WHEN a_number IS NULL THEN 'a_number: not a phone number: ' || a_raw
             WHEN b_raw IS NULL OR trim(b_raw) = '' THEN 'b_number: missing'
             WHEN b_number IS NULL THEN 'b_number: not a phone number: ' || b_raw
             WHEN start_raw IS NULL OR trim(start_raw) = '' THEN 'start_time: missing'
             WHEN start_ts IS NULL
               THEN 'start_time: not an ISO-8601 time with a UTC offset: ' || start_raw
             WHEN start_epoch < {spec.period_start} OR start_epoch >= {spec.period_end}
               THEN 'start_time: outside period {spec.period}: ' || start_raw
             WHEN duration_s IS NULL THEN 'duration_s: not an integer: ' || duration_raw
             WHEN duration_s < 0 THEN 'duration_s: negative: ' || duration_raw
             WHEN volume IS NULL THEN 'volume: not an integer: ' || volume_raw
             WHEN volume < 0 THEN 'volume: negative: ' || volume_raw
           END AS reason
    FROM parsed
    """


def normalise_usage(
    src: Path,
    fmt: str,
    spec: ImportSpec,
    out_parquet: Path,
    rejects_csv: Path,
    workdir: Path,
    memory_limit: str = "2GB",
) -> ImportCounts:
    """Write accepted rows to `out_parquet` and rejected ones to `rejects_csv`; return the counts."""
    con = _connect(workdir, memory_limit)
    try:
        columns = _source(con, src, fmt)
        missing = [c for c in _required_columns(spec.kind) if c not in columns]
        if missing:
            raise ImportRefusedError(
                f"{src}: missing column(s) {', '.join(missing)} (found: {', '.join(columns)})"
            )
        try:
            con.execute("CREATE TEMP TABLE v AS " + _validated_sql(columns, spec))
        except duckdb.Error as e:
            raise ImportRefusedError(f"{src}: cannot read: {e}") from None
        _attach_lines(con, fmt)
        return _write(con, out_parquet, rejects_csv)
    finally:
        con.close()


def _attach_lines(con: duckdb.DuckDBPyConnection, fmt: str) -> None:
    """`line` = the file line of each row: header is line 1; rows the reader rejected shift the rest."""
    con.execute("CREATE TEMP TABLE reader_rejects (line BIGINT, reason VARCHAR, raw VARCHAR, pos BIGINT)")
    if fmt == "csv":
        con.execute(
            """
            INSERT INTO reader_rejects
            SELECT line, reason, raw, line - row_number() OVER (ORDER BY line) - 1 AS pos FROM (
                SELECT line, string_agg(coalesce(column_name, '') || ': ' || error_message, '; '
                                        ORDER BY column_name) AS reason,
                       any_value(csv_line) AS raw
                FROM csv_rejects GROUP BY line)
            """
        )
    has_rejects = con.execute("SELECT count(*) FROM reader_rejects").fetchone()
    shift = (
        "(SELECT count(*) FROM reader_rejects r WHERE r.pos < v.rn)"
        if has_rejects is not None and has_rejects[0]
        else "0"
    )
    con.execute("ALTER TABLE v ADD COLUMN line BIGINT")
    con.execute(f"UPDATE v SET line = rn + 1 + {shift}")


def _write(con: duckdb.DuckDBPyConnection, out_parquet: Path, rejects_csv: Path) -> ImportCounts:
    cols = ", ".join(CANONICAL_COLUMNS)
    con.execute(
        f"COPY (SELECT {cols} FROM v WHERE reason IS NULL ORDER BY rn) "
        f"TO {_q(str(out_parquet))} (FORMAT parquet, COMPRESSION zstd)"
    )
    con.execute(
        f"""
        COPY (
            SELECT line, reason, raw FROM (
                SELECT line, reason,
                       concat_ws(',', record_id, a_raw, b_raw, start_raw, duration_raw, volume_raw) AS raw
                FROM v WHERE reason IS NOT NULL
                UNION ALL SELECT line, reason, raw FROM reader_rejects
            ) ORDER BY line
        ) TO {_q(str(rejects_csv))} (HEADER, DELIMITER ',')
        """
    )
    row = con.execute(
        "SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL), "
        "coalesce(sum(duration_s) FILTER (WHERE reason IS NULL), 0), "
        "coalesce(sum(volume) FILTER (WHERE reason IS NULL), 0) FROM v"
    ).fetchone()
    reader = con.execute("SELECT count(*) FROM reader_rejects").fetchone()
    if row is None or reader is None:
        raise ImportRefusedError("import produced no counts")
    return ImportCounts(int(row[0]), int(row[1]) + int(reader[0]), int(row[2]), int(row[3]))
