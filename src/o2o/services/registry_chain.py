"""The chain backends of the registry port: deployment, publishing and the audit from the chain's events.

`deploy` puts the settlement contract on the chain named by URL and chain id, with the operators whose chain
keys the ledger registered as its founding participants, and writes the workspace's `registry.json`.
`EvmRegistry.publish` sends every ledger entry (and declaration digest) not yet on chain; `verify` rebuilds
the registered facts from the contract's events alone and checks them against the workspace: each ledger
entry's registration (same digest, parties, amounts), nothing on chain the workspace lacks, every
declaration, and the store's obligations against their latest figures on chain.
`AnchoredRegistry.publish` writes the hub's signed tree head when due; `verify` checks every anchored head:
its Ed25519 signature, its root against the central ledger's root at that size, and the central ledger's
consistency proof from it to today's root.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from o2o.bootstrap import Workspace
from o2o.chain.client import ChainClient, ChainConfig
from o2o.chain.errors import ChainError
from o2o.chain.keys import chain_key_path, read_chain_key
from o2o.chain.settlement import (
    Call,
    SettlementContract,
    Translator,
    declaration_key,
    subject_hash,
    to_minor,
)
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.ledger.chain import format_time
from o2o.ledger.keys import HUB
from o2o.ledger.merkle import verify_consistency
from o2o.ledger.tree_heads import SignedTreeHead
from o2o.services.ledger import current_head, ledger_of
from o2o.services.registry import (
    PublishReport,
    RegistryConfig,
    RegistryReport,
    address_book,
    check_mode,
    now_epoch,
)
from o2o.services.registry_signatures import stored_acceptances, stored_signatures

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from o2o.domain.declarations import Declaration

DEV_BALANCE = 10**24


def connect(cfg: RegistryConfig) -> ChainClient:
    if not cfg.url or not cfg.contract:
        raise NotFoundError(
            "no settlement contract for this workspace: `o2o registry deploy --url URL --chain-id N` first"
        )
    return ChainClient.connect(ChainConfig(cfg.url, cfg.chain_id, cfg.confirmations, cfg.poa))


def _account(ws: Workspace, operator: str) -> LocalAccount:
    passphrase = None
    hub_file = ws.settings.hub_passphrase_file
    if operator == HUB and hub_file is not None:
        from o2o.ledger.keys import read_passphrase

        passphrase = read_passphrase(hub_file, "O2O_HUB_PASSPHRASE_FILE")
    return read_chain_key(chain_key_path(ws.settings.keys_dir, operator), operator, passphrase)


def _operator_account(ws: Workspace, operator: str) -> LocalAccount:
    """An operator's chain key in this workspace: only the local, single-workspace mode has one; a hub's
    operators send their signatures (`o2o statement sign ST --chain-key FILE --hub URL`, and a round's
    participants `o2o net accept ROUND --chain-key FILE --hub URL`)."""
    path = chain_key_path(ws.settings.keys_dir, operator)
    if not path.exists():
        raise ChainError(
            f"{operator} has sent no EIP-712 signature for this registration and its chain key is not here "
            f"(on a hub: `o2o statement sign ST --chain-key FILE --hub URL` by {operator}; locally: "
            f"`o2o keys generate {operator} --chain`)"
        )
    return _account(ws, operator)


def deploy(
    ws: Workspace,
    *,
    url: str,
    chain_id: int,
    mode: str,
    confirmations: int = 1,
    poa: bool = False,
    anchor_every: int = 100,
    anchor_minutes: float = 60.0,
    dev_fund: bool = False,
) -> dict[str, Any]:
    """Deploy the settlement contract for this workspace (its operators with chain keys as founders)."""
    check_mode(mode)
    if mode == "central":
        raise ValidationError("--registry central has no contract to deploy (choose anchored or evm)")
    cfg = RegistryConfig.load(ws)
    if cfg.contract:
        raise ValidationError(
            f"this workspace's settlement contract is already at {cfg.contract} ({cfg.url})"
        )
    if confirmations < 1 or anchor_every < 1 or anchor_minutes <= 0:
        raise ValidationError(
            "--confirmations and --anchor-every must be at least 1, --anchor-minutes above 0"
        )
    hub = _account(ws, HUB)
    founders = {op: addr for op, addr in address_book(ws).items() if op != HUB}
    client = ChainClient.connect(ChainConfig(url, chain_id, confirmations, poa))
    if dev_fund:
        _dev_fund(client, hub.address)
    contract, sent = SettlementContract.deploy(client, hub, list(founders.values()))
    cfg = RegistryConfig(
        mode=mode, url=url, chain_id=chain_id, confirmations=confirmations, poa=poa,
        contract=contract.address, deploy_block=sent.block_number, anchor_every=anchor_every,
        anchor_minutes=anchor_minutes,
    )  # fmt: skip
    cfg.save(ws)
    return {
        "registry": mode,
        "contract": contract.address,
        "chain_id": chain_id,
        "block": sent.block_number,
        "gas_used": sent.gas_used,
        "size": sent.size,
        "hub": hub.address,
        "participants": founders,
    }


def approve_participant(
    ws: Workspace, candidate: str, approver: str, dev_fund: bool = False
) -> dict[str, Any]:
    """`approver` (a participant, with its chain key here) approves `candidate` (an operator whose chain
    address the ledger registered); a strict majority of the participants admits it."""
    cfg = RegistryConfig.load(ws)
    client = connect(cfg)
    contract = SettlementContract(client, cfg.contract)
    book = address_book(ws)
    address = _addresser(book)(candidate)
    account = _account(ws, approver)
    if dev_fund:
        _dev_fund(client, account.address)
    sent = contract.send(account, "approveParticipant", address)
    return {
        "candidate": candidate,
        "approver": approver,
        "approvals": int(contract.view("approval_count", address)),
        "participants": int(contract.view("participant_count")),
        "admitted": bool(contract.view("is_participant", address)),
        "block": sent.block_number,
    }


def _dev_fund(client: ChainClient, address: str) -> None:
    """Give the hub's address gas money on a development node (anvil's `anvil_setBalance`)."""
    answer = client.w3.provider.make_request("anvil_setBalance", [address, hex(DEV_BALANCE)])  # type: ignore[arg-type]
    if "error" in answer:
        raise ChainError(f"--dev-fund works on a development node (anvil) only: {answer['error']}")


# --- evm ----------------------------------------------------------------------------------------------


class _ChainRegistry:
    """`cfg`: the chain and contract to use (default: the workspace's `registry.json`)."""

    def __init__(self, cfg: RegistryConfig | None = None) -> None:
        self.cfg = cfg

    def _config(self, ws: Workspace) -> RegistryConfig:
        return self.cfg if self.cfg is not None else RegistryConfig.load(ws)


class EvmRegistry(_ChainRegistry):
    mode = "evm"

    def publish(self, ws: Workspace, *, force: bool = False) -> PublishReport:
        cfg = self._config(ws)
        client = connect(cfg)
        contract = SettlementContract(client, cfg.contract)
        hub = _account(ws, HUB)
        book = address_book(ws)
        with ws.uow() as uow:
            entries = list(uow.ledger_store.entries())
            declarations = uow.declarations.all(include_superseded=True)
        translator = Translator(
            address=_addresser(book), account=lambda op: _operator_account(ws, op),
            stored=stored_signatures(entries), acceptances=stored_acceptances(entries),
            local=lambda op: chain_key_path(ws.settings.keys_dir, op).exists(),
            chain_id=cfg.chain_id, contract=contract.address,
        )  # fmt: skip
        report = PublishReport(self.mode)
        batch = _Batch(ws, cfg, contract, hub, report)
        for entry in entries:
            if entry.seq < cfg.published:
                translator.calls(entry, sign=False)  # what later entries need to know, nothing sent
                continue
            for call in translator.calls(entry):
                if call.function in DEPENDENT:
                    batch.flush()  # the round they name must be on chain before they are estimated
                batch.add(call)
                if call.function == "registerRound":
                    batch.flush()
            batch.done_upto(entry.seq + 1)
        for decl in declarations:
            batch.add(_declaration_call(decl, book))
        batch.flush()
        return report

    def verify(self, ws: Workspace) -> RegistryReport:
        cfg = self._config(ws)
        contract = SettlementContract(connect(cfg), cfg.contract)
        report = RegistryReport(self.mode)
        events = contract.events(cfg.deploy_block)
        report.counts = _count(events)
        by_key = {bytes(e["key"]): e for e in events if "key" in e}
        acceptances = {
            (bytes(e["subject"]), str(e["participant"]).lower())
            for e in events
            if e["event"] == "RoundAccepted"
        }
        book = address_book(ws)
        translator = Translator(address=_addresser(book, lenient=True))
        expected: set[bytes] = set()
        with ws.uow() as uow:
            entries = list(uow.ledger_store.entries())
            declarations = uow.declarations.all(include_superseded=True)
            obligations = uow.cycles.obligations()
        for entry in entries:
            try:
                calls = translator.calls(entry, sign=False)
            except ChainError as exc:  # the workspace's own record does not hold together
                report.add("workspace", str(exc))
                continue
            for call in calls:
                report.checked += 1
                if call.function == "acceptRound":
                    if (call.args[0], str(call.args[1]).lower()) not in acceptances:
                        report.add("round", f"{call.what}: no acceptance on chain")
                    continue
                expected.add(call.key)
                _compare(report, call, by_key.get(call.key), entry.seq < cfg.published)
        for decl in declarations:
            call = _declaration_call(decl, book, lenient=True)
            expected.add(call.key)
            report.checked += 1
            _compare(report, call, by_key.get(call.key), True)
        for key, event in by_key.items():
            if key not in expected:
                report.add(
                    "chain",
                    f"{event['event']} in block {event['block']} (key {key.hex()[:16]}…) has no registration "
                    "in the workspace: deleted or rewritten after it was registered",
                )
        _check_obligations(report, obligations, events)
        return report


def _addresser(book: Mapping[str, str], lenient: bool = False) -> Any:
    def address(operator: str) -> str:
        found = book.get(operator)
        if found is None:
            if lenient:
                return "0x" + "00" * 20
            raise ChainError(
                f"operator {operator} has no chain address (`o2o keys generate {operator} --chain`, then admit "
                "it to the contract)"
            )
        return found

    return address


def _declaration_call(decl: Declaration, book: Mapping[str, str], lenient: bool = False) -> Call:
    key = declaration_key(decl.id)
    subj = subject_hash(f"{decl.agreement_id}/{decl.period}/{decl.service}")
    declarant = _addresser(book, lenient)(decl.declarer)
    return Call(
        "registerDeclaration",
        (key, subj, bytes.fromhex(decl.sha256), declarant),
        key,
        f"declaration {decl.id}",
    )


# Calls the contract checks against a round registered earlier: never in the same batch as the round.
DEPENDENT = frozenset({"registerSetOff", "acceptRound"})
BATCH = 200


class _Batch:
    """Registrations sent back to back and confirmed together; the cursor (`published`) moves only past
    entries whose registrations are all confirmed, so a publisher killed mid-batch resumes at the first
    entry not wholly on chain and skips whatever of it already is."""

    def __init__(
        self, ws: Workspace, cfg: RegistryConfig, contract: SettlementContract, hub: LocalAccount,
        report: PublishReport,
    ) -> None:  # fmt: skip
        self.ws, self.cfg, self.contract, self.hub, self.report = ws, cfg, contract, hub, report
        self.calls: list[Call] = []
        self.upto: int | None = None

    def add(self, call: Call) -> None:
        if self.contract.already_done(call):
            self.report.skipped += 1
            return
        self.calls.append(call)
        if len(self.calls) >= BATCH:
            self.flush()

    def done_upto(self, published: int) -> None:
        self.upto = published
        if not self.calls:
            self.flush()

    def flush(self) -> None:
        if self.calls:
            for sent in self.contract.send_many(self.hub, self.calls):
                self.report.registrations += 1
                self.report.transactions += 1
                self.report.gas_used += sent.gas_used
                self.report.chain_bytes += sent.size
                self.report.blocks.add(sent.block_number)
            self.calls = []
        if self.upto is not None and self.upto != self.cfg.published:
            self.cfg.published = self.upto
            self.cfg.save(self.ws)


EVENT_OF = {
    "registerDeclaration": "DeclarationRegistered",
    "registerStatement": "StatementRegistered",
    "registerObligation": "ObligationRegistered",
    "registerRound": "RoundRegistered",
    "registerSetOff": "SetOffRegistered",
    "registerPayment": "PaymentRegistered",
    "registerFact": "FactRegistered",
}
EVENT_FIELDS = {
    "DeclarationRegistered": ("key", "subject", "digest", "declarant"),
    "StatementRegistered": ("key", "subject", "digest", "party_a", "party_b"),
    "ObligationRegistered": (
        "key",
        "subject",
        "digest",
        "debtor",
        "creditor",
        "amount",
        "remaining",
        "currency",
    ),
    "RoundRegistered": ("key", "subject", "digest", "participants"),
    "SetOffRegistered": ("key", "round", "obligation", "amount", "currency"),
    "PaymentRegistered": ("key", "subject", "digest", "payer", "payee", "amount", "currency"),
    "FactRegistered": ("key", "subject", "digest", "kind"),
}


def _norm(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if isinstance(value, list):
        return len(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return value


def _compare(report: RegistryReport, call: Call, event: Mapping[str, Any] | None, published: bool) -> None:
    name = EVENT_OF[call.function]
    if event is None:
        if published:
            report.add("missing", f"{call.what}: published, but not on chain")
        else:
            report.counts["pending"] = report.counts.get("pending", 0) + 1
        return
    if event["event"] != name:
        report.add("chain", f"{call.what}: registered on chain as {event['event']}, expected {name}")
        return
    for field_name, value in zip(EVENT_FIELDS[name], call.args, strict=False):
        if _norm(event[field_name]) != _norm(value):
            report.add(
                "differs",
                f"{call.what}: {field_name} on chain differs from the workspace (block {event['block']})",
            )


def _check_obligations(report: RegistryReport, obligations: Any, events: list[dict[str, Any]]) -> None:
    latest: dict[bytes, dict[str, Any]] = {}
    for e in events:
        if e["event"] == "ObligationRegistered":
            latest[bytes(e["subject"])] = e
    for ob in obligations:
        report.checked += 1
        on_chain = latest.get(subject_hash(ob.id))
        if on_chain is None:
            report.add("obligation", f"obligation {ob.id}: in the store, never registered on chain")
            continue
        for name in ("amount", "remaining"):
            mine = to_minor(Decimal(getattr(ob, name)), ob.currency)
            if mine != on_chain[name]:
                report.add(
                    "obligation",
                    f"obligation {ob.id}: {name} is {mine} minor units in the store, {on_chain[name]} on chain",
                )


def _count(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e["event"]] = counts.get(e["event"], 0) + 1
    return counts


# --- anchored -----------------------------------------------------------------------------------------


class AnchoredRegistry(_ChainRegistry):
    mode = "anchored"

    def publish(self, ws: Workspace, *, force: bool = False) -> PublishReport:
        cfg = self._config(ws)
        contract = SettlementContract(connect(cfg), cfg.contract)
        report = PublishReport(self.mode)
        with ws.uow() as uow:
            size = ledger_of(uow).size
        anchored = int(contract.view("anchored_size"))
        now = now_epoch()
        grown = size - anchored
        due = grown >= cfg.anchor_every or (
            grown > 0 and (force or now - cfg.anchored_at >= cfg.anchor_minutes * 60)
        )
        if not due:
            report.anchored_size = anchored
            if anchored != cfg.anchored_size:
                cfg.anchored_size = anchored
                cfg.save(ws)
            return report
        head = current_head(ws)
        stamp = datetime.fromisoformat(head.timestamp.replace("Z", "+00:00"))
        micros = int(stamp.timestamp()) * 1_000_000 + stamp.microsecond
        sent = contract.send(
            _account(ws, HUB), "anchorHead", head.tree_size, bytes.fromhex(head.root_hash), micros,
            bytes.fromhex(head.signature),
        )  # fmt: skip
        report.registrations = report.transactions = 1
        report.gas_used = sent.gas_used
        report.chain_bytes = sent.size
        report.blocks.add(sent.block_number)
        report.anchored_size = head.tree_size
        cfg.anchored_at = now
        cfg.anchored_size = head.tree_size
        cfg.save(ws)
        return report

    def verify(self, ws: Workspace) -> RegistryReport:
        from o2o.services.registry import CentralRegistry

        cfg = self._config(ws)
        contract = SettlementContract(connect(cfg), cfg.contract)
        report = CentralRegistry().verify(ws)
        report.mode = self.mode
        heads = contract.events(cfg.deploy_block, names=["HeadAnchored"])
        report.counts = {"HeadAnchored": len(heads)}
        with ws.uow() as uow:
            book = ledger_of(uow)
            keys = book.keyring()
            size = book.size
            current = bytes.fromhex(book.root(size)) if size else b""
            for event in heads:
                report.checked += 1
                _check_anchor(report, event, keys, book, size, current)
        return report


def _check_anchor(
    report: RegistryReport, event: Mapping[str, Any], keys: Any, book: Any, size: int, current: bytes
) -> None:
    tree_size, root = int(event["tree_size"]), bytes(event["root"])
    micros = int(event["timestamp"])
    stamp = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    signature = bytes(event["signature"]).hex()
    signed = any(
        SignedTreeHead(tree_size, root.hex(), format_time(stamp), HUB, key_id, signature).verify(keys)
        for key_id in keys.key_ids(HUB)
    )
    where = f"tree head of size {tree_size} anchored in block {event['block']}"
    if not signed:
        report.add("anchor", f"{where}: its signature is not the hub's")
    if tree_size > size:
        report.add("anchor", f"{where}: the central ledger has only {size} entries (history was cut)")
        return
    if bytes.fromhex(book.root(tree_size)) != root:
        report.add(
            "anchor", f"{where}: the central ledger's root at that size differs (history was rewritten)"
        )
    proof = [bytes.fromhex(h) for h in book.consistency_proof(tree_size, size).path]
    if not verify_consistency(tree_size, size, root, current, proof):
        report.add("anchor", f"{where}: the central ledger is not consistent with it")
