"""The settlement contract seen from Python: deployment, registrations made from ledger entries, and the
registered facts rebuilt from its events.

What goes on chain (digests and amounts only):
- `key` — the ledger entry's hash (a declaration's: SHA-256 of `declaration/ID`): one registration per key,
  so a client resuming after a crash never registers twice;
- `subject` — SHA-256 of the subject's id (a statement, obligation, round or payment id), never the id's text;
- `digest` — the ledger's fact digest, SHA-256 of the canonical `{kind, subject, payload}`: an auditor holding
  the workspace recomputes it; a statement carries the statement document's own digest, which both parties
  sign (EIP-712) and the contract checks with `ecrecover`;
- amounts as uint256 in the currency's minor units, the currency as its 3-letter code (bytes3);
- parties as the addresses of their chain keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from o2o.chain.artifacts import settlement_artifact
from o2o.chain.client import ChainClient, Sent
from o2o.chain.errors import ChainError
from o2o.chain.typed_data import ROUND_TYPE, STATEMENT_TYPE, sign_typed
from o2o.domain.currencies import minor_units
from o2o.ledger.entries import LedgerEntry, fact_digest
from o2o.ledger.keys import HUB

ROUND_ACCEPTED = "round.chain_accepted"

EVENTS = (
    "DeclarationRegistered",
    "StatementRegistered",
    "ObligationRegistered",
    "RoundRegistered",
    "SetOffRegistered",
    "RoundAccepted",
    "PaymentRegistered",
    "FactRegistered",
    "HeadAnchored",
    "ParticipantAdded",
)


def subject_hash(subject: str) -> bytes:
    return hashlib.sha256(subject.encode("utf-8")).digest()


def declaration_key(declaration_id: str) -> bytes:
    return hashlib.sha256(f"declaration/{declaration_id}".encode()).digest()


def kind_bytes(kind: str) -> bytes:
    raw = kind.encode("ascii")
    if len(raw) > 32:
        raise ChainError(f"registration kind {kind!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def to_minor(amount: Any, currency: str) -> int:
    """An amount as an integer number of the currency's minor units (exact, never rounded)."""
    value = Decimal(str(amount)) * (Decimal(10) ** minor_units(currency))
    if value != value.to_integral_value() or value < 0:
        raise ChainError(f"{amount} {currency} is not a whole, non-negative number of minor units")
    return int(value)


def currency_bytes(currency: str) -> bytes:
    raw = currency.encode("ascii")
    if len(raw) != 3:
        raise ChainError(f"currency {currency!r} is not a 3-letter code")
    return raw


@dataclass
class Call:
    """One contract call that registers one fact: which function, its arguments, its key."""

    function: str
    args: tuple[Any, ...]
    key: bytes
    what: str


@dataclass
class Translator:
    """Turns ledger entries, in ledger order, into contract calls, remembering what later entries need:
    the signers of each statement digest, each obligation's parties and currency, each round's payments.

    `address` maps an operator id to its chain address; `stored` holds the EIP-712 statement signatures the
    operators made on their own side and sent to the hub (statement id, digest, operator → signature);
    `acceptances` likewise their round acceptances (round id, the round's fact digest, operator → signature),
    each relayed when its own `round.chain_accepted` entry comes (the round is registered by the hub first);
    `account` gives an operator's chain account for the signatures not sent (the local, single-workspace
    mode, where every operator's key is in the workspace); `local` says whether that key is here: a round
    member with neither a sent acceptance nor a key here is left to accept when its acceptance arrives.
    """

    address: Callable[[str], str]
    account: Callable[[str], LocalAccount] | None = None
    stored: Mapping[tuple[str, str, str], bytes] = field(default_factory=dict)
    acceptances: Mapping[tuple[str, str, str], bytes] = field(default_factory=dict)
    local: Callable[[str], bool] = lambda _operator: True
    chain_id: int = 0
    contract: str = ""
    signed: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    obligations: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    payments: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    _signing: bool = True

    def calls(self, entry: LedgerEntry, sign: bool = True) -> list[Call]:
        """The calls that register `entry` (with the parties' signatures when `sign`)."""
        self._signing = sign
        kind, subject, payload = entry.kind, entry.subject, entry.payload
        key = bytes.fromhex(entry.hash)
        subj = subject_hash(subject)
        digest = fact_digest(kind, subject, payload)
        what = f"{kind} {subject} (ledger entry {entry.seq})"
        if kind == "statement.signed":
            self.signed.setdefault((subject, str(payload["digest"])), []).append(_signing_party(entry))
        if kind == "statement.countersigned":
            return [self._statement(entry, key, subj, what)]
        if kind in ("obligation.created", "obligation.changed"):
            self.obligations[str(payload["id"])] = payload
            cur = str(payload["currency"])
            args = (
                key, subj, digest, self.address(str(payload["debtor"])), self.address(str(payload["creditor"])),
                to_minor(payload["amount"], cur), to_minor(payload["remaining"], cur), currency_bytes(cur),
            )  # fmt: skip
            return [Call("registerObligation", args, key, what)]
        if kind == "netting.round":
            return self._round(entry, key, subj, digest, what)
        if kind == ROUND_ACCEPTED and sign and self.account is not None:
            op, sig = (
                str(payload["operator"]),
                self.acceptances.get((subject, str(payload["digest"]), str(payload["operator"]))),
            )
            fact = Call("registerFact", (key, subj, digest, kind_bytes(kind)), key, what)
            if sig is None:
                return [fact]
            accept_key = hashlib.sha256(key + b"/accept").digest()
            accept = Call(
                "acceptRound", (subj, self.address(op), sig), accept_key, f"{op} accepts round {subject}"
            )
            return [accept, fact]
        if kind == "payment.confirmed":
            pay = self.payments.get(subject)
            if pay is None:
                raise ChainError(f"{what}: its payment instruction was never registered by a netting round")
            cur = str(pay["currency"])
            pay_args = (
                key, subj, digest, self.address(str(pay["payer"])), self.address(str(pay["payee"])),
                to_minor(payload["amount"], cur), currency_bytes(cur),
            )  # fmt: skip
            return [Call("registerPayment", pay_args, key, what)]
        return [Call("registerFact", (key, subj, digest, kind_bytes(kind)), key, what)]

    def _statement(self, entry: LedgerEntry, key: bytes, subj: bytes, what: str) -> Call:
        st_digest = str(entry.payload["digest"])
        parties = list(dict.fromkeys(self.signed.get((entry.subject, st_digest), [])))
        if len(parties) != 2:
            raise ChainError(f"{what}: signed by {len(parties)} parties on the ledger, a statement needs 2")
        raw = bytes.fromhex(st_digest)
        sigs = [
            self.stored.get((entry.subject, st_digest, p)) or self._sign(p, STATEMENT_TYPE, raw, subj)
            for p in parties
        ]
        args = (key, subj, raw, self.address(parties[0]), self.address(parties[1]), sigs[0], sigs[1])
        return Call("registerStatement", args, key, what)

    def round_members(self, payload: Mapping[str, Any], what: str) -> list[str]:
        """The operators a netting round names (its set-offs' parties, its payments' payers and payees), in
        the order the contract registers them; the obligations it sets off must have been seen before."""
        members: dict[str, None] = {}
        for so in payload.get("setoffs", []):
            if not isinstance(so, Mapping):
                continue
            ob = self.obligations.get(str(so["obligation"]))
            if ob is None:
                raise ChainError(f"{what}: set-off of obligation {so['obligation']}, never registered")
            members.update({str(ob["debtor"]): None, str(ob["creditor"]): None})
        for pay in payload.get("payment_instructions", []):
            if isinstance(pay, Mapping):
                members.update({str(pay["payer"]): None, str(pay["payee"]): None})
        return list(members)

    def _round(self, entry: LedgerEntry, key: bytes, subj: bytes, digest: bytes, what: str) -> list[Call]:
        payload = entry.payload
        members = self.round_members(payload, what)
        setoffs = [s for s in payload.get("setoffs", []) if isinstance(s, Mapping)]
        pays = [p for p in payload.get("payment_instructions", []) if isinstance(p, Mapping)]
        for pay in pays:
            self.payments[str(pay["id"])] = pay
        calls = [Call("registerRound", (key, subj, digest, [self.address(m) for m in members]), key, what)]
        for i, so in enumerate(setoffs):
            ob = self.obligations[str(so["obligation"])]
            so_key = hashlib.sha256(key + f"/setoff/{i}".encode()).digest()
            cur = str(ob["currency"])
            args = (
                so_key,
                subj,
                subject_hash(str(so["obligation"])),
                to_minor(so["amount"], cur),
                currency_bytes(cur),
            )
            calls.append(Call("registerSetOff", args, so_key, f"set-off {i} of {what}"))
        for member in members:
            sent = (entry.subject, digest.hex(), member) in self.acceptances or not self.local(member)
            if self._signing and self.account is not None and sent:
                continue  # relayed with its own `round.chain_accepted` entry, when it comes
            sig = self._sign(member, ROUND_TYPE, digest, subj)
            accept_key = hashlib.sha256(key + f"/accept/{member}".encode()).digest()
            calls.append(
                Call("acceptRound", (subj, self.address(member), sig), accept_key, f"{member} accepts {what}")
            )
        return calls

    def _sign(self, operator: str, kind: bytes, digest: bytes, subj: bytes) -> bytes:
        if self.account is None or not self._signing:
            return b""
        return sign_typed(self.account(operator), kind, digest, subj, self.chain_id, self.contract)


class SettlementContract:
    """A deployed settlement contract reached through a `ChainClient`."""

    def __init__(self, client: ChainClient, address: str) -> None:
        self.client = client
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = client.contract(self.address, settlement_artifact().abi)

    @classmethod
    def deploy(
        cls, client: ChainClient, hub: LocalAccount, founders: Sequence[str]
    ) -> tuple[SettlementContract, Sent]:
        art = settlement_artifact()
        checked = [Web3.to_checksum_address(f) for f in founders]
        address, sent = client.deploy(hub, art.abi, art.bytecode, hub.address, checked)
        return cls(client, address), sent

    def view(self, name: str, *args: Any) -> Any:
        return self.client.call(self.contract.functions[name](*args))

    def send(self, account: LocalAccount, name: str, *args: Any) -> Sent:
        return self.client.transact(account, self.contract.functions[name](*args))

    def send_many(self, account: LocalAccount, calls: Sequence[Call]) -> list[Sent]:
        """Independent registrations sent back to back, then confirmed (see `ChainClient.transact_many`)."""
        fns = [self.contract.functions[c.function](*c.args) for c in calls]
        return self.client.transact_many(account, fns)

    def is_registered(self, key: bytes) -> bool:
        return int(self.view("registered", key)) != 0

    def accepted(self, subject: bytes, participant: str) -> bool:
        return bool(self.view("accepted", subject, Web3.to_checksum_address(participant)))

    def already_done(self, call: Call) -> bool:
        """Whether the call's registration is on chain already (a resumed publisher skips it)."""
        if call.function == "acceptRound":
            return self.accepted(call.args[0], call.args[1])
        return self.is_registered(call.key)

    def events(self, from_block: int = 0, names: Iterable[str] = EVENTS) -> list[dict[str, Any]]:
        """Every event of `names` from `from_block`, in chain order, as plain dicts with `event` and `block`."""
        out: list[dict[str, Any]] = []
        for name in names:
            event = self.contract.events[name]
            logs = self.client._retry(lambda e=event: e.get_logs(from_block=from_block))  # type: ignore[misc]
            for log in logs:
                item = dict(log["args"])
                item.update(
                    event=name,
                    block=int(log["blockNumber"]),
                    index=(int(log["blockNumber"]), int(log["logIndex"])),
                    tx=log["transactionHash"].to_0x_hex(),
                )
                out.append(item)
        out.sort(key=lambda e: e["index"])
        return out


def _signing_party(entry: LedgerEntry) -> str:
    """Whose signature a `statement.signed` entry records: the operator that registered it (the CLI), or,
    when the hub registered a signature sent to it through its API, the operator it names (`for`)."""
    named = entry.payload.get("for")
    if entry.actor == HUB and isinstance(named, str) and named != HUB:
        return named
    return entry.actor
