"""EIP-712 signatures over the settlement contract's typed messages.

The domain is `{name: "O2O Settle", version: "1", chainId, verifyingContract}`: a signature made for one chain
and one deployment verifies nowhere else. The two messages are `Statement(bytes32 digest,bytes32 subject)`
(a party agrees a statement) and `RoundAcceptance(bytes32 digest,bytes32 subject)` (a participant accepts a
netting round). The hashes are computed here exactly as the contract computes them (tests hold them equal to
the contract's `statement_hash`/`round_hash` and to eth-account's `encode_typed_data`).
"""

from __future__ import annotations

from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

DOMAIN_NAME = "O2O Settle"
DOMAIN_VERSION = "1"
DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
STATEMENT_TYPE = b"Statement(bytes32 digest,bytes32 subject)"
ROUND_TYPE = b"RoundAcceptance(bytes32 digest,bytes32 subject)"
PRIMARY = {STATEMENT_TYPE: "Statement", ROUND_TYPE: "RoundAcceptance"}


def domain_separator(chain_id: int, contract: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(DOMAIN_TYPE),
                keccak(DOMAIN_NAME.encode()),
                keccak(DOMAIN_VERSION.encode()),
                chain_id,
                to_checksum_address(contract),
            ],
        )
    )


def typed_hash(kind: bytes, digest: bytes, subject: bytes, chain_id: int, contract: str) -> bytes:
    """The EIP-712 hash of a `Statement` or `RoundAcceptance` message."""
    inner = keccak(encode(["bytes32", "bytes32", "bytes32"], [keccak(kind), digest, subject]))
    return keccak(b"\x19\x01" + domain_separator(chain_id, contract) + inner)


def typed_message(
    kind: bytes, digest: bytes, subject: bytes, chain_id: int, contract: str
) -> dict[str, object]:
    """The same message as eth-account's `full_message` (what a wallet shows its owner)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            PRIMARY[kind]: [{"name": "digest", "type": "bytes32"}, {"name": "subject", "type": "bytes32"}],
        },
        "primaryType": PRIMARY[kind],
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(contract),
        },
        "message": {"digest": digest, "subject": subject},
    }


def sign_typed(
    account: LocalAccount, kind: bytes, digest: bytes, subject: bytes, chain_id: int, contract: str
) -> bytes:
    """The 65-byte signature (r, s, v) of `account` over the typed message."""
    signed = account.unsafe_sign_hash(Hash32(typed_hash(kind, digest, subject, chain_id, contract)))
    return bytes(signed.signature)
