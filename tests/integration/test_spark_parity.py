"""The matching and rating engines' steps on Spark (`o2o.spark`) give what they give on DuckDB, file for file.

One SparkSession (local[2], one shuffle partition) for the module: on this little data a Spark job's fixed
cost is all there is, so each feature below is in data some test already runs rather than a run of its
own. A generated two-sided network (redials, duplicates, partial and mismatched durations) as canonical
lake Parquet with NULL durations and equal start times added: the pair lists, classes, unmatched and
duplicate records, days and counts are identical, as they are and as plain Parquet with a 25 s clock
offset and the clock correction; the CLI's `--engine spark` on CSV inputs prints DuckDB's counts; and
batches of tiny sides match as well as the brute-force best on both engines.
Rating: generated usage (nested prefixes and a catch-all, rate versions starting mid-period at a time of
day, peak and holiday bands, the service's, a destination's and a rate's increments, setup fee, stepped and
banded tiers, records of other services, without a start or a quantity, outside the period) rated on both
engines gives the same rated, summary and unrated rows and the same figures; the same for a few examples of
the reference test's random tariffs; `o2o rate file --engine spark` prints DuckDB's JSON.
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from collections.abc import Iterator
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rating_cases import SERVICE, agreement, epoch, write_usage
from test_rating_reference import _every_start_exists, tariffs, usage
from test_reconcile_matching import _edges, _first_lines, brute_force_cost, two_sides, write_csv

from harness import without_lake_paths
from o2o.domain.money import Rounding
from o2o.domain.periods import Period
from o2o.domain.tariffs import (
    Destination,
    Increments,
    PriceUnit,
    Rate,
    Tariff,
    Tier,
    TierMode,
    Tiers,
    TimeBand,
)
from o2o.rating import RatingResult, rate_usage
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


PARTITIONS = 1  # shuffle partitions: on a few thousand rows each task's fixed cost is all there is


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from o2o.spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=PARTITIONS, small_data=True)
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
        "net": out / "net",
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
    assert rec["redials"] > 50 and rec["duplicates_ours"] and rec["duplicates_theirs"], rec
    for path in parquet:  # what the SQL above adds, present on both sides
        ((nulls, same_start),) = duckdb.sql(
            f"""SELECT count(*) FILTER (WHERE duration_s IS NULL),
                       (SELECT count(*) FROM (SELECT 1 FROM read_parquet('{path}')
                                              GROUP BY a_number, b_number, start_epoch HAVING count(*) > 1))
                FROM read_parquet('{path}')"""
        ).fetchall()
        assert nulls > 10 and same_start > 20, (path, nulls, same_start)
    return files


def _rows(path: Path) -> list[tuple[Any, ...]]:
    return sorted((tuple(r.values()) for r in pq.read_table(path).to_pylist()), key=repr)


def _assert_same_files(duck: Path, spark_out: Path) -> None:
    for name in OUTPUTS:
        a, b = pq.read_table(duck / f"{name}.parquet"), pq.read_table(spark_out / f"{name}.parquet")
        assert [(f.name, str(f.type)) for f in a.schema] == [(f.name, str(f.type)) for f in b.schema], name
        assert _rows(duck / f"{name}.parquet") == _rows(spark_out / f"{name}.parquet"), name


def _plain_parquet(network: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """The lake files without `line` (the row's index + 1), with a timestamp `start_time` and text ids;
    their clock 25 s ahead of ours."""
    files = []
    for i, src in enumerate(network["parquet"]):
        dst = out / f"plain{i}.parquet"
        duckdb.sql(
            f"""COPY (SELECT 'id-' || record_id AS record_id, a_number, b_number,
                             make_timestamp((start_epoch + {25 * i}) * 1000000) AS start_time, duration_s
                      FROM read_parquet('{src}') ORDER BY line) TO '{dst}' (FORMAT parquet)"""
        )
        files.append(dst)
    return files[0], files[1]


@pytest.mark.parametrize(("layout", "correct_clock"), [("lake", False), ("plain", True)])
def test_parquet_gives_identical_files_and_counts(
    spark: Any, network: dict[str, Any], tmp_path: Path, layout: str, correct_clock: bool
) -> None:
    """Lake Parquet (`line`, `start_epoch`, integer ids) as it is; the plain files (`_plain_parquet`) with
    the clock correction, which finds their 25 s."""
    from o2o.spark import match_files_spark

    ours_plan, theirs_plan = network["plans"]
    options = MatchOptions(ours_plan=ours_plan, theirs_plan=theirs_plan, correct_clock=correct_clock)
    ours, theirs = network["parquet"] if layout == "lake" else _plain_parquet(network, tmp_path)
    duck = match_files(ours, theirs, options, tmp_path / "duckdb")
    on_spark = match_files_spark(spark, ours, theirs, options, tmp_path / "spark")
    assert on_spark.as_report() == duck.as_report()
    assert (on_spark.rounds, on_spark.contested_components) == (duck.rounds, duck.contested_components)
    assert duck.duplicates_ours and duck.duration_mismatch and duck.contested_components
    assert duck.matched > 1500, duck
    if correct_clock:
        assert duck.clock_offset_s is not None and abs(abs(duck.clock_offset_s) - 25) <= 2, duck
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
    # The CLI's `spark_session(master)` took the module's session as it was: a local master's default
    # count of shuffle partitions was not set on it.
    assert spark.conf.get("spark.sql.shuffle.partitions") == str(PARTITIONS)


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


def _apart(sides: tuple[list[Any], list[Any]], k: int) -> tuple[list[Any], list[Any]]:
    """Part `k` of a batch: its B numbers end in 5k (no candidate joins two parts), its ids end in -k."""
    return tuple(  # type: ignore[return-value]
        [(f"{rid}-{k}", a, b[:-2] + str(50 + k), epoch, dur) for rid, a, b, epoch, dur in rows]
        for rows in sides
    )


# Hypothesis tries the simplest batch first (empty sides: empty files on both engines), then a random one.
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(two_sides(), min_size=3, max_size=6))
def test_both_engines_match_as_well_as_brute_force(
    spark: Any, batch: list[tuple[list[Any], list[Any]]]
) -> None:
    """Each example is a batch of tiny sides in one pair of files (a Spark matching costs ~25 jobs however
    small): the same files on both engines, and each part's pairs as good as its brute-force best."""
    from o2o.spark import match_files_spark

    parts = [_apart(sides, k) for k, sides in enumerate(batch)]
    ours_rows = [row for ours_part, _ in parts for row in ours_part]
    theirs_rows = [row for _, theirs_part in parts for row in theirs_part]
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
    assert len({o for o, _ in got}) == len(got) == len({t for _, t in got})
    ours, theirs = _first_lines(ours_rows), _first_lines(theirs_rows)
    for k in range(len(parts)):
        mine = [{line: r for line, r in side.items() if r[0].endswith(f"-{k}")} for side in (ours, theirs)]
        edges = _edges(*mine, 5)
        # A pair of another part, or across parts, is no edge of this one: matching_cost's KeyError.
        assert matching_cost(edges, [p for p in got if p[0] in mine[0]]) == brute_force_cost(edges)


# --- rating ---------------------------------------------------------------------------------------------

RATED = ("rated", "summary", "unrated")
PEAK = TimeBand("peak", ("mon", "tue", "wed", "thu", "fri"), time(8), time(19, 30))
DESTINATIONS = (
    Destination("", "rest"),
    Destination("49", "de"),
    Destination("4930", "berlin", Increments(60, 60)),
    Destination("4915", "de-mobile"),
    Destination("7", "ru"),
)
RATES = (
    Rate("rest", Decimal("0.5"), date(2026, 1, 1)),
    Rate("de", Decimal("0.05"), date(2026, 1, 1)),
    Rate("de", Decimal("0.07"), date(2026, 10, 10), "peak", "v2", from_time=time(12, 30)),
    Rate("berlin", Decimal("0.03"), date(2026, 1, 1)),
    Rate("de-mobile", Decimal("0.0123"), date(2026, 1, 1), "peak"),  # none off-peak: no_rate
    Rate("ru", Decimal("0.11"), date(2026, 10, 5), "any", "v1", Increments(30, 6)),
)
COMMON: dict[str, Any] = {
    "unit": PriceUnit.MINUTE,
    "destinations": DESTINATIONS,
    "bands": (PEAK,),
    "holidays": (date(2026, 10, 3),),
    "increments": Increments(30, 6),
}
TARIFFS = {
    "rates": Tariff(rates=RATES, setup_fee=Decimal("0.01"), **COMMON),
    "stepped": Tariff(
        tiers=Tiers(
            TierMode.STEPPED, (Tier(Decimal(0), Decimal("0.1")), Tier(Decimal(900), Decimal("0.04")))
        ),
        **COMMON,
    ),
    "banded": Tariff(
        tiers=Tiers(
            TierMode.BANDED, (Tier(Decimal(0), Decimal("0.1")), Tier(Decimal(6000), Decimal("0.05")))
        ),
        minimum_charge=Decimal("0.02"),
        **COMMON,
    ),
}


@pytest.fixture(scope="module")
def usage_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 generated records around October 2026 (Berlin): every prefix, bad and missing fields."""
    rnd = random.Random(7)
    start = epoch("2026-10-01T00:00:00+00:00")
    heads = ["4930", "4915", "4989", "79", "1", "", "493012"]
    rows = [
        {
            "b_number": rnd.choice(heads) + str(rnd.randint(0, 99_999)) if i % 41 else None,
            "start_epoch": start + rnd.randint(-86_400, 32 * 86_400) if i % 53 else None,
            "duration_s": rnd.choice([None, 0, 5, 29, 61, 300, 1_234, -1]),
            "service": rnd.choice([SERVICE] * 8 + ["other", None, "tv"]),
            "record_id": None if i % 17 == 0 else f"c{i}",
        }
        for i in range(2_000)
    ]
    return write_usage(tmp_path_factory.mktemp("rating") / "usage.parquet", rows)


def _figures(result: RatingResult) -> RatingResult:
    return dataclasses.replace(result, rated_path=None, summary_path=None, unrated_path=None)


def _assert_same_rating(duck: RatingResult, on_spark: RatingResult) -> None:
    assert _figures(on_spark) == _figures(duck)
    for name in RATED:
        a, b = (pq.read_table(getattr(r, f"{name}_path")) for r in (duck, on_spark))
        assert [(f.name, str(f.type)) for f in a.schema] == [(f.name, str(f.type)) for f in b.schema], name
        assert sorted(map(repr, a.to_pylist())) == sorted(map(repr, b.to_pylist())), name


@pytest.mark.parametrize(("tariff", "record_decimals"), [("rates", None), ("stepped", 4), ("banded", 2)])
def test_rating_gives_identical_records_and_figures(
    spark: Any, usage_file: Path, tmp_path: Path, tariff: str, record_decimals: int | None
) -> None:
    from o2o.spark import rate_usage_spark

    agr = agreement(
        TARIFFS[tariff], tz="Europe/Berlin", record_decimals=record_decimals, mode=Rounding.HALF_EVEN
    )
    period = Period(2026, 10)
    duck = rate_usage(agr, SERVICE, [usage_file], tmp_path / "duckdb", period)
    on_spark = rate_usage_spark(spark, agr, SERVICE, [usage_file], tmp_path / "spark", period)
    _assert_same_rating(duck, on_spark)
    assert duck.rated > 500 and {"no_start_time", "bad_quantity", "outside_period"} <= set(duck.unrated)
    rated = pq.read_table(duck.rated_path).to_pylist()  # type: ignore[arg-type]
    assert {"rest", "de", "berlin", "de-mobile", "ru"} <= {r["destination"] for r in rated}
    if tariff == "rates":
        assert {"v2", "v1"} <= {r["rate_version"] for r in rated} and "no_rate" in duck.unrated


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    tz=st.sampled_from(["UTC", "America/New_York"]),
    record_decimals=st.sampled_from([None, 2]),
    mode=st.sampled_from(list(Rounding)),
)
def test_rating_random_tariffs_identical_on_both_engines(
    spark: Any, data: st.DataObject, tz: str, record_decimals: int | None, mode: Rounding
) -> None:
    """The reference test's random tariffs (any service kind) and usage: the same files on both engines."""
    from hypothesis import assume

    from o2o.domain.tariffs import ServiceKind
    from o2o.spark import rate_usage_spark

    kind = data.draw(st.sampled_from([ServiceKind.VOICE, ServiceKind.SMS, ServiceKind.DATA]))
    tariff = data.draw(tariffs(kind))
    assume(_every_start_exists(tariff, tz))
    recs = data.draw(usage())
    agr = agreement(tariff, kind, tz=tz, record_decimals=record_decimals, mode=mode)
    rows = [
        {"line": r.line, "record_id": r.record_id, "service": r.service, "b_number": r.b_number,
         "start_epoch": r.start_epoch, "duration_s": r.duration_s, "volume": r.volume}
        for r in recs
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = write_usage(Path(tmp) / "usage.parquet", rows)
        duck = rate_usage(agr, SERVICE, [path], Path(tmp) / "duckdb", Period(2026, 10))
        on_spark = rate_usage_spark(spark, agr, SERVICE, [path], Path(tmp) / "spark", Period(2026, 10))
        _assert_same_rating(duck, on_spark)


def test_cli_rate_file_engine_spark_prints_duckdbs_figures(
    spark: Any, network: dict[str, Any], cli: Any, tmp_path: Path
) -> None:
    """`o2o rate file` on a generated network's CSV and agreement: the same JSON (but the paths) and rows."""
    net = network["net"]
    (rec,) = json.loads((net / "truth.json").read_text())["reconciliations"]
    base = [
        "rate", "file", network["csv"][0], "--agreement-file", net / "agreements" / f"{rec['agreement']}.toml",
        "--service", rec["service"], "--json",
    ]  # fmt: skip
    duck = cli(*base, "--out", tmp_path / "d")
    on_spark = cli(*base, "--out", tmp_path / "s", "--engine", "spark", "--spark-master", "local[2]")
    assert duck.code == 0 and on_spark.code == 0, on_spark.err
    figures = [{k: v for k, v in json.loads(r.out).items() if k != "files"} for r in (duck, on_spark)]
    assert figures[0] == figures[1] and figures[0]["rated"] > 1000
    for name in RATED:
        a, b = (pq.read_table(tmp_path / side / f"{name}.parquet") for side in ("d", "s"))
        assert sorted(map(repr, a.to_pylist())) == sorted(map(repr, b.to_pylist())), name
    bad = cli(*base, "--out", tmp_path / "x", "--engine", "presto")
    assert bad.code != 0 and "engine 'presto' is not duckdb or spark" in bad.err


# --- the period: rating and matching of declared usage ------------------------------------------------


def test_cli_rate_and_reconcile_engine_spark_give_duckdbs_statement(
    spark: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three workspaces declare the same generated network. In one, `o2o rate --engine spark` stores its
    ratings (Parquet folders) and `o2o reconcile` (DuckDB) reuses them; in the next `o2o reconcile
    --engine spark` rates and matches on Spark; in the last `o2o rate` (DuckDB) stores the ratings and a
    queued reconciliation job, taken by `o2o worker` with `O2O_ENGINE=spark` and `O2O_SPARK_MASTER`, reuses
    them and matches on Spark. `o2o rate` prints the same figures on both engines, and the statements'
    figures, states and disputes are DuckDB's own."""
    from cycle_steps import declare_all, loaded
    from o2o.bootstrap import open_workspace
    from o2o.domain.identity import Actor, Role
    from o2o.services import jobs

    spark_master = ["--spark-master", "local[2]"]
    reports, shown, rated = {}, {}, {}
    for engine in ("duckdb", "spark", "worker"):
        monkeypatch.setenv("O2O_HOME", str(tmp_path / engine / "o2o-data"))
        net = tmp_path / engine / "net"
        r = cli("generate", "--operators", "2", "--cdrs", "1500", "--seed", "11", "--services", "voice",
                "--one-way", "--rate-change", "1", "--tolerance-absolute", "0", "--out", net)  # fmt: skip
        assert r.code == 0, r.err
        truth = json.loads((net / "truth.json").read_text())
        ag = loaded(cli, net, truth)
        for op in ag["parties"]:
            assert cli("keys", "generate", op).code == 0
        period = truth["period"]
        declare_all(cli, net, truth, period)
        if engine == "duckdb":
            for rate_engine in ("duckdb", "spark"):
                r = cli("rate", "--agreement", ag["id"], "--period", period, "--json",
                        "--engine", rate_engine, *spark_master)  # fmt: skip
                assert r.code == 0, r.err
                rated[rate_engine] = [{k: v for k, v in x.items() if k != "files"} for x in json.loads(r.out)]
            folder = json.loads(r.out)[0]["files"]["summary"]
            assert Path(folder).is_dir(), folder  # Spark's: what reconcile below reads
        if engine == "worker":  # DuckDB's stored ratings, read by the Spark run (two Spark ratings fewer)
            r = cli("rate", "--agreement", ag["id"], "--period", period, "--json")
            assert r.code == 0, r.err
            assert [{k: v for k, v in x.items() if k != "files"} for x in json.loads(r.out)] == rated[
                "duckdb"
            ]
            admin = Actor("USR-admin", "admin", None, Role.ADMIN, "TOK-admin")
            job = jobs.enqueue_reconcile(open_workspace(), admin, period, ag["id"])
            monkeypatch.setenv("O2O_ENGINE", "spark")
            monkeypatch.setenv("O2O_SPARK_MASTER", "local[2]")
            r = cli("worker", "--once", "--no-webhooks", "--json")
            monkeypatch.delenv("O2O_ENGINE")
            assert r.code == 0, r.err
            (done,) = json.loads(r.out)
            assert (done["id"], done["state"]) == (job.id, "done"), done
            (report,) = done["result"]["statements"]
        else:
            r = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json", "--engine", engine,
                    *spark_master)  # fmt: skip
            assert r.code == 0, r.err
            reports[engine] = [{k: v for k, v in x.items() if k != "seconds"} for x in json.loads(r.out)]
            (report,) = reports[engine]
        s = cli("statement", "show", report["statement"], "--json")
        assert s.code == 0, s.err
        shown[engine] = json.loads(s.out)
        # Matched on Spark (a folder of parts) or on DuckDB (a file): the engine the run really took.
        (line,) = shown[engine]["evidence"].values()
        matches = tmp_path / engine / "o2o-data" / "lake" / line["match"]["files"] / "matches.parquet"
        assert matches.is_dir() == (engine != "duckdb"), matches
    assert rated["spark"] == rated["duckdb"] and sum(x["rated"] for x in rated["duckdb"]) > 1_000
    assert reports["spark"] == reports["duckdb"]
    assert reports["duckdb"][0]["disputes"], (
        "zero absolute tolerance leaves a line disputed: evidence written"
    )
    # The same figures and evidence counts; the files' places differ (one workspace's ratings were stored by
    # `o2o rate`, the other's made in the reconciliation's run folder).
    assert without_lake_paths(shown["spark"]) == without_lake_paths(shown["duckdb"])
    assert without_lake_paths(shown["worker"]) == without_lake_paths(shown["duckdb"])
    evidence = shown["spark"]["evidence"]
    assert any(line.get("records", {}).get("counts") for line in evidence.values()), evidence
