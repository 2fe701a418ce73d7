"""A generated network read back with DuckDB: its files agree with truth.json, record by record.

The check is independent of the generator: numbers are normalised by each declarer's numbering plan
(`o2o.domain.numbers.sql_normalise`), times parsed from the ISO text, duplicates found by SQL, and the
two sides matched by an exact maximum matching (networkx) ranked by duration gap, then time gap.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import networkx as nx
import pytest

from o2o.domain.numbers import sql_clean, sql_normalise
from o2o.domain.operators import NumberingPlan
from o2o.domain.periods import Period
from o2o.schemas.agreement import load_agreement_file, to_domain
from o2o.schemas.operators import load_operators_file
from o2o.synth import SynthOptions, generate_network

TOLERANCE_S = 5
OPTS = SynthOptions(
    operators=6, cdrs=12_000, seed=7, redial=0.05, duplicate=0.02, partial=0.03, mismatch=0.02,
    missing_provider=0.02, missing_customer=0.03, offset_files=0.5, chunk_calls=2_000,
)  # fmt: skip


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("net") / "network"
    net = generate_network(OPTS, out)
    return out, net.truth


Rows = list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def read_back(network: tuple[Path, dict[str, Any]]) -> dict[str, Rows]:
    """Every usage file read once: (line, a, b, epoch, duration, record_id, raw a, raw b, service)."""
    out, truth = network
    con = duckdb.connect()
    rows: dict[str, Rows] = {}
    for rec in truth["reconciliations"]:
        ag = to_domain(load_agreement_file(out / "agreements" / f"{rec['agreement']}.toml"))
        for side in ("provider", "customer"):
            path = rec[f"{side}_file"]
            rows[path] = _read(con, out / path, ag.party(rec[side]).numbering)
    return rows


def _read(con: duckdb.DuckDBPyConnection, path: Path, plan: NumberingPlan) -> list[tuple[Any, ...]]:
    sql = f"""
        WITH raw AS (
            SELECT row_number() OVER () AS line, *,
                   {sql_clean("a_number")} AS a_clean, {sql_clean("b_number")} AS b_clean
            FROM read_csv(?, header = true, all_varchar = true)
        )
        SELECT line, {sql_normalise("a_clean", plan)} AS a, {sql_normalise("b_clean", plan)} AS b,
               CAST(epoch(CAST(start_time AS TIMESTAMPTZ)) AS BIGINT) AS t,
               CAST(duration_s AS BIGINT) AS d, record_id, a_number, b_number, service
        FROM raw ORDER BY line
    """
    return con.execute(sql, [str(path)]).fetchall()


def _dedup(rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], int]:
    seen: set[tuple[Any, ...]] = set()
    kept, dups = [], 0
    for row in rows:
        key = row[1:5]
        if key in seen:
            dups += 1
        else:
            seen.add(key)
            kept.append(row)
    return kept, dups


def _match(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> Counter[str]:
    """Exact maximum matching, preferring duration agreement then time agreement, per component."""
    by_pair: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in theirs:
        by_pair.setdefault((row[1], row[2]), []).append(row)
    graph = nx.Graph()
    for o in ours:
        for t in by_pair.get((o[1], o[2]), []):
            if abs(o[3] - t[3]) <= TOLERANCE_S:
                cost = abs(o[4] - t[4]) * 100 + abs(o[3] - t[3])
                graph.add_edge(
                    ("o", o[0]), ("t", t[0]), weight=10**6 - cost, dgap=abs(o[4] - t[4]), pair=(o[1], o[2])
                )
    counts: Counter[str] = Counter()
    pairs_per_number: Counter[tuple[str, str]] = Counter()
    for comp in nx.connected_components(graph):
        assert len(comp) <= 4, "only a redial's two calls may compete for the same records"
        pairs = nx.max_weight_matching(graph.subgraph(comp), maxcardinality=True)
        for u, v in pairs:
            gap = graph.edges[u, v]["dgap"]
            counts["exact" if gap == 0 else "partial" if gap <= 1 else "duration_mismatch"] += 1
            pairs_per_number[graph.edges[u, v]["pair"]] += 1
    # A redial is the only way one (a, b) pair of numbers is matched twice.
    counts["redials"] = sum(1 for n in pairs_per_number.values() if n == 2)
    assert max(pairs_per_number.values(), default=0) <= 2
    counts["matched"] = counts["exact"] + counts["partial"] + counts["duration_mismatch"]
    return counts


def test_every_file_and_reconciliation_matches_the_truth(
    network: tuple[Path, dict[str, Any]], read_back: dict[str, Rows]
) -> None:
    _, truth = network
    files = {f["file"]: f for f in truth["files"]}
    checked = 0
    for rec in truth["reconciliations"]:
        ours, theirs = read_back[rec["provider_file"]], read_back[rec["customer_file"]]
        assert all(r[1] and r[2] for r in ours + theirs), "every written number normalises"
        assert len(ours) == rec["ours"] == files[rec["provider_file"]]["rows"]
        assert len(theirs) == rec["theirs"] == files[rec["customer_file"]]["rows"]
        ours_kept, dups_ours = _dedup(ours)
        theirs_kept, dups_theirs = _dedup(theirs)
        assert (dups_ours, dups_theirs) == (rec["duplicates_ours"], rec["duplicates_theirs"])
        got = _match(ours_kept, theirs_kept)
        for key in ("matched", "exact", "partial", "duration_mismatch"):
            assert got[key] == rec[key], (rec["service"], key)
        assert got["redials"] == rec["redials"]
        assert len(ours_kept) - got["matched"] == rec["only_ours"]
        assert len(theirs_kept) - got["matched"] == rec["only_theirs"]
        assert rec["ours"] == rec["matched"] + rec["only_ours"] + rec["duplicates_ours"]
        checked += 1
    assert checked == len(truth["reconciliations"]) > 10 and len(read_back) == len(files)
    totals = truth["totals"]
    assert totals["rows"] == sum(f["rows"] for f in truth["files"])
    assert totals["duplicates_ours"] > 0 and totals["redials"] > 0 and totals["partial"] > 0


def test_numbers_times_and_destinations_follow_the_agreements(
    network: tuple[Path, dict[str, Any]], read_back: dict[str, Rows]
) -> None:
    out, truth = network
    period = Period.parse(truth["period"])
    forms = Counter()
    for rec in truth["reconciliations"]:
        ag = to_domain(load_agreement_file(out / "agreements" / f"{rec['agreement']}.toml"))
        svc = ag.service(rec["service"])
        prefixes = tuple(d.prefix for d in svc.tariff.destinations)
        lo, hi = period.bounds_epoch(ag.timezone)
        for side in ("provider", "customer"):
            rows = read_back[rec[f"{side}_file"]]
            assert all(r[2].startswith(prefixes) for r in rows)
            assert all(lo + 3600 - TOLERANCE_S <= r[3] <= hi - 3600 for r in rows)
            assert {r[8] for r in rows} == {svc.id}
            for r in rows:
                for n in (r[6], r[7]):
                    forms["plus" if n.startswith("+") else "spaced" if " " in n or "-" in n else "other"] += 1
    assert forms["plus"] and forms["spaced"] and forms["other"]


def test_operators_and_agreements_load_and_connect(network: tuple[Path, dict[str, Any]]) -> None:
    out, truth = network
    ops = load_operators_file(out / "operators.toml")
    assert [o.id for o in ops] == truth["operators"]
    assert len({o.currency for o in ops}) >= 4
    graph = nx.Graph()
    for entry in truth["agreements"]:
        ag = to_domain(load_agreement_file(out / entry["file"]))
        graph.add_edge(*ag.operator_ids)
        kinds = {s.kind.value for s in ag.services}
        assert "voice" in kinds or entry is not truth["agreements"][0]
        for p in ag.parties:
            op = next(o for o in ops if o.id == p.operator)
            assert p.numbering == op.numbering
    assert graph.number_of_nodes() == 6 and nx.is_connected(graph)
    assert graph.number_of_edges() == 10
    assert truth["rate_changes"] and truth["stale_decks"]
    for stale in truth["stale_decks"]:
        assert stale["records"] > 0 and stale["amount_correct"] != stale["amount_stale"]


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    small = SynthOptions(operators=3, cdrs=3_000, seed=11, chunk_calls=1_000)
    first = generate_network(small, tmp_path / "a")
    second = generate_network(small, tmp_path / "b")
    other = generate_network(
        SynthOptions(operators=3, cdrs=3_000, seed=12, chunk_calls=1_000), tmp_path / "c"
    )
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert first.truth == second.truth == json.loads((tmp_path / "a" / "truth.json").read_text())
    assert first.truth["totals"]["calls"] == 3_000
    assert other.truth["totals"] != first.truth["totals"]
