"""Steps shared by the cycle tests (e2e and integration): a generated two-operator network driven through
the CLI as a user would, from `generate` to a reconciled statement, and a dispute settled by a split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def generated(
    cli: Any, tmp_path: Path, *, cdrs: int, seed: int, zero_tolerance: bool = True
) -> tuple[Path, Any]:
    """`o2o generate` of a two-operator network into `tmp_path/net`; returns the folder and its truth."""
    net = tmp_path / "net"
    tolerance = ["--tolerance-absolute", "0"] if zero_tolerance else []
    r = cli("generate", "--operators", "2", "--cdrs", str(cdrs), "--seed", str(seed), *tolerance,
            "--out", net, "--json")  # fmt: skip
    assert r.code == 0, r.err
    return net, json.loads((net / "truth.json").read_text())


def loaded(cli: Any, net: Path, truth: Any) -> dict[str, Any]:
    """The generated network's operators and its one agreement loaded; returns the agreement's truth."""
    assert cli("operator", "add", "--file", net / "operators.toml").code == 0
    (ag,) = truth["agreements"]
    assert cli("agreement", "load", net / ag["file"]).code == 0
    return dict(ag)


def import_usage(cli: Any, path: Path, f: dict[str, Any], period: str) -> Any:
    """`o2o usage import` of one generated usage file, as its declarer."""
    return cli("usage", "import", path, "--agreement", f["agreement"], "--period", period,
               "--declarer", f["declarer"], "--service", f["service"])  # fmt: skip


def declare_all(cli: Any, net: Path, truth: Any, period: str) -> None:
    """Every generated usage file declared for `period`."""
    for f in truth["files"]:
        r = import_usage(cli, net / f["file"], f, period)
        assert r.code == 0, r.err


def declared(
    cli: Any,
    tmp_path: Path,
    *,
    cdrs: int,
    seed: int,
    zero_tolerance: bool = True,
    keys: bool = True,
    period: str | None = None,
) -> tuple[Path, Any, dict[str, Any]]:
    """Generated, loaded, (with keys for both parties) and fully declared (for `period`, else the truth's)."""
    net, truth = generated(cli, tmp_path, cdrs=cdrs, seed=seed, zero_tolerance=zero_tolerance)
    ag = loaded(cli, net, truth)
    if keys:
        for op in ag["parties"]:
            assert cli("keys", "generate", op).code == 0
    declare_all(cli, net, truth, period or truth["period"])
    return net, truth, ag


def reconciled(
    cli: Any, tmp_path: Path, *, cdrs: int, seed: int
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Declared at zero tolerance and reconciled (some lines disputed); returns period, report, agreement."""
    _, truth, ag = declared(cli, tmp_path, cdrs=cdrs, seed=seed)
    period = truth["period"]
    (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    assert report["disputes"], "zero absolute tolerance leaves some line over 1%"
    return period, report, ag


def resolve_by_split(cli: Any, d_id: str) -> None:
    """The provider proposes to split the difference and the customer accepts."""
    d = cli("dispute", "show", d_id, "--json").json()
    assert cli("dispute", "propose", d_id, "--as", d["provider"], "--split").code == 0
    assert cli("dispute", "accept", d_id, "--as", d["customer"]).code == 0
