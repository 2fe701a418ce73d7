"""The settlement contract's compiled artifacts: ABI and bytecode, committed beside the Vyper source.

`python -m o2o.chain.artifacts` recompiles `contracts/Settlement.vy` (the pinned Vyper, EVM version paris,
as the source's pragmas say) and writes `contracts/Settlement.json`; a test holds the committed file equal to
a fresh compilation, so the bytecode on chain is the bytecode of the source in the repository.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).with_name("contracts")
SOURCE = CONTRACTS / "Settlement.vy"
ARTIFACT = CONTRACTS / "Settlement.json"
EVM_VERSION = "paris"


@dataclass(frozen=True, slots=True)
class Artifact:
    """What deploying and calling the contract needs: its ABI, creation bytecode and where it came from."""

    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str
    evm_version: str
    source_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": "Settlement",
            "compiler": self.compiler,
            "evm_version": self.evm_version,
            "source_sha256": self.source_sha256,
            "abi": self.abi,
            "bytecode": self.bytecode,
        }


def compile_settlement(source: Path = SOURCE) -> Artifact:
    """Compile the Vyper source with the installed compiler (slow: a second or two)."""
    import vyper

    text = source.read_text(encoding="utf-8")
    out = vyper.compile_code(text, contract_path=source.name, output_formats=["abi", "bytecode"])
    return Artifact(
        abi=out["abi"],
        bytecode=out["bytecode"],
        compiler=f"vyper {vyper.__version__}",
        evm_version=EVM_VERSION,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


@cache
def settlement_artifact() -> Artifact:
    """The committed artifact (no compiler needed at run time)."""
    data = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    return Artifact(
        data["abi"], data["bytecode"], data["compiler"], data["evm_version"], data["source_sha256"]
    )


def write_artifact(artifact: Artifact, path: Path = ARTIFACT) -> None:
    path.write_text(json.dumps(artifact.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_artifact(compile_settlement())
    print(f"wrote {ARTIFACT}")
