"""Pseudonyms: HMAC-SHA256 (checked against RFC 4231's vectors) as fifteen digits, the same in DuckDB SQL."""

from __future__ import annotations

import random
import re
from pathlib import Path

import duckdb
import pytest

from o2o.domain.errors import ValidationError
from o2o.domain.pseudonyms import FLOOR, PSEUDONYM_PATTERN, SPACE, pseudonym, read_secret, sql_pseudonym

# RFC 4231 test cases 2 (a short key) and 6 (a key longer than the block): key, data, HMAC-SHA-256.
RFC4231 = [
    (b"Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 131, "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
]  # fmt: skip


def _sql(secret: bytes, texts: list[str | None]) -> list[str | None]:
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT {sql_pseudonym('n', secret)} FROM (SELECT unnest(?) AS n, generate_subscripts(?, 1) AS i) "
            "ORDER BY i",
            [texts, texts],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.mark.parametrize(("key", "data", "mac"), RFC4231)
def test_a_pseudonym_is_the_hmac_sha256_of_the_number(key: bytes, data: str, mac: str) -> None:
    expected = str(FLOOR + int(mac[:16], 16) % SPACE)
    assert pseudonym(key, data) == expected
    assert _sql(key, [data]) == [expected]


def test_the_sql_gives_the_python_pseudonym_for_any_secret_and_number() -> None:
    rng = random.Random(7)
    for length in (32, 63, 64, 65, 200):
        secret = bytes(rng.randrange(256) for _ in range(length))
        numbers: list[str | None] = ["".join(rng.choice("0123456789") for _ in range(rng.randint(3, 15)))
                                     for _ in range(200)]  # fmt: skip
        numbers.append(None)
        expected = [None if n is None else pseudonym(secret, n) for n in numbers]
        assert _sql(secret, numbers) == expected
        assert all(re.fullmatch(PSEUDONYM_PATTERN, p) for p in expected if p is not None)
    assert pseudonym(b"k" * 32, "447700900123") != pseudonym(b"j" * 32, "447700900123")


def test_a_secret_is_read_from_its_file_or_refused_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "s"
    good.write_bytes(b"  " + b"x" * 32 + b"\n")
    assert read_secret(good) == b"x" * 32
    short = tmp_path / "short"
    short.write_text("x" * 31)
    for path, says in (
        (short, "31 bytes, at least 32"),
        (tmp_path / "none", "no such file"),
        (tmp_path, "folder"),
    ):
        with pytest.raises(ValidationError, match=says) as caught:
            read_secret(path)
        assert "\n" not in str(caught.value)
