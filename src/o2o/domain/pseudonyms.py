"""Pseudonyms of subscriber numbers: a keyed hash that only the two parties of an agreement can make.

A pseudonym is HMAC-SHA256 (RFC 2104) under the parties' shared secret of the normalised number's E.164
digits, its first 64 bits taken modulo 9·10^14 and added to 10^14: fifteen decimal digits, the first not
zero. So it is what every number path of the hub already takes (an E.164-shaped digit string that no
prefix rule changes), equal numbers give equal pseudonyms, and without the secret one cannot be turned
back into its number nor made from one. Two different numbers share a pseudonym with probability about
1.1·10^-15 per pair; a record pairs with another only when both of its numbers do.

`pseudonym` is the reference in Python; `sql_pseudonym` the same function as DuckDB SQL (`sha256` over
BLOBs), which the streaming pseudonymiser runs.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from o2o.domain.errors import ValidationError

BLOCK = 64  # SHA-256's block size: HMAC pads the key to it
MIN_SECRET_BYTES = 32
SPACE = 9 * 10**14
FLOOR = 10**14
PSEUDONYM_DIGITS = 15
# How a pseudonym looks (RE2 and Python `re`): what the hub's import takes as one.
PSEUDONYM_PATTERN = "[1-9][0-9]{14}"


def pseudonym(secret: bytes, number: str) -> str:
    """The pseudonym of the E.164 digits `number` under `secret`."""
    mac = hmac.digest(secret, number.encode(), "sha256")
    return str(FLOOR + int.from_bytes(mac[:8], "big") % SPACE)


def _pads(secret: bytes) -> tuple[str, str]:
    key = hashlib.sha256(secret).digest() if len(secret) > BLOCK else secret
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def sql_pseudonym(column: str, secret: bytes) -> str:
    """DuckDB SQL of the pseudonym of the VARCHAR `column` (NULL stays NULL), as `pseudonym` gives it."""
    inner_pad, outer_pad = _pads(secret)
    inner = f"sha256(unhex('{inner_pad}') || encode({column}))"
    mac = f"sha256(unhex('{outer_pad}') || unhex({inner}))"
    return f"CAST({FLOOR} + CAST('0x' || substr({mac}, 1, 16) AS UBIGINT) % {SPACE} AS VARCHAR)"


def read_secret(path: Path) -> bytes:
    """The shared secret in the file `path` (its bytes, surrounding white space left out): at least
    `MIN_SECRET_BYTES` long."""
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        raise ValidationError(f"--secret-file {path}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"--secret-file {path}: is a folder, not a file") from None
    except OSError as exc:
        raise ValidationError(f"--secret-file {path}: cannot read: {exc.strerror or exc}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ValidationError(
            f"--secret-file {path}: the secret is {len(secret)} bytes, at least {MIN_SECRET_BYTES} are needed "
            "(make one both parties keep: `openssl rand -hex 32 > FILE`)"
        )
    return secret
