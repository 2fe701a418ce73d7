"""Signatures inside a document's PDF, through the CLI (SQLite and PostgreSQL): `keys certificate` certifies each
party's ledger key (the hub's CA, or an operator's own); both parties sign the act of reconciliation in turn, the
first signature still valid after the second (incremental update); `documents verify` names each signer and
time, trusts them through the CA (from any folder, with `--ca`), reports a byte changed after signing, and a
third signature by an operator the document does not name is refused."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader

GAMMA = textwrap.dedent(
    """
    [[operators]]
    id = "GAMMA"
    name = "Gamma Telecom SA"
    currency = "EUR"
    country_code = "33"
    """
)


def _one_line_error(r: Any, *needles: str) -> None:
    assert r.code == 1, r.out
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    for needle in needles:
        assert needle in r.err, r.err


def _own_ca(folder: Path) -> tuple[Path, Path]:
    """An operator's own CA (ECDSA P-256), as a PEM key and certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gamma Telecom own CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "gamma-ca.key.pem", folder / "gamma-ca.cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture
def parties(loaded: Any, workspace_home: Path, tmp_path: Path) -> tuple[Any, Path, Path]:
    """ALFA, BETA (parties to the act) and GAMMA (not), each with a ledger key and a certificate; the act's PDF."""
    cli = loaded
    (tmp_path / "gamma.toml").write_text(GAMMA, encoding="utf-8")
    assert cli("operator", "add", "--file", tmp_path / "gamma.toml").code == 0
    for op in ("ALFA", "BETA", "GAMMA"):
        assert cli("keys", "generate", op).code == 0
    for op in ("ALFA", "BETA"):
        r = cli("keys", "certificate", op, "--json")
        assert r.code == 0, r.err
        assert r.json()["key_algorithm"] == "Ed25519" and "CN=" + op in r.json()["subject"]
    ca_key, ca_cert = _own_ca(tmp_path)
    r = cli("keys", "certificate", "GAMMA", "--ca-key", ca_key, "--ca-cert", ca_cert, "--json")
    assert r.code == 0, r.err
    assert "Gamma Telecom own CA" in r.json()["issuer"]
    r = cli("documents", "account-act", "--between", "ALFA", "BETA", "--from", "2026-10-01", "--to", "2026-10-31",
            "--format", "pdf", "--out", tmp_path / "docs", "--json")  # fmt: skip
    assert r.code == 0, r.err
    (written,) = r.json()
    return cli, workspace_home, Path(written["files"][0])


@pytest.fixture
def workspace_home(db_workspace: Path) -> Path:
    return db_workspace


def _sign(cli: Any, home: Path, pdf: Path, op: str, out: Path, cert_of: str | None = None) -> Any:
    cert = home / "certs" / f"{cert_of or op}.cert.pem"
    return cli("documents", "sign", pdf, "--operator", op, "--key", home / "keys" / f"{op}.pem",
               "--cert", cert, "--out", out, "--json")  # fmt: skip


def _flip_a_byte_of_page_one(signed: Path, out: Path) -> None:
    """Change one byte inside page 1's content stream (what a person reads), leaving the file's structure."""
    data = bytearray(signed.read_bytes())
    with signed.open("rb") as fh:
        page = PdfFileReader(fh).root["/Pages"]["/Kids"][0]
        idnum = page.raw_get("/Contents").idnum
    start = data.index(f"\n{idnum} 0 obj".encode())
    body = data.index(b"stream\n", start) + len(b"stream\n")
    data[body + 40] ^= 0x01
    out.write_bytes(bytes(data))


def test_both_parties_sign_in_turn_and_anyone_can_verify(
    parties: tuple[Any, Path, Path], tmp_path: Path
) -> None:
    cli, home, act = parties
    first, both = tmp_path / "signed-1.pdf", tmp_path / "signed-2.pdf"
    r = _sign(cli, home, act, "ALFA", first)
    assert r.code == 0, r.err
    assert r.json()["signer"] == "ALFA" and r.json()["ok"] is True
    once = cli("documents", "verify", first, "--json")
    assert once.code == 0, once.err
    assert once.json()["unsigned_parties"] == ["BETA"] and once.json()["complete"] is False
    r = _sign(cli, home, first, "BETA", both)
    assert r.code == 0, r.err
    report = cli("documents", "verify", both, "--json")
    assert report.code == 0, report.err
    data = report.json()
    assert data["complete"] is True and data["parties"] == ["ALFA", "BETA"]
    alfa, beta = data["signatures"]
    assert (alfa["signer"], beta["signer"]) == ("ALFA", "BETA")
    for sig in (alfa, beta):
        assert sig["intact"] and sig["valid"] and sig["trusted"] and sig["party"], sig
        assert sig["changed_after_signing"] is False and sig["signing_time"]
        assert "O2O Settle hub CA" in sig["issuer"]
    # ALFA's signature covers its own revision; BETA's incremental update added only a signature.
    assert alfa["modification"] == "only later signatures added since"
    assert beta["coverage"] == "entire file" and beta["modification"] == "unchanged since signed"
    text = cli("documents", "verify", both)
    assert text.code == 0 and "ALFA" in text.out and "BETA" in text.out

    # A third signature: GAMMA is no party to the act (refused, nothing written); a party signs once.
    third = tmp_path / "signed-3.pdf"
    _one_line_error(_sign(cli, home, both, "GAMMA", third), "GAMMA is not a party", "ALFA, BETA")
    assert not third.exists()
    _one_line_error(_sign(cli, home, both, "ALFA", third), "ALFA has already signed")
    _one_line_error(_sign(cli, home, act, "BETA", third, cert_of="ALFA"), "names 'ALFA', not BETA")

    # A byte changed after signing: both signatures reported, verification fails.
    tampered = tmp_path / "tampered.pdf"
    _flip_a_byte_of_page_one(both, tampered)
    r = cli("documents", "verify", tampered, "--json")
    assert r.code == 1 and "signatures that do not hold" in r.err
    for sig in r.json()["signatures"]:
        assert sig["intact"] is False and sig["changed_after_signing"] is True and sig["ok"] is False
        assert sig["modification"].startswith("CHANGED")
    _one_line_error(_sign(cli, home, tampered, "BETA", third), "changed after")


def test_a_verifier_without_the_workspace_trusts_what_its_ca_file_says(
    parties: tuple[Any, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, home, act = parties
    signed = tmp_path / "signed.pdf"
    assert _sign(cli, home, act, "ALFA", signed).code == 0
    monkeypatch.setenv("O2O_HOME", str(tmp_path / "elsewhere"))  # no hub CA there
    r = cli("documents", "verify", signed, "--json")
    assert r.code == 1 and r.json()["signatures"][0]["trusted"] is False
    assert r.json()["signatures"][0]["intact"] is True
    r = cli("documents", "verify", signed, "--ca", home / "certs" / "hub-ca.cert.pem", "--json")
    assert r.code == 0, r.err
    assert r.json()["signatures"][0]["trusted"] is True
    _one_line_error(cli("documents", "verify", tmp_path / "missing.pdf"), "no such file")
    (tmp_path / "not.pdf").write_text("hello", encoding="utf-8")
    _one_line_error(cli("documents", "verify", tmp_path / "not.pdf"), "not.pdf")


def test_a_certificate_needs_a_ledger_key_and_a_real_ca(
    loaded: Any, db_workspace: Path, tmp_path: Path
) -> None:
    cli, home = loaded, db_workspace
    _one_line_error(cli("keys", "certificate", "NOPE"), "unknown operator 'NOPE'")
    _one_line_error(cli("keys", "certificate", "ALFA"), "no valid key on the ledger", "keys generate ALFA")
    assert cli("keys", "generate", "ALFA").code == 0
    _one_line_error(cli("keys", "certificate", "HUB"), "the hub's key signs tree heads")
    _one_line_error(
        cli("keys", "certificate", "ALFA", "--ca-key", tmp_path / "k.pem"), "--ca-key and --ca-cert"
    )
    r = cli("keys", "certificate", "ALFA", "--json")
    assert r.code == 0 and r.json()["ca_created"] is True
    assert cli("keys", "certificate", "ALFA", "--json").json()["ca_created"] is False  # the same hub CA
    # A party's own certificate is no CA: it cannot issue one.
    _one_line_error(
        cli("keys", "certificate", "ALFA", "--ca-key", home / "keys" / "ALFA.pem",
            "--ca-cert", home / "certs" / "ALFA.cert.pem"),
        "not a CA certificate",
    )  # fmt: skip
    _one_line_error(cli("keys", "certificate", "ALFA", "--days", "0"), "--days 0")


def test_a_certificate_is_on_the_ledger_and_verify_checks_the_signer_s_against_it(
    parties: tuple[Any, Path, Path], tmp_path: Path
) -> None:
    from o2o.ledger import certificates as x509certs

    cli, home, act = parties
    r = cli("keys", "certificate", "ALFA", "--json")
    assert r.code == 0, r.err
    issued = r.json()
    cert = x509.load_pem_x509_certificates((home / "certs" / "ALFA.cert.pem").read_bytes())[0]
    entry = cli("ledger", "proof", str(issued["ledger_seq"]), "--json").json()["entry"]
    assert (entry["kind"], entry["subject"], entry["actor"]) == ("certificate.issued", "ALFA", "HUB")
    payload = entry["payload"]
    assert payload["sha256"] == cert.fingerprint(hashes.SHA256()).hex() == issued["sha256"]
    assert payload["serial"] == format(cert.serial_number, "x")
    assert (payload["subject"], payload["issuer"]) == (
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
    )
    assert payload["not_before"] == cert.not_valid_before_utc.isoformat()
    assert payload["not_after"] == cert.not_valid_after_utc.isoformat()
    assert (payload["key_id"], payload["ca"]) == (issued["key_id"], "hub")
    assert cli("ledger", "verify").code == 0

    signed = tmp_path / "signed.pdf"
    assert _sign(cli, home, act, "ALFA", signed).code == 0
    r = cli("documents", "verify", signed, "--ledger", "--json")
    assert r.code == 0, r.err
    (sig,) = r.json()["signatures"]
    assert (sig["ledger"], sig["ledger_seq"], sig["certificate_sha256"]) == (
        True,
        entry["seq"],
        payload["sha256"],
    )
    assert cli("documents", "verify", signed, "--json").json()["signatures"][0]["ledger"] is None  # not asked
    text = cli("documents", "verify", signed, "--ledger")
    assert text.code == 0 and f"registered (entry {entry['seq']})" in text.out

    # A certificate the ledger never saw (made with the CA's key outside `o2o keys certificate`): the CA
    # trusts it, the ledger does not know it.
    ca_key = x509certs.read_key(home / "keys" / "ca" / "hub-ca.key.pem", "hub CA key", None)
    ca_cert = x509certs.read_cert(home / "certs" / "hub-ca.cert.pem", "hub CA certificate")
    forged = x509certs.issue(ca_key, ca_cert, "ALFA", "Alfa", cert.public_key(), dt.datetime.now(dt.UTC), 30)
    (tmp_path / "forged.pem").write_bytes(x509certs.cert_pem(forged) + x509certs.cert_pem(ca_cert))
    other = tmp_path / "signed-forged.pdf"
    r = cli("documents", "sign", act, "--operator", "ALFA", "--key", home / "keys" / "ALFA.pem",
            "--cert", tmp_path / "forged.pem", "--out", other)  # fmt: skip
    assert r.code == 0, r.err
    assert cli("documents", "verify", other).code == 0  # trusted through the CA alone
    r = cli("documents", "verify", other, "--ledger", "--json")
    assert r.code == 1 and "signatures that do not hold: ALFA" in r.err
    (sig,) = r.json()["signatures"]
    assert (sig["ledger"], sig["ledger_seq"], sig["ok"], sig["trusted"]) == (False, None, False, True)
    assert "NOT REGISTERED on the ledger" in cli("documents", "verify", other, "--ledger").out
