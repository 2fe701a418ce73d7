"""`net_obligations`: a netting round over domain obligations, per currency or in one settlement currency.

The edge between `Obligation` values (Decimal amounts, operator ids) and the array core in `rounds`:
it validates the round's inputs, leaves out withheld obligations and those of participants who opt out,
converts with a dated rate table when asked, numbers the participants of each currency, turns amounts into
integer minor units and back, and names the clearing house. Invariants: participants are numbered in
sorted order, so the same obligations always give the same result; every amount returned is an exact
Decimal in its currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal

import numpy as np

from o2o.domain.currencies import minor_units
from o2o.domain.errors import ValidationError
from o2o.domain.money import to_minor
from o2o.domain.obligations import Obligation
from o2o.netting.allocation import NO_DUE_DATE
from o2o.netting.fx import RateTable, convert_obligations
from o2o.netting.results import (
    DEFAULT_HUB,
    BilateralReport,
    CurrencyNetting,
    DirectSearch,
    Exclusion,
    ExclusionReason,
    NettingMode,
    NettingResult,
    Payment,
    Position,
    SetOff,
    SetOffCap,
)
from o2o.netting.rounds import DirectOptions, RoundInput, RoundOutcome, solve_round


def _check_inputs(
    obligations: Sequence[Obligation],
    withheld: Collection[str],
    opt_out: Collection[str],
    caps: Sequence[SetOffCap],
    hub: str,
) -> None:
    ids: set[str] = set()
    operators: set[str] = set()
    for item in obligations:
        if item.id in ids:
            raise ValidationError(f"obligation id {item.id!r} appears twice")
        ids.add(item.id)
        operators.update((item.debtor, item.creditor))
    unknown = sorted(set(withheld) - ids)
    if unknown:
        raise ValidationError(f"withheld obligation {unknown[0]!r} is not in the round")
    for name in sorted({*opt_out, *(c.operator for c in caps)}):
        if name not in operators:
            raise ValidationError(f"participant {name!r} has no obligation in the round")
    if hub in operators:
        raise ValidationError(f"the clearing house id {hub!r} is also a participant's id")


def _minor(item: Obligation, places: int) -> int:
    """Exact minor units (`to_minor` inlined with the currency's places looked up once per round)."""
    scaled = item.amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"obligation {item.id}: {item.amount} {item.currency} is finer than the minor unit"
        )
    return int(scaled)


def _decimal(units: int, places: int) -> Decimal:
    """Decimal from minor units with exactly `places` decimals (as `from_minor`, without re-quantizing)."""
    return Decimal(units).scaleb(-places)


def _round_input(
    included: Sequence[Obligation], participants: list[str], caps: Sequence[SetOffCap], currency: str
) -> RoundInput:
    node = {name: k for k, name in enumerate(participants)}
    places = minor_units(currency)
    node_cap: np.ndarray | None = None
    currency_caps = [c for c in caps if c.currency == currency and c.operator in node]
    if currency_caps:
        node_cap = np.full(len(participants), -1, dtype=np.int64)
        for cap in currency_caps:
            node_cap[node[cap.operator]] = to_minor(cap.amount, currency)
    return RoundInput(
        n_nodes=len(participants),
        debtor=np.fromiter((node[o.debtor] for o in included), dtype=np.int32, count=len(included)),
        creditor=np.fromiter((node[o.creditor] for o in included), dtype=np.int32, count=len(included)),
        amount=np.fromiter((_minor(o, places) for o in included), dtype=np.int64, count=len(included)),
        due_key=np.fromiter(
            (o.due_date.toordinal() if o.due_date else NO_DUE_DATE for o in included),
            dtype=np.int64,
            count=len(included),
        ),
        node_cap=node_cap,
    )


def _payments(
    names: list[str], payer: np.ndarray, payee: np.ndarray, paid: np.ndarray, places: int
) -> tuple[Payment, ...]:
    found = [
        Payment(names[a], names[b], _decimal(m, places))
        for a, b, m in zip(payer.tolist(), payee.tolist(), paid.tolist(), strict=True)
    ]
    return tuple(sorted(found, key=lambda p: (p.payer, p.payee)))


def _currency_result(
    currency: str,
    included: Sequence[Obligation],
    participants: list[str],
    outcome: RoundOutcome,
    excluded: tuple[Exclusion, ...],
    hub: str,
) -> CurrencyNetting:
    names = [*participants, hub]
    places = minor_units(currency)
    gross = outcome.gross_total
    cleared = outcome.cleared_total
    direct = outcome.direct
    return CurrencyNetting(
        currency=currency,
        gross_total=_decimal(gross, places),
        cleared_total=_decimal(cleared, places),
        remaining_total=_decimal(gross - cleared, places),
        net_internal_debt=_decimal(outcome.net_internal_debt, places),
        positions=tuple(
            Position(name, _decimal(p, places), _decimal(r, places))
            for name, p, r in zip(
                participants, outcome.payable.tolist(), outcome.receivable.tolist(), strict=True
            )
        ),
        setoffs=tuple(
            SetOff(included[k].id, _decimal(units, places))
            for k, units in zip(
                np.flatnonzero(outcome.setoff > 0).tolist(),
                outcome.setoff[outcome.setoff > 0].tolist(),
                strict=True,
            )
        ),
        payments=_payments(names, outcome.payer, outcome.payee, outcome.paid, places),
        bilateral=BilateralReport(
            remaining_total=_decimal(int(outcome.bilateral_paid.sum()), places),
            payments=_payments(
                names, outcome.bilateral_payer, outcome.bilateral_payee, outcome.bilateral_paid, places
            ),
        ),
        excluded=excluded,
        direct=None
        if direct is None
        else DirectSearch(direct.method, direct.positions, direct.lower_bound, direct.optimal),
        components=outcome.components,
        partly_cleared_pairs=outcome.partly_cleared_pairs,
    )


def _exclusion(item: Obligation, withheld: Collection[str], opt_out: Collection[str]) -> Exclusion | None:
    if item.id in withheld:
        return Exclusion(item.id, ExclusionReason.WITHHELD, item.amount)
    if item.debtor in opt_out or item.creditor in opt_out:
        return Exclusion(item.id, ExclusionReason.OPT_OUT, item.amount)
    return None


def net_obligations(
    obligations: Iterable[Obligation],
    *,
    mode: NettingMode = NettingMode.CONSERVATIVE,
    withheld: Collection[str] = (),
    opt_out: Collection[str] = (),
    caps: Iterable[SetOffCap] = (),
    fx: RateTable | None = None,
    settle_in: str | None = None,
    hub: str = DEFAULT_HUB,
    direct_options: DirectOptions | None = None,
) -> NettingResult:
    """Net a period's obligations: the largest set-off, then the remainder settled by `mode`.

    `withheld` are obligation ids under dispute, `opt_out` participants whose obligations stay out of
    the round; `caps` limit a participant's set-off per currency. With `fx` and `settle_in`, every
    obligation is converted into `settle_in` at the table's rates first. Raises `ValidationError` for bad
    inputs and `NettingCheckError` if a check of the round fails.
    """
    items = list(obligations)
    cap_list = list(caps)
    withheld_set, opt_out_set = frozenset(withheld), frozenset(opt_out)
    _check_inputs(items, withheld_set, opt_out_set, cap_list, hub)
    if (fx is None) != (settle_in is None):
        raise ValidationError("converting needs both a rate table and a settlement currency")
    conversion = None
    if fx is not None and settle_in is not None:
        items, conversion = convert_obligations(items, fx, settle_in)
    results: list[CurrencyNetting] = []
    for currency in sorted({o.currency for o in items}):
        in_currency = [o for o in items if o.currency == currency]
        excluded: list[Exclusion] = []
        included: list[Obligation] = []
        for item in in_currency:
            reason = _exclusion(item, withheld_set, opt_out_set)
            if reason is None:
                included.append(item)
            else:
                excluded.append(reason)
        participants = sorted({o.debtor for o in included} | {o.creditor for o in included})
        data = _round_input(included, participants, cap_list, currency)
        outcome = solve_round(data, mode, direct_options)
        results.append(_currency_result(currency, included, participants, outcome, tuple(excluded), hub))
    return NettingResult(mode=mode, currencies=tuple(results), fx=conversion)
