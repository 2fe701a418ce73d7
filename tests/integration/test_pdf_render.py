"""The PDF renderer and the PAdES adapter on a document built here (no store): a long table runs over pages that
each repeat its header and carry the number, the digest and `page n of N`; a signer with an ECDSA P-256 key
(the alternative to Ed25519) signs and verifies through its own CA; an unknown language is refused."""

from __future__ import annotations

import datetime as dt
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from o2o.documents.model import (
    BankAccount,
    CellKind,
    Column,
    Document,
    DocumentKind,
    LegalParty,
    Section,
    SignatureLine,
    Table,
    Total,
)
from o2o.documents.pdf import render_pdf
from o2o.documents.pdf_signing import sign_pdf, verify_pdf
from o2o.domain.errors import SignatureError, ValidationError

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
import pdf_tools as pdf


def _document(rows: int) -> Document:
    columns = (
        Column("service", "Service", CellKind.TEXT),
        Column("events", "Events", CellKind.INTEGER),
        Column("provider_amount", "Provider's figure", CellKind.AMOUNT),
        Column("agreed_amount", "Agreed", CellKind.AMOUNT),
    )
    body = tuple(
        (f"voice-{i:03d}", 1000 + i, Decimal(f"{1234567 + i}.{i % 100:02d}"), Decimal("0.05"))
        for i in range(rows)
    )
    table = Table("lines", "Service lines", columns, body, currency="EUR")
    parties = (
        LegalParty("ALFA", "provider", "Alfa", "Alfa Telecom plc", "1 Long Road, London", "GB123456789",
                   BankAccount("GB33BUKB20201555555555", "BUKBGB22", "Barclays")),
        LegalParty("BRAVO", "customer", "Bravo", None),
    )  # fmt: skip
    return Document(
        DocumentKind.STATEMENT, "ST-TEST-2026-10", "Statement of traffic and charges", date(2026, 11, 3),
        "2026-10", parties, (Section("lines", "Service lines", tables=(table,)),),
        totals=(Total("agreed", "Agreed", Decimal("9.99"), "EUR"),),
        signatures=(SignatureLine("ALFA", "provider"), SignatureLine("BRAVO", "customer")),
    )  # fmt: skip


def test_a_long_table_runs_over_numbered_pages_with_its_header_repeated(tmp_path: Path) -> None:
    doc = _document(150)
    path = render_pdf(doc, tmp_path / "long.pdf")
    pages = pdf.page_count(path)
    assert pages >= 3
    for page in range(1, pages + 1):
        text = pdf.text(path, page)
        assert doc.number in text and f"SHA-256 {doc.digest}" in text and f"page {page} of {pages}" in text
    for page in range(1, pages):  # the table's header on every page it runs over
        assert "Provider's" in pdf.text(path, page)
    text = pdf.text(path)
    for i in range(150):
        assert f"{1234567 + i:,}.{i % 100:02d}" in text
    assert "Alfa Telecom plc" in text and "GB33BUKB20201555555555" in text and "—" in text


def test_an_unknown_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="--lang 'de'"):
        render_pdf(_document(1), tmp_path / "x.pdf", lang="de")


def _ca_and_signer(
    operator: str,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate, x509.Certificate]:
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bravo own CA")])

    def build(
        subject: x509.Name, public: ec.EllipticCurvePublicKey, ca: bool, commits: bool
    ) -> x509.Certificate:
        usage = x509.KeyUsage(not ca, commits, False, False, False, ca, ca, False, False)
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip

    ca_cert = build(ca_name, ca_key.public_key(), True, False)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, operator)])
    cert = build(subject, key.public_key(), False, True)
    weak = build(subject, key.public_key(), False, False)
    return key, cert, ca_cert, weak


def test_a_p256_signer_signs_through_its_own_ca(tmp_path: Path) -> None:
    path = render_pdf(_document(3), tmp_path / "doc.pdf")
    key, cert, ca_cert, weak = _ca_and_signer("BRAVO")
    check = sign_pdf(path, tmp_path / "signed.pdf", "BRAVO", key, [cert, ca_cert], [ca_cert])
    assert check.ok and check.signer == "BRAVO"
    report = verify_pdf(tmp_path / "signed.pdf", [ca_cert])
    assert report.ok and report.unsigned == ("ALFA",)
    assert not verify_pdf(tmp_path / "signed.pdf", []).ok  # no CA trusted: not trusted
    other_key, _, _, _ = _ca_and_signer("BRAVO")
    with pytest.raises(SignatureError, match="not for this key"):
        sign_pdf(path, tmp_path / "x.pdf", "BRAVO", other_key, [cert, ca_cert], [ca_cert])
    with pytest.raises(SignatureError, match="nonRepudiation"):
        sign_pdf(path, tmp_path / "x.pdf", "BRAVO", key, [weak, ca_cert], [ca_cert])
    assert not (tmp_path / "x.pdf").exists()


def test_a_signature_added_by_another_tool_for_a_non_party_is_reported(tmp_path: Path) -> None:
    """`sign` refuses a non-party; a signature slipped in with pyHanko directly is named as not a party's."""
    import io

    from cryptography.hazmat.primitives import serialization
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    path = render_pdf(_document(2), tmp_path / "doc.pdf")
    key, cert, ca_cert, _ = _ca_and_signer("GAMMA")
    with pytest.raises(SignatureError, match="GAMMA is not a party"):
        sign_pdf(path, tmp_path / "x.pdf", "GAMMA", key, [cert, ca_cert], [ca_cert])
    (leaf,) = load_certs_from_pemder_data(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=leaf,
        signing_key=load_private_key_from_pemder_data(pkcs8, passphrase=None),
        cert_registry=SimpleCertificateStore(),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(path.read_bytes()))
    out = signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Sneaky"), signer=signer)
    (tmp_path / "sneaky.pdf").write_bytes(out.getvalue())
    report = verify_pdf(tmp_path / "sneaky.pdf", [ca_cert])
    (check,) = report.signatures
    assert check.intact and check.valid and check.trusted and check.signer == "GAMMA"
    assert check.party is False and not check.ok and not report.ok
