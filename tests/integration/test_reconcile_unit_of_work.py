"""A period's reconciliation reads what it needs in one unit of work, runs the engines with no transaction
open, and writes each statement in a unit of work that checks the declarations it was computed from are
still the active ones: a re-declaration committed while the engines ran refuses the statement (nothing
written, the cycle still declared), and the next run reconciles the new declaration. SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import cycle_steps
from o2o.bootstrap import open_workspace
from o2o.config import Settings
from o2o.domain.cycle import CycleState
from o2o.domain.errors import ConcurrencyError
from o2o.services import period_reconciliation, settlement, statements, usage


def test_a_redeclaration_while_the_engines_run_refuses_the_statement(
    db_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, truth, ag = cycle_steps.declared(db_cli, tmp_path, cdrs=300, seed=11)
    period, ws = truth["period"], open_workspace(Settings())
    first = truth["files"][0]
    # The same declarer's corrected file: one record fewer (a correction, not a partial export).
    lines = (net / first["file"]).read_text(encoding="utf-8").splitlines(keepends=True)
    corrected = tmp_path / "corrected.csv"
    corrected.write_text("".join(lines[:-1]), encoding="utf-8")
    engine_side = period_reconciliation._rated_lines
    redeclared: list[str] = []
    once = threading.Lock()  # the lines are rated on a worker thread

    def side_then_redeclare(*args: Any) -> Any:
        result = engine_side(*args)
        with once:
            if redeclared:
                return result
            # another use case commits while this one's engines run
            done = usage.import_usage(
                ws, corrected, first["agreement"], period, first["declarer"], first["service"]
            )
            redeclared.append(done.declaration.id)
        return result

    monkeypatch.setattr(period_reconciliation, "_rated_lines", side_then_redeclare)
    with pytest.raises(ConcurrencyError, match="declarations changed while reconciling") as refused:
        period_reconciliation.reconcile_period(ws, period, [ag["id"]])
    assert first["service"] in str(refused.value)
    assert redeclared
    (cycle,) = settlement.cycle_status(ws, period)
    assert cycle["state"] == CycleState.DECLARED.value
    assert statements.list_statements(ws, period) == []
    assert not list((ws.lake.root / "results" / ag["id"] / period).glob("run-*"))

    monkeypatch.setattr(period_reconciliation, "_rated_lines", engine_side)
    (report,) = period_reconciliation.reconcile_period(ws, period, [ag["id"]])
    line = next(ln for ln in report.lines if ln.service.id == first["service"])
    declared_rows = len(lines) - 2  # the header and the record left out
    side = line.provider_rating if first["declarer"] == line.service.provider else line.customer_rating
    assert side.records == declared_rows
