"""A usage file (CSV or Parquet with the canonical input columns) turned into canonical usage Parquet.

Numbers are normalised to E.164 digits by the declaring party's numbering plan with the shared SQL of
`o2o.domain.numbers` (raw text kept in `a_raw`/`b_raw`); `start_time` (ISO-8601 with offset or `Z`;
without an offset it is taken as UTC) becomes integer epoch seconds. Nothing is dropped here: a value
that does not parse becomes NULL and the rating engine lists the record as unrated with the reason.
A file that already carries `start_epoch` (a lake file) is taken as is, numbers normalised again.
A pseudonymised file (a `destination` column, `o2o usage pseudonymise`) keeps its pseudonyms as they are and
its declared destinations, which rating then uses instead of the b-number's prefix.
`line` is the CSV line (data from 2) or the Parquet row (from 1).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from o2o.domain.errors import ImportRefusedError
from o2o.domain.numbers import sql_clean, sql_normalise
from o2o.domain.operators import NumberingPlan
from o2o.domain.pseudonyms import PSEUDONYM_PATTERN
from o2o.domain.usage import DECLARED_DESTINATION, OPTIONAL_INPUT_COLUMNS, REQUIRED_INPUT_COLUMNS


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _source(path: Path) -> tuple[str, int]:
    """The table function reading `path` and the line number of its first data row."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return f"read_parquet({_quote(path)})", 1
    return f"read_csv({_quote(path)}, header = true, all_varchar = true)", 2


def _select(columns: set[str], plan: NumberingPlan, first_line: int) -> str:
    def text(name: str) -> str:
        return f"CAST({name} AS VARCHAR)" if name in columns else "CAST(NULL AS VARCHAR)"

    def number(clean: str) -> str:
        """E.164 digits by the plan; in a pseudonymised file the pseudonym as it is (NULL if not one)."""
        if pseudonymised:
            return f"CASE WHEN regexp_full_match({clean}, '{PSEUDONYM_PATTERN}') THEN {clean} END"
        return sql_normalise(clean, plan)

    pseudonymised = DECLARED_DESTINATION in columns
    declared = (
        f"COALESCE(TRIM({text(DECLARED_DESTINATION)}), '')" if pseudonymised else "CAST(NULL AS VARCHAR)"
    )

    def integer(name: str) -> str:
        return f"TRY_CAST({name} AS BIGINT)" if name in columns else "CAST(NULL AS BIGINT)"

    if "start_time" in columns:
        epoch = "CAST(floor(epoch(TRY_CAST(start_time AS TIMESTAMPTZ))) AS BIGINT)"
    else:
        epoch = integer("start_epoch")
    return f"""
SELECT line, record_id, service, {number("a_clean")} AS a_number,
       {number("b_clean")} AS b_number, a_raw, b_raw, start_epoch, duration_s, volume, route, destination
FROM (
  SELECT row_number() OVER () + {first_line - 1} AS line, {text("record_id")} AS record_id,
         NULLIF(TRIM({text("service")}), '') AS service,
         {text("a_number")} AS a_raw, {text("b_number")} AS b_raw,
         {sql_clean(text("a_number"))} AS a_clean, {sql_clean(text("b_number"))} AS b_clean,
         {epoch} AS start_epoch, {integer("duration_s")} AS duration_s, {integer("volume")} AS volume,
         {text("route")} AS route, {declared} AS destination
  FROM src
) s"""


def usage_file_to_canonical(
    path: Path, plan: NumberingPlan, out_path: Path, *, numbers_required: bool = True
) -> int:
    """Write `path` as canonical usage Parquet to `out_path`; return the number of records. Without
    `numbers_required` (a tariff that prices no number, `o2o.domain.usage.numbers_required`) the file
    may lack the number columns."""
    if not path.is_file():
        raise ImportRefusedError(f"usage file {path} does not exist")
    table_fn, first_line = _source(path)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW src AS SELECT * FROM {table_fn}")
        columns = {str(row[0]).strip() for row in con.execute("DESCRIBE src").fetchall()}
        missing = [c for c in REQUIRED_INPUT_COLUMNS if c not in columns]
        if "start_time" in missing and "start_epoch" in columns:
            missing.remove("start_time")
        if not numbers_required:
            missing = [c for c in missing if c not in ("a_number", "b_number")]
        if missing:
            known = ", ".join(REQUIRED_INPUT_COLUMNS + OPTIONAL_INPUT_COLUMNS)
            raise ImportRefusedError(f"{path}: missing column(s) {', '.join(missing)} (columns: {known})")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        select = _select(columns, plan, first_line)
        con.execute(f"COPY ({select} ORDER BY line) TO {_quote(out_path)} (FORMAT parquet)")
        row = con.execute(f"SELECT COUNT(*) FROM read_parquet({_quote(out_path)})").fetchall()
    except duckdb.Error as exc:
        raise ImportRefusedError(f"{path}: cannot read usage file: {exc}") from None
    finally:
        con.close()
    return int(row[0][0])
