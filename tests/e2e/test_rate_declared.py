"""`o2o rate --agreement ID --period P` through the CLI, on SQLite and PostgreSQL: the priced records it
writes per declaration and agreement revision, reused by `o2o reconcile` while both are unchanged and
rated again when either changes; and the same command from the installed `o2o` in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

O2O = Path(sys.executable).parent / "o2o"  # the installed entry point, as a user runs it


@pytest.fixture
def declared(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network, loaded and fully declared."""
    net = tmp_path / "net"
    r = db_cli("generate", "--operators", "2", "--cdrs", "2000", "--seed", "5", "--out", net, "--json")
    assert r.code == 0, r.err
    truth = json.loads((net / "truth.json").read_text())
    assert db_cli("operator", "add", "--file", net / "operators.toml").code == 0
    (ag,) = truth["agreements"]
    assert db_cli("agreement", "load", net / ag["file"]).code == 0
    assert db_cli("usage", "import-dir", net / "usage", "--period", truth["period"]).code == 0
    return db_cli, {"truth": truth, "agreement": ag, "net": net}


def _rated(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Usage ratings of `o2o rate --json` by (service, declarer), read from the folder each was written to
    (`rated/AGREEMENT/PERIOD/SERVICE/DECLARER/DECLARATION-AGREEMENTSHA/`)."""
    out = {}
    for res in results:
        if res["files"]["summary"] is None:
            continue  # a recurring service: priced from the agreement, no files
        folder = Path(res["files"]["summary"]).parent
        (service,) = res["services"]
        out[(service, folder.parent.name)] = {"folder": folder, "amount": res["services"][service]["amount"]}
    return out


def _evidence(cli: Any, statement: str) -> dict[str, Any]:
    r = cli("statement", "show", statement, "--json")
    assert r.code == 0, r.err
    evidence: dict[str, Any] = r.json()["evidence"]
    return evidence


def _stamp(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's identity (inode) and modification time: unchanged unless the file was written again."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_reconcile_reuses_what_rate_wrote_and_rates_a_changed_declaration_again(
    declared: tuple[Any, dict[str, Any]], db_workspace: Path
) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["truth"]["period"]
    provider, customer = ag["parties"]
    r = cli("rate", "--agreement", ag["id"], "--period", period, "--json")
    assert r.code == 0, r.err
    rated = _rated(r.json())
    assert len(rated) == len(ctx["truth"]["files"]) > 0
    for folder in (x["folder"] for x in rated.values()):
        assert (folder / "rating.json").is_file()
    stamps = {key: _stamp(x["folder"]) for key, x in rated.items()}
    role = {(f["service"], f["declarer"]): f["role"] for f in ctx["truth"]["files"]}

    assert cli("reconcile", "--agreement", ag["id"], "--period", period).code == 0
    lake = db_workspace / "lake"
    evidence = _evidence(cli, f"ST-{ag['id']}-{period}")
    for (service, declarer), x in rated.items():
        side = evidence[service][role[(service, declarer)]]
        # The statement's figures come from the very files `o2o rate` wrote, not written again.
        assert lake / side["summary"] == x["folder"] / "summary.parquet", (service, declarer)
        assert side["amount"] == x["amount"]
        assert _stamp(x["folder"]) == stamps[(service, declarer)]

    # One party re-declares a service (a corrected file: one record fewer): only that declaration is
    # rated again, in the reconciliation's own run; the other three stay reused.
    changed = next(f for f in ctx["truth"]["files"] if f["declarer"] == provider and "voice" in f["service"])
    lines = (ctx["net"] / changed["file"]).read_text().splitlines(keepends=True)
    corrected = ctx["net"] / "corrected.csv"
    corrected.write_text("".join(lines[:-1]))
    r = cli("usage", "import", corrected, "--agreement", ag["id"], "--period", period,
            "--declarer", provider, "--service", changed["service"])  # fmt: skip
    assert r.code == 0, r.err
    assert cli("reconcile", "--agreement", ag["id"], "--period", period).code == 0
    evidence = _evidence(cli, f"ST-{ag['id']}-{period}")
    side = evidence[changed["service"]]["provider"]
    assert side["summary"].startswith(f"results/{ag['id']}/{period}/run-")
    assert side["records"] == changed["rows"] - 1
    other = evidence[changed["service"]]["customer"]
    assert lake / other["summary"] == rated[(changed["service"], customer)]["folder"] / "summary.parquet"

    # A new revision of the agreement (one price changed): nothing stored is reused any more.
    toml = ctx["net"] / ag["file"]
    text = toml.read_text()
    first_price = text.index("price = ")
    toml.write_text(text[:first_price] + "price = 0.0123 #" + text[first_price + len("price = ") :])
    assert cli("agreement", "load", toml).code == 0
    assert cli("reconcile", "--agreement", ag["id"], "--period", period).code == 0
    evidence = _evidence(cli, f"ST-{ag['id']}-{period}")
    for service, declarer in rated:
        side = evidence[service][role[(service, declarer)]]
        assert side["summary"].startswith(f"results/{ag['id']}/{period}/run-"), (service, declarer)


def test_rate_runs_from_the_installed_entry_point(declared: tuple[Any, dict[str, Any]]) -> None:
    """`o2o rate --agreement … --period …` in a fresh process: the group's own options are registered by
    the modules `o2o rate` loads (not only by the whole app that the in-process tests register)."""
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["truth"]["period"]
    provider = ag["parties"][0]
    proc = subprocess.run(
        [str(O2O), "rate", "--agreement", ag["id"], "--period", period, "--declarer", provider, "--json"],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rated = _rated(json.loads(proc.stdout))
    files = {f["service"] for f in ctx["truth"]["files"] if f["declarer"] == provider}
    assert {service for service, _ in rated} == files
    assert {declarer for _, declarer in rated} == {provider}
    # The same figures as the in-process command.
    again = _rated(
        cli("rate", "--agreement", ag["id"], "--period", period, "--declarer", provider, "--json").json()
    )
    assert {k: x["amount"] for k, x in again.items()} == {k: x["amount"] for k, x in rated.items()}
