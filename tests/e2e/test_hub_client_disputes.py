"""An operator's dispute, evidence and payment commands against a real `o2o serve` on loopback, on SQLite and
PostgreSQL: `o2o hub dispute list|show|propose|accept|reject` negotiates each disputed line between the two
parties with their own tokens, `o2o hub evidence ST --out DIR` downloads what lies behind the disputed lines,
and `o2o hub payment confirm ID --reference R` is the payee's confirmation. Refusals are one line and change
nothing. The hub's host reconciles, signs (with the workspace's keys) and nets.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
import hub_server


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def test_operators_negotiate_download_evidence_and_confirm_payments_through_the_hub(
    db_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = db_cli
    period, report, ag = cycle_steps.reconciled(cli, tmp_path, cdrs=300, seed=5)
    st, first, second = report["statement"], *ag["parties"]

    def token(op: str, role: str) -> str:
        return str(cli("hub", "token", "create", "--operator", op, "--role", role, "--json").json()["token"])

    analyst = {op: token(op, "analyst") for op in ag["parties"]}
    signer = {op: token(op, "signer") for op in ag["parties"]}
    viewer = token(first, "viewer")
    with hub_server.running_hub(tmp_path / "serve.log") as url:
        monkeypatch.setenv("O2O_HUB_URL", url)

        def as_(tok: str, *args: Any) -> Any:
            return cli("hub", *args, "--token", tok)

        # Both parties see the same disputes: those of the statement.
        seen = {op: as_(analyst[op], "dispute", "list", "--json").json() for op in ag["parties"]}
        assert sorted(d["id"] for d in seen[first]) == sorted(report["disputes"])
        assert seen[first] == seen[second]
        assert {d["state"] for d in seen[first]} == {"open"}
        listed = as_(viewer, "dispute", "list", "--state", "open")
        assert listed.code == 0 and "Disputes" in listed.out and "open" in listed.out

        # The evidence of the disputed lines, downloaded into a folder of the operator's.
        out = tmp_path / "evidence"
        got = as_(viewer, "evidence", st, "--out", out, "--limit", "50")
        assert got.code == 0, got.err
        evidence = json.loads((out / f"{st}.evidence.json").read_text())
        assert evidence["statement"] == st
        assert sorted(line["dispute"] for line in evidence["lines"]) == sorted(report["disputes"])
        for line in evidence["lines"]:
            records = out / f"{st}.{line['service']}.records.csv"
            assert len(line["records"]) == min(50, line["records_total"])
            if line["records"]:
                assert f"wrote {records}" in got.out
                with records.open(newline="") as fh:
                    assert len(list(csv.DictReader(fh))) == len(line["records"])
            assert "file" not in json.dumps(line["figures"])  # no path into the hub's lake

        for d in seen[first]:
            d_id, provider, customer = d["id"], d["provider"], d["customer"]
            # The provider asks for its figure; the customer rejects it and offers to split the difference.
            r = as_(analyst[provider], "dispute", "propose", d_id, "--amount", d["provider_amount"],
                    "--note", "our CDRs stand", "--json")  # fmt: skip
            assert r.code == 0, r.err
            assert r.json()["proposals"][-1]["amount"] == d["provider_amount"]
            # Refusals: a viewer may not propose; the proposer may not accept its own proposal; a bad amount
            # never goes to the hub; a foreign or missing dispute is unknown.
            assert "403" in _one_line(as_(viewer, "dispute", "propose", d_id))
            assert "409" in _one_line(as_(analyst[provider], "dispute", "accept", d_id))
            assert "--amount" in _one_line(
                as_(analyst[customer], "dispute", "propose", d_id, "--amount", "ten")
            )
            assert "404" in _one_line(as_(analyst[customer], "dispute", "reject", "DSP-NOPE"))
            assert as_(analyst[customer], "dispute", "reject", d_id).code == 0
            split = as_(analyst[customer], "dispute", "propose", d_id)
            assert split.code == 0 and f"proposed on {d_id}" in split.out
            done = as_(analyst[provider], "dispute", "accept", d_id, "--json")
            assert done.code == 0, done.err
            resolved = done.json()
            assert resolved["state"] == "resolved" and resolved["resolved_amount"] == d["split_offer"]
            shown = as_(viewer, "dispute", "show", d_id)
            assert shown.code == 0 and "resolved at" in shown.out and "our CDRs stand" in shown.out
            assert [p["status"] for p in as_(viewer, "dispute", "show", d_id, "--json").json()["proposals"]] == [
                "rejected", "accepted"]  # fmt: skip
        # The same dispute as the local workspace holds it.
        local = cli("dispute", "show", seen[first][0]["id"], "--json").json()
        assert local["state"] == "resolved"

        # The hub's host signs and nets; the payee confirms each payment with its own signer token.
        for op in ag["parties"]:
            assert cli("statement", "sign", st, "--as", op).code == 0
        assert cli("net", "run", "--period", period, "--mode", "direct").code == 0
        pays = as_(signer[first], "payment", "list", "--json").json()
        assert pays and pays == as_(signer[second], "payment", "list", "--json").json()
        for pay in pays:
            payee, payer = pay["payee"], pay["payer"]
            assert "403" in _one_line(
                as_(analyst[payee], "payment", "confirm", pay["id"], "--reference", "R1")
            )
            refused = as_(signer[payer], "payment", "confirm", pay["id"], "--reference", "R1")
            assert f"only its payee {payee}" in _one_line(refused)
            assert "--reference" in _one_line(
                as_(signer[payee], "payment", "confirm", pay["id"], "--reference", " ")
            )
            ok = as_(signer[payee], "payment", "confirm", pay["id"], "--reference", f"BANK-{pay['id']}")
            assert ok.code == 0 and f"confirmed {pay['id']}" in ok.out, ok.err
            assert "409" in _one_line(
                as_(signer[payee], "payment", "confirm", pay["id"], "--reference", "R2")
            )
        stored = {p["id"]: p for p in cli("payment", "list", "--json").json()}
        assert all(stored[p["id"]]["status"] == "confirmed" for p in pays)
        amounts = {Decimal(p["amount"]) for p in pays}
        assert all(a > 0 for a in amounts)
    monkeypatch.delenv("O2O_HUB_URL")
    assert "no hub" in _one_line(cli("hub", "dispute", "list", "--token", viewer))
    closed = f"http://127.0.0.1:{hub_server.free_port()}"
    unreachable = _one_line(cli("hub", "payment", "confirm", "P-1", "--reference", "R", "--hub", closed,
                                "--token", "t"))  # fmt: skip
    assert "cannot reach the hub" in unreachable and "confirm payment P-1" in unreachable
