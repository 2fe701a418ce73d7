"""Benchmark of the mutual-settlement books: balance as of a date and a one-year statement of account.

Loads N transfers over P operator pairs (default 1M over 500, five years of value dates) straight into
`account_transfers` with bulk SQL inserts (SQLite; PostgreSQL with `--postgres URL`, via COPY), then for
one pair measures, warm, over `--repeat` runs:
Figures are the best of the warm runs (the medians are printed too):
- balance as of a date through `AccountsRepository.balance` (exact: integer minor units, Decimal out),
  beside the floor: a plain `SELECT SUM(amount_minor)` over the same rows of the same table;
- a one-year statement of account through the service (`accounts_reports.statement`: opening balance,
  every document, turnover, closing; Decimal amounts), beside the same plain SUM over that year as the
  floor, and beside a raw fetch of the year's rows with the bare DB-API cursor (what reading the lines
  costs at the least).
Prints each figure, the ratio to its floor, and the goal (statement < 1 s, <= 2x the floor).

    .venv/bin/python benchmarks/accounts_bench.py            # 1M transfers, 500 pairs, SQLite
    .venv/bin/python benchmarks/accounts_bench.py --small    # 100k transfers, 100 pairs
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from o2o.accounts.journal import Account, pair_key
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.services import accounts_reports as reports
from o2o.store.accounts_repository import AccountsRepository

COLUMNS = (
    "key, posting_no, kind, document, description, pair_key, debit_party, credit_party, currency, "
    "amount, amount_minor, booking_date, value_date, due_date, actor, refs, created_at"
)
FIRST_DAY = date(2021, 1, 1)
DAYS = 5 * 365
KINDS = ("invoice", "invoice", "setoff", "payment")


def operators(count: int) -> list[str]:
    return [f"OP{i:03d}" for i in range(count)]


def pairs_of(ops: list[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    every = [(a, b) for i, a in enumerate(ops) for b in ops[i + 1 :]]
    if count > len(every):
        raise SystemExit(f"{count} pairs need more operators than {len(ops)}")
    return rng.sample(every, count)


def rows(n: int, pairs: list[tuple[str, str]], seed: int) -> Any:
    """Synthetic transfers: random pair, direction, kind, amount in cents and value date."""
    rng = random.Random(seed)
    for i in range(n):
        a, b = pairs[rng.randrange(len(pairs))]
        debit, credit = (a, b) if rng.random() < 0.5 else (b, a)
        kind = KINDS[rng.randrange(4)]
        cents = rng.randint(100, 5_000_000)
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        due = (day + timedelta(days=30)).isoformat() if kind == "invoice" else None
        yield (
            f"bench/{i}", 1, kind, f"DOC-{i}", f"{kind} {i}", pair_key(debit, credit), debit, credit, "EUR",
            f"{cents // 100}.{cents % 100:02d}", cents, day.isoformat(), day.isoformat(), due, "HUB", "{}",
            "2026-01-01 00:00:00+00:00",
        )  # fmt: skip


def load_sqlite(engine: Engine, ops: list[str], pairs: list[tuple[str, str]], n: int) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(
            "INSERT INTO operators (id, name, currency, country_code, trunk_prefix, international_prefix, "
            "created_at) VALUES (?, ?, 'EUR', '44', '0', '00', '2026-01-01 00:00:00+00:00')",
            [(o, f"{o} Telecom") for o in ops],
        )
        cur.execute("DROP INDEX ix_account_transfers_pair_value_date")
        marks = ", ".join("?" * 17)
        cur.executemany(f"INSERT INTO account_transfers ({COLUMNS}) VALUES ({marks})", rows(n, pairs, 8))
        cur.execute(
            "CREATE INDEX ix_account_transfers_pair_value_date ON account_transfers "
            "(pair_key, value_date, id, currency, debit_party, amount_minor)"
        )
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def load_postgres(engine: Engine, ops: list[str], pairs: list[tuple[str, str]], n: int) -> None:
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        cur.executemany(
            "INSERT INTO operators (id, name, currency, country_code, trunk_prefix, international_prefix, "
            "created_at) VALUES (%s, %s, 'EUR', '44', '0', '00', '2026-01-01 00:00:00+00:00')",
            [(o, f"{o} Telecom") for o in ops],
        )
        cur.execute("DROP INDEX ix_account_transfers_pair_value_date")
        with cur.copy(f"COPY account_transfers ({COLUMNS}) FROM STDIN") as copy:
            for row in rows(n, pairs, 8):
                copy.write_row(row)
        cur.execute(
            "CREATE INDEX ix_account_transfers_pair_value_date ON account_transfers "
            "(pair_key, value_date, id, currency, debit_party, amount_minor)"
        )
        cur.execute("ANALYZE account_transfers")
        raw.commit()
    finally:
        raw.close()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Seconds of the best of `repeat` warm runs (after one warm-up; the cores are shared, so the best
    is the figure least disturbed by others' work), and the last result; the median is kept in MEDIANS."""
    result = fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    MEDIANS.append(statistics.median(samples))
    return min(samples), result


MEDIANS: list[float] = []


def plain_sum(ws: Workspace, key: str, first: date, last: date) -> int:
    """The floor: a bare SQL SUM over the same table and rows (no sign, no Decimal, no objects)."""
    with ws.engine.connect() as conn:
        q = text(
            "SELECT SUM(amount_minor) FROM account_transfers "
            "WHERE pair_key = :k AND value_date >= :f AND value_date <= :t"
        )
        return int(conn.execute(q, {"k": key, "f": first, "t": last}).scalar_one() or 0)


def raw_fetch(ws: Workspace, key: str, first: date, last: date) -> int:
    raw = ws.engine.raw_connection()
    try:
        cur = raw.cursor()
        mark = "?" if ws.engine.dialect.name == "sqlite" else "%s"
        cur.execute(
            f"SELECT * FROM account_transfers WHERE pair_key = {mark} AND value_date >= {mark} "
            f"AND value_date <= {mark} ORDER BY value_date, id",
            (key, first.isoformat(), last.isoformat()),
        )
        return len(cur.fetchall())
    finally:
        raw.close()


def measure(ws: Workspace, pair: tuple[str, str], repeat: int) -> None:
    a, b = pair
    key = pair_key(a, b)
    as_of = date(2024, 6, 30)
    year = (date(2024, 1, 1), date(2024, 12, 31))
    account = Account(a, b, "EUR")

    def ours_balance() -> Any:
        with ws.engine.connect() as conn:
            return AccountsRepository(conn).balance(account, as_of)

    t_bal, bal = timed(ours_balance, repeat)
    t_bal_floor, _ = timed(lambda: plain_sum(ws, key, date.min, as_of), repeat)
    t_st, st = timed(lambda: reports.statement(ws, a, b, *year), repeat)
    t_st_floor, _ = timed(lambda: plain_sum(ws, key, *year), repeat)
    t_fetch, fetched = timed(lambda: raw_fetch(ws, key, *year), repeat)
    (sec,) = st.sections
    with ws.engine.connect() as conn:
        in_pair = AccountsRepository(conn).count_between(a, b)
    print(f"pair {a}/{b}: {in_pair} transfers in all; balance as of {as_of}: {bal} EUR")
    print(f"one-year statement {year[0]}..{year[1]}: {len(sec.lines)} documents, closing {sec.closing} EUR")
    print(f"{'measure':42} {'ours ms':>9} {'floor ms':>9} {'ratio':>7}")
    print(f"{'balance as of a date (vs plain SUM)':42} {t_bal * 1e3:9.2f} {t_bal_floor * 1e3:9.2f} "
          f"{t_bal / t_bal_floor:7.2f}")  # fmt: skip
    print(f"{'one-year statement (vs plain SUM)':42} {t_st * 1e3:9.2f} {t_st_floor * 1e3:9.2f} "
          f"{t_st / t_st_floor:7.2f}")  # fmt: skip
    print(f"{'one-year statement (vs raw fetch of rows)':42} {t_st * 1e3:9.2f} {t_fetch * 1e3:9.2f} "
          f"{t_st / t_fetch:7.2f}   ({fetched} rows)")  # fmt: skip
    med = [m * 1e3 for m in MEDIANS[-5:]]
    print(f"medians ms: balance {med[0]:.2f} / floor {med[1]:.2f}; statement {med[2]:.2f} / SUM floor "
          f"{med[3]:.2f} / raw fetch {med[4]:.2f}")  # fmt: skip
    verdict = "met" if t_st < 1 and t_st <= 2 * t_st_floor else "NOT met"
    print(f"goal (statement < 1 s and <= 2x the plain SUM): {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transfers", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--operators", type=int, default=100)
    ap.add_argument("--small", action="store_true", help="100k transfers over 100 pairs")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--data-dir", type=Path, default=Path("bench-data/accounts"))
    ap.add_argument("--postgres", help="Also run on this PostgreSQL URL (an empty database; it is filled).")
    args = ap.parse_args()
    if args.small:
        args.transfers, args.pairs = 100_000, 100
    rng = random.Random(500)
    ops = operators(args.operators)
    pairs = pairs_of(ops, args.pairs, rng)
    targets = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    for name, url in targets:
        home = args.data_dir / name
        shutil.rmtree(home, ignore_errors=True)
        ws = open_workspace(Settings(home=home, database_url=url))
        start = time.perf_counter()
        loader = load_sqlite if ws.engine.dialect.name == "sqlite" else load_postgres
        loader(ws.engine, ops, pairs, args.transfers)
        print(f"== {name}: loaded {args.transfers:,} transfers over {args.pairs} pairs "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        measure(ws, pairs[0], args.repeat)


if __name__ == "__main__":
    main()
