"""The matching engine's steps on Spark (`o2o.spark`) give what they give on DuckDB, file for file.

One SparkSession (local[2]) for the module. A generated two-sided network (redials, duplicates, partial and
mismatched durations, a clock offset) as canonical lake Parquet with NULL durations and equal start times
added: the pair lists, classes, unmatched and duplicate records, days and counts are identical, with and
without the clock correction; the CLI's `--engine spark` on CSV inputs prints DuckDB's counts; and a few
hypothesis examples of tiny sides match as well as the brute-force best on both engines.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from test_reconcile_matching import _edges, _first_lines, brute_force_cost, two_sides, write_csv

from o2o.reconcile import MatchOptions, match_files
from o2o.reconcile.components import matching_cost
from o2o.schemas.agreement import load_agreement_file, to_domain
from o2o.synth import SynthOptions, generate_network

pyspark = pytest.importorskip("pyspark")  # the `spark` extra; `make` installs it

# pyspark 4 warns once that it is not yet tested with pandas 3 (the adapter's grouped map uses Arrow).
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning"
)

OUTPUTS = ("matches", "only_ours", "only_theirs", "duplicates", "daily")
OPTS = SynthOptions(
    operators=2, cdrs=2_000, seed=31, services=("voice",), one_way=True, redial=0.08, duplicate=0.03,
    partial=0.03, mismatch=0.03, missing_provider=0.03, missing_customer=0.03, offset_files=1.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from o2o.spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The generated direction as CSV and as lake-like Parquet (line, start_epoch), with NULL durations
    and records repeating another's start time added to the Parquet."""
    out = tmp_path_factory.mktemp("spark-net")
    truth = generate_network(OPTS, out / "net").truth
    (rec,) = truth["reconciliations"]
    ag = to_domain(load_agreement_file(out / "net" / "agreements" / f"{rec['agreement']}.toml"))
    files: dict[str, Any] = {
        "plans": (ag.party(rec["provider"]).numbering, ag.party(rec["customer"]).numbering),
        "csv": (out / "net" / rec["provider_file"], out / "net" / rec["customer_file"]),
    }
    parquet = []
    for i, src in enumerate(files["csv"]):
        dst = out / f"side{i}.parquet"
        duckdb.sql(
            f"""COPY (
                SELECT line, record_id, a_number, b_number, start_epoch,
                       CASE WHEN line % 97 = {i} THEN NULL ELSE duration_s END AS duration_s
                FROM (SELECT row_number() OVER () + 1 AS line, record_id, a_number, b_number,
                             CAST(epoch(CAST(start_time AS TIMESTAMPTZ)) AS BIGINT) AS start_epoch,
                             TRY_CAST(duration_s AS BIGINT) AS duration_s
                      FROM read_csv('{src}', all_varchar = true))
                UNION ALL  -- a second call at the same start as an earlier one, other duration
                SELECT line + 100000, record_id || 'x', a_number, b_number, start_epoch, duration_s + 7
                FROM (SELECT row_number() OVER () + 1 AS line, record_id, a_number, b_number,
                             CAST(epoch(CAST(start_time AS TIMESTAMPTZ)) AS BIGINT) AS start_epoch,
                             TRY_CAST(duration_s AS BIGINT) AS duration_s
                      FROM read_csv('{src}', all_varchar = true))
                WHERE line % 53 = 0
            ) TO '{dst}' (FORMAT parquet)"""
        )
        parquet.append(dst)
    files["parquet"] = tuple(parquet)
    return files


def _rows(path: Path) -> list[tuple[Any, ...]]:
    return sorted((tuple(r.values()) for r in pq.read_table(path).to_pylist()), key=repr)


def _assert_same_files(duck: Path, spark_out: Path) -> None:
    for name in OUTPUTS:
        a, b = pq.read_table(duck / f"{name}.parquet"), pq.read_table(spark_out / f"{name}.parquet")
        assert [(f.name, str(f.type)) for f in a.schema] == [(f.name, str(f.type)) for f in b.schema], name
        assert _rows(duck / f"{name}.parquet") == _rows(spark_out / f"{name}.parquet"), name


@pytest.mark.parametrize("correct_clock", [False, True])
def test_lake_parquet_gives_identical_files_and_counts(
    spark: Any, network: dict[str, Any], tmp_path: Path, correct_clock: bool
) -> None:
    from o2o.spark import match_files_spark

    ours_plan, theirs_plan = network["plans"]
    options = MatchOptions(ours_plan=ours_plan, theirs_plan=theirs_plan, correct_clock=correct_clock)
    ours, theirs = network["parquet"]
    duck = match_files(ours, theirs, options, tmp_path / "duckdb")
    on_spark = match_files_spark(spark, ours, theirs, options, tmp_path / "spark")
    assert on_spark.as_report() == duck.as_report()
    assert (on_spark.rounds, on_spark.contested_components) == (duck.rounds, duck.contested_components)
    assert duck.duplicates_ours and duck.duration_mismatch and duck.contested_components
    _assert_same_files(tmp_path / "duckdb", tmp_path / "spark")


def test_parquet_without_lines_and_with_timestamps(
    spark: Any, network: dict[str, Any], tmp_path: Path
) -> None:
    """A Parquet file without `line` (the row's index + 1) and with a timestamp `start_time`, text ids."""
    from o2o.spark import match_files_spark

    files = []
    for i, src in enumerate(network["parquet"]):
        dst = tmp_path / f"plain{i}.parquet"
        duckdb.sql(
            f"""COPY (SELECT 'id-' || record_id AS record_id, a_number, b_number,
                             make_timestamp(start_epoch * 1000000) AS start_time, duration_s
                      FROM read_parquet('{src}') ORDER BY line) TO '{dst}' (FORMAT parquet)"""
        )
        files.append(dst)
    ours_plan, theirs_plan = network["plans"]
    options = MatchOptions(ours_plan=ours_plan, theirs_plan=theirs_plan)
    duck = match_files(files[0], files[1], options, tmp_path / "duckdb")
    on_spark = match_files_spark(spark, files[0], files[1], options, tmp_path / "spark")
    assert on_spark.as_report() == duck.as_report()
    _assert_same_files(tmp_path / "duckdb", tmp_path / "spark")


def test_cli_engine_spark_on_csv_prints_duckdbs_counts(spark: Any, network: dict[str, Any], cli: Any) -> None:
    ours, theirs = network["csv"]
    ours_plan, theirs_plan = network["plans"]
    plans = [
        "--ours-country", ours_plan.country_code, "--theirs-country", theirs_plan.country_code,
        "--ours-trunk", ours_plan.trunk_prefix, "--theirs-trunk", theirs_plan.trunk_prefix,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        duck = cli("recon", "match", ours, theirs, "--out", f"{tmp}/d", *plans, "--json")
        on_spark = cli(
            "recon", "match", ours, theirs, "--out", f"{tmp}/s", *plans, "--json",
            "--engine", "spark", "--spark-master", "local[2]",
        )  # fmt: skip
        assert duck.code == 0 and on_spark.code == 0, on_spark.err
        assert json.loads(on_spark.out) == json.loads(duck.out)
        assert json.loads(duck.out)["matched"] > 1000
        _assert_same_files(Path(tmp) / "d", Path(tmp) / "s")


def test_cli_spark_error_is_one_line(spark: Any, cli: Any, network: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    result = cli("recon", "match", bad, network["parquet"][1], "--out", tmp_path / "o", "--engine", "spark")
    assert result.code != 0
    assert result.err.strip().count("\n") == 0 and "Spark: " in result.err, result.err
    assert "Traceback" not in result.err


def test_cli_refuses_an_unknown_engine(cli: Any, network: dict[str, Any], tmp_path: Path) -> None:
    ours, theirs = network["csv"]
    result = cli("recon", "match", ours, theirs, "--out", tmp_path, "--engine", "presto")
    assert result.code != 0
    assert "engine 'presto' is not duckdb or spark" in result.err
    assert "Traceback" not in result.err


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_sides())
def test_both_engines_match_as_well_as_brute_force(spark: Any, sides: tuple[list[Any], list[Any]]) -> None:
    from o2o.spark import match_files_spark

    ours_rows, theirs_rows = sides
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        o, t = write_csv(d / "o.csv", ours_rows), write_csv(d / "t.csv", theirs_rows)
        duck = match_files(o, t, MatchOptions(), d / "duckdb")
        on_spark = match_files_spark(spark, o, t, MatchOptions(), d / "spark")
        got = [
            (int(r["ours_line"]), int(r["theirs_line"]))
            for r in pq.read_table(d / "spark/matches.parquet").to_pylist()
        ]
        _assert_same_files(d / "duckdb", d / "spark")
    assert on_spark.as_report() == duck.as_report()
    edges = _edges(_first_lines(ours_rows), _first_lines(theirs_rows), 5)
    assert len({o for o, _ in got}) == len(got) == len({t for _, t in got})
    assert matching_cost(edges, got) == brute_force_cost(edges)
