"""Privacy mode through the CLI, on SQLite and PostgreSQL: each party pseudonymises its usage on its own side
(`o2o usage pseudonymise`) and the hub, holding neither the numbers nor the secret, rates and matches the
pseudonymised declarations to the same statement, to the cent, and the same pairs as the clear ones.

One generated network is declared twice: in the clear in one workspace, pseudonymised in another.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import cycle_steps
from harness import postgres_database
from o2o.domain.pseudonyms import PSEUDONYM_PATTERN, pseudonym


@pytest.fixture
def second_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second database of the same backend as `store_url`: the pseudonymised workspace's."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'pseudonymised.sqlite'}"
    else:
        yield from postgres_database()


def _use(monkeypatch: pytest.MonkeyPatch, home: Path, url: str) -> None:
    monkeypatch.setenv("O2O_HOME", str(home))
    monkeypatch.setenv("O2O_DATABASE_URL", url)


def _pairs(home: Path, evidence: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """Every matched pair of the statement's lines, by service and the two records' ids."""
    found = []
    for service, line in evidence.items():
        if "match" not in line:
            continue  # a recurring service: nothing matched
        for row in pq.read_table(home / "lake" / line["match"]["files"] / "matches.parquet").to_pylist():
            found.append((service, row["ours_record_id"], row["theirs_record_id"], row["class"]))
    return sorted(found)


def _unmatched(home: Path, evidence: dict[str, Any]) -> list[tuple[str, str, int]]:
    found = []
    for service, line in evidence.items():
        if "match" not in line:
            continue
        for side in ("only_ours", "only_theirs"):
            table = pq.read_table(home / "lake" / line["match"]["files"] / f"{side}.parquet")
            found += [(service, side, int(r)) for r in table.column(1).to_pylist()]
    return sorted(found)


def test_pseudonymised_declarations_give_the_same_statement_and_pairs(
    db_cli: Any,
    store_url: str,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = db_cli
    net, truth = cycle_steps.generated(cli, tmp_path, cdrs=600, seed=11)
    period = truth["period"]
    secret = tmp_path / "alfa-bravo.secret"
    secret.write_text(hashlib.sha256(b"the two parties' own secret").hexdigest() + "\n")
    clear, hub = tmp_path / "clear", tmp_path / "hub"
    for home, url in ((clear, store_url), (hub, second_url)):
        _use(monkeypatch, home, url)
        ag = cycle_steps.loaded(cli, net, truth)

    pseudonymised = tmp_path / "pseudonymised"
    pseudonymised.mkdir()
    for f in truth["files"]:
        _use(monkeypatch, clear, store_url)
        r = cycle_steps.import_usage(cli, net / f["file"], f, period)
        assert r.code == 0, r.err
        # The declarer's side: its own workspace holds the agreement; the hub never sees this step.
        out = pseudonymised / Path(f["file"]).name.replace(
            ".csv", ".parquet" if f["declarer"] == "BRAVO" else ".csv"
        )
        r = cli("usage", "pseudonymise", net / f["file"], "--agreement", f["agreement"], "--declarer",
                f["declarer"], "--service", f["service"], "--secret-file", secret, "--out", out, "--json")  # fmt: skip
        assert r.code == 0, r.err
        done = r.json()
        assert done["rows"] == f["rows"] and done["rejected"] == 0 and done["without_destination"] == 0
        _use(monkeypatch, hub, second_url)
        r = cycle_steps.import_usage(cli, out, f, period)
        assert r.code == 0, r.err

    # The plain-file rating reads a pseudonymised file by its declared destinations too.
    for f in truth["files"][:2]:
        rated = []
        for usage in (net / f["file"], next(pseudonymised.glob(Path(f["file"]).stem + ".*"))):
            r = cli("rate", "file", usage, "--agreement-file", net / ag["file"], "--service", f["service"],
                    "--declarer", f["declarer"], "--period", period, "--out", tmp_path / f"rated-{usage.name}",
                    "--json")  # fmt: skip
            assert r.code == 0, r.err
            got = r.json()
            rated.append((got["records"], got["rated"], got["unrated_by_reason"], got["services"]))
        assert rated[0] == rated[1] and rated[0][1] > 0

    # What the hub holds: pseudonyms of 15 digits, none of the clear numbers, and each record's destination.
    some = next(pseudonymised.glob("*.csv"))
    with some.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(re.fullmatch(PSEUDONYM_PATTERN, r["a_number"]) for r in rows)
    assert all(r["destination"] for r in rows)
    clear_numbers = {n for a, b, _ in _lake_rows(clear).values() for n in (a, b)}
    assert not clear_numbers & ({r["a_number"] for r in rows} | {r["b_number"] for r in rows})
    stored = pq.read_table(next((hub / "lake").rglob("DCL-*.parquet"))).to_pylist()
    assert all(re.fullmatch(PSEUDONYM_PATTERN, r["b_number"]) and r["destination"] for r in stored)
    # Each pseudonym is the keyed hash of the number the clear import normalised, record by record.
    key = secret.read_bytes().strip()
    clear_rows = _lake_rows(clear)
    hub_rows = _lake_rows(hub)
    assert clear_rows.keys() == hub_rows.keys()
    for rid, (a_number, b_number, _) in clear_rows.items():
        assert hub_rows[rid][:2] == (pseudonym(key, a_number), pseudonym(key, b_number))
    assert {d for _, _, d in clear_rows.values()} == {None}

    statements = {}
    for home, url in ((clear, store_url), (hub, second_url)):
        _use(monkeypatch, home, url)
        (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
        shown = cli("statement", "show", report["statement"], "--json").json()
        statements[home] = shown
    a, b = statements[clear], statements[hub]
    assert a["digest"] == b["digest"] and a["document"] == b["document"]
    assert [
        (x["service"], x["provider_amount"], x["customer_amount"], x["agreed_amount"]) for x in a["lines"]
    ] == [(x["service"], x["provider_amount"], x["customer_amount"], x["agreed_amount"]) for x in b["lines"]]
    assert a["state"] == b["state"] and len(a["disputes"]) == len(b["disputes"])
    pairs = _pairs(clear, a["evidence"])
    assert pairs and pairs == _pairs(hub, b["evidence"])
    assert _unmatched(clear, a["evidence"]) == _unmatched(hub, b["evidence"])


def _lake_rows(home: Path) -> dict[tuple[str, str], tuple[str, str, str | None]]:
    """(a_number, b_number, destination) of every declared record, by service and record id."""
    found = {}
    for path in (home / "lake").rglob("DCL-*.parquet"):
        table = pq.read_table(path, columns=["service", "record_id", "a_number", "b_number", "destination"])
        for r in table.to_pylist():
            found[(r["service"], r["record_id"])] = (r["a_number"], r["b_number"], r["destination"])
    return found


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def test_pseudonymise_refuses_in_one_line_and_keeps_rejects_on_the_declarers_side(
    db_cli: Any, tmp_path: Path
) -> None:
    cli = db_cli
    net, truth = cycle_steps.generated(cli, tmp_path, cdrs=200, seed=3)
    ag = cycle_steps.loaded(cli, net, truth)
    f = next(x for x in truth["files"] if x["service"].startswith("voice"))
    src, out = net / f["file"], tmp_path / "out.csv"
    secret = tmp_path / "s.secret"
    secret.write_text("k" * 40)
    args = ["--declarer", f["declarer"], "--service", f["service"], "--out", out]

    def run(path: Path, agreement: str, secret_file: Path, *more: Any) -> Any:
        return cli("usage", "pseudonymise", path, "--agreement", agreement, "--secret-file", secret_file,
                   *args, *more)  # fmt: skip

    assert "no such file" in _one_line(run(src, ag["id"], tmp_path / "missing.secret"))
    short = tmp_path / "short.secret"
    short.write_text("abc\n")
    err = _one_line(run(src, ag["id"], short))
    assert str(short) in err and "3 bytes, at least 32" in err
    assert "is a folder" in _one_line(run(src, ag["id"], tmp_path))
    err = _one_line(run(src, "NOPE-404", secret))
    assert "NOPE-404" in err
    assert not out.exists()

    # Two rows the import would reject stay here, in the rejects file beside the output, with their numbers.
    rows = list(csv.reader(src.read_text().splitlines()))
    rows[2][3] = "call me"
    rows[3][4] = "yesterday"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    done = run(bad, ag["id"], secret, "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert report["rows"] == len(rows) - 3 and report["rejected"] == 2
    rejects = Path(report["rejects_path"]).read_text()
    assert "call me" in rejects and "yesterday" in rejects
    with out.open() as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == len(rows) - 3 and "call me" not in out.read_text()

    # An already pseudonymised file is not pseudonymised again.
    assert "already pseudonymised" in _one_line(run(out, ag["id"], secret, "--out", tmp_path / "again.csv"))

    # The hub's import checks what it cannot recompute: a pseudonym's shape and a destination's name.
    written[0]["destination"] = "Atlantis"
    written[1]["b_number"] = "+44 20 7946 0000"
    tampered = tmp_path / "tampered.csv"
    with tampered.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(written[0]))
        w.writeheader()
        w.writerows(written)
    r = cycle_steps.import_usage(cli, tampered, f, truth["period"])
    assert r.code == 0, r.err
    declared = cli("usage", "list", "--json").json()
    (d,) = [x for x in declared if x["declarer"] == f["declarer"] and x["service"] == f["service"]]
    assert d["rows"] == len(written) - 2 and d["rejected"] == 2
    reasons = Path(d["rejects_path"]).read_text()
    assert f"destination: not a destination of service {f['service']}: Atlantis" in reasons
    assert "b_number: not a pseudonym" in reasons
