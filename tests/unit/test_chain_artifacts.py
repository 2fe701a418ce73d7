"""The committed artifacts of the settlement contract are what the committed source compiles to."""

from __future__ import annotations

import hashlib

from o2o.chain.artifacts import SOURCE, compile_settlement, settlement_artifact


def test_recompiling_the_source_gives_the_committed_bytecode_and_abi() -> None:
    committed = settlement_artifact()
    fresh = compile_settlement()
    assert fresh.bytecode == committed.bytecode
    assert fresh.abi == committed.abi
    assert committed.compiler == fresh.compiler and committed.compiler.startswith("vyper 0.4.")
    assert committed.source_sha256 == hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def test_the_source_targets_paris_and_registers_with_events() -> None:
    source = SOURCE.read_text(encoding="utf-8")
    assert "# pragma evm-version paris" in source
    events = {e["name"] for e in settlement_artifact().abi if e["type"] == "event"}
    assert {
        "DeclarationRegistered", "StatementRegistered", "ObligationRegistered", "RoundRegistered",
        "SetOffRegistered", "RoundAccepted", "PaymentRegistered", "FactRegistered", "HeadAnchored",
        "ParticipantAdded",
    } <= events  # fmt: skip
