"""The settlement cycle step by step through the CLI, on SQLite and PostgreSQL: wrong-state errors,
a dispute negotiated to resolution, signatures, netting, payments and closing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cycle_steps


@pytest.fixture
def declared(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated two-operator network, loaded and fully declared, with keys for both parties."""
    net, truth, ag = cycle_steps.declared(db_cli, tmp_path, cdrs=3000, seed=5)
    return db_cli, {"truth": truth, "agreement": ag, "net": net}


def test_cycle_from_declarations_to_closed_period(declared: tuple[Any, dict[str, Any]]) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["truth"]["period"]
    provider, customer = ag["parties"]
    st_id = f"ST-{ag['id']}-{period}"
    assert cli("cycle", "status", "--period", period, "--json").json()[0]["state"] == "declared"

    # Wrong state: nothing to net or close before reconciliation and signing.
    r = cli("net", "run", "--period", period)
    assert r.code == 1 and "no signed statements" in r.err
    r = cli("period", "close", period)
    assert r.code == 1 and "not settled" in r.err

    recon = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    (report,) = recon
    expected = {x["service"]: x for x in ctx["truth"]["reconciliations"]}
    for line in report["lines"]:
        if line["service"] in expected:
            assert line["matched"] == expected[line["service"]]["matched"]
    assert report["disputes"], "zero absolute tolerance leaves some line over 1%"

    # A dispute: the provider asks for its figure; it cannot accept its own proposal; the customer counters
    # with the split and the provider accepts.
    d_id = report["disputes"][0]
    d = cli("dispute", "show", d_id, "--json").json()
    assert d["evidence"]["provider"]["records"] > 0
    assert d["evidence"]["days_over_tolerance"]
    if "match" in d["evidence"]:
        assert sum(d["evidence"]["records"]["counts"].values()) > 0
    r = cli("dispute", "propose", d_id, "--as", d["provider"], "--amount", d["provider_amount"], "--json")
    assert r.code == 0, r.err
    r = cli("dispute", "accept", d_id, "--as", d["provider"])
    assert r.code == 1 and "own proposal" in r.err
    r = cli("dispute", "propose", d_id, "--as", d["customer"], "--amount", "0.00")
    assert r.code == 1 and "outside the two figures" in r.err
    assert cli("dispute", "propose", d_id, "--as", d["customer"], "--split").code == 0
    resolved = cli("dispute", "accept", d_id, "--as", d["provider"], "--json").json()
    assert resolved["state"] == "resolved"
    assert resolved["resolved_amount"] == d["split_offer"]
    for other in report["disputes"][1:]:
        assert cli("dispute", "propose", other, "--as", provider, "--split").code == 0
        assert cli("dispute", "accept", other, "--as", customer).code == 0

    # Signatures: a stranger cannot sign; each party signs once; the second signature makes obligations.
    r = cli("statement", "sign", st_id, "--as", "HUB")
    assert r.code == 1
    first = cli("statement", "sign", st_id, "--as", provider, "--json").json()
    assert first["complete"] is False
    r = cli("statement", "sign", st_id, "--as", provider)
    assert r.code == 1 and "already signed" in r.err
    second = cli("statement", "sign", st_id, "--as", customer, "--json").json()
    assert second["complete"] is True and second["obligations"]
    shown = cli("statement", "show", st_id, "--json").json()
    assert shown["state"] == "signed" and len(shown["signatures"]) == 2

    # Usage can no longer change once signed.
    f = ctx["truth"]["files"][0]
    tweaked = ctx["net"] / "tweaked.csv"
    tweaked.write_text((ctx["net"] / f["file"]).read_text().rsplit("\n", 2)[0] + "\n")
    r = cli("usage", "import", tweaked, "--agreement", f["agreement"], "--period", period,
            "--declarer", f["declarer"], "--service", f["service"])  # fmt: skip
    assert r.code == 1 and "signed" in r.err

    netting = cli("net", "run", "--period", period, "--mode", "clearing-house", "--json").json()
    for pay in netting["payments"]:
        r = cli("payment", "confirm", pay["id"], "--as", pay["payee"], "--reference", "BANK-1")
        assert r.code == 0, r.err
    first = netting["payments"][0] if netting["payments"] else None
    r = cli("payment", "confirm", first["id"], "--as", "HUB", "--reference", "BANK-2") if first else None
    assert r is None or (r.code == 1 and "already confirmed" in r.err)
    assert cli("period", "close", period).code == 0
    assert cli("cycle", "status", "--json").json()[0]["state"] == "closed"
    assert cli("ledger", "verify", "--json").json()["ok"] is True


def test_rate_imported_declarations(declared: tuple[Any, dict[str, Any]]) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["truth"]["period"]
    provider = ag["parties"][0]
    r = cli("rate", "--agreement", ag["id"], "--period", period, "--declarer", provider, "--json")
    assert r.code == 0, r.err
    results = r.json()
    files = {f["service"]: f for f in ctx["truth"]["files"] if f["declarer"] == provider}
    usage = [x for x in results if next(iter(x["services"])) in files]
    assert len(usage) == len(files) > 0
    for res in usage:
        (service,) = res["services"]
        assert res["records"] == files[service]["rows"]
    r = cli("rate", "--agreement", ag["id"], "--period", period, "--declarer", "NOBODY")
    assert r.code == 1 and "not a party" in r.err


def test_overdue_disputes_are_escalated_and_closed_to_proposals(declared: tuple[Any, dict[str, Any]]) -> None:
    cli, ctx = declared
    ag, period = ctx["agreement"], ctx["truth"]["period"]
    (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    assert report["disputes"]
    assert cli("dispute", "escalate", "--as-of", "2000-01-01", "--json").json() == {"escalated": []}
    escalated = cli("dispute", "escalate", "--as-of", "2099-01-01", "--json").json()["escalated"]
    assert sorted(escalated) == sorted(report["disputes"])
    d = cli("dispute", "show", escalated[0], "--json").json()
    assert d["state"] == "escalated"
    r = cli("dispute", "propose", escalated[0], "--as", d["provider"], "--split")
    assert r.code == 1 and "escalated" in r.err
