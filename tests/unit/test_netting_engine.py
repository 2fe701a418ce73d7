"""`net_obligations` on small rounds written out by hand: figures, modes, constraints, FX, errors, checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from o2o.domain.errors import ValidationError
from o2o.domain.obligations import Obligation
from o2o.netting import (
    DirectMethod,
    ExclusionReason,
    NettingCheckError,
    NettingMode,
    RateTable,
    SetOffCap,
    net_obligations,
)
from o2o.netting.checks import check_payments_per_pair, check_payments_per_participant, check_setoff
from o2o.netting.report import netting_document


def ob(
    ident: str, debtor: str, creditor: str, amount: str, currency: str = "EUR", due: str = ""
) -> Obligation:
    return Obligation(
        ident, debtor, creditor, Decimal(amount), currency, date.fromisoformat(due) if due else None
    )


# A owes B 100, B owes C 80, C owes A 50: a circle of 50 can be set off; C also owes D 10.
ROUND = [
    ob("1", "A", "B", "100.00"),
    ob("2", "B", "C", "80.00"),
    ob("3", "C", "A", "50.00"),
    ob("4", "C", "D", "10.00"),
]


def test_a_circle_is_set_off_and_the_rest_is_paid_as_it_stands() -> None:
    eur = net_obligations(ROUND).currency("EUR")
    assert (eur.gross_total, eur.cleared_total, eur.remaining_total, eur.net_internal_debt) == (
        Decimal("240.00"),
        Decimal("150.00"),
        Decimal("90.00"),
        Decimal("50.00"),
    )
    assert [(s.obligation, s.amount) for s in eur.setoffs] == [
        ("1", Decimal("50.00")),
        ("2", Decimal("50.00")),
        ("3", Decimal("50.00")),
    ]
    assert [(p.payer, p.payee, p.amount) for p in eur.payments] == [
        ("A", "B", Decimal("50.00")),
        ("B", "C", Decimal("30.00")),
        ("C", "D", Decimal("10.00")),
    ]
    assert {p.operator: p.net for p in eur.positions} == {
        "A": Decimal("-50.00"),
        "B": Decimal("20.00"),
        "C": Decimal("20.00"),
        "D": Decimal("10.00"),
    }
    assert eur.components == 1
    assert eur.bilateral.remaining_total == Decimal("240.00")  # no pair owes both ways


def test_clearing_house_moves_exactly_the_net_internal_debt() -> None:
    eur = net_obligations(ROUND, mode=NettingMode.CLEARING_HOUSE, hub="CH").currency("EUR")
    assert [(p.payer, p.payee, p.amount) for p in eur.payments] == [
        ("A", "CH", Decimal("50.00")),
        ("CH", "B", Decimal("20.00")),
        ("CH", "C", Decimal("20.00")),
        ("CH", "D", Decimal("10.00")),
    ]


def test_direct_mode_says_how_it_searched() -> None:
    eur = net_obligations(ROUND, mode=NettingMode.DIRECT).currency("EUR")
    assert eur.payments_count == 3
    assert eur.direct is not None
    assert (eur.direct.method, eur.direct.positions, eur.direct.lower_bound, eur.direct.optimal) == (
        DirectMethod.EXACT,
        4,
        3,
        True,
    )


def test_setoff_goes_to_the_oldest_obligation_of_a_pair_first() -> None:
    items = [
        ob("late", "A", "B", "40.00", due="2026-11-15"),
        ob("early", "A", "B", "40.00", due="2026-11-01"),
        ob("back", "B", "A", "50.00"),
    ]
    eur = net_obligations(items).currency("EUR")
    assert {s.obligation: s.amount for s in eur.setoffs} == {
        "early": Decimal("40.00"),
        "late": Decimal("10.00"),
        "back": Decimal("50.00"),
    }
    assert eur.bilateral.remaining_total == Decimal("30.00")


def test_withheld_and_opted_out_obligations_stay_out_of_the_round() -> None:
    eur = net_obligations(ROUND, withheld={"3"}, opt_out={"D"}).currency("EUR")
    assert [(e.obligation, e.reason) for e in eur.excluded] == [
        ("3", ExclusionReason.WITHHELD),
        ("4", ExclusionReason.OPT_OUT),
    ]
    assert eur.cleared_total == Decimal("0.00")
    assert eur.gross_total == Decimal("180.00")
    assert "D" not in {p.operator for p in eur.positions}


def test_a_cap_limits_a_participants_setoff() -> None:
    eur = net_obligations(ROUND, caps=[SetOffCap("B", "EUR", Decimal("30"))]).currency("EUR")
    assert eur.cleared_total == Decimal("90.00")  # 30 around the circle of three
    other = net_obligations(ROUND, caps=[SetOffCap("B", "USD", Decimal("0"))]).currency("EUR")
    assert other.cleared_total == Decimal("150.00")  # a cap in another currency does not apply


def test_rounds_are_per_currency_unless_converted() -> None:
    items = [*ROUND, ob("5", "B", "A", "7", currency="USD"), ob("6", "A", "B", "1000", currency="JPY")]
    result = net_obligations(items)
    assert [c.currency for c in result.currencies] == ["EUR", "JPY", "USD"]
    assert result.fx is None
    table = RateTable.of(date(2026, 10, 31), [("USD", "EUR", "0.92"), ("EUR", "JPY", "160")])
    converted = net_obligations(items, fx=table, settle_in="EUR")
    assert [c.currency for c in converted.currencies] == ["EUR"]
    assert converted.fx is not None
    assert converted.fx.on == date(2026, 10, 31)
    assert [(r.source, r.target, r.rate) for r in converted.fx.rates] == [
        ("EUR", "JPY", Decimal("160")),
        ("USD", "EUR", Decimal("0.92")),
    ]
    eur = converted.currency("EUR")
    # 7 USD -> 6.44 EUR (direct rate); 1000 JPY -> 6.25 EUR (reverse rate, divided).
    assert eur.gross_total == Decimal("240.00") + Decimal("6.44") + Decimal("6.25")


def test_conversion_needs_a_rate_for_every_currency() -> None:
    table = RateTable.of(date(2026, 10, 31), [("USD", "EUR", "0.92")])
    with pytest.raises(ValidationError, match="no GBP/EUR rate"):
        net_obligations([*ROUND, ob("9", "A", "B", "1", currency="GBP")], fx=table, settle_in="EUR")
    with pytest.raises(ValidationError, match="both a rate table and a settlement currency"):
        net_obligations(ROUND, fx=table)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"withheld": {"99"}}, "withheld obligation '99' is not in the round"),
        ({"opt_out": {"Z"}}, "participant 'Z' has no obligation"),
        ({"caps": [SetOffCap("Z", "EUR", Decimal(1))]}, "participant 'Z' has no obligation"),
        ({"hub": "A"}, "clearing house id 'A' is also a participant"),
    ],
)
def test_bad_round_inputs_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        net_obligations(ROUND, **kwargs)  # type: ignore[arg-type]


def test_duplicate_ids_and_sub_cent_amounts_are_refused() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        net_obligations([*ROUND, ob("1", "D", "A", "1.00")])
    with pytest.raises(ValidationError, match=r"obligation 7: .*minor unit"):
        net_obligations([ob("7", "A", "B", "1.005")])


def test_checks_abort_on_a_broken_round() -> None:
    debtor = np.array([0, 1], dtype=np.int32)
    creditor = np.array([1, 0], dtype=np.int32)
    amount = np.array([10, 10], dtype=np.int64)
    with pytest.raises(NettingCheckError, match="not a circulation"):
        check_setoff(2, debtor, creditor, amount, np.array([10, 5], dtype=np.int64))
    with pytest.raises(NettingCheckError, match="exceeds its obligation"):
        check_setoff(2, debtor, creditor, amount, np.array([11, 11], dtype=np.int64))
    with pytest.raises(NettingCheckError, match="exceeds its cap"):
        check_setoff(2, debtor, creditor, amount, amount, np.array([5, -1], dtype=np.int64))
    one = np.array([0], dtype=np.int64)
    pair_of = np.array([0, 1], dtype=np.int64)
    remainder = np.array([10, 0], dtype=np.int64)
    # Pairs sorted by key: (0, 1) then (1, 0).
    with pytest.raises(NettingCheckError, match="pair by pair"):
        check_payments_per_pair(2, debtor, creditor, pair_of, remainder, one, one + 1, np.array([9]))
    with pytest.raises(NettingCheckError, match="owe each other nothing"):
        check_payments_per_pair(3, debtor, creditor, pair_of, remainder, one, one + 2, np.array([10]))
    with pytest.raises(NettingCheckError, match="net position"):
        check_payments_per_participant(2, debtor, creditor, np.array([10, 0]), one, one + 2, np.array([10]))


def test_the_document_has_the_listed_keys_and_decimal_strings() -> None:
    document = netting_document(net_obligations(ROUND, mode=NettingMode.DIRECT))
    eur = document["currencies"]["EUR"]
    assert document["mode"] == "direct"
    assert list(eur)[:8] == [
        "gross_total",
        "cleared_total",
        "remaining_total",
        "net_internal_debt",
        "payments_count",
        "positions",
        "setoffs",
        "payments",
    ]
    assert eur["positions"]["A"] == {"payable": "100.00", "receivable": "50.00", "net": "-50.00"}
    assert eur["setoffs"][0] == {"obligation": "1", "amount": "50.00"}
    assert eur["payments"][0] == {"from": "A", "to": "B", "amount": "20.00"}
    assert eur["direct"] == {"method": "exact", "positions": 4, "lower_bound": 3, "optimal": True}


def test_caps_must_be_non_negative_amounts_in_a_known_currency() -> None:
    with pytest.raises(ValidationError, match="negative"):
        SetOffCap("A", "EUR", Decimal("-1"))
    with pytest.raises(ValidationError, match="unknown currency"):
        SetOffCap("A", "EURO", Decimal("1"))
