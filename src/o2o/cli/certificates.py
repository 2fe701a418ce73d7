"""`o2o keys certificate OP`: an X.509 certificate for an operator's ledger key (for PAdES document signing).

Thin: parses options, calls `o2o.services.certificates`, renders. Registered on the `keys` group that
`o2o.cli.ledger` makes (COMMAND_MODULES lists this module after `ledger` for `keys`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.cli.ledger import keys_app
from o2o.cli.output import console, print_json
from o2o.cli.passphrase import PassphraseEnvOpt, PassphraseFileOpt, passphrase
from o2o.services import certificates as svc


@keys_app.command("certificate")
def keys_certificate(
    operator: Annotated[str, typer.Argument(help="Operator id whose ledger key is certified.")],
    ca_key: Annotated[
        Path | None,
        typer.Option("--ca-key", help="The operator's own CA private key (PEM); default: the hub CA."),
    ] = None,
    ca_cert: Annotated[
        Path | None, typer.Option("--ca-cert", help="The certificate of that CA (PEM), with --ca-key.")
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Validity in days.")] = 365,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write it; default: $O2O_HOME/certs/OP.cert.pem.")
    ] = None,
    passphrase_file: PassphraseFileOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Issue an X.509 certificate for OP's valid Ed25519 key on the ledger (to sign PDF documents).

    Issued by the hub's CA (made in the workspace on first use) unless --ca-key/--ca-cert name the
    operator's own CA; the passphrase options decrypt --ca-key. The file holds the certificate then its CA's.
    """
    result = svc.issue_certificate(
        workspace(),
        operator,
        ca_key=ca_key,
        ca_cert=ca_cert,
        ca_passphrase=passphrase(passphrase_file, passphrase_env),
        days=days,
        out=out,
    )
    if json_out:
        print_json(result.to_dict())
        return
    if result.ca_created:
        console.print(f"hub CA created; its certificate is {result.ca_path}", markup=False, highlight=False)
    console.print(
        f"certificate for {operator} (key {result.key_id}) written to {result.path}: "
        f"{result.info.subject}, issued by {result.info.issuer}, valid to {result.info.not_after}",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """The command is on `keys_app`, which `o2o.cli.ledger.register` adds to the app."""
    del app
