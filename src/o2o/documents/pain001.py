"""ISO 20022 `pain.001.001.09` (customer credit transfer initiation) for a netting round's payments, and a CSV.

One message per currency (a bank file and its control sums never mix currencies); inside it one payment
information block per debtor (its account and agent) and one credit transfer per payment instruction, whose
end-to-end id is the instruction's id, so a bank statement names the instruction it paid. Amounts are written
exactly as stored (the currency's minor unit). `validate_pain001` checks a message against the official XSD as
shipped by the `sepaxml` package (`sepaxml/schemas/pain.001.001.09.xsd`, ISO 20022's own schema file).
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from o2o.domain.errors import ValidationError

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
XSD_PACKAGE = "sepaxml"
XSD_FILE = "sepaxml/schemas/pain.001.001.09.xsd"


@dataclass(frozen=True, slots=True)
class Account:
    """A party's name and bank account as the payment file names them."""

    operator: str
    name: str
    iban: str
    bic: str


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    payment_id: str  # the instruction's id: the end-to-end id (max 35)
    debtor: Account
    creditor: Account
    amount: Decimal
    currency: str
    remittance: str


@dataclass(frozen=True, slots=True)
class PaymentFile:
    message_id: str  # max 35
    created: datetime
    execution_date: date
    initiator: str
    currency: str
    transfers: tuple[CreditTransfer, ...]

    @property
    def control_sum(self) -> Decimal:
        return sum((t.amount for t in self.transfers), Decimal(0))


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _agent(parent: ET.Element, tag: str, bic: str) -> None:
    _sub(_sub(_sub(parent, tag), "FinInstnId"), "BICFI", bic)


def _account(parent: ET.Element, tag: str, iban: str) -> None:
    _sub(_sub(_sub(parent, tag), "Id"), "IBAN", iban)


def _max(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def build_pain001(pf: PaymentFile) -> bytes:
    """The message as UTF-8 XML bytes."""
    for t in pf.transfers:
        if t.currency != pf.currency:
            raise ValidationError(f"payment {t.payment_id} is in {t.currency}, the file in {pf.currency}")
        if t.amount <= 0:
            raise ValidationError(f"payment {t.payment_id}: amount {t.amount} must be positive")
    ET.register_namespace("", NAMESPACE)
    doc = ET.Element("Document", xmlns=NAMESPACE)
    root = _sub(doc, "CstmrCdtTrfInitn")
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", _max(pf.message_id, 35))
    _sub(hdr, "CreDtTm", pf.created.replace(microsecond=0).isoformat())
    _sub(hdr, "NbOfTxs", str(len(pf.transfers)))
    _sub(hdr, "CtrlSum", str(pf.control_sum))
    _sub(_sub(hdr, "InitgPty"), "Nm", _max(pf.initiator, 140))
    debtors: dict[str, list[CreditTransfer]] = {}
    for t in pf.transfers:
        debtors.setdefault(t.debtor.operator, []).append(t)
    for n, (operator, transfers) in enumerate(sorted(debtors.items()), start=1):
        debtor = transfers[0].debtor
        inf = _sub(root, "PmtInf")
        _sub(inf, "PmtInfId", _max(f"{pf.message_id}-{n:03d}-{operator}", 35))
        _sub(inf, "PmtMtd", "TRF")
        _sub(inf, "NbOfTxs", str(len(transfers)))
        _sub(inf, "CtrlSum", str(sum((t.amount for t in transfers), Decimal(0))))
        _sub(_sub(inf, "ReqdExctnDt"), "Dt", pf.execution_date.isoformat())
        _sub(_sub(inf, "Dbtr"), "Nm", _max(debtor.name, 140))
        _account(inf, "DbtrAcct", debtor.iban)
        _agent(inf, "DbtrAgt", debtor.bic)
        for t in transfers:
            tx = _sub(inf, "CdtTrfTxInf")
            pid = _sub(tx, "PmtId")
            _sub(pid, "InstrId", _max(t.payment_id, 35))
            _sub(pid, "EndToEndId", _max(t.payment_id, 35))
            amt = _sub(_sub(tx, "Amt"), "InstdAmt", str(t.amount))
            amt.set("Ccy", t.currency)
            _agent(tx, "CdtrAgt", t.creditor.bic)
            _sub(_sub(tx, "Cdtr"), "Nm", _max(t.creditor.name, 140))
            _account(tx, "CdtrAcct", t.creditor.iban)
            _sub(_sub(tx, "RmtInf"), "Ustrd", _max(t.remittance, 140))
    ET.indent(doc)
    body: bytes = ET.tostring(doc, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def xsd_path() -> Path:
    """The official XSD from the installed `sepaxml` distribution (located, not imported)."""
    try:
        found = Path(str(metadata.distribution(XSD_PACKAGE).locate_file(XSD_FILE)))
    except metadata.PackageNotFoundError:
        raise ValidationError(
            f"the pain.001.001.09 XSD is not installed (it ships with the Python package {XSD_PACKAGE})"
        ) from None
    if not found.is_file():
        raise ValidationError(f"the pain.001.001.09 XSD is missing from the installed {XSD_PACKAGE}: {found}")
    return found


def validate_pain001(xml: bytes, source: str = "pain.001") -> None:
    """Raise a one-line error naming the first place the message breaks the XSD."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(xsd_path()))
    errors = list(schema.iter_errors(xml.decode("utf-8")))
    if errors:
        first = errors[0]
        where = getattr(first, "path", None) or ""
        raise ValidationError(
            f"{source}: not valid pain.001.001.09 ({len(errors)} errors): {where}: {first.reason}"
        )


CSV_COLUMNS = (
    "payment_id", "execution_date", "currency", "amount", "debtor", "debtor_name", "debtor_iban", "debtor_bic",
    "creditor", "creditor_name", "creditor_iban", "creditor_bic", "remittance",
)  # fmt: skip


def payments_csv(files: Sequence[PaymentFile]) -> str:
    """Every transfer of the files as one CSV (amounts exactly as stored)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for pf in files:
        for t in pf.transfers:
            d, c = t.debtor, t.creditor
            writer.writerow([t.payment_id, pf.execution_date.isoformat(), t.currency, str(t.amount),
                             d.operator, d.name, d.iban, d.bic, c.operator, c.name, c.iban, c.bic, t.remittance])  # fmt: skip
    return out.getvalue()
