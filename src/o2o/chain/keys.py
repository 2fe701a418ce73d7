"""Operators' secp256k1 keys for the chain, beside their Ed25519 ledger keys.

A chain key lives in `$O2O_HOME/keys/OP.chain.json` (0600): the raw private key in hex when there is no
passphrase, an encrypted keystore (Web3 Secret Storage v3, scrypt) when there is one. Its address is what
the settlement contract knows the operator by; nothing else about the operator goes on chain.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from o2o.chain.errors import ChainError

CHAIN_KEY_SUFFIX = ".chain.json"


def chain_key_path(keys_dir: Path, operator: str) -> Path:
    return keys_dir / f"{operator}{CHAIN_KEY_SUFFIX}"


def write_chain_key(path: Path, account: LocalAccount, passphrase: bytes | None) -> None:
    """Write a new key file at 0600; an existing one is never overwritten."""
    if passphrase:
        body = Account.encrypt(account.key, passphrase.decode("utf-8"))
        data = {"address": account.address, "keystore": body}
    else:
        data = {"address": account.address, "private_key": account.key.hex()}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out)
        out.write("\n")


def read_chain_key(path: Path, operator: str, passphrase: bytes | None = None) -> LocalAccount:
    """The operator's chain account from its key file (a passphrase is needed when the file is encrypted)."""
    if not path.exists():
        raise ChainError(f"{operator} has no chain key (make one: `o2o keys generate {operator} --chain`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "keystore" in data:
            if not passphrase:
                raise ChainError(
                    f"the chain key of {operator} ({path}) is encrypted: give --passphrase-file FILE"
                )
            key = bytes(Account.decrypt(data["keystore"], passphrase.decode("utf-8")))
        else:
            key = bytes.fromhex(str(data["private_key"]).removeprefix("0x"))
        account: LocalAccount = Account.from_key(key)
    except ChainError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainError(f"{path}: not a chain key of {operator} ({exc})") from None
    if account.address != data.get("address"):
        raise ChainError(f"{path}: the key does not match the address it names")
    return account


def chain_key_address(path: Path) -> str:
    """The address a key file names (readable without the passphrase)."""
    return str(json.loads(path.read_text(encoding="utf-8"))["address"])


def new_account() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account
