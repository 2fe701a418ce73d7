"""The chain client on the in-process chain (eth-tester with py-evm): the chain id is checked, nonces are
kept and resynchronised when another sender used the key, a registration counts only after N blocks, a node
that does not answer is retried and then named in one line, and a refusal carries the contract's reason."""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
import threading
import time

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from o2o.chain.client import ChainClient, ChainConfig
from o2o.chain.errors import ChainError, ChainRefused
from o2o.chain.settlement import SettlementContract


def _chain() -> tuple[EthereumTester, Web3, LocalAccount]:
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    hub = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": hub.address, "value": 10**20})
    return tester, w3, hub


def test_the_node_must_be_the_configured_chain() -> None:
    _, w3, _ = _chain()
    with pytest.raises(ChainError, match=r"is chain \d+, not the configured chain id 5"):
        ChainClient(w3, ChainConfig(url="eth-tester", chain_id=5))


def test_nonces_are_kept_locally_and_resynchronised_after_another_sender() -> None:
    _, w3, hub = _chain()
    client = ChainClient(w3, ChainConfig(url="eth-tester", chain_id=int(w3.eth.chain_id)))
    contract, _ = SettlementContract.deploy(client, hub, [])
    contract.send(hub, "anchorHead", 1, b"\x01" * 32, 1, b"\x00" * 64)
    assert client._nonces[hub.address] == 2
    # the same key sends elsewhere (another process): the client's nonce is now stale
    stranger = {"to": hub.address, "value": 0, "gas": 21000, "gasPrice": w3.eth.gas_price,
                "nonce": 2, "chainId": int(w3.eth.chain_id)}  # fmt: skip
    w3.eth.send_raw_transaction(hub.sign_transaction(stranger).raw_transaction)
    sent = contract.send(hub, "anchorHead", 2, b"\x02" * 32, 2, b"\x00" * 64)
    assert sent.receipt["status"] == 1 and client._nonces[hub.address] == 4
    assert contract.view("anchored_size") == 2


def test_a_registration_counts_after_the_configured_confirmations(monkeypatch: pytest.MonkeyPatch) -> None:
    tester, w3, hub = _chain()
    client = ChainClient(w3, ChainConfig(url="eth-tester", chain_id=int(w3.eth.chain_id), confirmations=3))
    waits: list[int] = []
    real_sleep, test_thread = time.sleep, threading.current_thread()

    def other_traffic(seconds: float) -> None:  # while the client waits, someone else makes a block
        # `time.sleep` is patched for every thread: another one of the process (e.g. Spark's py4j finalizer,
        # left by an earlier test on this worker) sleeps as it did and mines nothing on this chain.
        if threading.current_thread() is not test_thread:
            real_sleep(seconds)
            return
        waits.append(int(w3.eth.block_number))
        tester.mine_blocks(1)

    monkeypatch.setattr("o2o.chain.client.time.sleep", other_traffic)
    contract, deployed = SettlementContract.deploy(client, hub, [])
    assert w3.eth.block_number == deployed.block_number + 2 and len(waits) == 2
    sent = contract.send(hub, "anchorHead", 1, b"\x01" * 32, 1, b"\x00" * 64)
    assert w3.eth.block_number == sent.block_number + 2 and len(waits) == 4


def test_a_node_that_does_not_answer_is_retried_then_named() -> None:
    config = ChainConfig(url="http://127.0.0.1:9", chain_id=1, retries=1, timeout_s=1)
    with pytest.raises(
        ChainError, match=r"http://127.0.0.1:9 does not answer \(ConnectionError, 1 retries\)"
    ):
        ChainClient.connect(config)


def test_a_refusal_carries_the_contracts_reason_and_sends_nothing() -> None:
    _, w3, hub = _chain()
    client = ChainClient(w3, ChainConfig(url="eth-tester", chain_id=int(w3.eth.chain_id)))
    contract, _ = SettlementContract.deploy(client, hub, [])
    before = client.sent
    with pytest.raises(ChainRefused, match="the contract refused anchorHead: tree head does not grow"):
        contract.send(hub, "anchorHead", 0, b"\x01" * 32, 1, b"\x00" * 64)
    assert client.sent == before
