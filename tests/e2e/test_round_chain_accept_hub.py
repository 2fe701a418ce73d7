"""An evm hub that holds no operator's chain key: a netting round is registered on the settlement contract
(anvil) by the hub, and each participant accepts it on its own side (`o2o net accept ROUND --chain-key FILE
--hub URL`) against a real `o2o serve`; the hub keeps an acceptance only when it recovers to the operator's
chain address registered on the ledger, and the publisher relays each one to the contract as it arrives:
`o2o registry verify --registry evm` names the participant still to accept, then passes once both have.
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


def test_participants_accept_the_round_on_their_side_and_the_hub_relays_each_acceptance(
    cli: Any, tmp_path: Path, anvil: Anvil
) -> None:
    p = parties_on_evm_hub(cli, tmp_path, anvil)
    period, st, first, second = p.period, p.statement, p.first, p.second
    addresses, own, tokens = p.addresses, p.own, p.tokens
    with hub_server.running_hub(tmp_path / "serve-sign.log") as url:
        for op in (first, second):
            r = cli("statement", "sign", st, "--chain-key", own[op]["chain"], "--key", own[op]["key"],
                    "--hub", url, "--token", tokens[op], "--json")  # fmt: skip
            assert r.code == 0, r.err
        assert r.json()["complete"] is True

    netted = cli("net", "run", "--period", period, "--mode", "conservative", "--json")
    assert netted.code == 0, netted.err
    rnd = netted.json()["round"]
    # The hub registers the round (no operator key here: no acceptance is made for them).
    r = cli("registry", "publish", "--registry", "evm", "--json")
    assert r.code == 0, r.err
    pending = cli("registry", "verify", "--registry", "evm", "--json")
    assert pending.code != 0 and pending.json()["ok"] is False, pending.out + pending.err
    missing = [f["message"] for f in pending.json()["findings"]]
    assert missing and all("no acceptance on chain" in m and rnd in m for m in missing), missing
    assert {m.split(" accepts ")[0] for m in missing} == {first, second}
    assert (
        pending.json()["counts"]["RoundRegistered"] == 1 and "RoundAccepted" not in pending.json()["counts"]
    )

    with hub_server.running_hub(tmp_path / "serve-accept.log") as url:
        api = f"{url}/api/v1/netting-rounds/{rnd}"
        auth = {"Authorization": f"Bearer {tokens[first]}"}
        typed = httpx.get(f"{api}/chain-typed-data", headers=auth).json()
        assert typed["signer"] == addresses[first] and typed["chain_id"] == 31337, typed
        assert typed["typed_data"]["primaryType"] == "RoundAcceptance" and typed["accepted_by"] == []
        assert sorted(typed["participants"]) == sorted((first, second))
        unknown = httpx.get(f"{url}/api/v1/netting-rounds/RND-NOT-HERE/chain-typed-data", headers=auth)
        assert unknown.status_code == 404, unknown.text

        # Signed with the other participant's chain key: refused in one line naming both addresses.
        wrong = cli("net", "accept", rnd, "--chain-key", own[second]["chain"], "--hub", url,
                    "--token", tokens[first])  # fmt: skip
        line = one_line(wrong)
        assert addresses[second] in line and addresses[first] in line and "not by its registered" in line
        problem = httpx.post(f"{api}/chain-signatures", headers=auth, json={"signature": "0x" + "11" * 65})
        assert problem.status_code == 422 and "\n" not in problem.json()["detail"], problem.text

        r = cli("net", "accept", rnd, "--chain-key", own[first]["chain"], "--hub", url, "--token", tokens[first],
                "--json")  # fmt: skip
        assert r.code == 0, r.err
        assert r.json()["chain_address"] == addresses[first] and r.json()["accepted_by"] == [first]
    # The first acceptance is relayed alone; the round still waits for the second participant's.
    assert cli("registry", "publish", "--registry", "evm", "--json").code == 0
    half = cli("registry", "verify", "--registry", "evm", "--json").json()
    assert [f["message"].split(" accepts ")[0] for f in half["findings"]] == [second], half["findings"]
    assert half["counts"]["RoundAccepted"] == 1

    with hub_server.running_hub(tmp_path / "serve-accept2.log") as url:
        r = cli("net", "accept", rnd, "--chain-key", own[second]["chain"], "--hub", url,
                "--token", tokens[second], "--json")  # fmt: skip
        assert r.code == 0, r.err
        assert r.json()["accepted_by"] == sorted((first, second))
        again = cli("net", "accept", rnd, "--chain-key", own[second]["chain"], "--hub", url,
                    "--token", tokens[second], "--json")  # fmt: skip
        assert again.code == 0 and again.json()["accepted_by"] == sorted((first, second)), again.err

    r = cli("registry", "publish", "--registry", "evm", "--json")
    assert r.code == 0, r.err
    verified = cli("registry", "verify", "--registry", "evm", "--json")
    assert verified.code == 0, verified.out + verified.err
    found = verified.json()
    assert found["ok"] and found["findings"] == []
    assert found["counts"]["RoundRegistered"] == 1 and found["counts"]["RoundAccepted"] == 2
    assert found["counts"]["StatementRegistered"] == 1 and "pending" not in found["counts"]
