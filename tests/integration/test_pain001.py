"""pain.001.001.09 against the official XSD (as the `sepaxml` package ships it): a message of a round's
payments validates; one the XSD refuses is a one-line error naming where; currencies never mix in a file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from o2o.documents.pain001 import Account, CreditTransfer, PaymentFile, build_pain001, validate_pain001
from o2o.domain.errors import ValidationError

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
ALFA = Account("ALFA", "Alfa Telecom Ltd", "GB29STLB00000100000001", "STLBGB2X")
BRAVO = Account("BRAVO", "Bravo Telecom GmbH", "DE54100200300000000002", "STLBDE2X")


def _file(*transfers: CreditTransfer, currency: str = "EUR") -> PaymentFile:
    return PaymentFile("RND-2026-10-1-EUR", datetime(2026, 11, 1, tzinfo=UTC), date(2026, 12, 1), "hub",
                       currency, transfers)  # fmt: skip


def test_a_round_s_payments_validate_and_add_up() -> None:
    pf = _file(
        CreditTransfer("PAY-1", ALFA, BRAVO, Decimal("10.05"), "EUR", "round 1"),
        CreditTransfer("PAY-2", BRAVO, ALFA, Decimal("0.01"), "EUR", "round 1"),
        CreditTransfer("PAY-3", ALFA, BRAVO, Decimal("1234567.89"), "EUR", "round 1"),
    )
    xml = build_pain001(pf)
    validate_pain001(xml)
    root = ET.fromstring(xml)
    assert [a.text for a in root.iterfind(".//p:InstdAmt", NS)] == ["10.05", "1234567.89", "0.01"]
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1234577.95"
    assert len(root.findall(".//p:PmtInf", NS)) == 2  # one per debtor


def test_what_the_xsd_refuses_is_one_line() -> None:
    bad = Account("BRAVO", "Bravo", "DE54100200300000000002", "not-a-bic")
    xml = build_pain001(_file(CreditTransfer("PAY-1", ALFA, bad, Decimal("1.00"), "EUR", "r")))
    with pytest.raises(ValidationError) as err:
        validate_pain001(xml, "PAY.xml")
    assert "PAY.xml: not valid pain.001.001.09" in str(err.value) and "\n" not in str(err.value)
    assert "BICFI" in str(err.value)


def test_a_file_has_one_currency() -> None:
    with pytest.raises(ValidationError, match="in GBP, the file in EUR"):
        build_pain001(_file(CreditTransfer("PAY-1", ALFA, BRAVO, Decimal("1.00"), "GBP", "r")))
