"""The repository of the mutual-settlement journal: books transfers and reads them back; never commits.

Balances are summed in SQL over `amount_minor` (exact integers on every backend) and converted back to
Decimal in the currency's minor unit; statements read one pair's date range through the covering index.
Booking a posting whose key is already booked returns the booked transfer when it is identical (a
retry), refuses a different one unless the earlier booking was reversed (then it becomes posting n+1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from o2o.accounts.journal import Account, Posting, Transfer, TransferKind, pair_key
from o2o.domain.errors import AlreadyExistsError, ConcurrencyError, NotFoundError
from o2o.domain.money import from_minor
from o2o.store.accounts_tables import account_transfers as tt

_c = tt.c


# The columns a Transfer is read from, in the order `_transfer` unpacks them.
_COLUMNS = (
    _c.id,
    _c.posting_no,
    _c.kind,
    _c.key,
    _c.document,
    _c.description,
    _c.debit_party,
    _c.credit_party,
    _c.amount,
    _c.currency,
    _c.booking_date,
    _c.value_date,
    _c.due_date,
    _c.actor,
    _c.reverses,
    _c.refs,
)


# Statements and balances run often: their queries are built once (bound parameters), not per call.
_SIGNED = case((_c.debit_party == bindparam("owner"), _c.amount_minor), else_=-_c.amount_minor)
_SUMS = select(_c.currency, func.sum(_SIGNED)).where(_c.pair_key == bindparam("pair"))
_SUMS_ALL = _SUMS.group_by(_c.currency).order_by(_c.currency)
_SUMS_UP_TO = _SUMS.where(_c.value_date <= bindparam("day")).group_by(_c.currency).order_by(_c.currency)
_SUMS_BEFORE = _SUMS.where(_c.value_date < bindparam("day")).group_by(_c.currency).order_by(_c.currency)
_RANGE = (
    select(*_COLUMNS)
    .where(
        _c.pair_key == bindparam("pair"),
        _c.value_date >= bindparam("first"),
        _c.value_date <= bindparam("last"),
    )
    .order_by(_c.value_date, _c.id)
)


class AccountsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- writing -------------------------------------------------------------------------------------

    def book(self, posting: Posting) -> Transfer:
        """Book `posting` (see the module docstring for repeated keys); return the booked transfer."""
        earlier = self.by_key(posting.key)
        reversed_ids = self._reversed_ids([t.id for t in earlier])
        live = [t for t in earlier if t.id not in reversed_ids]
        if live:
            if live[-1].same_content(posting):
                return live[-1]
            raise AlreadyExistsError(
                f"{posting.key} is already booked as transfer {live[-1].id} with different content; "
                "reverse it first (`o2o accounts reverse`)"
            )
        if posting.reverses is not None and posting.reverses in self._reversed_ids([posting.reverses]):
            raise AlreadyExistsError(f"transfer {posting.reverses} is already reversed")
        number = len(earlier) + 1
        try:
            result = self.conn.execute(insert(tt).values(**_row(posting, number)))
        except IntegrityError:
            raise ConcurrencyError(f"{posting.key} was booked by someone else at the same time") from None
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the new transfer")
        new_id = int(key[0])
        return self.get(new_id)

    # --- reading -------------------------------------------------------------------------------------

    def get(self, transfer_id: int) -> Transfer:
        row = self.conn.execute(select(*_COLUMNS).where(_c.id == transfer_id)).first()
        if row is None:
            raise NotFoundError(f"unknown transfer {transfer_id}")
        return _transfer(row)

    def by_key(self, key: str) -> list[Transfer]:
        q = select(*_COLUMNS).where(_c.key == key).order_by(_c.posting_no)
        return [_transfer(r) for r in self.conn.execute(q).all()]

    def reversal_of(self, transfer_id: int) -> Transfer | None:
        row = self.conn.execute(select(*_COLUMNS).where(_c.reverses == transfer_id)).first()
        return _transfer(row) if row else None

    def _reversed_ids(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        q = select(_c.reverses).where(_c.reverses.in_(ids))
        return {int(r[0]) for r in self.conn.execute(q)}

    def balance(self, account: Account, as_of: date | None = None) -> Decimal:
        """The exact balance of `account` (owner's side) as of `as_of` (value date), as a Decimal."""
        return self.balances_between(account.owner, account.counterparty, as_of).get(
            account.currency, from_minor(0, account.currency)
        )

    def balances_between(
        self, owner: str, counterparty: str, as_of: date | None = None
    ) -> dict[str, Decimal]:
        """Per currency, `owner`'s balances with `counterparty` as of `as_of` (value dates on or before)."""
        query = _SUMS_ALL if as_of is None else _SUMS_UP_TO
        return self._sums(query, owner, counterparty, as_of)

    def opening_between(self, owner: str, counterparty: str, before: date) -> dict[str, Decimal]:
        """Per currency, `owner`'s balances with `counterparty` just before `before`."""
        return self._sums(_SUMS_BEFORE, owner, counterparty, before)

    def _sums(self, query: Any, owner: str, counterparty: str, day: date | None) -> dict[str, Decimal]:
        params = {"owner": owner, "pair": pair_key(owner, counterparty), "day": day}
        return {cur: from_minor(int(total), cur) for cur, total in self.conn.execute(query, params)}

    def between(
        self,
        a: str,
        b: str,
        date_from: date | None = None,
        date_to: date | None = None,
        currency: str | None = None,
    ) -> list[Transfer]:
        """Transfers between `a` and `b` with value dates in [date_from, date_to], in value-date order."""
        if date_from is not None and date_to is not None and currency is None:
            params = {"pair": pair_key(a, b), "first": date_from, "last": date_to}
            return [_transfer(r) for r in self.conn.execute(_RANGE, params).all()]
        q = select(*_COLUMNS).where(_c.pair_key == pair_key(a, b))
        if date_from is not None:
            q = q.where(_c.value_date >= date_from)
        if date_to is not None:
            q = q.where(_c.value_date <= date_to)
        if currency is not None:
            q = q.where(_c.currency == currency)
        q = q.order_by(_c.value_date, _c.id)
        return [_transfer(r) for r in self.conn.execute(q).all()]

    def up_to(self, as_of: date, operator: str | None = None) -> list[Transfer]:
        """Every transfer with a value date on or before `as_of` (of one operator's accounts if named)."""
        q = select(*_COLUMNS).where(_c.value_date <= as_of)
        if operator is not None:
            q = q.where(or_(_c.debit_party == operator, _c.credit_party == operator))
        return [_transfer(r) for r in self.conn.execute(q.order_by(_c.id)).all()]

    def all_balances(self, as_of: date, operator: str | None = None) -> dict[Account, Decimal]:
        """Every account's balance as of `as_of` (both sides of each pair, or one operator's side)."""
        q = select(_c.debit_party, _c.credit_party, _c.currency, func.sum(_c.amount_minor)).where(
            _c.value_date <= as_of
        )
        if operator is not None:
            q = q.where(or_(_c.debit_party == operator, _c.credit_party == operator))
        q = q.group_by(_c.debit_party, _c.credit_party, _c.currency)
        minor: dict[Account, int] = {}
        for d, c, cur, total in self.conn.execute(q):
            minor[Account(d, c, cur)] = minor.get(Account(d, c, cur), 0) + int(total)
            minor[Account(c, d, cur)] = minor.get(Account(c, d, cur), 0) - int(total)
        return {
            acc: from_minor(units, acc.currency)
            for acc, units in sorted(minor.items())
            if operator is None or acc.owner == operator
        }

    def journal(self, kinds: Iterable[TransferKind] | None = None) -> list[Transfer]:
        q = select(*_COLUMNS).order_by(_c.id)
        if kinds is not None:
            q = q.where(_c.kind.in_([k.value for k in kinds]))
        return [_transfer(r) for r in self.conn.execute(q).all()]

    def count_between(self, a: str, b: str) -> int:
        q = select(func.count()).where(and_(_c.pair_key == pair_key(a, b)))
        return int(self.conn.execute(q).scalar_one())


def _row(p: Posting, number: int) -> dict[str, Any]:
    return {
        "key": p.key,
        "posting_no": number,
        "kind": p.kind.value,
        "document": p.document,
        "description": p.description,
        "pair_key": p.pair,
        "debit_party": p.debit_party,
        "credit_party": p.credit_party,
        "currency": p.currency,
        "amount": p.amount,
        "amount_minor": p.amount_minor,
        "booking_date": p.booking_date,
        "value_date": p.value_date,
        "due_date": p.due_date,
        "actor": p.actor,
        "reverses": p.reverses,
        "refs": json.dumps(dict(p.refs), sort_keys=True),
        "created_at": datetime.now(UTC),
    }


def _transfer(row: Any) -> Transfer:
    (id_, posting_no, kind, key, document, description, debit, credit, amount, currency, booked, value, due,
     actor, reverses, refs) = row  # fmt: skip
    return Transfer.trusted(
        id=id_,
        posting_no=posting_no,
        kind=TransferKind(kind),
        key=key,
        document=document,
        description=description,
        debit_party=debit,
        credit_party=credit,
        amount=amount,
        currency=currency,
        booking_date=booked,
        value_date=value,
        due_date=due,
        actor=actor,
        reverses=reverses,
        refs=StoredRefs(refs),
    )


class StoredRefs(Mapping[str, str]):
    """A transfer's source ids as stored (JSON), parsed on first use: statements never need them."""

    __slots__ = ("_parsed", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed: dict[str, str] | None = None

    def _data(self) -> dict[str, str]:
        if self._parsed is None:
            self._parsed = dict(json.loads(self._text))
        return self._parsed

    def __getitem__(self, key: str) -> str:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return repr(self._data())
