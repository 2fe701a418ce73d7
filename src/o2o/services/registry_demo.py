"""`o2o demo --registry anchored|evm`: the demo's cycle carried to a settlement contract on a real node.

After the cycle has run on the central ledger, every party gets a chain key (beside its ledger key), the
contract is deployed on the node (anvil, started here on a free loopback port and stopped afterwards, unless
`--chain-url` names one), the registrations are published and then verified from the chain's events alone.
The figures: transactions, gas used, blocks, seconds to register, and whether the chain agrees.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.errors import NotFoundError
from o2o.ledger.keys import HUB
from o2o.services.registry import (
    RegistryConfig,
    chain_key_file,
    generate_chain_key,
    publish,
    verify_registry,
)

ANVIL_CHAIN_ID = 31337


def anvil_binary() -> Path:
    """anvil from `O2O_ANVIL`, else the project's `.tools/npm` (`make anvil`), else the PATH."""
    named = os.environ.get("O2O_ANVIL")
    candidates = [Path(named)] if named else []
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidates += sorted((root / ".tools/npm/node_modules/@foundry-rs").glob("anvil-*/bin/anvil"))
    on_path = shutil.which("anvil")
    candidates += [Path(on_path)] if on_path else []
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise NotFoundError("anvil is not installed: `make anvil` installs it from npm (@foundry-rs/anvil)")


@contextmanager
def local_anvil() -> Iterator[str]:
    """An anvil node on a free loopback port for the duration; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def chain_demo(
    ws: Workspace,
    mode: str,
    url: str | None = None,
    chain_id: int = ANVIL_CHAIN_ID,
    dev_fund: bool | None = None,
) -> dict[str, Any]:
    """Chain keys for every party, the contract deployed, the ledger published and verified from the chain.
    Without `url`, on a local anvil started for the purpose (and the hub funded there); with `url`, on that
    node (a new contract each time; `dev_fund` asks the node, a development one, to fund the hub)."""
    from o2o.services.registry_chain import deploy

    with ws.uow() as uow:
        parties = [HUB, *(op.id for op in uow.operators.all())]
    for party in parties:
        if not chain_key_file(ws, party).exists():
            generate_chain_key(ws, party)
    RegistryConfig.path(ws).unlink(missing_ok=True)  # a new contract each time
    with local_anvil() if url is None else _given(url) as node:
        deployed = deploy(ws, url=node, chain_id=chain_id, mode=mode, dev_fund=url is None or bool(dev_fund))
        published = publish(ws, mode, force=True)
        report = verify_registry(ws, mode)
    return {
        "registry": mode,
        "node": "anvil (local)" if url is None else node,
        "contract": deployed["contract"],
        "participants": len(deployed["participants"]),
        "transactions": published.transactions + 1,
        "gas_used": published.gas_used + int(deployed["gas_used"]),
        "blocks": len(published.blocks) + 1,
        "registrations": published.registrations,
        "deploy_gas_used": int(deployed["gas_used"]),
        "deploy_bytes": int(deployed["size"]),
        "seconds_to_register": round(published.seconds, 2),
        "chain_bytes": published.chain_bytes + int(deployed["size"]),
        "verified_from_chain": report.ok,
        "findings": [f.message for f in report.findings],
        "events": report.counts,
    }


def probe_latency(ws: Workspace, cfg: RegistryConfig, samples: int) -> float:
    """The median seconds from sending one registration to its confirmation. The probes are registrations
    outside the workspace's record: `registry verify` of that contract reports them afterwards."""
    import statistics

    from o2o.chain.settlement import SettlementContract
    from o2o.services.registry_chain import _account, connect

    contract = SettlementContract(connect(cfg), cfg.contract)
    hub = _account(ws, HUB)
    times = []
    for i in range(samples):
        key = os.urandom(32)
        started = time.perf_counter()
        contract.send(hub, "registerFact", key, key, key, f"probe.{i}".encode().ljust(32, b"\0"))
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


class AnvilNode:
    """An anvil node on a fixed loopback port that can be stopped and started again: its state is saved to
    `state` when it stops and loaded from it when it starts (a node's own disk). `sync_from` brings it up to
    date from another node (`anvil_dumpState` there, `anvil_loadState` here: anvil has no peer-to-peer)."""

    def __init__(self, state: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.state = state
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True)
        command = [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        command += ["--state", str(self.state)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._rpc("eth_chainId") is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise NotFoundError(f"anvil did not start on {self.url}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # anvil writes its state on the way out
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def sync_from(self, peer: AnvilNode) -> None:
        state = peer._rpc("anvil_dumpState")
        if state is None or self._rpc("anvil_loadState", [state]) is not True:
            raise NotFoundError(f"could not bring the node at {self.url} up to date from {peer.url}")

    def _rpc(self, method: str, params: list[Any] | None = None) -> Any:
        import httpx

        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        try:
            answer = httpx.post(self.url, json=body, timeout=30).json()
        except (httpx.HTTPError, ValueError):
            return None
        return answer.get("result")
