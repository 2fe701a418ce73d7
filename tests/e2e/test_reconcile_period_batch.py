"""A period reconciles as one batch, through the CLI on SQLite and PostgreSQL: `o2o reconcile --period`
rates and matches every usage line of the period's agreements in a pool of workers, each reusing one DuckDB
database, and gives exactly what reconciling the lines one by one (each rating and matching on a database
of its own, as before) gives: every line's figures, verdict and match counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

PERIOD = "2026-10"


@pytest.fixture
def declared(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated three-operator network (three agreements, a dozen usage lines), every file declared."""
    net = tmp_path / "net"
    r = db_cli("generate", "--operators", "3", "--cdrs", "6000", "--seed", "11", "--out", net, "--json")
    assert r.code == 0, r.err
    truth = json.loads((net / "truth.json").read_text())
    assert db_cli("operator", "add", "--file", net / "operators.toml").code == 0
    for ag in truth["agreements"]:
        assert db_cli("agreement", "load", net / ag["file"]).code == 0
    for f in truth["files"]:
        r = db_cli("usage", "import", net / f["file"], "--agreement", f["agreement"], "--period", PERIOD,
                   "--declarer", f["declarer"], "--service", f["service"])  # fmt: skip
        assert r.code == 0, r.err
    return db_cli, truth


def one_by_one(tmp_path: Path, correct_clock: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
    """Each usage line of the period reconciled alone, in turn, each engine run on a database of its own:
    the figures and match counts per (agreement, service)."""
    from o2o.cli.context import workspace
    from o2o.domain.periods import Period
    from o2o.domain.tariffs import ServiceKind
    from o2o.services import reconciliation as rec
    from o2o.services.registry_data import get_agreement

    ws = workspace()
    per = Period.parse(PERIOD)
    with ws.uow() as uow:
        ids = sorted({d.agreement_id for d in uow.declarations.all(None, PERIOD)})
    out = {}
    for agreement_id in ids:
        agreement, stored = get_agreement(ws, agreement_id)
        with ws.uow() as uow:
            decls = rec._declarations(uow.declarations.all(agreement_id, PERIOD), agreement)
        for svc in agreement.services:
            if svc.kind is ServiceKind.RECURRING:
                continue
            line = rec._usage_line(
                ws, agreement, svc, per, decls, tmp_path / f"one-by-one-{correct_clock}" / agreement_id,
                correct_clock, stored.sha256,
            )  # fmt: skip
            assert line.match is not None
            out[(agreement_id, svc.id)] = {
                "provider_amount": str(line.verdict.provider_amount),
                "customer_amount": str(line.verdict.customer_amount),
                "agreed_amount": str(line.agreed_amount),
                "disputed_amount": str(line.disputed_amount),
                "outcome": line.verdict.outcome.value,
                "match": {k: v for k, v in line.match.as_report().items()},
            }
    return out


def batch_lines(cli: Any, reconciled: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """What the period's batch stored: each line of each statement with its match counts (the evidence)."""
    out = {}
    for report in reconciled:
        shown = cli("statement", "show", report["statement"], "--json").json()
        evidence = shown["evidence"]
        for line in shown["lines"]:
            match = evidence[line["service"]].get("match")
            if match is None:
                continue  # a recurring line: nothing to match
            out[(report["agreement"], line["service"])] = {
                "provider_amount": str(line["provider_amount"]),
                "customer_amount": str(line["customer_amount"]),
                "agreed_amount": str(line["agreed_amount"]),
                "disputed_amount": str(line["disputed_amount"]),
                "outcome": line["outcome"],
                "match": {k: v for k, v in match.items() if k != "files"},
            }
    return out


def test_the_period_batch_gives_exactly_the_lines_one_by_one(
    declared: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    cli, truth = declared
    r = cli("reconcile", "--period", PERIOD, "--json")
    assert r.code == 0, r.err
    reconciled = r.json()
    assert sorted(x["agreement"] for x in reconciled) == sorted(a["id"] for a in truth["agreements"])
    batch = batch_lines(cli, reconciled)
    assert len(batch) >= 10
    assert batch == one_by_one(tmp_path)
    assert any(x["disputes"] for x in reconciled) or all(v["outcome"] != "disputed" for v in batch.values())

    # With the clock correction (a first matching pass per line, on the worker's database as well), each
    # agreement again: a batch of one agreement's lines.
    agreements, again = sorted({a for a, _ in batch}), []
    for agreement in agreements:
        r = cli("reconcile", "--agreement", agreement, "--period", PERIOD, "--correct-clock", "--json")
        assert r.code == 0, r.err
        again += r.json()
    assert len(again) == len(agreements)
    assert batch_lines(cli, again) == one_by_one(tmp_path, correct_clock=True)


def test_the_run_folder_keeps_each_rated_record_keyed_to_its_usage_record(
    declared: tuple[Any, dict[str, Any]],
) -> None:
    """A reconciliation's run folder keeps its ratings keyed by (src, line) into the declaration's lake
    file, without the usage's own columns: joined with that file on the line, each side's records are
    exactly the whole records `o2o rate --agreement` stores (every column, type and value)."""
    from o2o.cli.context import workspace
    from o2o.services.rating import rated_folder
    from o2o.services.registry_data import get_agreement

    cli, _ = declared
    r = cli("reconcile", "--period", PERIOD, "--json")
    assert r.code == 0, r.err
    ws = workspace()
    with ws.uow() as uow:
        decls = uow.declarations.all(None, PERIOD)
    for agreement in sorted({d.agreement_id for d in decls}):
        assert cli("rate", "--agreement", agreement, "--period", PERIOD).code == 0
    compared = 0
    for d in decls:
        run = ws.lake.root / "results" / d.agreement_id / PERIOD
        (keyed,) = run.glob(f"run-*/{d.service}/rated-{d.role.value}/rated.parquet")
        whole = rated_folder(ws, get_agreement(ws, d.agreement_id)[1].sha256, d) / "rated.parquet"
        con = duckdb.connect()
        columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM '{keyed}'").fetchall()]
        assert "a_number" not in columns and "record_id" not in columns and columns[:2] == ["src", "line"]
        usage = ws.lake.resolve(d.lake_path)
        # The usage's columns as rating reads them: canonical types; an empty service is the rated one.
        joined = f"""
            SELECT k.src, k.line, CAST(u.record_id AS VARCHAR) AS record_id,
                   COALESCE(NULLIF(u.service, ''), '{d.service}') AS service, u.a_number, u.b_number,
                   u.start_epoch, u.duration_s, u.volume, u.route, k.* EXCLUDE (src, line)
            FROM '{keyed}' k JOIN '{usage}' u ON u.line = k.line"""
        left = con.execute(f"SELECT * FROM ({joined}) ORDER BY line").fetchall()
        right = con.execute(f"SELECT * FROM '{whole}' ORDER BY line").fetchall()
        assert left == right and len(left) > 0
        assert [c[1] for c in con.execute(f"DESCRIBE {joined}").fetchall()] == [
            c[1] for c in con.execute(f"DESCRIBE SELECT * FROM '{whole}'").fetchall()
        ]
        compared += len(left)
    assert compared > 5000


def test_the_period_opens_one_duckdb_per_worker_not_per_line(
    declared: tuple[Any, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line used to open five databases (two ratings, a matching, two summary reads), ~20 ms of CPU
    each, which outweighed the small lines' work; the batch opens one per worker (and one per disputed
    line's evidence)."""
    from o2o.services.period_reconciliation import WORKERS

    cli, _ = declared
    opened: list[object] = []
    connect = duckdb.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    r = cli("reconcile", "--period", PERIOD, "--json")
    assert r.code == 0, r.err
    disputed = sum(len(x["disputes"]) for x in r.json())
    lines = sum(1 for x in r.json() for ln in x["lines"] if ln["matched"] is not None)
    assert lines >= 10
    assert len(opened) <= WORKERS + disputed, f"{len(opened)} DuckDB databases for {lines} lines"


def test_a_failing_line_stops_the_batch_after_the_agreements_before_it(
    declared: tuple[Any, dict[str, Any]], db_workspace: Path
) -> None:
    """As when the agreements were reconciled one after the other: those before the failing line's agreement
    keep their statements, the rest get none, and nothing of the batch is left in the lake's staging."""
    cli, truth = declared
    order = sorted(a["id"] for a in truth["agreements"])  # the order the period's cycles are listed in
    last = order[-1]
    shown = cli("usage", "list", "--agreement", last, "--period", PERIOD, "--json").json()
    lake_file = Path(shown[0]["lake_path"])
    lake_file = lake_file if lake_file.is_absolute() else db_workspace / "lake" / lake_file
    lake_file.unlink()
    r = cli("reconcile", "--period", PERIOD)
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1 and str(lake_file.name) in r.err
    for agreement in order:
        s = cli("statement", "show", f"ST-{agreement}-{PERIOD}", "--json")
        assert (s.code == 0) is (agreement != last), (agreement, s.err)
    assert not list((db_workspace / "lake" / "results" / last).rglob("*.parquet"))
    assert not list((db_workspace / "lake" / ".staging").iterdir())
