"""Signing and verifying document PDFs (PAdES): the use cases behind `o2o documents sign|verify`.

The PDF work is `o2o.documents.pdf_signing`'s; here the signer's key and certificate are read from the files
the user names, and the trusted CAs gathered: the workspace's hub CA when it has one (it certifies the demo's
operators) plus any CA certificate given. Verification needs no database: anyone with the PDF and the CA
certificates can check it. With a workspace (`--ledger`), each signer's certificate is also looked up on the
ledger: its SHA-256 fingerprint must be a `certificate.issued` entry for that signer (`o2o keys certificate`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cryptography import x509

from o2o.bootstrap import Workspace
from o2o.config import Settings
from o2o.documents.pdf_signing import SignatureCheck, VerifyReport, sign_pdf, verify_pdf
from o2o.domain.errors import NotFoundError, SignatureError, ValidationError
from o2o.domain.operators import check_operator_id
from o2o.ledger import certificates as x509certs
from o2o.services.certificates import certs_dir, hub_ca_cert_path


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
    key: Path | None,
    cert: Path | None,
    out: Path,
    *,
    passphrase: bytes | None = None,
    cas: list[Path] | None = None,
) -> SignatureCheck:
    """`operator` signs the document PDF with its key and certificate into `out` (PAdES, incremental); without
    `key`/`cert`, the workspace's: its key file (`o2o keys generate`) and certificate (`o2o keys certificate`)."""
    check_operator_id(operator)
    if key is None or cert is None:
        if settings is None:
            raise ValidationError(
                "--key and --cert: name both files (there is no workspace to take them from)"
            )
        key = key or settings.keys_dir / f"{operator}.pem"
        cert = cert or certs_dir(settings) / f"{operator}.cert.pem"
        if not cert.exists():
            raise NotFoundError(f"--cert: {operator} has no certificate in the workspace ({cert}): "
                                f"issue one with `o2o keys certificate {operator}`")  # fmt: skip
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


def verify_document(
    settings: Settings | None, pdf: Path, cas: list[Path] | None = None, ledger: Workspace | None = None
) -> VerifyReport:
    """Every signature in the PDF, checked against the trusted CAs (and, with a workspace, its certificate
    against the ledger's `certificate.issued` entries), and the parties yet to sign."""
    report = verify_pdf(pdf, trust_roots(settings, cas or []))
    if ledger is None:
        return report
    from o2o.services.certificates import registered_certificates

    issued = {
        (str(e.payload.get("sha256")), e.subject): e.seq for e in registered_certificates(ledger)
    }  # fmt: skip
    checks = tuple(
        dataclasses.replace(c, ledger=seq is not None, ledger_seq=seq)
        for c in report.signatures
        for seq in [issued.get((c.certificate_sha256, c.signer or ""))]
    )
    signed = {c.signer for c in checks if c.ok}
    unsigned = tuple(p for p in report.parties if p not in signed)
    return dataclasses.replace(report, signatures=checks, unsigned=unsigned)
