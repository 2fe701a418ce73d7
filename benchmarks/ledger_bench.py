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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Span:
    """Wall-clock and CPU seconds of one measured step (on a shared machine the CPU time is the steadier)."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def raw_rates(count: int) -> tuple[Span, Span]:
    """Time to sign and to verify `count` 32-byte messages with bare cryptography Ed25519."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    messages = [os.urandom(32) for _ in range(count)]
    sign, verify = Span(), Span()
    with sign.measure():
        signatures = [key.sign(m) for m in messages]
    with verify.measure():
        for m, s in zip(messages, signatures, strict=True):
            public.verify(s, m)
    return sign, verify


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


def append_all(url: str, signers: dict[str, Signer], count: int, batch: int, one_by_one: bool) -> Span:
    """Append `count` facts, committing every `batch`; one `append_entry` call each, or `append_entries`."""
    engine = make_engine(url)
    migrate(engine)
    with UnitOfWork(engine) as uow:
        for signer in signers.values():
            ledger_of(uow).register_key(signer)
        uow.commit()
    span = Span()
    with span.measure():
        for lo in range(0, count, batch):
            facts = [_fact(i, signers) for i in range(lo, min(lo + batch, count))]
            with UnitOfWork(engine) as uow:
                if one_by_one:
                    for f in facts:
                        append_entry(uow, f.kind, f.subject, f.payload, f.signer.operator, f.signer)
                else:
                    append_entries(uow, facts)
                uow.commit()
    with UnitOfWork(engine) as uow:
        ledger_of(uow).sign_head(signers[HUB])
        uow.commit()
    return span


def _row(name: str, count: int, span: Span, floor: Span | None, floor_count: int) -> str:
    wall, cpu = count / span.wall, count / span.cpu
    text = f"  {name:<40} {wall:>9,.0f}/s wall {cpu:>9,.0f}/s cpu"
    if floor is not None:
        raw_wall, raw_cpu = floor_count / floor.wall, floor_count / floor.cpu
        text += f"   ratio to raw: {wall / raw_wall:.2f} wall, {cpu / raw_cpu:.2f} cpu"
    return text


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

    m = min(n, 20_000)
    sign, verify = raw_rates(m)
    single = append_all(f"sqlite:///{args.dir / 'single.sqlite'}", signers, n, args.batch, one_by_one=True)
    batched = append_all(url, signers, n, args.batch, one_by_one=False)

    engine = make_engine(url)
    verify_db, export_span, verify_file = Span(), Span(), Span()
    with verify_db.measure(), UnitOfWork(engine) as uow:
        report = ledger_of(uow).verify()
    assert report.ok, report.findings[:5]
    export = args.dir / "ledger.jsonl"
    with export_span.measure(), UnitOfWork(engine) as uow:
        repo = SqlLedgerRepository(uow.connection)
        book = ledger_of(uow)
        write_export(export, repo.entries(), repo.tree_heads(), book.size, format_time(now_utc()))
        keys = book.keyring()
    with verify_file.measure():
        export_report = verify_export(export, keys)
    assert export_report.ok, export_report.findings[:5]

    # The floor is measured again at the end and its faster run kept, so the ratios are conservative.
    sign2, verify2 = raw_rates(m)
    sign = sign if sign.wall <= sign2.wall else sign2
    verify = verify if verify.wall <= verify2.wall else verify2
    total = report.entries
    print(
        f"ledger benchmark: {n:,} entries appended ({total:,} with key registrations), "
        f"commit every {args.batch}, python {sys.version.split()[0]}"
    )
    print(_row("raw Ed25519 sign (cryptography)", m, sign, None, m))
    print(_row("raw Ed25519 verify (cryptography)", m, verify, None, m))
    print(_row("append_entry one by one, SQLite", n, single, sign, m))
    print(_row("append_entries batched, SQLite", n, batched, sign, m))
    print(_row("verify from SQLite", total, verify_db, verify, m))
    print(_row("verify of the JSONL export", total, verify_file, verify, m))
    print(_row("export to JSONL", total, export_span, None, m))
    verify_ratio = min(total / verify_db.cpu, total / verify_file.cpu) / (m / verify.cpu)
    print(
        f"  goals (cpu time): append >= 5,000/s: one by one {n / single.cpu:,.0f}, "
        f"batched {n / batched.cpu:,.0f}; "
        f"verify >= 0.50 of raw: {verify_ratio:.2f}"
    )
    print(
        f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
        f"export {export.stat().st_size / 2**20:.1f} MiB; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
