"""The hub's chain-signature lookups read one statement's or round's entries, on SQLite and PostgreSQL.

`_kept` (the signatures or acceptances the hub holds) and `_round` (a round's digest and members) answer
from the ledger store's (kind, subject) query; entries of other kinds, subjects and digests are around, and
an obligation's entry registered after the round must not change who the round's members were.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from o2o.chain.errors import ChainError
from o2o.domain.errors import NotFoundError
from o2o.domain.identity import Actor, Role
from o2o.ledger import HUB, Fact, Signer
from o2o.ledger.entries import fact_digest
from o2o.services.ledger import append_entries, ledger_of
from o2o.services.registry_signatures import CHAIN_SIGNED, ROUND_ACCEPTED, _accepted, _held, _round
from o2o.store.database import make_engine, migrate
from o2o.store.uow import UnitOfWork

D1, D2 = "d1" * 32, "d2" * 32


def _sig(n: int) -> str:
    return "0x" + f"{n:02x}" * 65


def _actor(operator: str | None) -> Actor:
    return Actor("U-1", "someone", operator, Role.SIGNER, "T-1")


def _ob(kind: str, ob: str, debtor: str, creditor: str, hub: Signer) -> Fact:
    return Fact(kind, ob, {"id": ob, "debtor": debtor, "creditor": creditor}, hub)


def _signed(kind: str, subject: str, digest: str, operator: str, n: int, hub: Signer) -> Fact:
    return Fact(kind, subject, {"digest": digest, "operator": operator, "signature": _sig(n)}, hub)


@pytest.fixture
def engine(store_url: str) -> Engine:
    eng = make_engine(store_url)
    migrate(eng)
    hub = Signer.generate(HUB)
    round_1 = {
        "setoffs": [{"obligation": "OB-1", "amount": "5.00"}, "not a set-off"],
        "payment_instructions": [{"id": "PAY-1", "payer": "CHARLIE", "payee": "ALFA", "amount": "1.00"}],
    }
    facts = [
        _ob("obligation.created", "OB-1", "ALFA", "BETA", hub),
        _ob("obligation.created", "OB-2", "DELTA", "ECHO", hub),
        _signed(CHAIN_SIGNED, "ST-1", D1, "ALFA", 1, hub),
        _signed(CHAIN_SIGNED, "ST-2", D1, "BETA", 2, hub),  # another statement
        _signed(ROUND_ACCEPTED, "ST-1", D1, "GOLF", 3, hub),  # another kind, the same subject
        _signed(CHAIN_SIGNED, "ST-1", D2, "BETA", 4, hub),  # another digest
        _signed(CHAIN_SIGNED, "ST-1", D1, "ALFA", 5, hub),  # sent again: the first is kept
        _signed(CHAIN_SIGNED, "ST-1", D1, "BETA", 6, hub),
        Fact("netting.round", "NET-1", round_1, hub),
        _ob("obligation.changed", "OB-1", "HOTEL", "INDIA", hub),  # after the round: not its members
        Fact("netting.round", "NET-2", {"setoffs": [{"obligation": "OB-9", "amount": "1.00"}]}, hub),
        _ob("obligation.created", "OB-9", "JULIETT", "KILO", hub),  # registered after the round naming it
        _signed(ROUND_ACCEPTED, "NET-1", D1, "BETA", 7, hub),
        _signed(CHAIN_SIGNED, "NET-1", D1, "ALFA", 8, hub),  # another kind, the round's subject
    ]
    with UnitOfWork(eng) as uow:
        ledger_of(uow).register_key(hub)
        append_entries(uow, facts)
        uow.commit()
    return eng


def test_the_signatures_held_are_those_of_the_statement_kind_and_digest(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert _held(uow, "ST-1", D1) == {"ALFA": _sig(1), "BETA": _sig(6)}
        assert _held(uow, "ST-1", D2) == {"BETA": _sig(4)}
        assert _held(uow, "ST-3", D1) == {}
        assert _accepted(uow, "NET-1", D1) == {"BETA": _sig(7)}
        assert _accepted(uow, "ST-1", D1) == {"GOLF": _sig(3)}


def test_a_rounds_members_are_its_obligations_parties_as_registered_before_it(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        entry = uow.ledger_store.entries_of(["netting.round"], "NET-1")[0]
        digest, members = _round(uow, _actor(None), "NET-1")
        assert digest == fact_digest(entry.kind, entry.subject, entry.payload).hex()
        assert members == ["ALFA", "BETA", "CHARLIE"]
        assert _round(uow, _actor("CHARLIE"), "NET-1") == (digest, members)
        for operator in ("DELTA", "HOTEL"):  # another obligation's party; a party only after the round
            with pytest.raises(NotFoundError, match="unknown netting round 'NET-1'"):
                _round(uow, _actor(operator), "NET-1")
        with pytest.raises(NotFoundError, match="unknown netting round 'NET-3'"):
            _round(uow, _actor(None), "NET-3")
        with pytest.raises(ChainError, match="obligation OB-9, never registered"):
            _round(uow, _actor(None), "NET-2")
