"""The layout of a pseudonymised usage file, as `o2o usage pseudonymise` writes it and the import reads it.

The usage columns as the import takes them (`record_id, service, a_number, b_number, start_time, duration_s,
volume, route`) plus `destination`: numbers are pseudonyms of their E.164 digits (`o2o.domain.pseudonyms`),
the start a plain UTC time to the second (the epoch second the import would have found), counts as integers
and `destination` the b-number's destination under the tariff (empty when none matched). The columns are
DuckDB SQL over the canonical record with its destination (`o2o.rating.engine.write_destined`), the
pseudonyms worked out once per distinct number.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from o2o.domain.errors import ImportRefusedError
from o2o.domain.pseudonyms import sql_pseudonym
from o2o.domain.usage import DECLARED_DESTINATION

# Each distinct number of the file is hashed once, into this table; the rows look their numbers up in it.
PSEUDONYMS = "usage_pseudonyms"


def pseudonym_tables(secret: bytes) -> list[tuple[str, str]]:
    """(name, SELECT over the view `usage`) of the table of each distinct number's pseudonym under `secret`
    (numbers recur: hashing each once costs a small part of hashing every row's two)."""
    numbers = "SELECT a_number AS n FROM usage UNION SELECT b_number FROM usage"
    return [
        (PSEUDONYMS, f"SELECT n, {sql_pseudonym('n', secret)} AS p FROM ({numbers}) d WHERE n IS NOT NULL")
    ]


def pseudonymised_columns() -> list[tuple[str, str]]:
    """(name, SQL) of each column of a pseudonymised file, numbers looked up in `pseudonym_tables`'."""

    def looked_up(column: str) -> str:
        return f"(SELECT p FROM {PSEUDONYMS} WHERE {PSEUDONYMS}.n = {column})"

    return [
        ("record_id", "record_id"),
        ("service", "service"),
        ("a_number", looked_up("a_number")),
        ("b_number", looked_up("b_number")),
        ("start_time", "strftime(make_timestamp(start_epoch * 1000000), '%Y-%m-%dT%H:%M:%SZ')"),
        ("duration_s", "duration_s"),
        ("volume", "volume"),
        ("route", "route"),
        (DECLARED_DESTINATION, f"coalesce({DECLARED_DESTINATION}, '')"),
    ]


def _source(path: Path, fmt: str) -> str:
    q = "'" + str(path).replace("'", "''") + "'"
    return f"read_csv({q}, all_varchar = true, header = true)" if fmt == "csv" else f"read_parquet({q})"


def file_columns(path: Path, fmt: str) -> list[str]:
    """The column names of a usage file (CSV with a header, or Parquet)."""
    source = _source(path, fmt)
    con = duckdb.connect()
    try:
        return [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as exc:
        raise ImportRefusedError(f"{path}: cannot read as {fmt}: {' '.join(str(exc).split())}") from None
    finally:
        con.close()


def rows_without_destination(path: Path, fmt: str) -> int:
    """How many rows of a pseudonymised file have no destination (none of the tariff matched)."""
    con = duckdb.connect()
    try:
        row = con.execute(
            f"SELECT count(*) FROM {_source(path, fmt)} WHERE coalesce({DECLARED_DESTINATION}, '') = ''"
        ).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()
