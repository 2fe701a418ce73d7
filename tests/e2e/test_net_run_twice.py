"""`o2o net run` twice over the same period, through the CLI on SQLite and PostgreSQL: signed with one
dispute still open, the first round nets the undisputed part and withholds the contested one; a second run
finds nothing new to net and is refused (no empty round, nothing set off twice); the dispute's resolution
releases the withheld part, which a later round then nets, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cycle_steps import reconciled, resolve_by_split


def _reconciled(cli: Any, tmp_path: Path) -> tuple[str, dict[str, Any], list[str]]:
    period, report, ag = reconciled(cli, tmp_path, cdrs=400, seed=5)
    return period, report, list(ag["parties"])


def test_a_second_net_run_over_nothing_new_is_refused(db_cli: Any, tmp_path: Path) -> None:
    cli = db_cli
    period, report, parties = _reconciled(cli, tmp_path)
    held, *others = report["disputes"]
    for d_id in others:
        resolve_by_split(cli, d_id)
    for op in parties:
        assert cli("statement", "sign", report["statement"], "--as", op).code == 0

    first = cli("net", "run", "--period", period, "--mode", "conservative", "--json")
    assert first.code == 0, first.err
    again = cli("net", "run", "--period", period, "--mode", "conservative")
    assert again.code == 1
    assert again.err.strip().count("\n") == 0 and "no signed statements with open obligations" in again.err
    status = cli("cycle", "status", "--period", period, "--json").json()
    assert [c["state"] for c in status] == ["netted"]
    rounds = {p["round_id"] for p in cli("payment", "list", "--json").json()}
    assert rounds <= {first.json()["round"]}

    resolve_by_split(cli, held)  # signed already: its resolution releases the withheld part (or cancels it)
    later = cli("net", "run", "--period", period, "--mode", "conservative", "--json")
    released = later.code == 0
    assert released or "no signed statements with open obligations" in later.err
    if released:
        assert later.json()["round"] != first.json()["round"]
        assert later.json()["obligations"] == 1  # only the released part: nothing is netted twice
    assert cli("ledger", "verify", "--store", "--json").json()["ok"] is True
