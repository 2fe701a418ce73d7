"""The options that give a private key's passphrase, shared by every command that signs with a key.

`--passphrase-file FILE` (its first line) or `--passphrase-env VAR` (an environment variable), not both.
Without either, an encrypted key is refused with a one-line error naming these options (`o2o.ledger.keys`).
A file is the better habit: an environment variable is visible to the user's other processes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from o2o.domain.errors import ValidationError
from o2o.services.ledger import passphrase_of_file

PassphraseFileOpt = Annotated[
    Path | None,
    typer.Option("--passphrase-file", metavar="FILE", help="File whose first line is the key's passphrase."),
]
PassphraseEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env", metavar="VAR", help="Environment variable holding the key's passphrase."
    ),
]


def passphrase(file: Path | None, env: str | None) -> bytes | None:
    """The passphrase the options give (None when neither is given)."""
    if file is not None and env is not None:
        raise ValidationError("give the passphrase once: --passphrase-file or --passphrase-env, not both")
    if file is not None:
        return passphrase_of_file(file)
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise ValidationError(f"--passphrase-env {env}: the variable is not set or empty")
    return value.encode()
