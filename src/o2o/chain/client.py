"""A web3.py client for a settlement chain: connection by URL and chain id, local signing, nonces, retries,
receipts and confirmations after N blocks.

- Keys never leave the process: transactions are signed locally (eth-account) and sent raw, so the node needs
  no unlocked account (Besu, GoQuorum and anvil alike).
- Nonces are kept per sender from the node's pending count and advanced locally; a "nonce too low" answer
  (another process sent from the same key) resynchronises and re-signs.
- A transaction is first estimated: a contract refusal is raised with its revert reason and nothing is sent.
- Sending and waiting are retried on connection errors (the same signed bytes are re-sent: same hash, so a
  retry never makes a second transaction); "already known" means the node has it.
- A receipt counts when its block has `confirmations` blocks on top (itself included) and the canonical
  chain still holds the transaction in a block of the same hash; after a reorganisation the client waits for
  the transaction again (re-sending its signed bytes if the node dropped it).
- Proof-of-authority networks (Besu/GoQuorum with QBFT, IBFT 2.0 or Clique) put more than 32 bytes in a
  block's extraData: `poa=True` injects web3's ExtraDataToPOAMiddleware so blocks parse.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import Nonce, TxParams, TxReceipt

from o2o.chain.errors import ChainError, ChainRefused

T = TypeVar("T")
TRANSIENT: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """Where the chain is and how sure a registration must be before it counts."""

    url: str
    chain_id: int
    confirmations: int = 1
    poa: bool = False
    timeout_s: float = 60.0
    retries: int = 5
    poll_s: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "chain_id": self.chain_id,
            "confirmations": self.confirmations,
            "poa": self.poa,
        }


@dataclass(frozen=True, slots=True)
class Sent:
    """A confirmed transaction: its hash, block, gas used."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    receipt: TxReceipt
    size: int = 0  # bytes of the signed transaction: what every node keeps in its blocks


class ChainClient:
    """One connection to one chain; sends transactions signed by local accounts."""

    def __init__(self, w3: Web3, config: ChainConfig) -> None:
        self.w3 = w3
        self.config = config
        self._nonces: dict[str, int] = {}
        self.sent = 0
        self.gas_used = 0
        self._seen_head = 0
        actual = self._retry(lambda: int(w3.eth.chain_id))
        if actual != config.chain_id:
            raise ChainError(f"{config.url} is chain {actual}, not the configured chain id {config.chain_id}")

    @classmethod
    def connect(cls, config: ChainConfig) -> ChainClient:
        """Connect over HTTP(S) to `config.url` and check it is chain `config.chain_id`."""
        w3 = Web3(Web3.HTTPProvider(config.url, request_kwargs={"timeout": config.timeout_s}))
        if config.poa:
            w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        return cls(w3, config)

    # -- retries ---------------------------------------------------------------------------------------
    def _retry(self, action: Callable[[], T]) -> T:
        delay = 0.1
        for attempt in range(self.config.retries + 1):
            try:
                return action()
            except TRANSIENT as exc:
                if attempt == self.config.retries:
                    raise ChainError(
                        f"the chain node at {self.config.url} does not answer "
                        f"({type(exc).__name__}, {self.config.retries} retries)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    # -- contracts -------------------------------------------------------------------------------------
    def contract(self, address: str, abi: Sequence[dict[str, Any]]) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def deploy(
        self, account: LocalAccount, abi: Sequence[dict[str, Any]], bytecode: str, *args: Any
    ) -> tuple[str, Sent]:
        """Deploy a contract; its address and the confirmed creation transaction."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        tx: TxParams = {"from": account.address, "data": data}
        sent = self._send_tx(account, tx)
        address = sent.receipt["contractAddress"]
        if address is None:
            raise ChainError("the deployment transaction created no contract")
        return str(address), sent

    def call(self, fn: ContractFunction) -> Any:
        return self._retry(fn.call)

    def transact(self, account: LocalAccount, fn: ContractFunction) -> Sent:
        """Send a contract call signed by `account`; a refusal is raised with the contract's reason."""
        return self.transact_many(account, [fn])[0]

    def transact_many(self, account: LocalAccount, fns: Sequence[ContractFunction]) -> list[Sent]:
        """Send independent contract calls signed by `account` back to back (consecutive nonces), then wait for
        each one's confirmations: one round trip of waiting for the batch instead of one per call.
        Each call is estimated against the current state first, so a call that depends on another in the same
        batch must go in a later batch."""
        txs = [self._call_tx(account, fn) for fn in fns]
        return self.send_many(account, txs)

    def _call_tx(self, account: LocalAccount, fn: ContractFunction) -> TxParams:
        try:
            gas = self._retry(lambda: fn.estimate_gas({"from": account.address}))
        except ContractLogicError as exc:
            raise ChainRefused(f"the contract refused {fn.fn_name}: {_reason(exc)}") from None
        except Exception as exc:
            # eth-tester (the in-process chain) reports a revert with its own exception class
            if "execution reverted" not in str(exc):
                raise
            raise ChainRefused(f"the contract refused {fn.fn_name}: {_reason(exc)}") from None
        return {"to": fn.address, "data": fn._encode_transaction_data(), "gas": gas + gas // 5 + 10_000}

    def send_many(self, account: LocalAccount, txs: Sequence[TxParams]) -> list[Sent]:
        """Sign and send transactions back to back, then wait for each one's receipt and confirmations."""
        price = self._retry(lambda: self.w3.eth.gas_price)
        pending = [self._submit(account, dict(tx), price) for tx in txs]  # type: ignore[arg-type]
        out = []
        self._seen_head = 0
        for tx_hash, raw in pending:
            sent = replace(self._confirmed(tx_hash, raw), size=len(raw))
            self.sent += 1
            self.gas_used += sent.gas_used
            if sent.receipt["status"] != 1:
                raise ChainRefused(f"transaction {sent.tx_hash} failed in block {sent.block_number}")
            out.append(sent)
        return out

    # -- sending ---------------------------------------------------------------------------------------
    def _nonce(self, address: str, refresh: bool = False) -> int:
        if refresh or address not in self._nonces:
            self._nonces[address] = self._retry(
                lambda: int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending"))
            )
        return self._nonces[address]

    def _send_tx(self, account: LocalAccount, tx: TxParams) -> Sent:
        tx = dict(tx)  # type: ignore[assignment]
        tx.setdefault("from", account.address)
        tx["chainId"] = self.config.chain_id
        if "gas" not in tx:
            tx["gas"] = self._retry(lambda: int(self.w3.eth.estimate_gas(tx))) * 6 // 5 + 10_000
        return self.send_many(account, [tx])[0]

    def _submit(self, account: LocalAccount, tx: TxParams, price: Any) -> tuple[HexBytes, bytes]:
        """Sign with the next nonce and send; a stale nonce (another sender) is refreshed once."""
        tx["chainId"] = self.config.chain_id
        tx["gasPrice"] = price
        tx.pop("from", None)
        for refresh in (False, True):
            tx["nonce"] = Nonce(self._nonce(account.address, refresh))
            raw = bytes(account.sign_transaction(tx).raw_transaction)  # type: ignore[arg-type]
            try:
                tx_hash = self._send_raw(raw)
            except _NonceTooLow:
                continue
            self._nonces[account.address] = int(tx["nonce"]) + 1
            return tx_hash, raw
        raise ChainError(f"the nonce of {account.address} keeps being taken by another sender")

    def _send_raw(self, raw: bytes) -> HexBytes:
        expected = HexBytes(Web3.keccak(raw))
        try:
            return HexBytes(self._retry(lambda: self.w3.eth.send_raw_transaction(raw)))
        except ChainError:
            raise
        except Exception as exc:  # each node words these differently (and eth-tester raises its own class)
            text = str(exc).lower()
            if any(m in text for m in ("already known", "known transaction", "already imported")):
                return expected
            if any(m in text for m in ("nonce too low", "nonce is too low", "invalid transaction nonce")):
                raise _NonceTooLow() from None
            if not isinstance(exc, Web3RPCError | ValueError):
                raise
            raise ChainError(f"the node refused the transaction: {exc}") from None

    def _confirmed(self, tx_hash: HexBytes, raw: bytes) -> Sent:
        """Wait for the receipt and `confirmations` blocks, then check the block still holds it."""
        deadline = time.monotonic() + self.config.timeout_s
        while time.monotonic() < deadline:
            receipt = self._receipt(tx_hash, deadline)
            if receipt is None:
                # dropped (a reorganisation or a restarted node): the same signed bytes again
                self._resend(raw, tx_hash)
                continue
            number = int(receipt["blockNumber"])
            if self.config.confirmations == 1:
                again: TxReceipt | None = receipt  # its own block is the one confirmation asked for
            else:
                while self._head() < number + self.config.confirmations - 1:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(self.config.poll_s)
                    self._seen_head = 0
                again = self._lookup(tx_hash)
            if again is None:  # reorganised away (or the node lost it): the same signed bytes again
                self._resend(raw, tx_hash)
                continue
            if again["blockHash"] == receipt["blockHash"]:
                return Sent(
                    HexBytes(tx_hash).to_0x_hex(),
                    number,
                    HexBytes(receipt["blockHash"]).to_0x_hex(),
                    int(receipt["gasUsed"]),
                    receipt,
                )
        raise ChainError(
            f"transaction {HexBytes(tx_hash).to_0x_hex()} not confirmed by {self.config.confirmations} "
            f"blocks within {self.config.timeout_s:.0f} s"
        )

    def _head(self) -> int:
        """The chain's height, asked again only when the last answer is not high enough (a batch waits once)."""
        if not self._seen_head:
            self._seen_head = self._retry(lambda: int(self.w3.eth.block_number))
        return self._seen_head

    def _resend(self, raw: bytes, tx_hash: HexBytes) -> None:
        try:
            self._send_raw(raw)
        except _NonceTooLow:
            raise ChainError(
                f"transaction {HexBytes(tx_hash).to_0x_hex()} was dropped and its nonce taken by another "
                "transaction of the same key"
            ) from None

    def _lookup(self, tx_hash: HexBytes) -> TxReceipt | None:
        """The receipt the node has now (one question, no waiting)."""
        try:
            return self._retry(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        except TransactionNotFound:
            return None

    def _receipt(self, tx_hash: HexBytes, deadline: float) -> TxReceipt | None:
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            return self._retry(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=remaining, poll_latency=self.config.poll_s
                )
            )
        except (TimeExhausted, TransactionNotFound):
            return None


class _NonceTooLow(Exception):
    pass


def _reason(exc: Exception) -> str:
    message = str(getattr(exc, "message", None) or exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")
