"""X.509 certificates for the parties' signing keys: a certificate authority (the hub's for the demo, or an
operator's own) certifies that a registered public key is the key of one operator.

Invariants:
- an operator's certificate names the operator id as its subject's common name (CN) and the operator's name as
  its organisation (O); the certificate's public key is the key registered for that operator on the ledger;
- it is an end-entity certificate (`BasicConstraints ca=False`) for signing documents: key usage
  digitalSignature + nonRepudiation (contentCommitment), critical;
- a CA key is Ed25519 or ECDSA P-256 (an Ed25519 certificate is signed with no separate digest, a P-256 one
  with SHA-256); a CA certificate must say `ca=True` and carry the keyCertSign usage, else it is refused.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from o2o.domain.errors import AlreadyExistsError, NotFoundError, SignatureError, ValidationError

CaKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
SubjectKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

DAY = dt.timedelta(days=1)
CLOCK_SKEW = dt.timedelta(minutes=5)
"""A new certificate is valid from a little before now, so a verifier whose clock is behind accepts it."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a certificate says, as the CLI shows it."""

    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    key_algorithm: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "key_algorithm": self.key_algorithm,
            "sha256": self.sha256,
        }


def describe(cert: x509.Certificate) -> CertificateInfo:
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        key_algorithm=key_algorithm(cert.public_key()),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def key_algorithm(key: object) -> str:
    if isinstance(key, Ed25519PublicKey | Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"ECDSA {key.curve.name}"
    return type(key).__name__


def _digest_for(key: CaKey) -> hashes.SHA256 | None:
    return None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256()


def check_key(key: object, what: str) -> CaKey:
    """An Ed25519 or ECDSA P-256 private key, else a one-line error naming `what`."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise SignatureError(f"{what}: an Ed25519 or ECDSA P-256 key is needed, not {key_algorithm(key)}")


def operator_of(cert: x509.Certificate) -> str | None:
    """The operator id a certificate names (its subject's CN)."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _name(common: str, organisation: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name(attrs)


def make_ca(name: str, now: dt.datetime, days: int = 3650) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    """A self-signed Ed25519 CA (the hub's, for the demo)."""
    key = Ed25519PrivateKey.generate()
    subject = _name(name, "O2O Settle hub")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + days * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, None)
    )
    return key, cert


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def check_ca(ca_key: CaKey, ca_cert: x509.Certificate, where: str) -> None:
    """The CA certificate may issue certificates and belongs to the CA key."""
    try:
        basic = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    if basic is None or not basic.ca:
        raise ValidationError(f"{where}: not a CA certificate (BasicConstraints ca=True is missing)")
    try:
        usage = ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise ValidationError(f"{where}: the CA certificate lacks the keyCertSign usage")
    if ca_cert.public_key() != ca_key.public_key():
        raise ValidationError(f"{where}: the CA key is not the key of the CA certificate")


def issue(
    ca_key: CaKey,
    ca_cert: x509.Certificate,
    operator: str,
    organisation: str | None,
    public_key: SubjectKey,
    now: dt.datetime,
    days: int,
) -> x509.Certificate:
    """An end-entity certificate binding `public_key` to `operator`, signed by the CA."""
    if days < 1:
        raise ValidationError(f"--days {days}: a certificate is valid for at least one day")
    end = min(now + days * DAY, ca_cert.not_valid_after_utc)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(_name(operator, organisation))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, _digest_for(ca_key))
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def read_cert(path: Path, option: str) -> x509.Certificate:
    """A PEM (or DER) certificate from a file, or a one-line error naming the option."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{option} {path}: no such file") from exc
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise ValidationError(f"{option} {path}: not an X.509 certificate") from exc


def read_key(path: Path, option: str, passphrase: bytes | None) -> CaKey:
    """An Ed25519 or P-256 private key from a PEM file (decrypted with the passphrase if it has one)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"{option} {path}: no such file") from exc
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        if passphrase is None:
            raise SignatureError(
                f"{option} {path}: the key is encrypted: give its passphrase with --passphrase-file FILE "
                "(or --passphrase-env VAR)"
            ) from exc
        raise SignatureError(f"{option} {path}: the key is not encrypted: give no passphrase") from exc
    except ValueError as exc:
        raise SignatureError(
            f"{option} {path}: cannot be read (not a PEM private key, or a wrong passphrase)"
        ) from exc
    return check_key(key, f"{option} {path}")


def write_private(path: Path, key: CaKey) -> None:
    """A CA's private key, 0600 from its first byte, in a 0700 folder; never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AlreadyExistsError(f"a key already exists at {path}") from exc
    os.fchmod(fd, 0o600)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
