"""One netting round of one currency on arrays: aggregate, split, set off, allocate, settle, check.

This is the engine's core, free of Python objects per obligation so that it nets millions of debts:
participants are integers `0..n-1` (node `n` is the clearing house), amounts are int64 minor units.
Invariants on return (checked on every run, `NettingCheckError` otherwise): `0 <= setoff <= amount`,
the set-off is a circulation within each participant's cap, net positions are unchanged, and the
payments settle exactly the remainder in the chosen mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from o2o.netting.allocation import allocate_setoff, bilateral_netting, hub_payments, pair_payments
from o2o.netting.checks import check_payments_per_pair, check_payments_per_participant, check_setoff
from o2o.netting.circulation import max_setoff
from o2o.netting.direct import EXACT_LIMIT, MILP_LIMIT, MILP_SECONDS, DirectPlan, fewest_payments
from o2o.netting.graph import IntArray, NodeArray, aggregate_pairs, cyclic_arcs, sum_by
from o2o.netting.results import NettingMode


@dataclass(frozen=True, slots=True)
class RoundInput:
    """The obligations of one currency as arrays (one entry per obligation)."""

    n_nodes: int
    debtor: NodeArray
    creditor: NodeArray
    amount: IntArray  # minor units, >= 0
    due_key: IntArray  # ordinal of the due date; NO_DUE_DATE sorts last
    node_cap: IntArray | None = None  # per node: most set-off allowed, -1 for none


@dataclass(frozen=True, slots=True)
class DirectOptions:
    """Where the `direct` mode switches from exact search to MILP to greedy, and the MILP's time limit."""

    exact_limit: int = EXACT_LIMIT
    milp_limit: int = MILP_LIMIT
    milp_seconds: float = MILP_SECONDS


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """Set-off per obligation, payment instructions (hub = node n), and the figures of the round."""

    setoff: IntArray
    payer: IntArray
    payee: IntArray
    paid: IntArray
    payable: IntArray  # per node, gross
    receivable: IntArray  # per node, gross
    bilateral_payer: IntArray
    bilateral_payee: IntArray
    bilateral_paid: IntArray
    components: int
    partly_cleared_pairs: int
    direct: DirectPlan | None

    @property
    def net(self) -> IntArray:
        return self.receivable - self.payable

    @property
    def gross_total(self) -> int:
        return int(self.payable.sum())

    @property
    def cleared_total(self) -> int:
        return int(self.setoff.sum())

    @property
    def net_internal_debt(self) -> int:
        net = self.net
        return int(net[net > 0].sum())


def solve_round(
    data: RoundInput, mode: NettingMode, direct_options: DirectOptions | None = None
) -> RoundOutcome:
    """Net one currency's obligations: the largest set-off, then the remainder settled by `mode`."""
    n = data.n_nodes
    graph = aggregate_pairs(n, data.debtor, data.creditor, data.amount)
    inside, labels = cyclic_arcs(graph)
    pair_setoff = max_setoff(graph, inside, data.node_cap)
    setoff = allocate_setoff(graph.pair_of, data.amount, data.due_key, pair_setoff)
    check_setoff(n, data.debtor, data.creditor, data.amount, setoff, data.node_cap)
    remainder = data.amount - setoff
    payable = sum_by(data.debtor, data.amount, n)
    receivable = sum_by(data.creditor, data.amount, n)
    direct: DirectPlan | None = None
    if mode is NettingMode.CONSERVATIVE:
        payer, payee, paid = pair_payments(graph.pair_debtor, graph.pair_creditor, graph.pair_of, remainder)
        check_payments_per_pair(
            n, graph.pair_debtor, graph.pair_creditor, graph.pair_of, remainder, payer, payee, paid
        )
    else:
        if mode is NettingMode.CLEARING_HOUSE:
            payer, payee, paid = hub_payments(receivable - payable, hub=n)
        else:
            options = direct_options or DirectOptions()
            direct = fewest_payments(
                receivable - payable,
                exact_limit=options.exact_limit,
                milp_limit=options.milp_limit,
                milp_seconds=options.milp_seconds,
            )
            payer, payee, paid = direct.payer, direct.payee, direct.paid
        check_payments_per_participant(n, data.debtor, data.creditor, remainder, payer, payee, paid)
    b_payer, b_payee, b_paid = bilateral_netting(n, graph.pair_debtor, graph.pair_creditor, graph.pair_amount)
    partly = int(((pair_setoff > 0) & (pair_setoff < graph.pair_amount)).sum())
    return RoundOutcome(
        setoff=setoff,
        payer=payer,
        payee=payee,
        paid=paid,
        payable=payable,
        receivable=receivable,
        bilateral_payer=b_payer,
        bilateral_payee=b_payee,
        bilateral_paid=b_paid,
        components=int(labels.max()) + 1 if len(labels) else 0,
        partly_cleared_pairs=partly,
        direct=direct,
    )
