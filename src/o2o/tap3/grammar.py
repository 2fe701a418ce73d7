"""The TAP/RAP grammar a user supplies: every ASN.1 file of a folder, compiled for BER by asn1tools.

The GSMA's TAP 3.x grammar (TD.57) and RAP grammar (TD.32) are not shipped: the user names the folder
holding them (`--grammar DIR`). `SUBSET_DIR` holds the project's own subset (`subset/`), written for the
tests and benchmarks with TAP 3.12's type names and tags. A folder that does not compile, or that lacks
the types the reader decodes, is one error naming the folder and what is missing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asn1tools

from o2o.domain.errors import ValidationError

SUBSET_DIR = Path(__file__).with_name("subset")
GRAMMAR_SUFFIXES = (".asn", ".asn1")
# What the reader decodes with the grammar: a TAP batch's parts, and its call events one by one.
TAP_TYPES = (
    "DataInterChange",
    "BatchControlInfo",
    "AccountingInfo",
    "NetworkInfo",
    "CallEventDetail",
    "AuditControlInfo",
    "Notification",
)
RAP_TYPES = ("RapBatchControlInfo", "ReturnDetail", "RapAuditControlInfo")

_COMPILED: dict[Path, Grammar] = {}
_LOCK = threading.Lock()


class GrammarError(ValidationError):
    """A grammar folder that is missing, does not compile, or lacks a type the reader needs."""


@dataclass(frozen=True, slots=True)
class Grammar:
    """A compiled grammar: `spec.decode(type_name, data)` (asn1tools' BER codec)."""

    folder: Path
    spec: Any  # asn1tools.compiler.Specification (untyped)
    has_rap: bool

    def decode(self, type_name: str, data: bytes) -> Any:
        return self.spec.decode(type_name, data)

    def encode(self, type_name: str, value: Any) -> bytes:
        return bytes(self.spec.encode(type_name, value))


def load_grammar(folder: Path) -> Grammar:
    """The grammar of every `.asn`/`.asn1` file in `folder`, compiled once per process."""
    key = folder.resolve()
    with _LOCK:
        found = _COMPILED.get(key)
        if found is None:
            found = _COMPILED[key] = _compile(folder)
    return found


def _compile(folder: Path) -> Grammar:
    if not folder.is_dir():
        raise GrammarError(f"--grammar {folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in GRAMMAR_SUFFIXES)
    if not files:
        raise GrammarError(f"--grammar {folder}: no ASN.1 files (*.asn, *.asn1) in it")
    try:
        spec = asn1tools.compile_files([str(p) for p in files], "ber")
    except (asn1tools.ParseError, asn1tools.CompileError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GrammarError(f"--grammar {folder}: the ASN.1 does not compile: {first}") from None
    missing = [t for t in TAP_TYPES if t not in spec.types]
    if missing:
        raise GrammarError(
            f"--grammar {folder}: not a TAP 3 grammar: it has no {', '.join(missing)} "
            f"(files {', '.join(p.name for p in files)})"
        )
    return Grammar(folder, spec, has_rap=all(t in spec.types for t in RAP_TYPES))
