"""The registry port and its three backends, chosen per workspace.

- `central` — the hub's signed, hash-chained ledger (o2o.ledger), exactly as without a registry: nothing more.
- `anchored` — central, plus the hub's signed tree head written to the settlement contract whenever
  `anchor_every` entries were appended or `anchor_minutes` passed since the last anchor (with new entries):
  a rewrite of history by the hub no longer matches the roots the chain holds.
- `evm` — every registration of the ledger (and every declaration's digest) is a transaction of the
  settlement contract: statements with both parties' EIP-712 signatures, obligations, netting rounds
  accepted by each participant, set-offs, payments, and every other fact by digest.

The ledger stays the workspace's journal in every mode (the services register in their own transaction);
`publish` carries what it holds to the chain afterwards — from the last published entry, skipping whatever
the chain already has (by key: the entry's hash), so a publisher killed mid-round resumes without
registering anything twice. The mode comes from `--registry`, else `O2O_REGISTRY`, else the workspace's
`registry.json` (written by `o2o registry deploy`), else `central`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError, O2OError, ValidationError

MODES = ("central", "anchored", "evm")
CHAIN_KEY_KIND = "chain.key.registered"


def _chain() -> Any:
    """The chain adapter, imported on first use: the central registry never loads web3."""
    import o2o.chain.settlement

    return o2o.chain.settlement


# --- configuration ------------------------------------------------------------------------------------


@dataclass
class RegistryConfig:
    """The workspace's `registry.json`: the mode, the chain and the deployed contract, the publishing cursor."""

    mode: str = "central"
    url: str = ""
    chain_id: int = 0
    confirmations: int = 1
    poa: bool = False
    contract: str = ""
    deploy_block: int = 0
    anchor_every: int = 100
    anchor_minutes: float = 60.0
    published: int = 0
    anchored_at: float = 0.0
    anchored_size: int = 0  # the ledger's size at the last head anchored (as the chain said then)

    @staticmethod
    def path(ws: Workspace) -> Path:
        return ws.home / "registry.json"

    @classmethod
    def load(cls, ws: Workspace) -> RegistryConfig:
        path = cls.path(ws)
        if not path.exists():
            return cls()
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValidationError(f"{path}: not a registry configuration ({exc})") from None

    def save(self, ws: Workspace) -> None:
        path = self.path(ws)
        staged = path.with_suffix(".json.new")
        staged.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        os.replace(staged, path)


def check_mode(mode: str, where: str = "--registry") -> str:
    if mode not in MODES:
        raise ValidationError(f"{where}: {mode!r} is not a registry ({', '.join(MODES)})")
    return mode


def registry_mode(ws: Workspace, override: str | None = None) -> str:
    """`--registry`, else `O2O_REGISTRY`, else the workspace's configuration, else central."""
    if override:
        return check_mode(override)
    env = os.environ.get("O2O_REGISTRY", "").strip()
    if env:
        return check_mode(env, "O2O_REGISTRY")
    return check_mode(RegistryConfig.load(ws).mode, str(RegistryConfig.path(ws)))


# --- keys and the address book ------------------------------------------------------------------------


def chain_key_file(ws: Workspace, operator: str) -> Path:
    from o2o.chain.keys import chain_key_path

    return chain_key_path(ws.settings.keys_dir, operator)


def generate_chain_key(ws: Workspace, operator: str, passphrase: bytes | None = None) -> dict[str, Any]:
    """A secp256k1 key for `operator` beside its Ed25519 key; the binding of its address to the operator is
    registered on the ledger, signed with the operator's ledger key (which must exist). `passphrase` opens
    the ledger key and encrypts the new chain key (one passphrase for both of the operator's keys)."""
    from o2o.chain.keys import new_account, write_chain_key
    from o2o.services.cycle_common import register
    from o2o.services.ledger import key_path, load_signer

    path = chain_key_file(ws, operator)
    if path.exists():
        raise ValidationError(f"{operator} already has a chain key at {path}")
    if not key_path(ws, operator).exists():
        raise NotFoundError(
            f"{operator} has no ledger key to sign its chain address with (`o2o keys generate {operator}` first)"
        )
    signer = load_signer(ws, operator, passphrase)
    account = new_account()
    with ws.uow() as uow:
        register(uow, signer, CHAIN_KEY_KIND, operator, {"operator": operator, "address": account.address})
        write_chain_key(path, account, passphrase)
        try:
            uow.commit()
        except Exception:
            path.unlink(missing_ok=True)
            raise
    return {"operator": operator, "address": account.address, "chain_key": str(path)}


def address_book(ws: Workspace) -> dict[str, str]:
    """Each operator's chain address as the ledger registered it (its latest `chain.key.registered`)."""
    with ws.uow() as uow:
        entries = uow.ledger_store.latest_by_subject([CHAIN_KEY_KIND], None)
    return {op: str(e.payload["address"]) for op, e in entries.items()}


# --- the port -----------------------------------------------------------------------------------------


@dataclass
class PublishReport:
    mode: str
    registrations: int = 0
    skipped: int = 0
    transactions: int = 0
    gas_used: int = 0
    blocks: set[int] = field(default_factory=set)
    anchored_size: int | None = None
    seconds: float = 0.0
    chain_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "registry": self.mode,
            "registrations": self.registrations,
            "skipped_already_on_chain": self.skipped,
            "transactions": self.transactions,
            "gas_used": self.gas_used,
            "blocks": len(self.blocks),
            "anchored_size": self.anchored_size,
            "seconds": round(self.seconds, 3),
            "chain_bytes": self.chain_bytes,
        }


@dataclass(frozen=True, slots=True)
class RegistryFinding:
    what: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "message": self.message}


@dataclass
class RegistryReport:
    mode: str
    checked: int = 0
    findings: list[RegistryFinding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, what: str, message: str) -> None:
        self.findings.append(RegistryFinding(what, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "registry": self.mode,
            "ok": self.ok,
            "checked": self.checked,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
        }


class Registry(Protocol):
    mode: str

    def publish(self, ws: Workspace, *, force: bool = False) -> PublishReport: ...

    def verify(self, ws: Workspace) -> RegistryReport: ...


class CentralRegistry:
    """Today's ledger: the services already registered everything; verifying is `ledger verify`."""

    mode = "central"

    def publish(self, ws: Workspace, *, force: bool = False) -> PublishReport:
        return PublishReport(self.mode)

    def verify(self, ws: Workspace) -> RegistryReport:
        """`ledger verify --store`: the ledger's hashes, signatures, chain and heads, and the store against it."""
        from o2o.services.ledger import verify
        from o2o.services.store_audit import audit_store

        ledger = verify(ws)
        audit = audit_store(ws)
        report = RegistryReport(self.mode, checked=ledger.entries + sum(audit.checked.values()))
        for finding in ledger.findings:
            report.add("ledger", finding.message)
        for mismatch in audit.findings:
            report.add("store", mismatch.message)
        return report


def registry_for(ws: Workspace, mode: str | None = None) -> Registry:
    chosen = registry_mode(ws, mode)
    if chosen == "central":
        return CentralRegistry()
    from o2o.services.registry_chain import AnchoredRegistry, EvmRegistry

    return AnchoredRegistry() if chosen == "anchored" else EvmRegistry()


def publish(ws: Workspace, mode: str | None = None, *, force: bool = False) -> PublishReport:
    """Carry what the ledger holds to the chain. One publisher at a time per workspace: the CLI's, the hub's
    publish job, `o2o worker`'s (an exclusive lock on `$O2O_HOME/registry.lock`; the next waits for it, then
    starts from the cursor the previous one left)."""
    started = time.perf_counter()
    with publishing_lock(ws):
        report = registry_for(ws, mode).publish(ws, force=force)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def publishing_lock(ws: Workspace) -> Iterator[None]:
    """Held while one publisher reads the cursor, sends and moves the cursor: two at once would both send
    the same registrations (refused the second time, but paid for in estimation and nonces)."""
    import fcntl

    ws.home.mkdir(parents=True, exist_ok=True)
    with open(ws.home / "registry.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish_after_command() -> PublishReport | None:
    """In a workspace whose registry is anchored or evm, carry what a successful command registered to the
    chain (evm: every new registration; anchored: the head, when due); central: nothing."""
    from o2o.bootstrap import open_workspace
    from o2o.config import Settings

    settings = Settings()
    env = os.environ.get("O2O_REGISTRY", "").strip()
    if env:
        mode = check_mode(env, "O2O_REGISTRY")
    else:
        path = settings.home / "registry.json"
        if not path.exists():
            return None
        mode = check_mode(str(json.loads(path.read_text(encoding="utf-8")).get("mode", "central")), str(path))
    if mode == "central":
        return None
    try:
        return publish(open_workspace(settings), mode)
    except O2OError as exc:
        raise type(exc)(
            f"{exc} (the command itself is done and registered centrally; `o2o registry publish` carries it "
            "to the chain later)"
        ) from None


def verify_registry(ws: Workspace, mode: str | None = None) -> RegistryReport:
    return registry_for(ws, mode).verify(ws)


def now_epoch() -> float:
    return datetime.now(UTC).timestamp()


Clock = Callable[[], float]
