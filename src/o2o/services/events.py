"""The events feed: what happened to a caller's agreements, read from the ledger (`GET /api/v1/events`).

The ledger already registers every transition (declarations, cycle moves, statements, disputes and their
proposals, signatures, obligations, netting rounds, payment confirmations, keys), so the feed is a view of
it, not a second record: an event is a ledger entry, its cursor is the entry's `seq`, and its type is the
entry's kind. Entries are appended in `seq` order and a `seq` is taken once (its primary key), so a cursor
never skips an event committed late.

An operator sees the entries of the agreements it is a party to, of netting rounds and payments it takes part
in (with its own instructions and positions only) and of its own keys; the hub's admin sees every entry.
Handy kinds for integrations: `declaration.imported` (its `declarer` says whether the counterparty
declared), `cycle.agreed` (the statement is ready to sign), `dispute.proposed` (a proposal received),
`netting.round` (payment instructions issued), `payment.confirmed`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.domain.identity import Actor, Permission
from o2o.ledger.entries import LedgerEntry
from o2o.store.uow import UnitOfWork

# At most this many ledger entries are read per page: a long run of other pairs' entries ends a page early
# (with a cursor past them), so one call never reads the whole ledger.
SCAN_LIMIT = 5000
MAX_PAGE = 1000
_PAGE = 500  # ledger entries read per query
# The highest cursor: a ledger position is a 64-bit integer in the store, and the feed reads from after + 1.
MAX_POSITION = (1 << 62) - 1
_PERIOD_AFTER = re.compile(r"\d{4}-\d{2}(-|$)")
# Who did it through the hub (user and token ids) is the acting operator's business, not its counterparty's.
_PRIVATE = ("by_user", "by_token")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    time: str
    subject: str
    actor: str
    agreement: str | None
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "type": self.type, "time": self.time, "subject": self.subject,
            "actor": self.actor, "agreement": self.agreement, "data": dict(self.data),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    next_after: int  # the cursor to ask with next (the last entry read, matched or not)
    more: bool = field(default=False)  # whether entries beyond `next_after` were already there

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": [e.to_dict() for e in self.events],
            "next_after": self.next_after,
            "more": self.more,
        }


class _Scope:
    """Which entries concern one operator (None: the hub, every entry), and what it may see of them."""

    def __init__(self, uow: UnitOfWork, operator: str | None) -> None:
        self.uow = uow
        self.operator = operator
        stored = uow.agreements.all()
        self.agreements = {
            a.id: (a.party_a, a.party_b)
            for a in stored
            if operator is None or operator in (a.party_a, a.party_b)
        }
        # Longest first: an id that is another's prefix ("A" and "A-B") is tried after it.
        self.ids = sorted(self.agreements, key=len, reverse=True)

    def agreement_of(self, entry: LedgerEntry) -> str | None:
        """The agreement an entry is about, among the operator's, when the entry is about one."""
        kind, subject = entry.kind, entry.subject
        if kind.startswith(("cycle.", "declaration.")) and "/" in subject:
            ag = subject.rsplit("/", 1)[0]
            return ag if ag in self.agreements else None
        prefix = {"statement": "ST-", "dispute": "DSP-", "obligation": "OBL-"}.get(kind.split(".", 1)[0])
        if prefix is None or not subject.startswith(prefix):
            return None
        for ag in self.ids:
            head = f"{prefix}{ag}-"
            if subject.startswith(head) and _PERIOD_AFTER.match(subject, len(head)):
                return ag
        return None

    def event(self, entry: LedgerEntry) -> Event | None:
        """The entry as the operator's event, or None when it does not concern the operator."""
        agreement = self.agreement_of(entry)
        data: dict[str, Any] | None = dict(entry.payload)
        if self.operator is not None:
            payload = dict(entry.payload)
            data = self._operators_view(entry, payload) if agreement is None else _public(payload)
        if data is None:
            return None
        return Event(entry.seq, entry.kind, entry.time, entry.subject, entry.actor, agreement, data)

    def _operators_view(self, entry: LedgerEntry, data: dict[str, Any]) -> dict[str, Any] | None:
        """An entry about no agreement of the operator's: a round, a payment or a key of its own, or nothing."""
        me = self.operator
        if entry.kind == "netting.round":
            mine = [p for p in data.get("payment_instructions", []) if me in (p.get("payer"), p.get("payee"))]
            positions = {
                cur: figures["positions"][me]
                for cur, figures in data.get("currencies", {}).items()
                if me in figures.get("positions", {})
            }
            if not mine and not positions:
                return None
            return {"round": entry.subject, "payment_instructions": mine, "positions": positions}
        if entry.kind == "payment.confirmed":
            try:
                pay = self.uow.cycles.payment(entry.subject)
            except NotFoundError:
                return None
            if me not in (pay.payer, pay.payee):
                return None
            return _public(data) | {"payer": pay.payer, "payee": pay.payee, "round": pay.round_id}
        if entry.kind.startswith("key.") and entry.subject == me:
            return _public(data)
        return None


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _PRIVATE}


def events_of(uow: UnitOfWork, operator: str | None, after: int, limit: int) -> EventPage:
    """The events of `operator` (None: every entry) after ledger entry `after`, at most `limit`, in the
    caller's unit of work."""
    scope = _Scope(uow, operator)
    found: list[Event] = []
    last = after
    more = False
    for scanned, entry in enumerate(_entries(uow, after + 1)):
        if len(found) >= limit or scanned >= SCAN_LIMIT:
            more = True
            break
        last = entry.seq
        event = scope.event(entry)
        if event is not None:
            found.append(event)
    return EventPage(found, last, more)


def _entries(uow: UnitOfWork, start: int) -> Iterable[LedgerEntry]:
    """The entries from `start`, read a page at a time (pages, not a stream: a reader that stops early
    leaves no cursor open on the server)."""
    while page := uow.ledger_store.entries_page(start, _PAGE):
        yield from page
        start = page[-1].seq + 1


def list_events(ws: Workspace, actor: Actor, after: int = -1, limit: int = 100) -> EventPage:
    """`GET /api/v1/events?after=N`: the caller's events after the entry `after` (-1: from the start)."""
    actor.require(Permission.READ)
    if not -1 <= after <= MAX_POSITION:
        raise ValidationError(f"after: {after} is not a ledger position (-1 to {MAX_POSITION})")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit: {limit} is not between 1 and {MAX_PAGE}")
    with ws.uow() as uow:
        return events_of(uow, actor.operator, after, limit)


def ledger_position(uow: UnitOfWork) -> int:
    """The `seq` of the last ledger entry (-1 on an empty ledger): where a new feed reader starts."""
    last = uow.ledger_store.last_entry()
    return -1 if last is None else last.seq
