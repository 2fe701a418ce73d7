"""`o2o documents sign|verify`: PAdES signatures inside a document's PDF, by its parties.

Thin: parses options, calls `o2o.services.document_signing`, renders. `register_signing(group)` adds the two
commands to the `documents` group that `o2o.cli.documents` makes. `verify` prints every signature, then exits 1
when one is broken, untrusted, by a non-party or followed by a change to the document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.output import console, print_json, print_table
from o2o.cli.passphrase import PassphraseEnvOpt, PassphraseFileOpt, passphrase
from o2o.config import Settings
from o2o.domain.errors import SignatureError
from o2o.services import document_signing as svc

CaOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--ca", help="A trusted CA certificate (PEM); repeat for more. The workspace's hub CA is trusted too."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def documents_sign(
    pdf: Annotated[
        Path, typer.Argument(help="The document PDF (as `o2o documents … --format pdf` wrote it).")
    ],
    operator: Annotated[str, typer.Option("--operator", help="The signing party (operator id).")],
    out: Annotated[Path, typer.Option("--out", help="The signed PDF to write.")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="The party's private key (PEM: Ed25519 or ECDSA P-256); default: its key in the workspace.",
        ),
    ] = None,
    cert: Annotated[
        Path | None,
        typer.Option(
            "--cert",
            help="Its certificate (PEM; CA certificates may follow); default: the workspace's from "
            "`o2o keys certificate`.",
        ),
    ] = None,
    ca: CaOpt = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign a document PDF as one of its parties (PAdES, an incremental update: earlier signatures stay valid).

    Refused for an operator the document does not name as a signer, a second signature by the same party, a
    certificate that is not for the key, or a file changed after an earlier signature.
    """
    check = svc.sign_document(
        Settings(), pdf, operator, key, cert, out,
        passphrase=passphrase(passphrase_file, passphrase_env), cas=ca,
    )  # fmt: skip
    if json_out:
        print_json({"out": str(out), **check.to_dict()})
        return
    trust = "trusted" if check.trusted else "NOT trusted (give its CA with --ca)"
    console.print(
        f"signed by {check.signer} into {out} at {check.signing_time}; certificate {trust}",
        markup=False,
        highlight=False,
    )


def documents_verify(
    pdf: Annotated[Path, typer.Argument(help="A document PDF.")],
    ca: CaOpt = None,
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="Also check each signer's certificate (its SHA-256) is registered on the workspace's ledger "
            "by `o2o keys certificate`.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check every signature of a document PDF: signer, time, validity, trust, and changes after signing."""
    from o2o.cli.context import workspace

    report = svc.verify_document(Settings(), pdf, ca, workspace() if ledger else None)
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(
            f"document {report.number}, SHA-256 of its data {report.digest}; signers: {', '.join(report.parties)}",
            markup=False,
            highlight=False,
        )
        rows = [
            (
                s.signer or "?",
                s.signing_time or "",
                "yes" if s.intact and s.valid else "NO",
                "yes" if s.trusted else "no",
                "yes" if s.party else "NO",
                {True: "same", False: "OTHER", None: ""}[s.platform_key],
                s.modification,
            )
            for s in report.signatures
        ]
        columns = ["signer", "time", "valid", "trusted", "party", "platform key", "since signing"]
        print_table("signatures", columns, rows)
        for s in report.signatures if ledger else ():
            said = f"registered (entry {s.ledger_seq})" if s.ledger else "NOT REGISTERED on the ledger"
            console.print(
                f"certificate of {s.signer or s.field}: {said} (SHA-256 {s.certificate_sha256})",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        if report.unsigned:
            console.print(f"not signed yet by: {', '.join(report.unsigned)}", markup=False, highlight=False)
    if not report.signatures:
        raise SignatureError(f"{pdf}: the document has no signature")
    if not report.ok:
        bad = [s.signer or s.field for s in report.signatures if not s.ok]
        raise SignatureError(f"{pdf}: signatures that do not hold: {', '.join(bad)}")


def register_signing(group: typer.Typer) -> None:
    """Add `sign` and `verify` to the `documents` group."""
    group.command("sign")(documents_sign)
    group.command("verify")(documents_verify)


def register(app: typer.Typer) -> None:
    """`sign` and `verify` join the `documents` group (COMMAND_MODULES lists this module after `documents`)."""
    del app
    from o2o.cli.documents import documents_app

    register_signing(documents_app)
