"""Ed25519 keys of operators and of the hub: generation, PEM files, key ids, signers and trusted key rings.

Invariants:
- a key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key, so a key id names one key;
- a private key file is created with mode 0600 (readable by its owner only, whatever the umask) in a 0700
  folder, and never overwritten silently;
- an encrypted key read without its passphrase is a one-line error naming the option that gives it;
- a `PublicKeyRing` holds the keys a verifier trusts; it is built from a JSON file or from the store,
  never from the data being verified.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from o2o.domain.errors import AlreadyExistsError, NotFoundError, SignatureError, ValidationError
from o2o.domain.operators import check_operator_id

HUB = "HUB"
"""The operator id of the settlement hub, which signs tree heads."""

KEYRING_FORMAT = "o2o-public-keys/1"


def check_signer_id(value: str) -> str:
    """A signer is an operator id or `HUB`."""
    return value if value == HUB else check_operator_id(value)


def key_id_of(public_raw: bytes) -> str:
    if len(public_raw) != 32:
        raise ValidationError(f"an Ed25519 public key has 32 bytes, not {len(public_raw)}")
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_raw_of(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class PublicKeyRecord:
    """A registered public key: whose it is, its id and the raw key in hex."""

    operator: str
    key_id: str
    public_key: str

    def __post_init__(self) -> None:
        check_signer_id(self.operator)
        try:
            raw = bytes.fromhex(self.public_key)
        except ValueError as exc:
            raise ValidationError(f"public key of {self.operator}: not hex") from exc
        if key_id_of(raw) != self.key_id:
            raise ValidationError(
                f"public key of {self.operator}: key id {self.key_id} does not match the key"
            )

    def to_dict(self) -> dict[str, str]:
        return {"operator": self.operator, "key_id": self.key_id, "public_key": self.public_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublicKeyRecord:
        try:
            return cls(str(data["operator"]), str(data["key_id"]), str(data["public_key"]))
        except KeyError as exc:
            raise ValidationError(f"public key record lacks {exc.args[0]!r}") from exc


class Signer:
    """One party's private key: signs messages, names itself by operator and key id."""

    __slots__ = ("_private", "key_id", "operator", "public_key")

    def __init__(self, operator: str, private: Ed25519PrivateKey) -> None:
        self.operator = check_signer_id(operator)
        self._private = private
        raw = public_raw_of(private.public_key())
        self.key_id = key_id_of(raw)
        self.public_key = raw.hex()

    @classmethod
    def generate(cls, operator: str) -> Signer:
        return cls(operator, Ed25519PrivateKey.generate())

    @property
    def record(self) -> PublicKeyRecord:
        return PublicKeyRecord(self.operator, self.key_id, self.public_key)

    def sign(self, message: bytes) -> str:
        return self._private.sign(message).hex()

    def private_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


def write_private_key(path: Path, signer: Signer, passphrase: bytes | None = None) -> None:
    """Write the PEM with mode 0600 from the first byte on; refuse to replace an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AlreadyExistsError(f"a key for {signer.operator} already exists at {path}") from exc
    os.fchmod(fd, 0o600)  # os.open's mode passes through the umask; this does not
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.private_pem(passphrase))


def read_private_key(path: Path, operator: str, passphrase: bytes | None = None) -> Signer:
    """Load an operator's signer from its PEM file (decrypting it with the passphrase if it has one)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(
            f"no private key for {operator} at {path} (run `o2o keys generate {operator}`)"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        if passphrase is None:
            also = " or set O2O_HUB_PASSPHRASE_FILE" if operator == HUB else ""
            raise SignatureError(
                f"the key of {operator} at {path} is encrypted: give its passphrase with "
                f"--passphrase-file FILE (or --passphrase-env VAR){also}"
            ) from exc
        raise SignatureError(f"the key of {operator} at {path} is not encrypted: give no passphrase") from exc
    except ValueError as exc:
        raise SignatureError(f"the key of {operator} at {path} cannot be read (wrong passphrase?)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"the key of {operator} at {path} is not an Ed25519 key")
    return Signer(operator, key)


def read_passphrase(path: Path, option: str = "--passphrase-file") -> bytes:
    """A passphrase from its file: the first line, without its line end (what `echo pass > FILE` writes)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{option} {path}: no such file") from exc
    except OSError as exc:
        raise ValidationError(f"{option} {path}: cannot be read ({exc.strerror})") from exc
    first = text.splitlines()[0] if text else b""
    if not first:
        raise ValidationError(f"{option} {path}: the file is empty")
    return first


class PublicKeyRing:
    """The public keys a verifier trusts, by operator and key id; verifies signatures."""

    def __init__(self, records: Iterable[PublicKeyRecord] = ()) -> None:
        self._records: dict[tuple[str, str], PublicKeyRecord] = {}
        self._keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        for record in records:
            self.add(record)

    def add(self, record: PublicKeyRecord) -> None:
        slot = (record.operator, record.key_id)
        self._records[slot] = record
        self._keys[slot] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(record.public_key))

    def __iter__(self) -> Iterator[PublicKeyRecord]:
        return iter(self._records.values())

    def __len__(self) -> int:
        return len(self._records)

    def get(self, operator: str, key_id: str) -> PublicKeyRecord | None:
        return self._records.get((operator, key_id))

    def key_ids(self, operator: str) -> list[str]:
        return [kid for (op, kid) in self._records if op == operator]

    def verify(self, operator: str, key_id: str, signature_hex: str, message: bytes) -> bool:
        """True when the trusted key (operator, key_id) made the signature; False for any failure."""
        key = self._keys.get((operator, key_id))
        if key is None:
            return False
        try:
            key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> str:
        records = sorted(self._records.values(), key=lambda r: (r.operator, r.key_id))
        return json.dumps({"format": KEYRING_FORMAT, "keys": [r.to_dict() for r in records]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> PublicKeyRing:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"public keys file is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise ValidationError(f"public keys file: expected format {KEYRING_FORMAT!r}")
        return cls(PublicKeyRecord.from_dict(item) for item in data.get("keys", []))

    @classmethod
    def read(cls, path: Path) -> PublicKeyRing:
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFoundError(f"no public keys file at {path}") from exc
