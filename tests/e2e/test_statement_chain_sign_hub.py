"""An evm hub that holds no operator's chain key: each party signs the statement's EIP-712 message on its own
side (`o2o statement sign ST --chain-key FILE --key FILE --hub URL`) against a real `o2o serve`, the hub
keeps the signature only when it recovers to the operator's chain address registered on the ledger, and the
publisher registers the statement on the settlement contract (anvil) with the signatures it was sent;
`o2o registry verify --registry evm` then passes.
"""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
from pathlib import Path
from typing import Any

import httpx
import pytest

import hub_server
from anvil_node import Anvil
from evm_parties import one_line, parties_on_evm_hub

pytestmark = pytest.mark.slow


def test_parties_send_their_eip712_signatures_and_the_hub_registers_the_statement(
    cli: Any, tmp_path: Path, anvil: Anvil
) -> None:
    p = parties_on_evm_hub(cli, tmp_path, anvil)
    st, first, second = p.statement, p.first, p.second
    addresses, own, tokens = p.addresses, p.own, p.tokens

    with hub_server.running_hub(tmp_path / "serve.log") as url:
        api = f"{url}/api/v1/statements/{st}"
        auth = {"Authorization": f"Bearer {tokens[first]}"}
        typed = httpx.get(f"{api}/chain-typed-data", headers=auth).json()
        assert typed["signer"] == addresses[first] and typed["chain_id"] == 31337 and typed["signed_by"] == []
        assert typed["typed_data"]["primaryType"] == "Statement"

        # Signed with the other party's chain key: refused in one line naming both addresses.
        wrong = cli("statement", "sign", st, "--chain-key", own[second]["chain"], "--hub", url,
                    "--token", tokens[first])  # fmt: skip
        line = one_line(wrong)
        assert addresses[second] in line and addresses[first] in line and "not by its registered" in line
        problem = httpx.post(f"{api}/chain-signatures", headers=auth, json={"signature": "0x" + "11" * 65})
        assert problem.status_code == 422 and "\n" not in problem.json()["detail"], problem.text

        # Each party: its EIP-712 signature, then its Ed25519 one (the second completes the statement).
        for op in (first, second):
            r = cli("statement", "sign", st, "--chain-key", own[op]["chain"], "--key", own[op]["key"],
                    "--hub", url, "--token", tokens[op], "--json")  # fmt: skip
            assert r.code == 0, r.err
            done = r.json()
            assert done["chain_address"] == addresses[op] and op in done["chain_signed_by"]
        assert done["complete"] is True and done["chain_signed_by"] == sorted((first, second))
        again = cli("statement", "sign", st, "--chain-key", own[first]["chain"], "--hub", url,
                    "--token", tokens[first], "--json")  # fmt: skip
        assert again.code == 0 and again.json()["chain_signed_by"] == sorted((first, second)), again.err

    # Whatever the server's publish jobs carried, the rest now (same lock, same cursor), then the audit.
    r = cli("registry", "publish", "--registry", "evm", "--json")
    assert r.code == 0, r.err
    verified = cli("registry", "verify", "--registry", "evm", "--json")
    assert verified.code == 0, verified.out + verified.err
    found = verified.json()
    assert found["ok"] and found["findings"] == []
    assert found["counts"]["StatementRegistered"] == 1 and "pending" not in found["counts"]
    assert found["counts"]["ObligationRegistered"] >= 1
