"""Signing holds the statement it read until the signature is stored, on SQLite and PostgreSQL.

The window is reached at the SQL level: SQLAlchemy's `before_cursor_execute` event on the workspace's
engine runs the other party's change (a re-issue by an accepted proposal, or a re-declaration that withdraws
the statement) on its own connection and commits it just before the signing connection's first write —
after the signer has read and checked the statement, before anything of the signature is stored. Whatever
the service's inner structure (one transaction or two, checks repeated or not), that is the last moment the
change can come in, so a version that checked the statement anywhere but in the transaction that stores the
signature (or stored it without taking the statement at the version read) stores a signature over a document
the statement no longer says, and these tests fail on it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import cycle_steps
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.disputes import Dispute
from o2o.domain.errors import InvalidTransitionError, NotFoundError
from o2o.domain.identity import Actor, Role
from o2o.domain.statements import Statement, StatementState
from o2o.ledger.keys import read_private_key
from o2o.services import disputes as dsp
from o2o.services import statements

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def before_first_write(ws: Workspace, change: Callable[[], object]) -> Iterator[list[str]]:
    """While in the block, the first write of any connection of `ws` runs `change` (which commits on its
    own connections) before it is executed; yields the SQL of the write it preceded (one, or none)."""
    seen: list[str] = []
    busy: list[bool] = []

    def hook(conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if seen or busy or not sql.lstrip().upper().startswith(WRITES):
            return
        seen.append(" ".join(sql.split()))
        busy.append(True)  # the change's own writes pass through
        try:
            change()
        finally:
            busy.clear()

    event.listen(ws.engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(ws.engine, "before_cursor_execute", hook)


@pytest.fixture
def reconciled(db_cli: Any, tmp_path: Path) -> dict[str, Any]:
    """A generated two-operator network declared and reconciled at zero tolerance (some lines disputed)."""
    period, report, ag = cycle_steps.reconciled(db_cli, tmp_path, cdrs=400, seed=5)
    return {"cli": db_cli, "period": period, "statement": report["statement"],
            "disputes": report["disputes"], "agreement": ag, "tmp": tmp_path}  # fmt: skip


def _signed_events(ws: Workspace, statement_id: str) -> list[dict[str, Any]]:
    with ws.uow() as uow:
        return [e for e in uow.events.all(statement_id) if e["kind"] == "statement.signed"]


def _last_dispute_proposed(ws: Workspace, ctx: dict[str, Any]) -> tuple[str, Dispute, Statement]:
    """Every dispute but the last resolved and the last one proposed by its provider, so that accepting
    that proposal re-issues the statement: the last dispute's id, the dispute, and the statement as read."""
    last, *others = ctx["disputes"]
    for d_id in others:
        d = dsp.show_dispute(ws, d_id).dispute
        dsp.propose(ws, d_id, d.provider, None)
        dsp.accept(ws, d_id, d.customer)
    d = dsp.show_dispute(ws, last).dispute
    dsp.propose(ws, last, d.provider, None)
    return last, d, statements.show_statement(ws, ctx["statement"]).statement


def test_a_statement_reissued_after_the_signer_read_it_is_not_signed(reconciled: dict[str, Any]) -> None:
    """The last dispute's proposal is accepted (the statement re-issued with a new digest) between the
    signer's read and its first write: the signature is refused, nothing of it is stored, and the
    re-issued statement is then signed over its new document."""
    ws, ctx = open_workspace(Settings()), reconciled
    st_id = ctx["statement"]
    last, d, read = _last_dispute_proposed(ws, ctx)

    refused = pytest.raises(InvalidTransitionError, match="changed while it was being signed")
    with before_first_write(ws, lambda: dsp.accept(ws, last, d.customer)) as preceded, refused:
        statements.sign_statement(ws, st_id, d.provider, reviewed=read.digest)
    assert len(preceded) == 1  # the change came in before the signing's first write, not after it

    now = statements.show_statement(ws, st_id)
    assert now.statement.digest != read.digest and now.statement.state is StatementState.AGREED
    assert now.signatures == () and _signed_events(ws, st_id) == []
    assert dsp.show_dispute(ws, last).dispute.state.value == "resolved"
    # Reviewed again, it is signed over what it now says.
    done = statements.sign_statement(ws, st_id, d.provider, reviewed=now.statement.digest)
    assert done.complete is False
    (signed,) = _signed_events(ws, st_id)
    assert json.loads(signed["payload"])["digest"] == now.statement.digest


def test_a_statement_withdrawn_by_a_redeclaration_after_the_signer_read_it_is_not_signed(
    reconciled: dict[str, Any],
) -> None:
    """A party re-declares its usage (through the CLI, as it would) between the signer's read and its first
    write: the statement is withdrawn, the signature refused and nothing of it stored."""
    ws, ctx, cli = open_workspace(Settings()), reconciled, reconciled["cli"]
    st_id, ag, period = ctx["statement"], ctx["agreement"], ctx["period"]
    truth = json.loads((ctx["tmp"] / "net" / "truth.json").read_text())
    f = next(x for x in truth["files"] if x["service"].startswith("voice"))
    rows = list(csv.reader((ctx["tmp"] / "net" / f["file"]).read_text().splitlines()))
    for row in rows[1:6]:  # five calls a minute longer
        row[5] = str(int(row[5]) + 60)
    corrected = ctx["tmp"] / "corrected.csv"
    with corrected.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    signer = ag["parties"][0]
    read = statements.show_statement(ws, st_id).statement
    redeclared: list[int] = []

    def redeclare() -> None:
        redeclared.append(cycle_steps.import_usage(cli, corrected, f, period).code)

    refused = pytest.raises(InvalidTransitionError, match="changed while it was being signed")
    with before_first_write(ws, redeclare) as preceded, refused:
        statements.sign_statement(ws, st_id, signer, reviewed=read.digest)
    assert redeclared == [0] and len(preceded) == 1

    with pytest.raises(NotFoundError, match="withdrawn by declaration"):
        statements.show_statement(ws, st_id)
    assert _signed_events(ws, st_id) == []
    with ws.uow() as uow:
        (withdrawn,) = [e for e in uow.events.all(st_id) if e["kind"] == "statement.withdrawn"]
    assert json.loads(withdrawn["payload"])["signatures"] == []  # none was stored to be withdrawn


def test_a_signature_sent_to_the_hub_over_a_statement_reissued_meanwhile_is_refused(
    reconciled: dict[str, Any],
) -> None:
    """The hub's path (`submit_signature`: the operator signed on its side and sends the signature): the
    statement is re-issued between the hub's read of it and its first write, and the signature over the
    document the operator saw is refused, not stored against the new one."""
    ws, ctx = open_workspace(Settings()), reconciled
    st_id = ctx["statement"]
    last, d, read = _last_dispute_proposed(ws, ctx)
    # The provider's own side: its key signs the document it read.
    key = read_private_key(ws.settings.keys_dir / f"{d.provider}.pem", d.provider)
    signature = key.sign(read.document.encode())
    actor = Actor("U-1", f"{d.provider}-signer", d.provider, Role.SIGNER, "T-1")

    refused = pytest.raises(InvalidTransitionError, match="changed while it was being signed")
    with before_first_write(ws, lambda: dsp.accept(ws, last, d.customer)) as preceded, refused:
        statements.submit_signature(ws, st_id, actor, key.key_id, signature, read.digest)
    assert len(preceded) == 1

    now = statements.show_statement(ws, st_id)
    assert now.statement.digest != read.digest and now.signatures == ()
    assert _signed_events(ws, st_id) == []
    # Signed again over what it now says, it is taken.
    again = key.sign(now.statement.document.encode())
    done = statements.submit_signature(ws, st_id, actor, key.key_id, again, now.statement.digest)
    assert done.complete is False and [
        s.signature for s in statements.show_statement(ws, st_id).signatures
    ] == [again]
