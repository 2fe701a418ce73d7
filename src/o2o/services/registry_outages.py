"""Availability failures, executed against each backend: a participant's node is down; the hub is unreachable.

Each backend gets its own copy of the workspace (its period registered) and its own small network:
- the hub's API: `o2o serve` over the copy, on loopback (what a participant reaches the central record by);
- the hub's node: an anvil the copy's contract is deployed on and published to (anchored, evm);
- the participant's own node: a second anvil kept in step with the hub's. anvil has no peer-to-peer: the
  blocks reach it by `anvil_dumpState` from the hub's node and `anvil_loadState` into it (same blocks, same
  hashes, same logs), which stands for the block propagation between the peers of a real network.

The participant (the first operator) holds, on its own side: an API token, the hub's public keys, the last
signed tree head it checked, its own ledger entries (the statements it signed) and its chain address. Its
check, per backend:
- central: through the hub's API only — the signed head (the hub's signature), each of its entries (leaf
  recomputed, inclusion in the head) and the head's consistency with the head it kept;
- anchored: that, plus from its own node the anchored heads (the hub's signature) and the hub's consistency
  proof from the latest anchored head to today's;
- evm: from its own node alone — every statement it is a party to, with both parties' EIP-712 signatures
  recovered from the registering transactions; the statements it signed, by digest; the obligations,
  set-offs, payments and round acceptances that name its address.

The scenarios:
- **a participant's node is down**: its node is stopped; the hub registers more (a period opened) and carries
  it to the chain; the participant checks while its node is down, then restarts its node (from its own saved
  state, then brought up to date from the hub's node) and checks again.
- **the hub is unreachable**: the hub's API and the hub's node are stopped; the participant checks with what
  it has left.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import O2OError, RecordMismatchError
from o2o.ledger.entries import LedgerEntry, entry_hash
from o2o.ledger.keys import HUB, PublicKeyRing
from o2o.ledger.merkle import leaf_hash
from o2o.ledger.tree_heads import ConsistencyProof, InclusionProof, SignedTreeHead
from o2o.services.ledger import current_head, ledger_of
from o2o.services.registry import RegistryConfig, address_book

NODE_DOWN = "a participant's node is down"
HUB_UNREACHABLE = "the hub is unreachable"


@dataclass
class Participant:
    """What a participant holds on its own side (nothing of it is read from the hub during a check)."""

    operator: str
    token: str
    hub_keys: PublicKeyRing
    kept: SignedTreeHead
    entries: list[int]
    signed: dict[bytes, bytes]  # statement subject hash -> the statement digest it signed
    address: str = ""
    chain: RegistryConfig | None = None
    node_url: str = ""


@dataclass
class Check:
    """One check by the participant: how many facts concerning it verified, how far the record it saw
    goes (entries of the hub's head, anchored size, or registrations on its node), or why it could not."""

    facts: int = 0
    record: int = 0
    failed: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def participant_of(ws: Workspace, token: str, cfg: RegistryConfig | None, node_url: str) -> Participant:
    """The token's operator and what it keeps on its side, learnt while the hub answered: the entries that
    concern it (those the hub's API proves to it), the statements it signed, the hub's keys, today's head."""
    from o2o.chain.settlement import subject_hash
    from o2o.services.hub_cycle import visible_subjects
    from o2o.services.hub_identity import authenticate

    actor = authenticate(ws, token)
    operator = actor.ledger_name
    subjects = visible_subjects(ws, actor)
    with ws.uow() as uow:
        entries = list(uow.ledger_store.entries())
        keys = ledger_of(uow).keyring()
    signed = [e for e in entries if e.kind == "statement.signed" and e.actor == operator]
    return Participant(
        operator=operator, token=token, hub_keys=keys, kept=current_head(ws),
        entries=[e.seq for e in entries if e.subject in subjects],
        signed={subject_hash(e.subject): bytes.fromhex(str(e.payload["digest"])) for e in signed},
        address=address_book(ws).get(operator, ""), chain=cfg, node_url=node_url,
    )  # fmt: skip


def check(backend: str, p: Participant, hub_url: str) -> Check:
    """The participant's check of the record, as the backend lets it (see the module's docstring)."""
    result = Check()
    try:
        if backend == "evm":
            _from_own_node(p, result)
            return result
        head = _through_hub(p, hub_url, result)
        if backend == "anchored":
            _anchors(p, hub_url, head, result)
    except O2OError as exc:
        result.failed = str(exc)
    return result


def _through_hub(p: Participant, hub_url: str, result: Check) -> SignedTreeHead:
    from o2o.services.hub_client import HubClient

    with HubClient(hub_url, p.token) as hub:
        head = SignedTreeHead.from_dict(hub.get("/ledger/head", what="read the ledger's head"))
        if not head.verify(p.hub_keys):
            raise RecordMismatchError("the hub's tree head is not signed by the hub's key")
        for seq in p.entries:
            bundle = hub.get(
                f"/ledger/entries/{seq}/proof", {"since": p.kept.tree_size}, what="prove an entry"
            )
            entry = LedgerEntry.from_dict(bundle["entry"])
            leaf = leaf_hash(entry.leaf_input()).hex()
            proof = bundle["inclusion_proof"]
            inclusion = InclusionProof(proof["seq"], proof["tree_size"], leaf, list(proof["path"]))
            if entry_hash(entry.body()) != entry.hash or not inclusion.verify(head.root_hash):
                raise RecordMismatchError(f"ledger entry {seq} is not in the hub's signed tree")
            result.facts += 1
        consistency = bundle["consistency_proof"] if p.entries else None
        if consistency is not None:
            proof_ok = ConsistencyProof(
                consistency["old_size"], consistency["new_size"], list(consistency["path"])
            ).verify(p.kept.root_hash, head.root_hash)
            if not proof_ok:
                raise RecordMismatchError(
                    f"the hub's head of {head.tree_size} entries does not extend the head of "
                    f"{p.kept.tree_size} the participant kept"
                )
    result.record = head.tree_size
    result.notes.append(
        f"{result.facts} entries concerning it proved in the hub's head of {head.tree_size} entries, consistent "
        f"with the head of {p.kept.tree_size} it kept"
    )
    return head


def _own_contract(p: Participant) -> Any:
    from o2o.chain.client import ChainClient, ChainConfig
    from o2o.chain.settlement import SettlementContract

    assert p.chain is not None
    client = ChainClient.connect(
        ChainConfig(p.node_url, p.chain.chain_id, p.chain.confirmations, p.chain.poa)
    )
    return SettlementContract(client, p.chain.contract)


def _anchors(p: Participant, hub_url: str, head: SignedTreeHead, result: Check) -> None:
    """The heads anchored on the participant's node: the hub's signature, and today's head consistent."""
    from o2o.services.hub_client import HubClient

    heads = _anchored_heads(p)
    latest = heads[-1]
    size, root = int(latest["tree_size"]), bytes(latest["root"]).hex()
    if p.entries and size <= head.tree_size:
        with HubClient(hub_url, p.token) as hub:
            bundle = hub.get(f"/ledger/entries/{p.entries[0]}/proof", {"since": size}, what="prove a head")
        c = bundle["consistency_proof"]
        if not ConsistencyProof(c["old_size"], c["new_size"], list(c["path"])).verify(root, head.root_hash):
            raise RecordMismatchError(f"the hub's head does not extend the head of {size} anchored on chain")
    result.record = size
    result.notes.append(f"{len(heads)} heads anchored on its own node, the latest of {size} entries")


def _anchored_heads(p: Participant) -> list[dict[str, Any]]:
    """Every head anchored on the participant's node, each checked against the hub's public key."""
    from datetime import UTC, datetime

    from o2o.ledger.chain import format_time

    assert p.chain is not None
    heads: list[dict[str, Any]] = _own_contract(p).events(p.chain.deploy_block, names=["HeadAnchored"])
    if not heads:
        raise RecordMismatchError("no head is anchored on the participant's node")
    for event in heads:
        micros = int(event["timestamp"])
        stamp = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
        signed = any(
            SignedTreeHead(
                int(event["tree_size"]), bytes(event["root"]).hex(), format_time(stamp), HUB, key_id,
                bytes(event["signature"]).hex(),
            ).verify(p.hub_keys)
            for key_id in p.hub_keys.key_ids(HUB)
        )  # fmt: skip
        if not signed:
            raise RecordMismatchError(f"the head anchored in block {event['block']} is not signed by the hub")
    return heads


def _from_own_node(p: Participant, result: Check) -> None:
    """The facts concerning the participant, rebuilt from its own node's events and transactions alone."""
    from eth_account import Account

    from o2o.chain.typed_data import STATEMENT_TYPE, typed_hash

    assert p.chain is not None
    contract = _own_contract(p)
    events = contract.events(p.chain.deploy_block)
    me = p.address.lower()
    rounds = {  # the rounds it accepted (the event of a round carries only the count of its participants)
        bytes(e["subject"])
        for e in events
        if e["event"] == "RoundAccepted" and str(e["participant"]).lower() == me
    }
    found: dict[bytes, bytes] = {}
    for e in events:
        name = e["event"]
        if name == "StatementRegistered" and me in _lower(e):
            tx = contract.client.w3.eth.get_transaction(e["tx"])
            _fn, args = contract.contract.decode_function_input(tx["input"])
            digest, subject = bytes(e["digest"]), bytes(e["subject"])
            message = typed_hash(STATEMENT_TYPE, digest, subject, p.chain.chain_id, contract.address)
            for party, sig in (
                (args["party_a"], args["signature_a"]),
                (args["party_b"], args["signature_b"]),
            ):
                if Account._recover_hash(message, signature=bytes(sig)) != party:
                    raise RecordMismatchError(
                        f"statement in block {e['block']}: a signature is not {party}'s"
                    )
            found[subject] = digest
            result.facts += 1
        elif _names_me(e, me, rounds):
            result.facts += 1
    for subject, digest in p.signed.items():
        if found.get(subject) != digest:
            raise RecordMismatchError(
                f"a statement {p.operator} signed (digest {digest.hex()[:16]}…) is not on its node"
            )
    result.record = sum(1 for e in events if e["event"] != "ParticipantAdded")
    result.notes.append(
        f"{result.facts} registrations naming it verified from its own node alone ({len(found)} statements "
        f"with both EIP-712 signatures recovered), among {result.record} on chain"
    )


def _names_me(event: dict[str, Any], me: str, rounds: set[bytes]) -> bool:
    """An obligation or payment with its address, a set-off of a round it accepted, its own acceptance."""
    name = event["event"]
    if name in ("ObligationRegistered", "PaymentRegistered"):
        return me in _lower(event)
    if name == "SetOffRegistered":
        return bytes(event["round"]) in rounds
    return name == "RoundAccepted" and str(event["participant"]).lower() == me


def _lower(event: dict[str, Any]) -> set[str]:
    values: set[str] = set()
    for name in ("party_a", "party_b", "debtor", "creditor", "payer", "payee"):
        if name in event:
            values.add(str(event[name]).lower())
    return values


# --- the scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outage:
    """One failure against one backend: whether (and by whom, when) it is noticed, what the participant
    could still verify during it and after, how far the record went before and after, what was added."""

    attack: str
    backend: str
    detected: bool | None  # None: nothing to detect (the failure has no counterpart on this backend)
    who: str
    when: str
    how: str
    verifiable_during: int
    verifiable_after: int | None
    record_before: int | None
    record_after: int | None
    added: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack, "backend": self.backend, "detected": self.detected, "who": self.who,
            "when": self.when, "how": self.how, "verifiable_during": self.verifiable_during,
            "verifiable_after": self.verifiable_after, "record_before": self.record_before,
            "record_after": self.record_after, "added": self.added,
        }  # fmt: skip


def run_outages(ws: Workspace, copy: Callable[[Workspace, Path], Workspace], scratch: Path) -> list[Outage]:
    """Both failures against each backend, each backend on its own copy of `ws` and its own network."""
    from o2o.services.demo_hub import serving
    from o2o.services.hub_identity import create_token
    from o2o.services.registry_demo import AnvilNode, chain_demo

    results: list[Outage] = []
    for backend in ("central", "anchored", "evm"):
        home = scratch / f"outages-{backend}"
        mine = copy(ws, home)
        RegistryConfig.path(mine).unlink(missing_ok=True)
        token = create_token(mine, _first_signer(mine), "analyst").token  # registered before publishing
        with ExitStack() as stack:
            hub_node = own_node = None
            cfg = None
            if backend != "central":
                hub_node = stack.enter_context(AnvilNode(home / "hub-node.state"))
                own_node = stack.enter_context(AnvilNode(home / "participant-node.state"))
                chain_demo(mine, backend, url=hub_node.url, dev_fund=True)
                cfg = RegistryConfig.load(mine)
                own_node.sync_from(hub_node)
            p = participant_of(mine, token, cfg, own_node.url if own_node else "")
            api = ExitStack()
            hub_url = api.enter_context(serving(mine, home / "hub-serve.log"))
            try:
                results.append(_node_down(backend, mine, p, hub_url, hub_node, own_node))
                api.close()  # the hub's API stops answering, and its node goes down
                if hub_node is not None:
                    hub_node.stop()
                results.append(_hub_unreachable(backend, p, hub_url))
            finally:
                api.close()
    return results


def _first_signer(ws: Workspace) -> str:
    with ws.uow() as uow:
        return next(e.actor for e in uow.ledger_store.entries() if e.kind == "statement.signed")


def _register_more(ws: Workspace, backend: str) -> int:
    """The hub carries on: the next period opened (one ledger entry), carried to the chain."""
    from o2o.services.registry import publish
    from o2o.services.settlement import open_period

    with ws.uow() as uow:
        before = ledger_of(uow).size
        periods = sorted({c.period for c in uow.cycles.cycles()})
    year, month = (int(x) for x in periods[-1].split("-"))
    open_period(ws, f"{year + month // 12}-{month % 12 + 1:02d}")
    if backend != "central":
        publish(ws, backend, force=True)
    with ws.uow() as uow:
        return ledger_of(uow).size - before


def _node_down(
    backend: str, ws: Workspace, p: Participant, hub_url: str, hub_node: Any, own_node: Any
) -> Outage:
    before = check(backend, p, hub_url)
    if not before.ok:
        raise RecordMismatchError(f"{NODE_DOWN} / {backend}: the check before the failure: {before.failed}")
    if own_node is not None:
        own_node.stop()
    added = _register_more(ws, backend)
    during = check(backend, p, hub_url)
    if own_node is not None:
        own_node.start()  # from its own saved state
        own_node.sync_from(hub_node)  # then what its peers registered while it was down
    after = check(backend, p, hub_url)
    outcome = "; ".join(after.notes) if after.ok else f"its check still fails: {after.failed}"
    if own_node is None:
        detected: bool | None = None
        who, when = "nobody: there is nothing to detect", "-"
        how = (
            f"no participant runs a node in central: its check goes through the hub's API, which answered "
            f"before, during and after; the hub registered {_entries(added)} meanwhile, resting on the hub's "
            f"signature alone; after: {outcome}"
        )
    else:
        detected = not during.ok
        who, when = "the participant itself (its own check)", "at once; verified again after the restart"
        still = f", {during.facts} entries concerning it still proved through the hub" if during.facts else ""
        how = (
            f"while its node was down its check failed at once ({_short(during.failed)}){still}; the hub "
            f"registered {_entries(added)} meanwhile, carried to the hub's node; after the restart (its own "
            f"state, then brought up to date from the hub's node): {outcome}"
        )
    return Outage(
        NODE_DOWN, backend, detected, who, when, how, during.facts, after.facts if after.ok else None,
        before.record, after.record if after.ok else None, added,
    )  # fmt: skip


def _hub_unreachable(backend: str, p: Participant, hub_url: str) -> Outage:
    from o2o.services.hub_client import HubClient

    try:
        with HubClient(hub_url, p.token) as hub:
            hub.get("/ledger/head", what="read the ledger's head")
        noticed = ""
    except O2OError as exc:
        noticed = str(exc)
    during = check(backend, p, hub_url)
    if during.ok:
        what = "; ".join(during.notes)
        when = "at once; its check needs no hub"
    else:
        same = during.failed == noticed
        what = "its check fails the same way" if same else f"its check fails ({_short(during.failed)})"
        when = "at once; facts verifiable again when the hub answers"
    if backend == "anchored":
        try:
            anchored = _anchored_heads(p)
            what += (
                f"; from its own node it still reads {len(anchored)} heads anchored by the hub (signature "
                f"checked), the latest of {int(anchored[-1]['tree_size'])} entries: what they cover can no "
                "longer be rewritten unseen, but no fact can be read from them"
            )
        except O2OError as exc:
            what += f"; its own node: {exc}"
    if backend == "central":
        what += "; nothing registered can be read or proved without the hub"
    how = f"the hub's API (and node) stopped: {_short(noticed) if noticed else 'the hub still answered'}; {what}"
    return Outage(
        HUB_UNREACHABLE, backend, bool(noticed), "every participant (its own check)", when, how,
        during.facts if during.ok else 0, None, None, during.record if during.ok else None, 0,
    )  # fmt: skip


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "…"
