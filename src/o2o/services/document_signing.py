"""Signing and verifying document PDFs (PAdES): the use cases behind `o2o documents sign|verify`.

The PDF work is `o2o.documents.pdf_signing`'s; here the signer's key and certificate are read from the files
the user names, and the trusted CAs gathered: the workspace's hub CA when it has one (it certifies the demo's
operators) plus any CA certificate given. Verification needs no database: anyone with the PDF and the CA
certificates can check it.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from o2o.config import Settings
from o2o.documents.pdf_signing import SignatureCheck, VerifyReport, sign_pdf, verify_pdf
from o2o.domain.errors import NotFoundError, SignatureError, ValidationError
from o2o.domain.operators import check_operator_id
from o2o.ledger import certificates as x509certs
from o2o.services.certificates import hub_ca_cert_path


def _hub_ca(settings: Settings | None) -> list[x509.Certificate]:
    if settings is None:
        return []
    path = hub_ca_cert_path(settings)
    return [x509certs.read_cert(path, "hub CA certificate")] if path.exists() else []


def trust_roots(settings: Settings | None, cas: list[Path]) -> list[x509.Certificate]:
    """The CA certificates a verifier trusts: the workspace's hub CA (if any) and those given with --ca."""
    return _hub_ca(settings) + [x509certs.read_cert(p, "--ca") for p in cas]


def read_chain(path: Path) -> list[x509.Certificate]:
    """The signer's certificate, then the CA certificates after it in the same PEM file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"--cert {path}: no such file") from exc
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValidationError(f"--cert {path}: not a PEM certificate") from exc
    if not chain:
        raise ValidationError(f"--cert {path}: holds no certificate")
    return chain


def sign_document(
    settings: Settings | None,
    pdf: Path,
    operator: str,
    key: Path,
    cert: Path,
    out: Path,
    *,
    passphrase: bytes | None = None,
    cas: list[Path] | None = None,
) -> SignatureCheck:
    """`operator` signs the document PDF with its key and certificate into `out` (PAdES, incremental)."""
    check_operator_id(operator)
    if out.resolve() == pdf.resolve():
        raise ValidationError(f"--out {out}: write the signed file beside the original, not over it")
    signing_key = x509certs.read_key(key, "--key", passphrase)
    chain = read_chain(cert)
    roots = trust_roots(settings, cas or [])
    check = sign_pdf(pdf, out, operator, signing_key, chain, roots)
    if not (check.intact and check.valid):
        out.unlink(missing_ok=True)
        raise SignatureError(
            f"the signature of {operator} did not verify after signing ({check.modification})"
        )
    return check


def verify_document(settings: Settings | None, pdf: Path, cas: list[Path] | None = None) -> VerifyReport:
    """Every signature in the PDF, checked against the trusted CAs, and the parties yet to sign."""
    return verify_pdf(pdf, trust_roots(settings, cas or []))
