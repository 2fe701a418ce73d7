"""Registry benchmark: N registrations on each backend, beside raw transactions of the same size on the same node.

- central: N facts appended to the signed, hash-chained ledger on SQLite (canonical JSON, SHA-256, Ed25519,
  Merkle leaf, insert), committed every 200 — the central ledger's append rate;
- anchored: the same N appends plus the hub's signed tree head anchored on the contract every 100 entries
  (N/100 transactions, each signed, sent, confirmed);
- evm: N `registerObligation` transactions of the settlement contract (260 bytes of calldata: key, subject,
  digest, two parties, two amounts, currency), sent in batches of 200 and each confirmed;
- raw: N plain transactions from the same key to an account, carrying 260 bytes of data, through the same
  client and pipeline on the same node: the floor the evm registry is compared with (ratio of rates, and of
  gas per transaction). evm and raw run in alternating batches, each timed on its own, so that a load that
  comes and goes on the machine weighs on both alike.

The node is anvil from `make anvil` (automining: one block per transaction), started on a free loopback port
and stopped afterwards.

    .venv/bin/python benchmarks/registry_bench.py            # 10,000 registrations per backend
    .venv/bin/python benchmarks/registry_bench.py --small    # 1,000
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402

import o2o.chain  # noqa: E402, F401  (first: web3 imported quietly)
from o2o.chain.client import ChainClient, ChainConfig  # noqa: E402
from o2o.chain.settlement import SettlementContract, subject_hash  # noqa: E402
from o2o.ledger import HUB, Fact, Signer  # noqa: E402
from o2o.services.ledger import append_entries, ledger_of  # noqa: E402
from o2o.services.registry_demo import ANVIL_CHAIN_ID, local_anvil  # noqa: E402
from o2o.store.database import make_engine, migrate  # noqa: E402
from o2o.store.uow import UnitOfWork  # noqa: E402

BATCH = 200
ANCHOR_EVERY = 100
OPERATORS = ("ALFA", "BETA")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def central(
    path: Path, n: int, anchor: tuple[SettlementContract, LocalAccount] | None
) -> tuple[float, int, int]:
    """Append n facts (and anchor a head every ANCHOR_EVERY when `anchor`); seconds, transactions, gas."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    signers = {op: Signer.generate(op) for op in (HUB, *OPERATORS)}
    with UnitOfWork(engine) as uow:
        for s in signers.values():
            ledger_of(uow).register_key(s)
        uow.commit()
    txs = gas = 0
    started = time.perf_counter()
    for lo in range(0, n, ANCHOR_EVERY if anchor else BATCH):
        hi = min(lo + (ANCHOR_EVERY if anchor else BATCH), n)
        facts = [
            Fact("obligation.created", f"OB-{i}", {"id": f"OB-{i}", "amount": Decimal(i) / 100, "currency": "EUR",
                 "debtor": "ALFA", "creditor": "BETA"}, signers[HUB])
            for i in range(lo, hi)
        ]  # fmt: skip
        with UnitOfWork(engine) as uow:
            append_entries(uow, facts)
            head = ledger_of(uow).sign_head(signers[HUB]) if anchor else None
            uow.commit()
        if anchor and head is not None:
            contract, hub = anchor
            sent = contract.send(
                hub, "anchorHead", head.tree_size, bytes.fromhex(head.root_hash), int(time.time() * 1e6),
                bytes.fromhex(head.signature),
            )  # fmt: skip
            txs += 1
            gas += sent.gas_used
    return time.perf_counter() - started, txs, gas


def evm_and_raw(
    contract: SettlementContract, hub: LocalAccount, parties: list[str], size: int, n: int
) -> tuple[tuple[float, int], tuple[float, int]]:
    """n `registerObligation` registrations and n raw transactions of `size` bytes of data, in alternating
    batches of BATCH on the same node, each timed on its own: whatever else loads the machine meanwhile weighs
    on both alike, so their ratio holds. (seconds, gas) for the registrations, then for the raw transactions."""
    fn = contract.contract.functions["registerObligation"]
    client = contract.client
    sink = Account.create().address
    evm_t = raw_t = 0.0
    evm_gas = raw_gas = 0
    for lo in range(0, n, BATCH):
        hi = min(lo + BATCH, n)
        calls = [
            fn(_digest(f"key-{i}"), subject_hash(f"OB-{i}"), _digest(f"figures-{i}"), parties[0], parties[1],
               i * 100 + 1, i * 100 + 1, b"EUR")
            for i in range(lo, hi)
        ]  # fmt: skip
        started = time.perf_counter()
        evm_gas += sum(s.gas_used for s in client.transact_many(hub, calls))
        evm_t += time.perf_counter() - started
        txs = [
            {"to": sink, "value": 0, "data": i.to_bytes(size, "big"), "gas": 21_000 + 16 * size + 10_000}
            for i in range(lo, hi)
        ]
        started = time.perf_counter()
        raw_gas += sum(s.gas_used for s in client.send_many(hub, txs))  # type: ignore[arg-type, misc]
        raw_t += time.perf_counter() - started
    return (evm_t, evm_gas), (raw_t, raw_gas)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--small", action="store_true", help="1,000 registrations")
    parser.add_argument("--dir", type=Path, default=ROOT / "bench-data" / "registry")
    args = parser.parse_args()
    n = 1_000 if args.small else args.registrations
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)

    rows: list[tuple[str, float, int, int]] = []
    print(f"registry benchmark: {n:,} registrations per backend, anvil on loopback, batches of {BATCH}")
    print(f"  {'backend':<36} {'seconds':>8} {'reg/s':>9} {'txs':>7} {'gas/reg':>9}", flush=True)

    def row(name: str, t: float, txs: int, gas: int) -> None:
        rows.append((name, t, txs, gas))
        print(f"  {name:<36} {t:>8.2f} {n / t:>9,.0f} {txs:>7,} {gas / n if gas else 0:>9,.0f}", flush=True)

    t, _, _ = central(args.dir / "central.sqlite", n, None)
    row("central (ledger append)", t, 0, 0)
    with local_anvil() as url:
        client = ChainClient.connect(ChainConfig(url, ANVIL_CHAIN_ID))
        hub = Account.create()
        client.w3.provider.make_request("anvil_setBalance", [hub.address, hex(10**26)])  # type: ignore[arg-type]
        parties = [Account.create().address for _ in OPERATORS]
        contract, _ = SettlementContract.deploy(client, hub, parties)
        t, txs, gas = central(args.dir / "anchored.sqlite", n, (contract, hub))
        row(f"anchored (head every {ANCHOR_EVERY})", t, txs, gas)
        calldata = (
            len(
                contract.contract.functions["registerObligation"](
                    b"\0" * 32, b"\0" * 32, b"\0" * 32, parties[0], parties[1], 1, 1, b"EUR"
                )._encode_transaction_data()
            )
            // 2
            - 1
        )  # hex without 0x, in bytes
        (t, gas), (t_raw, gas_raw) = evm_and_raw(contract, hub, parties, calldata, n)
        row("evm (registerObligation)", t, n, gas)
        row(f"raw transactions ({calldata} bytes of data)", t_raw, n, gas_raw)

    evm_t, evm_gas = rows[2][1], rows[2][3]
    print(
        f"  evm vs raw transactions of the same size: rate {t_raw / evm_t:.2f}x of raw, "
        f"gas {evm_gas / gas_raw:.2f}x of raw"
    )
    print(f"  central vs evm: {rows[2][1] / rows[0][1]:.1f}x faster; anchored vs central: "
          f"{rows[1][1] / rows[0][1]:.2f}x the time")  # fmt: skip


if __name__ == "__main__":
    main()
