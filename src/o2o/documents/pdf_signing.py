"""PAdES signatures inside a document's PDF (pyHanko): each party signs in its own incremental update, so an
earlier signature still covers exactly the revision it signed; verification names every signature's signer,
time, validity and trust, and whether the file was changed after it (other than by later signatures).

Invariants:
- the parties who may sign are those the embedded canonical JSON names (`signatures[].operator`, else
  `parties[].operator`): a PDF without that attachment is not signed, a non-party is refused;
- a signer's certificate names the signing operator (its subject CN) and holds the public key of the key it
  signs with; each party signs once; nobody signs over a file already changed after an earlier signature;
- keys are Ed25519 (the parties' ledger keys) or ECDSA P-256; pyHanko signs Ed25519 with SHA-512 (RFC 8419).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from o2o.domain.errors import NotFoundError, SignatureError, ValidationError
from o2o.ledger.certificates import CaKey, operator_of
from o2o.ledger.keys import key_id_of

FIELD_PREFIX = "Signature-"


@dataclass(frozen=True, slots=True)
class EmbeddedDocument:
    """The canonical JSON a PDF carries, and the parties it names."""

    name: str
    data: bytes
    number: str
    digest: str
    parties: tuple[str, ...]
    platform_keys: dict[str, str] = field(default_factory=dict)
    """The key id each signer signed the statement with in the platform, where the document names one."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature as `o2o documents verify` reports it."""

    field: str
    signer: str | None
    subject: str
    issuer: str
    signing_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    party: bool
    coverage: str
    changed_after: bool
    modification: str
    key_id: str | None = None
    platform_key: bool | None = None
    certificate_sha256: str = ""
    ledger: bool | None = None
    """Whether the signer's certificate is registered on the ledger for the signer (None: not checked)."""
    ledger_seq: int | None = None

    @property
    def ok(self) -> bool:
        checked = self.ledger is not False
        return (
            self.intact and self.valid and self.trusted and self.party and not self.changed_after and checked
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "subject": self.subject,
            "issuer": self.issuer,
            "signing_time": self.signing_time,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "party": self.party,
            "coverage": self.coverage,
            "changed_after_signing": self.changed_after,
            "modification": self.modification,
            "key_id": self.key_id,
            "platform_key": self.platform_key,
            "certificate_sha256": self.certificate_sha256,
            "ledger": self.ledger,
            "ledger_seq": self.ledger_seq,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    path: str
    number: str
    digest: str
    parties: tuple[str, ...]
    signatures: tuple[SignatureCheck, ...]
    unsigned: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    @property
    def complete(self) -> bool:
        return self.ok and not self.unsigned

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "number": self.number,
            "digest": self.digest,
            "parties": list(self.parties),
            "signatures": [s.to_dict() for s in self.signatures],
            "unsigned_parties": list(self.unsigned),
            "ok": self.ok,
            "complete": self.complete,
        }


def _reader(data: bytes, path: Path) -> PdfFileReader:
    try:
        return PdfFileReader(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError) as exc:
        raise ValidationError(f"{path}: not a readable PDF ({exc})") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{path}: no such file") from exc


def embedded_document(reader: PdfFileReader, path: Path) -> EmbeddedDocument:
    """The canonical JSON attached to the PDF (the catalog's associated file) and the parties it names."""
    try:
        spec = reader.root["/AF"][0]
        name = str(spec["/UF"])
        data = spec["/EF"]["/F"].data
    except (KeyError, IndexError, TypeError) as exc:
        raise ValidationError(
            f"{path}: carries no document data (no associated JSON file): not an o2o document PDF"
        ) from exc
    except PdfError as exc:
        raise ValidationError(f"{path}: damaged, its document data cannot be read ({exc})") from exc
    try:
        content = json.loads(data)
        number = str(content["number"])
        named = content.get("signatures") or []
        signers_named = [s["operator"] for s in named]
        parties = signers_named or [p["operator"] for p in content.get("parties") or []]
        platform = {str(s["operator"]): str(s["key_id"]) for s in named if s.get("key_id")}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{path}: its attached {name} is not an o2o document ({exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    return EmbeddedDocument(name, data, number, digest, tuple(str(p) for p in parties), platform)


def _key_id(cert: x509.Certificate) -> str | None:
    """The ledger's key id of the certified key (Ed25519 only: the ledger's keys are Ed25519)."""
    key = cert.public_key()
    if not isinstance(key, Ed25519PublicKey):
        return None
    return key_id_of(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _platform_key(cert: x509.Certificate, doc: EmbeddedDocument) -> bool | None:
    """Whether the PDF was signed with the key that signed the statement in the platform (None: not named)."""
    named = doc.platform_keys.get(operator_of(cert) or "")
    return None if named is None else named == _key_id(cert)


def _commits(cert: x509.Certificate) -> bool:
    """The certificate may sign content (what pyHanko's validation asks of a signer's certificate)."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment)
    except x509.ExtensionNotFound:
        return False


def _asn1(cert: x509.Certificate) -> Any:
    """The certificate as pyHanko holds it (asn1crypto)."""
    return next(iter(load_certs_from_pemder_data(cert.public_bytes(serialization.Encoding.DER))))


def _cert_of(signature: Any) -> x509.Certificate:
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


def sign_pdf(
    source: Path,
    out: Path,
    operator: str,
    key: CaKey,
    chain: list[x509.Certificate],
    trust_roots: list[x509.Certificate],
) -> SignatureCheck:
    """`operator` signs `source` (one incremental update) into `out`; refused for a non-party, a party that
    signed already, a certificate that is not the operator's key, or a file changed after an earlier
    signature. Returns the new signature as verification sees it."""
    data = _read(source)
    reader = _reader(data, source)
    doc = embedded_document(reader, source)
    if operator not in doc.parties:
        raise SignatureError(
            f"{operator} is not a party to document {doc.number} (its signers: {', '.join(doc.parties)}): "
            "signature refused"
        )
    cert = chain[0]
    if operator_of(cert) != operator:
        raise SignatureError(
            f"the certificate names {operator_of(cert)!r}, not {operator}: signature refused"
        )
    if cert.public_key() != key.public_key():
        raise SignatureError("the certificate is not for this key: signature refused")
    if not _commits(cert):
        raise SignatureError(
            "the certificate lacks the nonRepudiation (contentCommitment) key usage a document signature "
            "needs: signature refused"
        )
    for earlier in _checks(reader, trust_roots, doc):
        if earlier.signer == operator:
            raise SignatureError(f"{operator} has already signed document {doc.number}")
        if not earlier.intact or earlier.changed_after:
            raise SignatureError(
                f"document {doc.number} was changed after {earlier.signer}'s signature: not signing over it"
            )
    field_name = f"{FIELD_PREFIX}{operator}"
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    certs = [_asn1(c) for c in chain]
    signer = signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=load_private_key_from_pemder_data(der_key, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(certs[1:]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        name=operator,
        reason=f"{operator} signs document {doc.number} (SHA-256 {doc.digest})",
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        signed = signers.sign_pdf(writer, meta, signer=signer)
    except (PdfError, ValueError) as exc:
        raise SignatureError(f"{source}: cannot be signed ({exc})") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(signed.getvalue())
    checks = _checks(_reader(out.read_bytes(), out), trust_roots, doc)
    return next(c for c in checks if c.field == field_name)


def verify_pdf(path: Path, trust_roots: list[x509.Certificate]) -> VerifyReport:
    """Every signature of the PDF checked against `trust_roots`, and which parties have not signed."""
    reader = _reader(_read(path), path)
    doc = embedded_document(reader, path)
    checks = _checks(reader, trust_roots, doc)
    signed = {c.signer for c in checks if c.ok}
    unsigned = tuple(p for p in doc.parties if p not in signed)
    return VerifyReport(str(path), doc.number, doc.digest, doc.parties, tuple(checks), unsigned)


def _checks(
    reader: PdfFileReader, trust_roots: list[x509.Certificate], doc: EmbeddedDocument
) -> list[SignatureCheck]:
    roots = [_asn1(c) for c in trust_roots]
    found: list[SignatureCheck] = []
    for sig in reader.embedded_signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        cert = _cert_of(sig)
        try:
            status = validate_pdf_signature(sig, signer_validation_context=context)
        except (PdfError, ValueError) as exc:
            found.append(_broken(sig, cert, doc, str(exc)))
            continue
        level = status.modification_level
        changed = (
            not status.intact
            or status.coverage is None
            or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION
            or level is None
            or level > ModificationLevel.FORM_FILLING
        )
        when = sig.self_reported_timestamp
        found.append(
            SignatureCheck(
                field=str(sig.field_name),
                signer=operator_of(cert),
                subject=cert.subject.rfc4514_string(),
                issuer=cert.issuer.rfc4514_string(),
                signing_time=when.isoformat() if when else None,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                party=operator_of(cert) in doc.parties,
                coverage=_coverage(status.coverage),
                changed_after=changed,
                modification=_modification(level)
                if status.intact
                else "CHANGED after signing (signed bytes differ)",
                key_id=_key_id(cert),
                platform_key=_platform_key(cert, doc),
                certificate_sha256=fingerprint(cert),
            )
        )
    return found


def _broken(sig: Any, cert: x509.Certificate, doc: EmbeddedDocument, why: str) -> SignatureCheck:
    return SignatureCheck(
        field=str(sig.field_name),
        signer=operator_of(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        signing_time=None,
        intact=False,
        valid=False,
        trusted=False,
        party=operator_of(cert) in doc.parties,
        coverage="unknown",
        changed_after=True,
        modification=f"cannot be checked: {why}",
        certificate_sha256=fingerprint(cert),
    )


def fingerprint(cert: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint (hex of the DER), as the ledger registers it."""
    return cert.fingerprint(hashes.SHA256()).hex()


def _coverage(level: SignatureCoverageLevel | None) -> str:
    return {
        SignatureCoverageLevel.ENTIRE_FILE: "entire file",
        SignatureCoverageLevel.ENTIRE_REVISION: "its revision (later revisions added)",
        SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "part of the file",
        SignatureCoverageLevel.UNCLEAR: "unclear",
        None: "unknown",
    }.get(level, str(level))


def _modification(level: ModificationLevel | None) -> str:
    return {
        ModificationLevel.NONE: "unchanged since signed",
        ModificationLevel.LTA_UPDATES: "only validation data added since",
        ModificationLevel.FORM_FILLING: "only later signatures added since",
        ModificationLevel.ANNOTATIONS: "CHANGED after signing (annotations added)",
        ModificationLevel.OTHER: "CHANGED after signing",
        None: "CHANGED after signing (cannot tell how)",
    }.get(level, str(level))
