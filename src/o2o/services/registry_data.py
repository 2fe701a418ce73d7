"""Use cases for reference data: operators and agreements."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement, SettledAgreement
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.identity import Actor
from o2o.domain.operators import Operator
from o2o.store.repositories import StoredAgreement
from o2o.store.uow import UnitOfWork

if TYPE_CHECKING:
    from o2o.schemas.roaming_agreement import RoamingAgreementModel

# The pydantic schemas (o2o.schemas) are imported where files or stored documents are read: building
# their models costs more at start-up than `o2o operator list` spends on its whole answer.


def add_operators(ws: Workspace, operators: list[Operator], via: Actor | None = None) -> list[Operator]:
    """Add operators in one transaction (all or none). `via`: the hub's admin who added them through the
    API; each addition is then registered on the ledger naming the admin's user and token."""
    hub = None
    if via is not None:  # imported here: the local commands do not load the ledger's libraries for this
        from o2o.services.cycle_common import hub_signer

        hub = hub_signer(ws)
    with ws.uow() as uow:
        for op in operators:
            uow.operators.add(op)
            if hub is None:
                uow.events.record("operator.added", op.id, "HUB", {"name": op.name})
            else:
                from o2o.services.cycle_common import provenance, register

                facts = {"name": op.name, "currency": op.currency, **provenance(via)}
                register(uow, hub, "operator.added", op.id, facts)
        uow.commit()
    return operators


def add_operators_file(ws: Workspace, path: Path) -> list[Operator]:
    from o2o.schemas.operators import load_operators_file

    return add_operators(ws, load_operators_file(path))


def list_operators(ws: Workspace) -> list[Operator]:
    with ws.uow() as uow:
        return uow.operators.all()


def get_operator(ws: Workspace, op_id: str) -> Operator:
    with ws.uow() as uow:
        return uow.operators.get(op_id)


@dataclass(frozen=True, slots=True)
class LoadedAgreement:
    agreement: SettledAgreement
    stored: StoredAgreement
    unchanged: bool

    @property
    def services(self) -> list[str]:
        """What the parties declare and settle: the services, or a roaming agreement's directions."""
        a = self.agreement
        return [s.id for s in (a.services if isinstance(a, Agreement) else a.directions)]


def load_agreement(ws: Workspace, path: Path, via: Actor | None = None) -> LoadedAgreement:
    """Validate an agreement file (interconnect, or roaming: docs/roaming.md) and store it; loading a
    changed file makes a new revision. `via`: the hub's admin who loaded it through the API (registered on
    the ledger, naming the user and token)."""
    from o2o.schemas.agreement import AgreementModel, to_domain
    from o2o.schemas.roaming_agreement import load_any_agreement_file

    model = load_any_agreement_file(path)
    agreement = to_domain(model) if isinstance(model, AgreementModel) else model.to_cycle_domain()
    document = model.model_dump_json()
    sha = hashlib.sha256(document.encode()).hexdigest()
    hub = None
    if via is not None:  # the hub's key, made (in a transaction of its own) before this one writes
        from o2o.services.cycle_common import hub_signer

        hub = hub_signer(ws)
    with ws.uow() as uow:
        for party in agreement.operator_ids:
            uow.operators.get(party)
        current = uow.agreements.find(agreement.id)
        if current is not None and current.sha256 == sha:
            return LoadedAgreement(agreement, current, unchanged=True)
        stored = uow.agreements.save(agreement, document, sha, path.name)
        if hub is None:
            uow.events.record("agreement.loaded", agreement.id, "HUB", {"revision": stored.revision})
        else:
            from o2o.services.cycle_common import provenance, register

            facts = {"revision": stored.revision, "sha256": sha, **provenance(via)}
            register(uow, hub, "agreement.loaded", agreement.id, facts)
        uow.commit()
    return LoadedAgreement(agreement, stored, unchanged=False)


def get_agreement(ws: Workspace, agreement_id: str) -> tuple[Agreement, StoredAgreement]:
    with ws.uow() as uow:
        return read_agreement(uow, agreement_id)


def get_settled(ws: Workspace, agreement_id: str) -> tuple[SettledAgreement, StoredAgreement]:
    with ws.uow() as uow:
        return read_settled(uow, agreement_id)


def is_roaming(stored: StoredAgreement) -> bool:
    """Whether a stored agreement is a roaming agreement (its document says `"kind":"roaming"`)."""
    return stored.document.startswith('{"kind":"roaming"')


def read_agreement(uow: UnitOfWork, agreement_id: str) -> tuple[Agreement, StoredAgreement]:
    """The interconnect agreement as stored, read in the caller's unit of work (a use case never opens a
    second one). A roaming agreement is refused, naming it: rating and CDR usage are interconnect's."""
    from o2o.schemas.agreement import agreement_from_json

    stored = uow.agreements.get(agreement_id)
    if is_roaming(stored):
        raise ValidationError(
            f"agreement {agreement_id} is a roaming agreement: its usage is a BWRP usage report "
            "(`o2o usage import REPORT.json --format bwrp`), priced by its discounts (docs/roaming.md)"
        )
    return agreement_from_json(stored.document), stored


def read_settled(uow: UnitOfWork, agreement_id: str) -> tuple[SettledAgreement, StoredAgreement]:
    """Either kind of agreement as the settlement cycle sees it (parties, terms, what is declared)."""
    stored = uow.agreements.get(agreement_id)
    if is_roaming(stored):
        return read_roaming(uow, agreement_id)[0].to_cycle_domain(), stored
    return read_agreement(uow, agreement_id)


def read_roaming(uow: UnitOfWork, agreement_id: str) -> tuple[RoamingAgreementModel, StoredAgreement]:
    """A stored roaming agreement with its discounts; another kind is refused, naming it."""
    from o2o.schemas.roaming_agreement import roaming_agreement_from_json

    stored = uow.agreements.get(agreement_id)
    if not is_roaming(stored):
        raise ValidationError(f"agreement {agreement_id} is not a roaming agreement")
    return roaming_agreement_from_json(stored.document), stored


def list_agreements(ws: Workspace) -> list[StoredAgreement]:
    with ws.uow() as uow:
        return uow.agreements.all()


def require_party(agreement: SettledAgreement, operator: str) -> None:
    if operator not in agreement.operator_ids:
        raise NotFoundError(f"operator {operator} is not a party to agreement {agreement.id}")
