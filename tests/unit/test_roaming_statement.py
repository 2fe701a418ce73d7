"""Statement lines of a roaming calculation (o2o.roaming.statement), against a plain reference: a direction's
lines add up to its amount due rounded once, each line within one minor unit of its exact amount."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.domain.money import Rounding, round_to_currency
from o2o.roaming import CalculationResult, CommitmentKind, Direction, IntermediateResult, PartyOutcome
from o2o.roaming.statement import statement_lines

SERVICES = ["MOC Local", "MTC", "SMS MO", "GPRS", "VoLTE", "Network Access"]
amounts = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(SERVICES), amounts, amounts), min_size=1, max_size=8),
    st.sampled_from(["EUR", "JPY", "KRW"]),
    st.sampled_from(list(Rounding)),
)
def test_lines_add_up_to_the_amount_due(
    services: list[tuple[str, Decimal, Decimal]], currency: str, rounding: Rounding
) -> None:
    results = tuple(
        IntermediateResult(
            "ALFA", s, ("AAAAA",), ("BBBBB",), deal, short, Decimal(1), Direction.INBOUND, True
        )
        for s, deal, short in services
    )
    deal = sum((r.deal_value for r in results), Decimal(0))
    short = sum((r.short_of_commitment for r in results), Decimal(0))
    outcome = PartyOutcome("ALFA", CommitmentKind.DEAL_REVENUE, Decimal(0), deal, False, short, deal)
    lines = statement_lines(CalculationResult(results, (outcome,)), {"ALFA": "BETA"}, currency, rounding)
    due = round_to_currency(deal + short, currency, rounding)
    assert sum((x.amount for x in lines), Decimal(0)) == due
    unit = round_to_currency(Decimal(0), currency).as_tuple().exponent
    for x in lines:
        assert x.customer == "ALFA" and x.provider == "BETA"
        assert x.amount.as_tuple().exponent == unit
        assert abs(x.amount - (x.deal_value + x.shortfall)) < Decimal(1).scaleb(unit)  # type: ignore[arg-type]
    assert len({x.group for x in lines}) == len(lines)


@settings(max_examples=50, deadline=None)
@given(amounts, st.sampled_from(["EUR", "JPY"]))
def test_a_shortfall_on_no_traffic_is_one_commitment_line(short: Decimal, currency: str) -> None:
    """No result (no usage of a discounted service) but a shortfall: one line `<home>-commitment` carries
    the amount due; nothing owed, no line."""
    outcome = PartyOutcome(
        "ALFA", CommitmentKind.DEAL_REVENUE, short, Decimal(0), not short, short, Decimal(0)
    )
    lines = statement_lines(CalculationResult((), (outcome,)), {"ALFA": "BETA"}, currency, Rounding.HALF_UP)
    due = round_to_currency(short, currency, Rounding.HALF_UP)
    if not due:
        assert lines == ()
        return
    (line,) = lines
    assert (line.service, line.group, line.customer, line.provider) == (
        "ALFA-commitment",
        None,
        "ALFA",
        "BETA",
    )
    assert (line.deal_value, line.shortfall, line.amount) == (Decimal(0), short, due)
