"""Rating imported declarations: each active declaration of an agreement and period priced by its tariff.

Results go to the lake under `rated/AGREEMENT/PERIOD/SERVICE/DECLARER/`; recurring services are priced
from the agreement alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind
from o2o.services.registry_data import get_agreement, require_party

if TYPE_CHECKING:
    from o2o.rating import RatingResult


def rate_declarations(
    ws: Workspace, agreement_id: str, period: str, declarer: str | None = None
) -> list[RatingResult]:
    # Imported here: the rating engine loads DuckDB and Arrow, which the cycle's light commands never need.
    from o2o.rating import rate_recurring, rate_usage

    per = Period.parse(period)
    agreement, _ = get_agreement(ws, agreement_id)
    if declarer is not None:
        require_party(agreement, declarer)
    with ws.uow() as uow:
        decls = uow.declarations.all(agreement.id, str(per))
    if declarer is not None:
        decls = [d for d in decls if d.declarer == declarer]
    results = []
    for d in decls:
        out = ws.lake.root / "rated" / agreement.id / str(per) / d.service / d.declarer
        results.append(rate_usage(agreement, d.service, [ws.lake.resolve(d.lake_path)], out, per))
    results += [
        rate_recurring(agreement, s.id, per) for s in agreement.services if s.kind is ServiceKind.RECURRING
    ]
    if not results:
        raise NotFoundError(f"nothing to rate for {agreement.id} in {per}: no declarations imported")
    return results
