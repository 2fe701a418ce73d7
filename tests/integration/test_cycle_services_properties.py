"""The cycle's services called directly on SQLite and PostgreSQL, past signing: a dispute still open when both
parties sign (withheld from netting, released and booked by its resolution), a re-declaration of signed usage,
and a property over random small cycles (the books balance, nothing is netted twice, every transition of the
cycle is on the ledger, the store agrees with the ledger).

Each network is set up through the CLI as a user would (tests/cycle_steps.py); every step under test is a
service call on the same workspace.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cycle_steps
import harness
from o2o.accounts.journal import Account
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.cycle import CycleState
from o2o.domain.errors import InvalidTransitionError
from o2o.domain.money import round_to_currency
from o2o.domain.obligations import Obligation, ObligationStatus
from o2o.netting.results import NettingMode
from o2o.services import accounts_reports, settlement, statements, store_audit, usage
from o2o.services import disputes as dsp
from o2o.services import ledger as ledger_service

FAR = date(2099, 1, 1)  # balances as of a day after every booking of a generated period


def _ws() -> Workspace:
    return open_workspace(Settings())


def _resolve(ws: Workspace, dispute_id: str) -> None:
    d = dsp.show_dispute(ws, dispute_id).dispute
    dsp.propose(ws, dispute_id, d.provider, None)
    dsp.accept(ws, dispute_id, d.customer)


def _obligations(ws: Workspace, period: str) -> dict[str, Obligation]:
    with ws.uow() as uow:
        return {o.id: o for o in uow.cycles.obligations(period)}


def _setoffs(ws: Workspace, period: str) -> list[tuple[str, str, Decimal]]:
    with ws.uow() as uow:
        return [
            (r.id, s.obligation_id, s.amount)
            for r in uow.cycles.rounds(period)
            for s in uow.cycles.setoffs(r.id)
        ]


def _ledger(ws: Workspace) -> list[Any]:
    with ws.uow() as uow:
        return list(uow.ledger_store.entries())


def _balance(ws: Workspace, owner: str, counterparty: str, currency: str) -> Decimal:
    return accounts_reports.balance(ws, Account(owner, counterparty, currency), FAR).amount


def _sign_both(ws: Workspace, statement_id: str, parties: list[str]) -> None:
    for op in parties:
        statements.sign_statement(ws, statement_id, op)


@pytest.fixture
def reconciled(db_cli: Any, tmp_path: Path) -> dict[str, Any]:
    """A generated two-operator network declared and reconciled at zero tolerance (some lines disputed)."""
    net, truth, ag = cycle_steps.declared(db_cli, tmp_path, cdrs=400, seed=5)
    period = truth["period"]
    (report,) = db_cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
    assert report["disputes"], "zero absolute tolerance leaves some line over 1%"
    return {"period": period, "statement": report["statement"], "disputes": report["disputes"],
            "parties": list(ag["parties"]), "agreement": ag["id"], "net": net, "truth": truth}  # fmt: skip


def test_a_dispute_open_at_signing_is_withheld_then_released_and_booked(reconciled: dict[str, Any]) -> None:
    ws, ctx = _ws(), reconciled
    period, st_id = ctx["period"], ctx["statement"]
    lines = {ln.service: ln for ln in statements.show_statement(ws, st_id).lines}
    # Hold open a dispute whose split adds to the undisputed part, so that its release has something to book.
    views = [dsp.show_dispute(ws, d) for d in ctx["disputes"]]
    adding = [v for v in views if round_to_currency(v.split_offer - lines[v.dispute.service].agreed_amount,
                                                    v.dispute.currency) > 0]  # fmt: skip
    assert adding, "a split of a zero-tolerance dispute lies above the agreed (lower) figure"
    held = adding[0].dispute
    for v in views:
        if v.dispute.id != held.id:
            _resolve(ws, v.dispute.id)
    _sign_both(ws, st_id, ctx["parties"])

    obs = _obligations(ws, period)
    (withheld,) = [o for o in obs.values() if o.dispute_id == held.id]
    undisputed = obs[f"OBL-{ctx['agreement']}-{period}-{held.service}"]
    line = lines[held.service]
    assert undisputed.status is ObligationStatus.OPEN and undisputed.dispute_id is None
    assert undisputed.amount == round_to_currency(line.agreed_amount, held.currency)
    assert withheld.status is ObligationStatus.WITHHELD
    assert withheld.amount == round_to_currency(held.contested_amount, held.currency)

    first = settlement.run_netting(ws, period, "conservative")
    assert withheld.id not in {ob for _, ob, _ in _setoffs(ws, period)}
    assert _obligations(ws, period)[withheld.id].status is ObligationStatus.WITHHELD
    assert _obligations(ws, period)[undisputed.id].status is ObligationStatus.NETTED

    receivable = _balance(ws, held.provider, held.customer, held.currency)
    payable = _balance(ws, held.customer, held.provider, held.currency)
    size = len(_ledger(ws))
    dsp.propose(ws, held.id, held.provider, None)
    resolved = dsp.accept(ws, held.id, held.customer)
    assert resolved.dispute.resolved_amount is not None
    extra = round_to_currency(resolved.dispute.resolved_amount - line.agreed_amount, held.currency)
    released = _obligations(ws, period)[withheld.id]
    assert (released.status, released.amount, released.remaining) == (ObligationStatus.OPEN, extra, extra)
    # The adjustment is on the books: the provider's receivable grows by it, the customer's payable mirrors it.
    assert _balance(ws, held.provider, held.customer, held.currency) - receivable == extra
    assert _balance(ws, held.customer, held.provider, held.currency) - payable == -extra
    kinds = [(e.kind, e.subject) for e in _ledger(ws)[size:]]
    assert ("obligation.released", held.id) in kinds and ("obligation.changed", withheld.id) in kinds

    second = settlement.run_netting(ws, period, "conservative")
    assert second.round.id != first.round.id
    netted = [(rnd, amount) for rnd, ob, amount in _setoffs(ws, period) if ob == withheld.id]
    assert {rnd for rnd, _ in netted} <= {second.round.id} and sum(a for _, a in netted) <= extra
    # Alone in its round nothing offsets it: the conservative round pays it as it stands.
    pays = [(p.payer, p.payee, p.amount, p.currency) for p in second.payments]
    assert pays == [(held.customer, held.provider, extra, held.currency)]
    assert _obligations(ws, period)[withheld.id].status is ObligationStatus.NETTED
    assert store_audit.audit_store(ws).ok and ledger_service.verify(ws).ok


def test_a_redeclaration_after_signing_is_refused_and_changes_nothing(
    reconciled: dict[str, Any], tmp_path: Path
) -> None:
    ws, ctx = _ws(), reconciled
    period, st_id, truth = ctx["period"], ctx["statement"], ctx["truth"]
    for d_id in ctx["disputes"]:
        _resolve(ws, d_id)
    _sign_both(ws, st_id, ctx["parties"])
    f = truth["files"][0]
    source = ctx["net"] / f["file"]
    # A different file (its last record dropped), so that it is a re-declaration and not the same file again.
    text = source.read_text().splitlines(keepends=True)
    changed = tmp_path / f"again-{source.name}"
    changed.write_text("".join(text[:-1]))

    def snapshot() -> tuple[Any, ...]:
        shown = statements.show_statement(ws, st_id)
        decl = usage.list_declarations(ws, ctx["agreement"], period, history=True)
        return (decl, shown.statement, shown.signatures, _obligations(ws, period), len(_ledger(ws)),
                settlement.cycle_status(ws, period))  # fmt: skip

    before = snapshot()
    with pytest.raises(InvalidTransitionError, match="is signed: its statement is signed"):
        usage.import_usage(ws, changed, f["agreement"], period, f["declarer"], f["service"], replace=True)
    assert snapshot() == before
    assert before[-1][0]["state"] == CycleState.SIGNED.value


# --- a property over random small cycles ----------------------------------------------------------------


@contextlib.contextmanager
def _fresh_workspace(backend: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A new O2O_HOME and an empty database of `backend` for one example."""
    folder = root / uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'store.sqlite'}"
            folder.mkdir(parents=True)
        else:
            databases = harness.postgres_database()
            url = next(databases)
            stack.callback(lambda: next(databases, None))  # drops the database
        with monkeypatch.context() as m:
            m.setenv("O2O_HOME", str(folder / "o2o-data"))
            m.setenv("O2O_DATABASE_URL", url)
            yield folder


def _check_books(ws: Workspace) -> None:
    found = {(b.account.owner, b.account.counterparty, b.account.currency): b.amount
             for b in accounts_reports.balances(ws, as_of=FAR)}  # fmt: skip
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (owner, other, currency), amount in found.items():
        assert found.get((other, owner, currency), Decimal(0)) == -amount, (owner, other, currency)
        totals[currency] += amount
    assert all(t == 0 for t in totals.values()), totals


def _check_netted_once(ws: Workspace, period: str) -> None:
    obs = _obligations(ws, period)
    per_obligation: dict[str, Decimal] = defaultdict(Decimal)
    seen: set[tuple[str, str]] = set()
    for rnd, ob, amount in _setoffs(ws, period):
        assert (rnd, ob) not in seen, f"{ob} set off twice in round {rnd}"
        seen.add((rnd, ob))
        per_obligation[ob] += amount
    for ob, total in per_obligation.items():
        assert 0 < total <= obs[ob].amount, (ob, total, obs[ob].amount)


def _check_transitions(ws: Workspace, period: str, passed: set[CycleState]) -> None:
    """The cycle's `cycle.*` entries form one unbroken path from `open` to its present state."""
    (cycle,) = settlement.cycle_status(ws, period)
    moves = [(e.payload["from"], e.kind.removeprefix("cycle.")) for e in _ledger(ws)
             if e.kind.startswith("cycle.") and e.subject == cycle["cycle"]]  # fmt: skip
    assert moves, "no transition of the cycle on the ledger"
    assert moves[0][0] == CycleState.OPEN.value and moves[-1][1] == cycle["state"]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moves)), moves
    assert {s.value for s in passed} <= {to for _, to in moves}, (passed, moves)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
# Each example builds a network through the CLI (seconds): no shrinking, the failing example is reported as is.
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(1, 40),
    resolve_before=st.lists(st.booleans(), min_size=8, max_size=8),
    mode=st.sampled_from(list(NettingMode)),
    confirm=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_random_cycles_keep_the_books_balanced_and_every_transition_on_the_ledger(
    backend: str,
    seed: int,
    resolve_before: list[bool],
    mode: NettingMode,
    confirm: list[bool],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The function-scoped fixtures are made per-example safe: each example gets its own folder, database and
    # environment (_fresh_workspace), and the CLI invoker drains the captured output before every command.
    cli = harness.cli_invoker(capsys)
    with _fresh_workspace(backend, tmp_path, monkeypatch) as folder:
        _, truth, ag = cycle_steps.declared(cli, folder, cdrs=200, seed=seed)
        period = truth["period"]
        (report,) = cli("reconcile", "--agreement", ag["id"], "--period", period, "--json").json()
        ws = _ws()
        passed = {CycleState.DECLARED, CycleState.RECONCILED, CycleState.SIGNED, CycleState.NETTED}
        disputes = list(report["disputes"])
        passed.add(CycleState.DISPUTED if disputes else CycleState.AGREED)
        later = [d for i, d in enumerate(disputes) if not resolve_before[i % len(resolve_before)]]
        for d_id in disputes:
            if d_id not in later:
                _resolve(ws, d_id)
        _sign_both(ws, report["statement"], list(ag["parties"]))
        settlement.run_netting(ws, period, mode.value)
        for d_id in later:
            _resolve(ws, d_id)
        if any(o.status is ObligationStatus.OPEN for o in _obligations(ws, period).values()):
            settlement.run_netting(ws, period, mode.value)
        pays = settlement.list_payments(ws)
        for i, pay in enumerate(pays):
            if confirm[i % len(confirm)]:
                settlement.confirm_payment(ws, pay.id, reference=f"B-{i}", confirmed_by="HUB")
        if all(p.status.value == "confirmed" for p in settlement.list_payments(ws)):
            passed.add(CycleState.SETTLED)

        _check_books(ws)
        _check_netted_once(ws, period)
        _check_transitions(ws, period, passed)
        assert ledger_service.verify(ws).ok
        audit = store_audit.audit_store(ws)
        assert audit.ok, audit.findings
