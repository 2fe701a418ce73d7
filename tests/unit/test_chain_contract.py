"""The settlement contract on the in-process chain (eth-tester with py-evm): who may register, the two
signatures of a statement, replay across registrations, contracts and chains, forged and malleated
signatures, the consortium's admission rule, netting rounds accepted by each participant, and events that
carry what the verifier needs."""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from o2o.chain.client import ChainClient, ChainConfig
from o2o.chain.errors import ChainRefused
from o2o.chain.settlement import SettlementContract, currency_bytes, subject_hash
from o2o.chain.typed_data import ROUND_TYPE, STATEMENT_TYPE, sign_typed, typed_hash, typed_message

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass
class Consortium:
    w3: Web3
    client: ChainClient
    hub: LocalAccount
    ops: list[LocalAccount]
    outsider: LocalAccount
    contract: SettlementContract

    def deploy_another(self) -> SettlementContract:
        return SettlementContract.deploy(self.client, self.hub, [o.address for o in self.ops])[0]


def _fund(w3: Web3, *accounts: LocalAccount) -> None:
    for acct in accounts:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10**20})


@pytest.fixture
def chain() -> Iterator[Consortium]:
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    client = ChainClient(w3, ChainConfig(url="eth-tester", chain_id=int(w3.eth.chain_id)))
    hub, outsider = Account.create(), Account.create()
    ops = [Account.create() for _ in range(3)]
    _fund(w3, hub, outsider, *ops)
    contract, _ = SettlementContract.deploy(client, hub, [o.address for o in ops[:2]])
    yield Consortium(w3, client, hub, ops, outsider, contract)


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _statement_sigs(c: Consortium, digest: bytes, subject: bytes, *signers: LocalAccount) -> list[bytes]:
    chain_id = int(c.w3.eth.chain_id)
    return [sign_typed(s, STATEMENT_TYPE, digest, subject, chain_id, c.contract.address) for s in signers]


def _register_statement(c: Consortium, sender: LocalAccount, key: str, sigs: list[bytes]) -> None:
    a, b = c.ops[0], c.ops[1]
    c.contract.send(
        sender, "registerStatement", _key(key), subject_hash("ST-1"), _key("doc"), a.address, b.address, *sigs
    )


def test_typed_hashes_equal_the_contracts_and_eth_accounts() -> None:
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    hub, op = Account.create(), Account.create()
    _fund(w3, hub)
    client = ChainClient(w3, ChainConfig(url="eth-tester", chain_id=int(w3.eth.chain_id)))
    contract, _ = SettlementContract.deploy(client, hub, [op.address])
    digest, subject, chain_id = _key("d"), subject_hash("ST-9"), int(w3.eth.chain_id)
    ours = typed_hash(STATEMENT_TYPE, digest, subject, chain_id, contract.address)
    assert ours == bytes(contract.view("statement_hash", digest, subject))
    assert typed_hash(ROUND_TYPE, digest, subject, chain_id, contract.address) == bytes(
        contract.view("round_hash", digest, subject)
    )
    signable = encode_typed_data(
        full_message=typed_message(STATEMENT_TYPE, digest, subject, chain_id, contract.address)
    )
    assert (
        Account.recover_message(
            signable, signature=sign_typed(op, STATEMENT_TYPE, digest, subject, chain_id, contract.address)
        )
        == op.address
    )


def test_only_participants_register_and_only_the_hub_registers_its_facts(chain: Consortium) -> None:
    c = chain
    args = (_key("decl-1"), subject_hash("AGR/2026-10"), _key("file"), c.ops[0].address)
    with pytest.raises(ChainRefused, match="not a participant"):
        c.contract.send(c.outsider, "registerDeclaration", *args)
    with pytest.raises(ChainRefused, match="declarant is not a participant"):
        c.contract.send(c.hub, "registerDeclaration", args[0], args[1], args[2], c.outsider.address)
    c.contract.send(c.ops[0], "registerDeclaration", *args)
    with pytest.raises(ChainRefused, match="only the hub"):
        c.contract.send(
            c.ops[0],
            "registerFact",
            _key("f"),
            subject_hash("x"),
            _key("g"),
            b"cycle.agreed".ljust(32, b"\0"),
        )
    ob = (
        _key("ob"),
        subject_hash("OB-1"),
        _key("figs"),
        c.ops[0].address,
        c.ops[1].address,
        129040,
        129040,
        b"EUR",
    )
    with pytest.raises(ChainRefused, match="only the hub"):
        c.contract.send(c.ops[1], "registerObligation", *ob)
    with pytest.raises(ChainRefused, match="party is not a participant"):
        c.contract.send(c.hub, "registerObligation", *ob[:3], c.outsider.address, *ob[4:])
    c.contract.send(c.hub, "registerObligation", *ob)
    assert c.contract.view("registrations") == 2


def test_a_statement_needs_both_valid_signatures(chain: Consortium) -> None:
    c = chain
    a, b = c.ops[0], c.ops[1]
    digest, subject = _key("doc"), subject_hash("ST-1")
    good = _statement_sigs(c, digest, subject, a, b)
    with pytest.raises(ChainRefused, match="party b does not verify"):
        _register_statement(c, c.hub, "st-1", [good[0], good[0]])
    forged = _statement_sigs(c, digest, subject, a, c.outsider)
    with pytest.raises(ChainRefused, match="party b does not verify"):
        _register_statement(c, c.hub, "st-1", forged)
    other_doc = _statement_sigs(c, _key("another doc"), subject, a, b)
    with pytest.raises(ChainRefused, match="party a does not verify"):
        _register_statement(c, c.hub, "st-1", other_doc)
    with pytest.raises(ChainRefused, match="signature is not 65 bytes"):
        _register_statement(c, c.hub, "st-1", [good[0], good[1][:64]])
    _register_statement(c, c.hub, "st-1", good)
    (event,) = c.contract.events(names=["StatementRegistered"])
    assert (event["key"], event["subject"], event["digest"]) == (_key("st-1"), subject, digest)
    assert (event["party_a"], event["party_b"]) == (a.address, b.address)


def test_replay_on_this_contract_another_contract_or_another_chain_is_refused(chain: Consortium) -> None:
    c = chain
    a, b = c.ops[0], c.ops[1]
    digest, subject = _key("doc"), subject_hash("ST-1")
    sigs = _statement_sigs(c, digest, subject, a, b)
    _register_statement(c, c.hub, "st-1", sigs)
    with pytest.raises(ChainRefused, match="statement already registered"):
        _register_statement(c, c.hub, "st-2", sigs)
    with pytest.raises(ChainRefused, match="already registered"):
        c.contract.send(c.hub, "registerFact", _key("st-1"), subject, digest, b"x".ljust(32, b"\0"))
    # the same signatures on another deployment (the domain names the contract's address)
    other = c.deploy_another()
    with pytest.raises(ChainRefused, match="party a does not verify"):
        other.send(c.hub, "registerStatement", _key("st-1"), subject, digest, a.address, b.address, *sigs)
    # signatures made for another chain id
    wrong_chain = int(c.w3.eth.chain_id) + 1
    foreign = [sign_typed(s, STATEMENT_TYPE, digest, subject, wrong_chain, other.address) for s in (a, b)]
    with pytest.raises(ChainRefused, match="party a does not verify"):
        other.send(c.hub, "registerStatement", _key("st-1"), subject, digest, a.address, b.address, *foreign)


def test_a_malleated_signature_is_refused(chain: Consortium) -> None:
    c = chain
    a, b = c.ops[0], c.ops[1]
    digest, subject = _key("doc"), subject_hash("ST-1")
    sig_a, sig_b = _statement_sigs(c, digest, subject, a, b)
    r, s, v = sig_a[:32], int.from_bytes(sig_a[32:64], "big"), sig_a[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the other valid (r, n-s, v') form
    with pytest.raises(ChainRefused, match="malleable signature"):
        _register_statement(c, c.hub, "st-1", [twin, sig_b])


def test_a_participant_is_admitted_by_a_strict_majority(chain: Consortium) -> None:
    c = chain
    new = c.ops[2]
    with pytest.raises(ChainRefused, match="not a participant"):
        c.contract.send(c.outsider, "approveParticipant", new.address)
    c.contract.send(c.ops[0], "approveParticipant", new.address)
    assert not c.contract.view("is_participant", new.address)  # 1 of 2 is no majority
    with pytest.raises(ChainRefused, match="already approved"):
        c.contract.send(c.ops[0], "approveParticipant", new.address)
    c.contract.send(c.ops[1], "approveParticipant", new.address)
    assert c.contract.view("is_participant", new.address)
    assert c.contract.view("participant_count") == 3
    added = [e for e in c.contract.events(names=["ParticipantAdded"]) if e["participant"] == new.address]
    assert added[0]["approvals"] == 2


def test_a_round_is_registered_by_the_hub_and_accepted_by_each_participant(chain: Consortium) -> None:
    c = chain
    a, b = c.ops[0], c.ops[1]
    subject, digest = subject_hash("RND-1"), _key("round figures")
    with pytest.raises(ChainRefused, match="only the hub"):
        c.contract.send(a, "registerRound", _key("r"), subject, digest, [a.address, b.address])
    c.contract.send(c.hub, "registerRound", _key("r"), subject, digest, [a.address, b.address])
    c.contract.send(
        c.hub, "registerSetOff", _key("so"), subject, subject_hash("OB-1"), 5000, currency_bytes("EUR")
    )
    chain_id = int(c.w3.eth.chain_id)
    sig_a = sign_typed(a, ROUND_TYPE, digest, subject, chain_id, c.contract.address)
    with pytest.raises(ChainRefused, match="acceptance signature does not verify"):
        c.contract.send(c.hub, "acceptRound", subject, b.address, sig_a)
    outsider_sig = sign_typed(c.outsider, ROUND_TYPE, digest, subject, chain_id, c.contract.address)
    with pytest.raises(ChainRefused, match="not a member of the round"):
        c.contract.send(c.hub, "acceptRound", subject, c.outsider.address, outsider_sig)
    c.contract.send(c.hub, "acceptRound", subject, a.address, sig_a)
    with pytest.raises(ChainRefused, match="already accepted"):
        c.contract.send(c.hub, "acceptRound", subject, a.address, sig_a)
    c.contract.send(
        b,
        "acceptRound",
        subject,
        b.address,
        sign_typed(b, ROUND_TYPE, digest, subject, chain_id, c.contract.address),
    )
    accepted = c.contract.events(names=["RoundAccepted"])
    assert [(e["participant"], e["accepted"], e["participants"]) for e in accepted] == [
        (a.address, 1, 2), (b.address, 2, 2),
    ]  # fmt: skip
    (so,) = c.contract.events(names=["SetOffRegistered"])
    assert (so["round"], so["obligation"], so["amount"], so["currency"]) == (
        subject,
        subject_hash("OB-1"),
        5000,
        b"EUR",
    )


def test_anchored_heads_only_grow(chain: Consortium) -> None:
    c = chain
    c.contract.send(c.hub, "anchorHead", 10, _key("root10"), 1_700_000_000, b"\x01" * 64)
    with pytest.raises(ChainRefused, match="tree head does not grow"):
        c.contract.send(c.hub, "anchorHead", 10, _key("other root"), 1_700_000_001, b"\x01" * 64)
    with pytest.raises(ChainRefused, match="only the hub"):
        c.contract.send(c.ops[0], "anchorHead", 11, _key("root11"), 1_700_000_001, b"\x01" * 64)
    (head,) = c.contract.events(names=["HeadAnchored"])
    assert (head["tree_size"], head["root"], head["signature"]) == (10, _key("root10"), b"\x01" * 64)
    assert c.client.sent >= 1 and c.client.gas_used > 0
