"""Ledger benchmark: append N entries on SQLite through the store, then verify them; beside the raw rates.

The floor is `cryptography`'s own Ed25519: signing and verifying 32-byte messages in a tight loop, measured
in the same run. Appending includes canonical JSON, hashing, signing, the Merkle leaf and the SQL insert
(committed per unit of work of `--batch` entries); verifying includes reading, re-hashing, checking every
signature, the chain, the sequence and the tree heads. Goals: append >= 5,000 entries/s; verify at >= 50%
of the raw verify rate.

    .venv/bin/python benchmarks/ledger_bench.py            # 100,000 entries
    .venv/bin/python benchmarks/ledger_bench.py --small    # 10,000 entries
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from o2o.ledger import HUB, Fact, Signer  # noqa: E402
from o2o.ledger.chain import format_time  # noqa: E402
from o2o.ledger.export import verify_export, write_export  # noqa: E402
from o2o.services.ledger import append_entries, append_entry, ledger_of  # noqa: E402
from o2o.store.database import make_engine, migrate  # noqa: E402
from o2o.store.ledger_repository import SqlLedgerRepository  # noqa: E402
from o2o.store.repositories import now_utc  # noqa: E402
from o2o.store.uow import UnitOfWork  # noqa: E402

OPERATORS = ("ALFA", "BETA", "GAMA", "DELT")


def raw_rates(count: int) -> tuple[float, float]:
    """Signatures and verifications per second of bare cryptography Ed25519 on 32-byte messages."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    messages = [os.urandom(32) for _ in range(count)]
    start = time.perf_counter()
    signatures = [key.sign(m) for m in messages]
    sign_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for m, s in zip(messages, signatures, strict=True):
        public.verify(s, m)
    verify_rate = count / (time.perf_counter() - start)
    return sign_rate, verify_rate


def _fact(i: int, signers: dict[str, Signer]) -> Fact:
    actor = OPERATORS[i % len(OPERATORS)]
    payload = {
        "agreement": f"AGR-{actor}-{OPERATORS[(i + 1) % len(OPERATORS)]}",
        "period": f"2026-{i % 12 + 1:02d}",
        "amount": Decimal(i) / 100,
        "currency": "EUR",
        "statement_sha256": f"{i:064x}",
    }
    return Fact("statement.signed", f"ST-{i}", payload, signers[actor])


def append_all(url: str, signers: dict[str, Signer], count: int, batch: int, one_by_one: bool) -> float:
    """Append `count` facts, committing every `batch`; one `append_entry` call each, or `append_entries`."""
    engine = make_engine(url)
    migrate(engine)
    with UnitOfWork(engine) as uow:
        for signer in signers.values():
            ledger_of(uow).register_key(signer)
        uow.commit()
    start = time.perf_counter()
    for lo in range(0, count, batch):
        facts = [_fact(i, signers) for i in range(lo, min(lo + batch, count))]
        with UnitOfWork(engine) as uow:
            if one_by_one:
                for f in facts:
                    append_entry(uow, f.kind, f.subject, f.payload, f.signer.operator, f.signer)
            else:
                append_entries(uow, facts)
            uow.commit()
    elapsed = time.perf_counter() - start
    with UnitOfWork(engine) as uow:
        ledger_of(uow).sign_head(signers[HUB])
        uow.commit()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="10,000 entries")
    parser.add_argument("--batch", type=int, default=1000, help="entries per unit of work (commit)")
    parser.add_argument("--dir", type=Path, default=ROOT / "bench-data" / "ledger")
    args = parser.parse_args()
    n = 10_000 if args.small else args.entries
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    url = f"sqlite:///{args.dir / 'ledger.sqlite'}"
    signers = {op: Signer.generate(op) for op in (HUB, *OPERATORS)}

    sign_rate, verify_rate = raw_rates(min(n, 20_000))
    single_s = append_all(f"sqlite:///{args.dir / 'single.sqlite'}", signers, n, args.batch, one_by_one=True)
    append_s = append_all(url, signers, n, args.batch, one_by_one=False)

    engine = make_engine(url)
    start = time.perf_counter()
    with UnitOfWork(engine) as uow:
        report = ledger_of(uow).verify()
    verify_db_s = time.perf_counter() - start
    assert report.ok, report.findings[:5]

    export = args.dir / "ledger.jsonl"
    start = time.perf_counter()
    with UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        book = ledger_of(uow)
        write_export(export, repo.entries(), repo.tree_heads(), book.size, format_time(now_utc()))
        keys = book.keyring()
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    export_report = verify_export(export, keys)
    verify_file_s = time.perf_counter() - start
    assert export_report.ok, export_report.findings[:5]

    # The floor is measured again at the end and its best is kept: on a shared machine that makes the
    # ratios conservative (the project is compared with the fastest the raw library managed in this run).
    sign_again, verify_again = raw_rates(min(n, 20_000))
    sign_rate, verify_rate = max(sign_rate, sign_again), max(verify_rate, verify_again)
    total = report.entries
    verify_ratio = min(total / verify_file_s, total / verify_db_s) / verify_rate
    append_rate = n / append_s
    single_rate = n / single_s
    rows = [
        ("raw Ed25519 sign (cryptography)", sign_rate, "sig/s", None),
        ("raw Ed25519 verify (cryptography)", verify_rate, "sig/s", None),
        ("ledger append_entry one by one, SQLite", single_rate, "entries/s", single_rate / sign_rate),
        ("ledger append_entries batched, SQLite", append_rate, "entries/s", append_rate / sign_rate),
        ("ledger verify from SQLite", total / verify_db_s, "entries/s", total / verify_db_s / verify_rate),
        (
            "ledger verify of the JSONL export",
            total / verify_file_s,
            "entries/s",
            total / verify_file_s / verify_rate,
        ),
        ("ledger export to JSONL", total / export_s, "entries/s", None),
    ]
    print(
        f"ledger benchmark: {n:,} entries appended ({total:,} with key registrations), "
        f"python {sys.version.split()[0]}"
    )
    for name, rate, unit, ratio in rows:
        vs = f"  ratio to raw: {ratio:.2f}" if ratio is not None else ""
        print(f"  {name:<42} {rate:>12,.0f} {unit:<10}{vs}")
    print(f"  (commit every {args.batch} entries)")
    print(
        f"  goals: append >= 5,000 entries/s -> one by one {'met' if single_rate >= 5000 else 'NOT met'}, "
        f"batched {'met' if append_rate >= 5000 else 'NOT met'}; "
        f"verify >= 0.50 of raw verify -> {'met' if verify_ratio >= 0.5 else 'NOT met'}"
    )
    print(
        f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"export {export.stat().st_size / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
