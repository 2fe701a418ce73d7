"""The hub admin's use cases through the API: operators, agreements, periods, tokens and the request log.
Each goes through the same service as the CLI; what the ledger registers names the admin's user and token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.identity import Actor
from o2o.domain.operators import NumberingPlan, Operator
from o2o.domain.periods import Period
from o2o.services import hub_cycle, hub_identity, registry_data, settlement


def _operator_row(op: Operator) -> dict[str, str]:
    n = op.numbering
    return {
        "id": op.id, "name": op.name, "currency": op.currency, "country_code": n.country_code,
        "trunk_prefix": n.trunk_prefix, "international_prefix": n.international_prefix,
    }  # fmt: skip


def operators(ws: Workspace) -> list[dict[str, str]]:
    return [_operator_row(o) for o in registry_data.list_operators(ws)]


def add_operator(
    ws: Workspace, actor: Actor, *, id: str, name: str, currency: str, country_code: str,
    trunk_prefix: str, international_prefix: str,
) -> dict[str, str]:  # fmt: skip
    op = Operator(id, name, currency, NumberingPlan(country_code, trunk_prefix, international_prefix))
    registry_data.add_operators(ws, [op], via=actor)
    return _operator_row(op)


def add_operators_file(ws: Workspace, actor: Actor, path: Path) -> list[dict[str, str]]:
    """Every operator of an operators file (as `o2o operator add --file` reads it), added all or none,
    each registered on the ledger naming the admin."""
    from o2o.schemas.operators import load_operators_file

    with hub_cycle.uploaded_as(path):
        added = registry_data.add_operators(ws, load_operators_file(path), via=actor)
    return [_operator_row(op) for op in added]


def agreements(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    return hub_cycle.agreements(ws, actor)


def load_agreement(ws: Workspace, actor: Actor, path: Path) -> dict[str, Any]:
    with hub_cycle.uploaded_as(path):
        loaded = registry_data.load_agreement(ws, path, via=actor)
    return {
        "id": loaded.agreement.id,
        "revision": loaded.stored.revision,
        "unchanged": loaded.unchanged,
        "services": loaded.services,
    }


def open_period(ws: Workspace, actor: Actor, period: str) -> dict[str, Any]:
    per = str(Period.parse(period))
    return {"period": per, "cycles": settlement.open_period(ws, per, via=actor)}


def close_period(ws: Workspace, actor: Actor, period: str) -> dict[str, Any]:
    per = str(Period.parse(period))
    return {"period": per, "cycles": settlement.close_period(ws, per, via=actor)}


def tokens(ws: Workspace) -> list[dict[str, Any]]:
    return [t.to_dict() for t in hub_identity.list_tokens(ws)]


def request_log(ws: Workspace, limit: int) -> list[dict[str, Any]]:
    return [hub_cycle.plain(r) for r in hub_identity.request_log(ws, limit)]
