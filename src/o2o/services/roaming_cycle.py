"""A roaming agreement's period in the settlement cycle: declarations, the statement, and from there the cycle
every agreement shares (signatures, obligations, netting, books, ledger).

Declaring: each party declares its BWRP usage report of the period (`o2o usage import REPORT.json --format
bwrp`: `{inbound, outbound}`, a flat list, or a calculation request whose `usage` it takes). Its rows are
aggregated per (service, home TADIG, visitor TADIG) and split by the agreement's TADIG codes into the two
directions (`ALFA-on-BETA`: ALFA's customers on BETA's networks); each direction is one declaration (the
party is the provider of the direction it visited, the customer of the one it is home to), stored in the
lake as exact JSON. A row of a TADIG pair that is neither direction is an error naming it. One file, one
transaction: both declarations or neither; the same file again is already imported.

Reconciling: each party's report is priced on its own by the agreement's discounts (the same calculation as
`o2o roaming calc --agreement`, `o2o.roaming`), giving its statement lines — one per direction and service
group, in whole minor units (`o2o.roaming.statement`). A line's provider figure is the visited operator's,
its customer figure the home operator's; the agreement's tolerance decides agreed or disputed as for any
line. The statement is written by `reconciliation.write_statement`, like interconnect's; its evidence per
line holds both calculations (deal value, shortfall, commitment) and the usage compared per TADIG pair and
service (own = the provider's, as BWRP's discrepancy service compares them).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from o2o.bootstrap import Workspace
from o2o.domain.agreements import RoamingAgreement, RoamingDirection
from o2o.domain.declarations import Declaration, DeclarationStatus, UsageTotals
from o2o.domain.errors import ConcurrencyError, ImportRefusedError, InvalidTransitionError, ValidationError
from o2o.domain.identity import Actor
from o2o.domain.money import ZERO, round_to_currency
from o2o.domain.periods import Period
from o2o.domain.statements import LineOutcome, StatementLine
from o2o.roaming import CalculationResult, Rules, UsageKey, calculate
from o2o.roaming import UsageTotals as RoamingUsage
from o2o.roaming.catalogue import ServiceGroup
from o2o.roaming.catalogue import canonical as catalogue_service
from o2o.roaming.discrepancy import delta_percent
from o2o.roaming.statement import RoamingLine, statement_lines
from o2o.schemas.roaming_agreement import RoamingAgreementModel
from o2o.schemas.roaming_usage import read_usage_file, usage_from_json
from o2o.services.cycle_common import hub_signer, missing_declarations, provenance, register
from o2o.services.reconciliation import ReconcileReport, statement_id_of, write_statement
from o2o.services.registry_data import read_roaming, require_party
from o2o.services.usage import COMMIT_LOCK, ImportResult, file_sha256
from o2o.store.repositories import now_utc

FORMAT = "bwrp"


def _direction_of(
    key: UsageKey, model: RoamingAgreementModel, directions: tuple[RoamingDirection, ...]
) -> RoamingDirection:
    service, home, visitor = key
    for d in directions:
        if home in model.tadigs(d.customer) and visitor in model.tadigs(d.provider):
            return d
    tadigs = "; ".join(f"{p.operator}: {', '.join(p.tadigs)}" for p in model.parties)
    raise ValidationError(
        f"{service} of home TADIG {home} on visitor TADIG {visitor}: not a direction of agreement "
        f"{model.id} (its TADIG codes: {tadigs})"
    )


def _plain(value: Decimal) -> str:
    return f"{value:f}"


def _usage_document(usage: Mapping[UsageKey, RoamingUsage]) -> str:
    """A direction's usage as stored: the BWRP usage format, exact figures as strings, keys in order."""
    lists: dict[str, list[dict[str, str]]] = {"inbound": [], "outbound": []}
    for (service, home, visitor), t in sorted(usage.items()):
        rows = lists["outbound" if t.direction.value == "outbound" else "inbound"]
        rows.append(
            {
                "service": service,
                "homeTadig": home,
                "visitorTadig": visitor,
                "usage": _plain(t.volume),
                "charges": _plain(t.charges),
                "taxes": _plain(t.taxes),
            }
        )
    return json.dumps(lists, indent=1) + "\n"


def import_roaming_usage(
    ws: Workspace,
    path: Path,
    agreement_id: str,
    period: str,
    declarer: str,
    via: Actor | None = None,
) -> list[ImportResult]:
    """Declare `declarer`'s BWRP usage report of the period: one declaration per direction, in one step."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    per = Period.parse(period)
    with ws.uow() as uow:
        model, _ = read_roaming(uow, agreement_id)
        uow.operators.get(declarer)
    agreement = model.to_cycle_domain()
    require_party(agreement, declarer)
    if per < Period(agreement.valid_from.year, agreement.valid_from.month):
        raise ValidationError(
            f"period {per} is before agreement {agreement.id}'s valid_from {agreement.valid_from.isoformat()}"
        )
    sha = file_sha256(path)
    with ws.uow() as uow:
        active = {
            d.id: uow.declarations.active(agreement.id, d.id, str(per), declarer)
            for d in agreement.directions
        }
    if all(a is not None and a.sha256 == sha for a in active.values()):
        return [ImportResult(a, already_imported=True) for a in active.values() if a is not None]
    split = _split(path, model, agreement.directions)
    with ws.lake.staging() as stage:
        staged: list[tuple[Declaration, Path]] = []
        for d in agreement.directions:
            decl_id = f"DCL-{per.year}{per.month:02d}-{secrets.token_hex(6)}"
            file = stage / f"{decl_id}.json"
            file.write_text(_usage_document(split[d.id]), encoding="utf-8")
            old = active[d.id]
            final = ws.lake.usage_dir(agreement.id, str(per), d.id, declarer) / file.name
            declaration = Declaration(
                decl_id, agreement.id, d.id, str(per), declarer, agreement.role_of(declarer, d.id), sha,
                path.name, ws.lake.relative(final), None, UsageTotals(len(split[d.id]), 0, 0, 0),
                DeclarationStatus.ACTIVE, now_utc(), old.id if old else None,
            )  # fmt: skip
            staged.append((declaration, file))
        _commit(ws, agreement, staged, via)
    return [ImportResult(decl, already_imported=False, replaced=active[decl.service]) for decl, _ in staged]


def _split(
    path: Path, model: RoamingAgreementModel, directions: tuple[RoamingDirection, ...]
) -> dict[str, dict[UsageKey, RoamingUsage]]:
    """The file's usage, aggregated, per direction; a TADIG pair of neither direction is an error."""
    usage = read_usage_file(path)
    if not usage:
        raise ImportRefusedError(f"{path}: no usage rows: nothing to declare")
    split: dict[str, dict[UsageKey, RoamingUsage]] = {d.id: {} for d in directions}
    for key, totals in usage.items():
        try:
            split[_direction_of(key, model, directions).id][key] = totals
        except ValidationError as exc:
            raise ValidationError(f"{path}: {exc}") from None
    return split


def _commit(
    ws: Workspace, agreement: RoamingAgreement, staged: list[tuple[Declaration, Path]], via: Actor | None
) -> None:
    """Record the declarations (superseding the active ones) and move their files into place, in one step;
    the move is undone on failure."""
    from o2o.services.settlement import note_declaration

    hub = hub_signer(ws)
    moved: list[Path] = []
    first = staged[0][0]
    try:
        with COMMIT_LOCK, ws.uow() as uow:
            for declaration, _ in staged:
                final_dir = ws.lake.resolve(declaration.lake_path).parent
                final_dir.mkdir(parents=True, exist_ok=True)
                ws.lake.sweep_orphans(final_dir, uow.declarations.paths())
                if declaration.supersedes:
                    uow.declarations.supersede(declaration.supersedes)
                uow.declarations.add(declaration)
                register(
                    uow, hub, "declaration.imported", f"{agreement.id}/{declaration.period}",
                    {
                        "declaration": declaration.id, "declarer": declaration.declarer,
                        "service": declaration.service, "rows": declaration.totals.rows, "rejected": 0,
                        "sha256": declaration.sha256, "supersedes": declaration.supersedes, "format": FORMAT,
                        **provenance(via),
                    },
                )  # fmt: skip
            note_declaration(uow, agreement, first.period, hub, cause=first.id)
            for declaration, file in staged:
                target = ws.lake.resolve(declaration.lake_path)
                file.replace(target)
                moved.append(target)
            uow.commit()
    except IntegrityError:
        for p in moved:
            p.unlink(missing_ok=True)
        raise ConcurrencyError(
            f"another import of {agreement.id} {first.period} by {first.declarer} committed first; "
            "run the import again"
        ) from None
    except BaseException:
        for p in moved:
            p.unlink(missing_ok=True)
        raise


# --- reconciling -------------------------------------------------------------------------------------------


def _party_usage(ws: Workspace, decls: list[Declaration]) -> dict[UsageKey, RoamingUsage]:
    """A party's usage of the period: its declarations of both directions, read back from the lake."""
    usage: dict[UsageKey, RoamingUsage] = {}
    for d in decls:
        where = ws.lake.relative(ws.lake.resolve(d.lake_path))
        usage.update(usage_from_json(json.loads(ws.lake.resolve(d.lake_path).read_text()), where))
    return usage


def _outcome(result: CalculationResult, party: str) -> dict[str, Any]:
    for o in result.parties:
        if o.party == party:
            return {
                "condition": o.kind.value, "commitment": str(o.commitment), "measured": str(o.measured),
                "met": o.met, "shortfall": str(o.shortfall), "deal_value": str(o.deal_value),
            }  # fmt: skip
    return {}


def _usage_compared(
    line: RoamingLine,
    provider: Mapping[UsageKey, RoamingUsage],
    customer: Mapping[UsageKey, RoamingUsage],
    model: RoamingAgreementModel,
) -> list[dict[str, str]]:
    """The usage behind a line, per (service, home TADIG, visitor TADIG): the provider's (own), the
    customer's (partner), |delta| and delta percent, as BWRP's discrepancy service states them."""
    if line.group is None:  # a commitment line: no usage behind it
        return []
    group = line.group.value
    homes, visitors = set(model.tadigs(line.customer)), set(model.tadigs(line.provider))
    out = []
    for key in sorted(set(provider) | set(customer)):
        service, h, v = key
        found = catalogue_service(service)
        if h not in homes or v not in visitors or found is None or found.group.value != group:
            continue
        own = provider[key].volume if key in provider else ZERO
        partner = customer[key].volume if key in customer else ZERO
        out.append(
            {
                "service": service, "homeTadig": h, "visitorTadig": v, "provider_usage": _plain(own),
                "customer_usage": _plain(partner), "delta_usage_abs": _plain(abs(own - partner)),
                "delta_usage_percent": _plain(delta_percent(own, partner)),
            }
        )  # fmt: skip
    return out


def _line(
    agreement: RoamingAgreement,
    line: RoamingLine,
    provider_line: RoamingLine | None,
    customer_line: RoamingLine | None,
) -> StatementLine:
    """The statement line of `line` (a direction's service group) from the provider's and the customer's
    calculations (0 where that party's report has no usage of it), judged by the agreement's tolerance."""
    from o2o.reconcile.verdict import verdict

    p = provider_line.amount if provider_line else ZERO
    c = customer_line.amount if customer_line else ZERO
    v = verdict(p, c, agreement.tolerance, (), agreement.currency)
    mode = agreement.rounding.mode
    if v.agreed:
        agreed, disputed = v.amount if v.amount is not None else ZERO, ZERO
    else:
        agreed, disputed = v.undisputed_amount or ZERO, v.contested_amount or ZERO
    return StatementLine(
        line.service, line.provider, line.customer, p, c,
        round_to_currency(agreed, agreement.currency, mode), round_to_currency(disputed, agreement.currency, mode),
        LineOutcome(v.outcome.value),
    )  # fmt: skip


def _view(
    line: RoamingLine | None, result: CalculationResult, party: str, home: str, decls: list[str]
) -> dict[str, Any]:
    """What one party's report comes to on a line, and its direction's commitment in that calculation."""
    return {
        "party": party,
        "declarations": decls,
        "deal_value": str(line.deal_value) if line else "0",
        "shortfall": str(line.shortfall) if line else "0",
        "amount": str(line.amount) if line else "0",
        "commitment": _outcome(result, home),
    }


def reconcile_roaming(ws: Workspace, period: str, agreement_id: str) -> ReconcileReport:
    """Price both parties' declared usage by the agreement's discounts and write the period's statement:
    one line per direction and service group, agreed within tolerance or disputed with its evidence."""
    started = time.perf_counter()
    per = str(Period.parse(period))
    with ws.uow() as uow:
        model, _ = read_roaming(uow, agreement_id)
        agreement = model.to_cycle_domain()
        decls = uow.declarations.all(agreement.id, per)
    found = {(d.service, d.role) for d in decls}
    missing = missing_declarations(agreement, found)
    if missing:
        raise InvalidTransitionError(
            f"{agreement.id}: cannot reconcile before both parties declare; waiting for " + "; ".join(missing)
        )
    discounts = model.discounts_domain()
    partners = {d.party: model.partner(d.party) for d in discounts}
    views: dict[str, tuple[CalculationResult, dict[str, RoamingLine], dict[UsageKey, RoamingUsage]]] = {}
    for party in agreement.operator_ids:
        mine = [d for d in decls if d.declarer == party]
        usage = _party_usage(ws, mine)
        result = calculate(discounts, usage, Rules.CURRENT)
        lines = statement_lines(result, partners, agreement.currency, agreement.rounding.mode)
        views[party] = (result, {ln.service: ln for ln in lines}, usage)
    # Lines in the order of the discounts, then of the settlement body's service groups.
    order = {d.party: i for i, d in enumerate(discounts)}
    every: dict[str, RoamingLine] = {}
    for _, by_id, _ in views.values():
        for line_id, ln in by_id.items():
            every.setdefault(line_id, ln)
    groups_order: dict[ServiceGroup | None, int] = {g: i for i, g in enumerate(ServiceGroup)}
    groups_order[None] = len(groups_order)  # a commitment line last
    ids = sorted(every, key=lambda i: (order[every[i].customer], groups_order[every[i].group]))
    statement: list[StatementLine] = []
    evidence: dict[str, Any] = {}
    ids_of = {party: [d.id for d in decls if d.declarer == party] for party in agreement.operator_ids}
    for line_id in ids:
        ln = every[line_id]
        p_result, p_lines, p_usage = views[ln.provider]
        c_result, c_lines, c_usage = views[ln.customer]
        st_line = _line(agreement, ln, p_lines.get(line_id), c_lines.get(line_id))
        statement.append(st_line)
        evidence[line_id] = {
            "kind": "roaming",
            "direction": f"{ln.customer}-on-{ln.provider}",
            "service_group": ln.group.value if ln.group else "commitment",
            "provider": _view(p_lines.get(line_id), p_result, ln.provider, ln.customer, ids_of[ln.provider]),
            "customer": _view(c_lines.get(line_id), c_result, ln.customer, ln.customer, ids_of[ln.customer]),
            "difference": str(st_line.provider_amount - st_line.customer_amount),
            "usage": _usage_compared(ln, p_usage, c_usage, model),
        }
    if not statement:
        raise InvalidTransitionError(
            f"{agreement.id} {per}: the declared usage meets no discounted service: no statement line"
        )
    hub = hub_signer(ws)
    st_id = statement_id_of(agreement.id, per)
    with ws.uow() as uow:
        now = {(d.service, d.role): d.id for d in uow.declarations.all(agreement.id, per)}
        if now != {(d.service, d.role): d.id for d in decls}:
            raise ConcurrencyError(
                f"{agreement.id} {per}: declarations changed while reconciling; reconcile again"
            )
        state, dispute_ids = write_statement(uow, uow.cycles, hub, agreement, per, st_id, statement, evidence)
        uow.commit()
    return ReconcileReport(
        agreement.id, per, st_id, state, (), tuple(dispute_ids), time.perf_counter() - started,
        roaming_lines=tuple(statement),
    )  # fmt: skip
