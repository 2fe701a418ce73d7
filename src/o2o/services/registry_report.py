"""The period report's registry section: where the period's facts are registered, and the registries compared.

- The workspace's registry (central, anchored or evm: `--registry`/`O2O_REGISTRY`/`registry.json`) and the
  period's registrations: the ledger entries whose subject is the period or one of its cycles, declarations,
  statements, disputes, obligations, netting rounds or payments; on evm, how many of them were carried to the
  contract as of the last publish (the workspace's cursor: the node is not asked while a report is made;
  `o2o registry verify` checks them against the chain); on anchored, when a head was last anchored.
- The last `o2o registry compare` stored in the workspace, if any: its figures per backend and its attacks.
  Those were measured on the comparison's own generated period, not on this period's facts: the section says
  so, with the comparison's size and time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.documents.model import Cell, CellKind, Column, Fact, Section, Table
from o2o.services.registry import RegistryConfig, registry_mode
from o2o.store.uow import UnitOfWork

COMPARE_DIR = "registry-compare"
COMPARISON_FILE = "comparison.json"

WHAT = {
    "central": "central: the hub's signed, hash-chained ledger",
    "anchored": "anchored: the central ledger, its signed tree heads written to a settlement contract",
    "evm": "evm: every registration a transaction of a settlement contract",
}


def comparison_path(home: Path) -> Path:
    """Where `o2o registry compare` run in the workspace at `home` stores its last figures."""
    return home / COMPARE_DIR / COMPARISON_FILE


def stored_comparison(ws: Workspace) -> dict[str, Any] | None:
    path = comparison_path(ws.home)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and "backends" in data else None


def period_subjects(uow: UnitOfWork, per: str) -> set[str]:
    """The ledger subjects of the period: itself, its cycles, declarations, statements and what they led to."""
    repo = uow.cycles
    subjects = {per}
    for c in repo.cycles(per):
        subjects.add(c.id)
        st = repo.statement_of(c.agreement_id, c.period)
        if st is not None:
            subjects.add(st.id)
    subjects.update(d.id for d in uow.declarations.all(period=per, include_superseded=True))
    subjects.update(d.id for d in repo.disputes(period=per))
    subjects.update(o.id for o in repo.obligations(per))
    for rnd in repo.rounds(per):
        subjects.add(rnd.id)
        subjects.update(p.id for p in repo.payments(rnd.id))
    return subjects


def registry_section(ws: Workspace, uow: UnitOfWork, per: str) -> Section:
    mode = registry_mode(ws)
    cfg = RegistryConfig.load(ws)
    subjects = period_subjects(uow, per)
    seqs = [e.seq for e in uow.ledger_store.entries() if e.subject in subjects]
    facts = [
        Fact("registry", "Registry", WHAT[mode]),
        Fact("registrations", "Ledger entries registering the period", str(len(seqs))),
    ]
    chain = f"contract {cfg.contract} on chain {cfg.chain_id}" if cfg.contract else "no contract deployed"
    if mode == "evm":
        carried = sum(1 for s in seqs if s < cfg.published) if cfg.contract else 0
        facts.append(Fact("on_chain", "Carried to the chain (as of the last publish)",
                          f"{carried} of {len(seqs)}, {chain}"))  # fmt: skip
    elif mode == "anchored":
        last = (
            datetime.fromtimestamp(cfg.anchored_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if cfg.anchored_at
            else "never"
        )
        facts.append(Fact("anchored", "Last tree head anchored", f"{last}, {chain}"))
    tables: list[Table] = []
    compared = stored_comparison(ws)
    if compared is None:
        facts.append(Fact("comparison", "Registries compared",
                          "no comparison stored in this workspace (`o2o registry compare` stores its last run)"))  # fmt: skip
    else:
        facts.append(Fact("comparison", "Registries compared", (
            f"the last `o2o registry compare` ({compared.get('measured_at', 'time not recorded')}): a generated "
            f"period of {compared['operators']} operators and {compared['cdrs']:,} calls, registered on each "
            "backend (a local anvil node); measured on that period, not on this one"
        )))  # fmt: skip
        tables.append(_figures(compared))
        tables.append(_attacks(compared))
    return Section("registry", "Registration of the period", tuple(facts), tuple(tables))


_FIGURES = (
    ("registrations", "Registrations", CellKind.INTEGER),
    ("seconds_to_register", "Seconds to register the period", CellKind.DECIMAL),
    ("registrations_per_s", "Registrations per second", CellKind.DECIMAL),
    ("latency_to_finality_s", "Latency to finality (s)", CellKind.DECIMAL),
    ("gas_per_registration", "Gas per registration", CellKind.INTEGER),
    ("gas_per_period", "Gas per period", CellKind.INTEGER),
    ("transactions", "Transactions", CellKind.INTEGER),
    ("storage_bytes", "Storage growth (bytes)", CellKind.INTEGER),
    ("storage_bytes_per_registration", "Storage per registration (bytes)", CellKind.DECIMAL),
)


def _figures(compared: dict[str, Any]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for backend, b in compared["backends"].items():
        cells: list[Cell] = [backend]
        for key, _label, kind in _FIGURES:
            value = b.get(key)
            if value is None:
                cells.append(None)
            elif kind is CellKind.INTEGER:
                cells.append(int(value))
            else:
                cells.append(Decimal(str(value)))
        cells.append("yes" if b.get("verified") else "NO")
        rows.append(tuple(cells))
    columns = (
        Column("backend", "Registry", CellKind.TEXT),
        *(Column(key, label, kind) for key, label, kind in _FIGURES),
        Column("verified", "Verified", CellKind.TEXT),
    )
    return Table("registry_figures", "Registries compared: one period on each", columns, tuple(rows))


def attack_cell(a: dict[str, Any]) -> str:
    """An attack on the record: detected or not; a failure of availability: noticed, and what stays verifiable."""
    if "verifiable_during" not in a:
        return "detected" if a["detected"] else "NOT detected"
    seen = {None: "nothing to detect", True: "noticed at once", False: "NOT noticed"}[a["detected"]]
    return f"{seen}; {a['verifiable_during']} facts verifiable meanwhile"


def _attacks(compared: dict[str, Any]) -> Table:
    backends = list(compared["backends"])
    by_attack: dict[str, dict[str, str]] = {}
    for a in compared.get("attacks", []):
        by_attack.setdefault(a["attack"], {})[a["backend"]] = attack_cell(a)
    columns = (
        Column("attack", "Attack (executed)", CellKind.TEXT),
        *(Column(b, b, CellKind.TEXT) for b in backends),
    )
    rows = tuple((name, *(seen.get(b, "") for b in backends)) for name, seen in by_attack.items())
    return Table("registry_attacks", "Attacks executed, and who detects them", columns, rows)
