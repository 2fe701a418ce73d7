"""`o2o keys certificate OP`: an X.509 certificate for the operator's signing key as registered on the ledger,
issued by the hub's CA (made in the workspace on first use, for the demo) or by the operator's own CA.

Invariants: the certified key is the operator's valid key on the ledger (never a key read from a file the
certificate is asked for); the hub CA's private key lives in `$O2O_HOME/keys/ca/hub-ca.key.pem` (0600) and its
certificate in `$O2O_HOME/certs/hub-ca.cert.pem`; an operator's certificate goes to `$O2O_HOME/certs/OP.cert.pem`
unless `out` names another file (re-issuing replaces it: the old certificate stays valid until it expires).
Every certificate issued is registered on the ledger (`certificate.issued`, subject the operator, signed by the
hub's key) with its SHA-256 fingerprint, serial, subject, issuer and validity, in the same transaction as the
file is written: `o2o documents verify --ledger` checks a signer's certificate against these entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from o2o.bootstrap import Workspace
from o2o.config import Settings
from o2o.domain.errors import NotFoundError, ValidationError
from o2o.ledger import certificates as x509certs
from o2o.ledger.entries import LedgerEntry
from o2o.ledger.keys import HUB
from o2o.store.repositories import now_utc

HUB_CA_NAME = "O2O Settle hub CA"
CERTIFICATE_ISSUED = "certificate.issued"


@dataclass(frozen=True, slots=True)
class CertificateResult:
    operator: str
    key_id: str
    path: Path
    ca_path: Path
    ca_created: bool
    info: x509certs.CertificateInfo
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "key_id": self.key_id,
            "certificate": str(self.path),
            "ca_certificate": str(self.ca_path),
            "ca_created": self.ca_created,
            **self.info.to_dict(),
            "ledger_seq": self.ledger_seq,
        }


def certs_dir(settings: Settings) -> Path:
    return settings.home / "certs"


def hub_ca_cert_path(settings: Settings) -> Path:
    return certs_dir(settings) / "hub-ca.cert.pem"


def hub_ca_key_path(ws: Workspace) -> Path:
    return ws.settings.keys_dir / "ca" / "hub-ca.key.pem"


def certificate_path(ws: Workspace, operator: str) -> Path:
    return certs_dir(ws.settings) / f"{operator}.cert.pem"


def _hub_ca(ws: Workspace) -> tuple[x509certs.CaKey, Any, bool]:
    """The hub's CA key and certificate, made on first use."""
    key_path, cert_path = hub_ca_key_path(ws), hub_ca_cert_path(ws.settings)
    if key_path.exists() and cert_path.exists():
        key = x509certs.read_key(key_path, "hub CA key", None)
        return key, x509certs.read_cert(cert_path, "hub CA certificate"), False
    if key_path.exists() or cert_path.exists():
        raise ValidationError(
            f"the hub CA is incomplete: {key_path} and {cert_path} must both exist (or neither, to make a new one)"
        )
    new_key, cert = x509certs.make_ca(HUB_CA_NAME, now_utc())
    x509certs.write_private(key_path, new_key)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(x509certs.cert_pem(cert))
    return new_key, cert, True


def issue_certificate(
    ws: Workspace,
    operator: str,
    *,
    ca_key: Path | None = None,
    ca_cert: Path | None = None,
    ca_passphrase: bytes | None = None,
    days: int = 365,
    out: Path | None = None,
) -> CertificateResult:
    """Certify `operator`'s valid ledger key, by the operator's own CA (`ca_key` + `ca_cert`) or the hub's."""
    if operator == HUB:
        raise ValidationError("the hub's key signs tree heads, not documents: certify an operator's key")
    if (ca_key is None) != (ca_cert is None):
        raise ValidationError("an operator's own CA needs both --ca-key and --ca-cert")
    with ws.uow() as uow:
        op = uow.operators.find(operator)
        if op is None:
            raise NotFoundError(f"unknown operator {operator!r} (add it with `o2o operator add`)")
        book = uow.ledger
        span = book.key_history().active(operator)
        record = None if span is None else book.keyring().get(operator, span.key_id)
    if record is None:
        raise NotFoundError(
            f"operator {operator} has no valid key on the ledger (make one: `o2o keys generate {operator}`)"
        )
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(record.public_key))
    created = False
    if ca_key is not None and ca_cert is not None:
        key = x509certs.read_key(ca_key, "--ca-key", ca_passphrase)
        cert = x509certs.read_cert(ca_cert, "--ca-cert")
        x509certs.check_ca(key, cert, f"--ca-cert {ca_cert}")
        ca_path = ca_cert
    else:
        key, cert, created = _hub_ca(ws)
        ca_path = hub_ca_cert_path(ws.settings)
    organisation = op.legal.legal_name if op.legal is not None else op.name
    issued = x509certs.issue(key, cert, operator, organisation, public, now_utc(), days)
    info = x509certs.describe(issued)
    target = out or certificate_path(ws, operator)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Registered and written together: the entry is committed only once the file is in place.
    from o2o.services.cycle_common import hub_signer, register  # the ledger's writer, needed here only

    hub = hub_signer(ws)
    payload = {"key_id": record.key_id, "ca": "operator" if ca_key is not None else "hub", **info.to_dict()}
    staged = target.with_name(f".{target.name}.tmp")
    with ws.uow() as uow:
        register(uow, hub, CERTIFICATE_ISSUED, operator, payload)
        entry = uow.ledger_store.last_entry()
        assert entry is not None and entry.kind == CERTIFICATE_ISSUED
        seq = entry.seq
        # The chain beside the certificate (end entity first), so a signer hands one file to pyHanko.
        staged.write_bytes(x509certs.cert_pem(issued) + x509certs.cert_pem(cert))
        staged.replace(target)
        uow.commit()
    return CertificateResult(operator, record.key_id, target, ca_path, created, info, seq)


def registered_certificates(ws: Workspace, operator: str | None = None) -> list[LedgerEntry]:
    """The `certificate.issued` entries on the ledger (of `operator`, if named), oldest first."""
    with ws.uow() as uow:
        return uow.ledger_store.entries_of([CERTIFICATE_ISSUED], operator)
