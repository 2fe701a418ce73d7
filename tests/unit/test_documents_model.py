"""The document model's invariants: rows fit their columns, amounts carry their currency's decimals (widened from
the store's scale, never rounded), and the canonical JSON is deterministic with the digest its SHA-256."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest

from o2o.documents.model import (
    CellKind,
    Column,
    Document,
    DocumentKind,
    LegalParty,
    Section,
    Table,
    Total,
)
from o2o.domain.errors import ValidationError

COLUMNS = (
    Column("item", "Item", CellKind.TEXT),
    Column("currency", "Currency", CellKind.TEXT),
    Column("amount", "Amount", CellKind.AMOUNT, "currency"),
)


def _doc(table: Table) -> Document:
    return Document(
        DocumentKind.INVOICE, "INV-1", "Invoice", date(2026, 11, 1), "2026-10",
        (LegalParty("ALFA", "provider", "Alfa"),), (Section("s", "S", (), (table,)),),
        (Total("due", "Due", Decimal("12.5"), "EUR"),),
    )  # fmt: skip


def test_amounts_are_widened_to_the_minor_unit_never_rounded() -> None:
    t = Table(
        "t",
        "T",
        COLUMNS,
        (("a", "EUR", Decimal(0)), ("b", "JPY", Decimal(15)), ("c", "EUR", Decimal("1.005"))),
    )
    assert [str(r[2]) for r in t.rows] == ["0.00", "15", "1.005"]
    # A statement line an agreement rounds finer than the currency keeps its places.
    assert str(Table("t", "T", COLUMNS, (("a", "JPY", Decimal("1.5")),)).rows[0][2]) == "1.5"


def test_rows_must_fit_their_columns_and_kinds() -> None:
    with pytest.raises(ValidationError, match="a row of 2 cells for 3 columns"):
        Table("t", "T", COLUMNS, (("a", "EUR"),))
    with pytest.raises(ValidationError, match="not amount"):
        Table("t", "T", COLUMNS, (("a", "EUR", 12),))
    with pytest.raises(ValidationError, match="has no currency"):
        Table("t", "T", (Column("amount", "Amount", CellKind.AMOUNT),), ((Decimal(1),),))


def test_canonical_json_is_deterministic_and_the_digest_is_its_sha256() -> None:
    doc = _doc(Table("t", "T", COLUMNS, (("a", "EUR", Decimal("3.10")),)))
    again = _doc(Table("t", "T", COLUMNS, (("a", "EUR", Decimal("3.1")),)))
    assert doc.canonical() == again.canonical()
    assert doc.digest == hashlib.sha256(doc.canonical()).hexdigest()
    data = json.loads(doc.canonical())
    assert data["totals"][0]["amount"] == "12.50"
    assert data["sections"][0]["tables"][0]["rows"] == [["a", "EUR", "3.10"]]
    assert b" " not in doc.canonical().replace(b"Invoice", b"")  # no whitespace between tokens
