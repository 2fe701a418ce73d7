"""`o2o registry compare`: the same period registered on the three backends, measured side by side in one run.

One cycle is run (the demo's generated network, small) on the central ledger; then its registrations are
registered again on each backend from the same facts:
- central: the facts appended to a fresh SQLite ledger (canonical JSON, SHA-256, Ed25519, Merkle leaf, insert);
- anchored: that, plus the hub's signed tree head on a settlement contract (anvil on loopback);
- evm: every registration a transaction of a fresh settlement contract (anvil on loopback).
Reported per backend: seconds to register the period, registrations per second, latency to finality (one
registration from its write to when it counts), gas per registration and per period, storage growth (bytes
of the SQLite file; bytes of signed transactions every node keeps), and whether the record verifies; then
the attacks and failures, each executed against each backend (`registry_attacks`, `registry_outages`). The
result is kept beside the comparison's workspace (`comparison.json`) for the period report.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.ledger.chain import Fact
from o2o.ledger.keys import HUB
from o2o.services.ledger import append_entries, ledger_of, load_signer
from o2o.services.registry import RegistryConfig
from o2o.services.registry_report import COMPARISON_FILE
from o2o.store.database import make_engine, migrate
from o2o.store.uow import UnitOfWork

SKIPPED_KINDS = ("key.registered", "key.rotated", "key.revoked")
BATCH = 200


def compare(home: Path, *, cdrs: int, operators: int = 3, seed: int = 2026) -> dict[str, Any]:
    """Run one small cycle in `home` (emptied first) and register it on each backend; the figures."""
    from o2o.services.demo import run_demo
    from o2o.services.plain_files import network_options
    from o2o.services.registry_attacks import run_attacks, run_outages
    from o2o.services.registry_demo import chain_demo, local_anvil, probe_latency

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    ws = open_workspace(Settings(home=home, database_url=f"sqlite:///{(home / 'o2o.sqlite').resolve()}"))
    opts = network_options(operators=operators, cdrs=cdrs, seed=seed, tolerance_absolute=1, outage_days=0)
    run = run_demo(ws, home / "network", opts, "direct", lambda _step: None)
    central = _central(ws, home / "central-replay.sqlite")
    with local_anvil() as url:
        anchored = chain_demo(ws, "anchored", url=url, dev_fund=True)
        configs = {"anchored": RegistryConfig.load(ws)}
        evm = chain_demo(ws, "evm", url=url, dev_fund=True)
        configs["evm"] = RegistryConfig.load(ws)
        scratch = home.with_name(f"{home.name}-attacks")  # beside the workspace, never inside what is copied
        attacks = run_attacks(ws, configs, scratch)
        attacks += run_outages(ws, scratch)  # on their own nodes: the shared one is not stopped
        shutil.rmtree(scratch, ignore_errors=True)
        for figures, mode in ((anchored, "anchored"), (evm, "evm")):  # after the attacks: probes add records
            figures["latency_to_finality_s"] = probe_latency(ws, configs[mode], 5)
    backends = {"central": central, "anchored": _anchored(central, anchored), "evm": _chain_figures(evm)}
    with ws.uow() as uow:
        entries = ledger_of(uow).size
    data = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "period": run.truth.get("period"),
        "operators": operators,
        "cdrs": cdrs,
        "ledger_entries": entries,
        "backends": backends,
        "attacks": [a.to_dict() for a in attacks],
    }
    # kept in the comparison's folder (emptied by the next run): the period report's registry section reads it
    (home / COMPARISON_FILE).write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    return data


def _central(ws: Workspace, path: Path) -> dict[str, Any]:
    """Append the workspace's facts to a fresh SQLite ledger: time, rate, latency, bytes."""
    path.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with ws.uow() as uow:
        entries = [e for e in uow.ledger_store.entries() if e.kind not in SKIPPED_KINDS]
    signers = {actor: load_signer(ws, actor) for actor in {e.actor for e in entries} | {HUB}}
    with UnitOfWork(engine) as uow:
        for signer in signers.values():
            ledger_of(uow).register_key(signer)
        uow.commit()
    before = path.stat().st_size
    facts = [Fact(e.kind, e.subject, e.payload, signers[e.actor], tuple(e.cosignatures)) for e in entries]
    started = time.perf_counter()
    for lo in range(0, len(facts), BATCH):
        with UnitOfWork(engine) as uow:
            append_entries(uow, facts[lo : lo + BATCH])
            uow.commit()
    seconds = time.perf_counter() - started
    latencies = []
    for fact in facts[:5]:  # one registration alone: append and commit
        started = time.perf_counter()
        with UnitOfWork(engine) as uow:
            append_entries(uow, [fact])
            uow.commit()
        latencies.append(time.perf_counter() - started)
    with UnitOfWork(engine) as uow:
        report = ledger_of(uow).verify()
    engine.dispose()
    grown = path.stat().st_size - before
    n = len(facts)
    return {
        "registrations": n,
        "seconds_to_register": round(seconds, 3),
        "registrations_per_s": round(n / seconds, 1) if seconds else None,
        "latency_to_finality_s": round(statistics.median(latencies), 4) if latencies else None,
        "gas_per_registration": 0,
        "gas_per_period": 0,
        "transactions": 0,
        "storage_bytes": grown,
        "storage_bytes_per_registration": round(grown / n, 1) if n else None,
        "verified": report.ok,
    }


def _registering(c: dict[str, Any]) -> dict[str, Any]:
    """The chain demo's figures without the contract's deployment (done once, not per period)."""
    return {
        **c,
        "gas_used": c["gas_used"] - c["deploy_gas_used"],
        "chain_bytes": c["chain_bytes"] - c["deploy_bytes"],
        "transactions": c["transactions"] - 1,
        "blocks": c["blocks"] - 1,
    }


def _chain_figures(c: dict[str, Any]) -> dict[str, Any]:
    c = _registering(c)
    n = int(c["registrations"])
    seconds = float(c["seconds_to_register"])
    return {
        "registrations": n,
        "seconds_to_register": seconds,
        "registrations_per_s": round(n / seconds, 1) if seconds else None,
        "latency_to_finality_s": c["latency_to_finality_s"],
        "gas_per_registration": round(c["gas_used"] / n) if n else None,
        "gas_per_period": c["gas_used"],
        "transactions": c["transactions"],
        "blocks": c["blocks"],
        "storage_bytes": c["chain_bytes"],
        "storage_bytes_per_registration": round(c["chain_bytes"] / n, 1) if n else None,
        "verified": c["verified_from_chain"],
    }


def _anchored(central: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    """The central figures plus the anchoring: its transaction, gas and bytes spread over the period's
    registrations; an entry is final on chain when the next head is anchored (every N entries or T minutes)."""
    c = _registering(c)
    n = int(central["registrations"])
    seconds = float(central["seconds_to_register"]) + float(c["seconds_to_register"])
    return {
        "registrations": n,
        "seconds_to_register": round(seconds, 3),
        "registrations_per_s": round(n / seconds, 1) if seconds else None,
        "latency_to_finality_s": c["latency_to_finality_s"],
        "latency_note": "plus the wait for the next anchor (every --anchor-every entries or --anchor-minutes)",
        "gas_per_registration": round(c["gas_used"] / n) if n else None,
        "gas_per_period": c["gas_used"],
        "transactions": c["transactions"],
        "blocks": c["blocks"],
        "storage_bytes": int(central["storage_bytes"]) + int(c["chain_bytes"]),
        "storage_bytes_per_registration": round(
            (int(central["storage_bytes"]) + int(c["chain_bytes"])) / n, 1
        )
        if n
        else None,
        "verified": bool(central["verified"]) and bool(c["verified_from_chain"]),
    }
