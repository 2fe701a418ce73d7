"""Attacks on the registered record, executed against each backend, and who detects them.

Each attack runs on a copy of a workspace whose period is registered centrally, anchored on one settlement
contract and published on another (the chain configurations are given); the copy is then verified as that
backend verifies (`registry verify`), and the result says whether the attack was detected and by what.

- **the hub rewrites a statement**: it changes the digest registered by a `statement.countersigned` entry, then
  re-hashes the entry, re-signs it with its own key and recomputes its Merkle leaf (all the hub can do);
- **the hub deletes a payment**: it deletes a confirmed payment instruction from the store and cuts the ledger
  from that payment's confirmation on (entries and the tree heads covering them), leaving a shorter ledger
  whose hashes, signatures and chain are all intact;
- **an operator denies having signed a statement**: its signature is checked where the backend keeps it — the
  Ed25519 signature of its `statement.signed` entry (central, anchored), and the EIP-712 signature the
  contract recovered with `ecrecover`, read back from the chain's transaction (evm); the denial is refuted
  when the signature verifies against the operator's registered key or address;
- **a participant's node is down** and **the hub is unreachable**: availability failures, executed on their
  own networks (the hub's API served, the hub's node, the participant's node): see `registry_outages`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.ledger.entries import canonical_json, entry_hash, entry_message, leaf_input
from o2o.ledger.keys import HUB
from o2o.ledger.merkle import leaf_hash
from o2o.services.ledger import ledger_of, load_signer
from o2o.services.registry import CentralRegistry, RegistryConfig, RegistryReport

BACKENDS = ("central", "anchored", "evm")
DETECTOR = {
    "central": "`registry verify --registry central` (the ledger and the store against it)",
    "anchored": "`registry verify --registry anchored` (the heads on chain against the central ledger)",
    "evm": "`registry verify --registry evm` (the chain's events against the workspace)",
}


# Who runs the check that detects (or refutes) each attack, and when it does.
WHO = {
    "central": "whoever verifies the hub's ledger and store (the hub's auditor, an operator given an export)",
    "anchored": "anyone holding the ledger who reads the anchored heads from the chain",
    "evm": "any participant, from its own node",
}
WHEN = {
    ("the hub rewrites a statement", "central"): "at the next verification of the ledger",
    (
        "the hub rewrites a statement",
        "anchored",
    ): "at the next verification, once a head covering it is anchored",
    (
        "the hub rewrites a statement",
        "evm",
    ): "at the next verification (the original is on chain once published)",
    ("the hub deletes a payment", "central"): "at the next audit of the store against the ledger, only",
    (
        "the hub deletes a payment",
        "anchored",
    ): "at the next verification, once a head covering it is anchored",
    ("the hub deletes a payment", "evm"): "at the next verification (the payment is on chain once published)",
}
DENIAL_WHEN = "whenever the denial is made: the signature is kept with the record"


@dataclass(frozen=True, slots=True)
class AttackResult:
    attack: str
    backend: str
    detected: bool | None
    how: str
    who: str = ""
    when: str = ""
    extra: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack, "backend": self.backend, "detected": self.detected, "who": self.who,
            "when": self.when, "how": self.how, **(self.extra or {}),
        }  # fmt: skip


def run_attacks(ws: Workspace, configs: dict[str, RegistryConfig], scratch: Path) -> list[AttackResult]:
    """Every attack against every backend, each on a fresh copy of `ws` (SQLite workspaces)."""
    results: list[AttackResult] = []
    for name, attack in (
        ("the hub rewrites a statement", rewrite_statement),
        ("the hub deletes a payment", delete_payment),
    ):
        for backend in BACKENDS:
            copy = _copy(ws, scratch / f"{attack.__name__}-{backend}")
            what = attack(copy)
            report = _verify(copy, backend, configs)
            how = _how(backend, report)
            results.append(
                AttackResult(
                    name, backend, not report.ok, f"{what}; {how}", WHO[backend], WHEN[name, backend]
                )
            )
    for backend in BACKENDS:
        refuted, how = deny_signature(ws, backend, configs)
        results.append(
            AttackResult("an operator denies having signed", backend, refuted, how, WHO[backend], DENIAL_WHEN)
        )
    return results


def run_outages(ws: Workspace, scratch: Path) -> list[AttackResult]:
    """A participant's node down and the hub unreachable, against each backend (its own copy and network)."""
    from o2o.services.registry_outages import run_outages as outages

    found = outages(ws, _copy, scratch)
    shown = ("attack", "backend", "detected", "how", "who", "when")
    return [
        AttackResult(
            o.attack,
            o.backend,
            o.detected,
            o.how,
            o.who,
            o.when,
            {k: v for k, v in o.to_dict().items() if k not in shown},
        )
        for o in found
    ]


# The findings only that backend makes, shown first: what it adds to the central checks.
OWN_FINDINGS = {
    "central": ("ledger", "store"),
    "anchored": ("anchor",),
    "evm": ("chain", "differs", "missing"),
}


def _how(backend: str, report: RegistryReport) -> str:
    if report.ok:
        return "not detected"
    order = OWN_FINDINGS[backend]
    own = sorted((f for f in report.findings if f.what in order), key=lambda f: order.index(f.what))
    first = (own or report.findings)[0]
    return f"{DETECTOR[backend]}, {len(report.findings)} findings, e.g. {first.message}"


def _copy(ws: Workspace, home: Path) -> Workspace:
    if home.resolve().is_relative_to(ws.home.resolve()):
        raise ValueError(f"the scratch copy {home} must not be inside the workspace it copies")
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(ws.home, home, ignore=shutil.ignore_patterns("lake", "demo-*", "network", "registry-*"))
    return open_workspace(Settings(home=home, database_url=f"sqlite:///{(home / 'o2o.sqlite').resolve()}"))


def _verify(ws: Workspace, backend: str, configs: dict[str, RegistryConfig]) -> RegistryReport:
    if backend == "central":
        return CentralRegistry().verify(ws)
    from o2o.services.registry_chain import AnchoredRegistry, EvmRegistry

    registry = AnchoredRegistry(configs["anchored"]) if backend == "anchored" else EvmRegistry(configs["evm"])
    return registry.verify(ws)


def _db(ws: Workspace) -> sqlite3.Connection:
    return sqlite3.connect(ws.home / "o2o.sqlite")


def rewrite_statement(ws: Workspace) -> str:
    """Change the digest a `statement.countersigned` entry registered; re-hash, re-sign, new leaf."""
    hub = load_signer(ws, HUB)
    with _db(ws) as db:
        row = db.execute(
            "SELECT seq, time, kind, subject, actor, payload, prev_hash, cosignatures FROM ledger_entries "
            "WHERE kind = 'statement.countersigned' ORDER BY seq LIMIT 1"
        ).fetchone()
        seq, when, kind, subject, actor, payload_text, prev, cosigs = row
        payload = json.loads(payload_text)
        payload["digest"] = "f" * 64
        body = {
            "seq": seq, "time": when, "kind": kind, "subject": subject, "payload": payload, "actor": actor,
            "prev_hash": prev, "cosignatures": json.loads(cosigs),
        }  # fmt: skip
        new_hash = entry_hash(body)
        signature = hub.sign(entry_message(new_hash))
        leaf = leaf_hash(leaf_input(new_hash, hub.key_id, signature)).hex()
        db.execute(
            "UPDATE ledger_entries SET payload = ?, hash = ?, signature = ?, key_id = ?, leaf_hash = ? WHERE seq = ?",
            (canonical_json(payload).decode(), new_hash, signature, hub.key_id, leaf, seq),
        )
    return f"entry {seq} ({kind} {subject}) rewritten and re-signed by the hub"


def delete_payment(ws: Workspace) -> str:
    """Delete a confirmed payment and cut the ledger from its confirmation on."""
    with _db(ws) as db:
        seq, subject = db.execute(
            "SELECT seq, subject FROM ledger_entries WHERE kind = 'payment.confirmed' ORDER BY seq LIMIT 1"
        ).fetchone()
        db.execute("DELETE FROM payment_instructions WHERE id = ?", (subject,))
        db.execute("DELETE FROM ledger_entries WHERE seq >= ?", (seq,))
        db.execute("DELETE FROM ledger_tree_heads WHERE tree_size > ?", (seq,))
    return f"payment {subject} deleted and the ledger cut at entry {seq}"


def deny_signature(ws: Workspace, backend: str, configs: dict[str, RegistryConfig]) -> tuple[bool, str]:
    """Whether the record refutes an operator that denies having signed the first signed statement."""
    with ws.uow() as uow:
        entries = [e for e in uow.ledger_store.entries() if e.kind == "statement.signed"]
        keys = ledger_of(uow).keyring()
    entry = entries[0]
    if backend in ("central", "anchored"):
        ok = keys.verify(entry.actor, entry.key_id, entry.signature, entry_message(entry.hash))
        where = f"its Ed25519 signature of ledger entry {entry.seq}"
        if backend == "anchored":
            where += " (under a root anchored on chain)"
        return ok, f"{entry.actor} {'is refuted by' if ok else 'is not refuted:'} {where}"
    return _deny_on_chain(ws, entry.actor, entry.subject, configs["evm"])


def _deny_on_chain(ws: Workspace, operator: str, statement: str, cfg: RegistryConfig) -> tuple[bool, str]:
    """Read the registering transaction back from the chain and recover the operator's EIP-712 signature."""
    from eth_account import Account

    from o2o.chain.settlement import SettlementContract, subject_hash
    from o2o.chain.typed_data import STATEMENT_TYPE, typed_hash
    from o2o.services.registry import address_book
    from o2o.services.registry_chain import connect

    contract = SettlementContract(connect(cfg), cfg.contract)
    subj = subject_hash(statement)
    events = [
        e for e in contract.events(cfg.deploy_block, names=["StatementRegistered"]) if e["subject"] == subj
    ]
    if not events:
        return False, f"statement {statement} is not on chain"
    event = events[-1]
    tx = contract.client.w3.eth.get_transaction(event["tx"])
    _fn, args = contract.contract.decode_function_input(tx["input"])
    address = address_book(ws)[operator]
    signature = args["signature_a"] if args["party_a"] == address else args["signature_b"]
    message = typed_hash(STATEMENT_TYPE, bytes(event["digest"]), subj, cfg.chain_id, contract.address)
    recovered = Account._recover_hash(message, signature=bytes(signature))
    ok = recovered == address
    verdict = "is refuted by" if ok else "is not refuted:"
    return ok, f"{operator} {verdict} its EIP-712 signature recovered from transaction {event['tx']}"
