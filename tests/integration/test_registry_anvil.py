"""The chain registries on a real node: anvil (installed by `make anvil` from npm's @foundry-rs/anvil), started
on a free loopback port for each test and killed after it.

- evm: a small demo cycle registered on the settlement contract; the node is killed in the middle of the
  netting round's registrations and restarted from its saved state; publishing resumes and nothing is
  registered twice (idempotent by key); `registry verify` rebuilds the facts from events and agrees with
  the workspace, the period report counts the period's entries carried to the contract, and an obligation
  changed in the store afterwards is detected.
- anchored: the central ledger's signed heads anchored; a rewrite of history is detected against them.
- compare: the same period on the three backends, the five attacks and failures executed against each (who
  detects them, when, what stays verifiable), and the period report's registry section carrying the result.
"""

from __future__ import annotations

import o2o.chain  # noqa: F401  (first: imports web3 without the websockets.legacy DeprecationWarning)

# isort: split
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from anvil_node import Anvil
from o2o.chain.settlement import SettlementContract

OPERATORS = ("HUB", "ALFA", "BRAVO", "CHARLIE")
pytestmark = pytest.mark.slow


def _demo_with_chain_keys(cli: Any) -> dict[str, Any]:
    r = cli("demo", "--operators", "3", "--cdrs", "3000", "--seed", "7", "--json")
    assert r.code == 0, r.err
    for op in OPERATORS:
        made = cli("keys", "generate", op, "--chain", "--json")
        assert made.code == 0, made.err
    return dict(r.json())


def _deploy(cli: Any, anvil: Anvil, mode: str, *extra: str) -> dict[str, Any]:
    r = cli("registry", "deploy", "--registry", mode, "--url", anvil.url, "--chain-id", "31337", "--dev-fund",
            "--json", *extra)  # fmt: skip
    assert r.code == 0, r.err
    return dict(r.json())


def test_a_cycle_on_evm_survives_a_node_killed_mid_round_without_double_registration(
    cli: Any, anvil: Anvil, workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    period = _demo_with_chain_keys(cli)["period"]
    deployed = _deploy(cli, anvil, "evm")
    assert set(deployed["participants"]) == {"ALFA", "BRAVO", "CHARLIE"}

    # the node dies once the netting round and its set-offs are registered, before any acceptance
    real_send_many = SettlementContract.send_many
    sent: list[str] = []

    def send_then_die(self: SettlementContract, account: Any, calls: Any) -> Any:
        result = real_send_many(self, account, calls)
        sent.extend(c.function for c in calls)
        if any(c.function == "registerSetOff" for c in calls):
            anvil.stop()
        return result

    monkeypatch.setattr(SettlementContract, "send_many", send_then_die)
    broken = cli("registry", "publish", "--json")
    assert broken.code == 1 and "does not answer" in broken.err
    assert sent.count("registerRound") == 1 and sent.count("registerSetOff") >= 1
    assert sent.count("acceptRound") == 0
    monkeypatch.setattr(SettlementContract, "send_many", real_send_many)

    anvil.start()  # from its saved state: what was registered before the kill is still there
    resumed = cli("registry", "publish", "--json")
    assert resumed.code == 0, resumed.err
    again = resumed.json()
    assert again["skipped_already_on_chain"] >= 1  # the set-offs of the round already on chain
    assert again["registrations"] > 0 and again["gas_used"] > 0

    verified = cli("registry", "verify", "--registry", "evm", "--json")
    assert verified.code == 0, verified.out
    report = verified.json()
    assert report["ok"] and report["counts"]["RoundRegistered"] == 1
    assert report["counts"]["RoundAccepted"] >= 2
    # every registration exactly once: the events on chain are what the two runs sent, nothing twice
    events = sum(n for name, n in report["counts"].items() if name != "ParticipantAdded")
    assert events == len(sent) + again["registrations"]

    # the period report says where the period is registered: all of its entries carried to the contract
    made = cli("documents", "report", "--period", period, "--format", "json", "--out", tmp_path, "--json")
    assert made.code == 0, made.err
    doc = json.loads(Path(made.json()[0]["files"][0]).read_text())
    facts = {f["key"]: f["value"] for s in doc["sections"] if s["key"] == "registry" for f in s["facts"]}
    n = int(facts["registrations"])
    assert facts["registry"].startswith("evm:") and n > 0
    assert facts["on_chain"] == f"{n} of {n}, contract {deployed['contract']} on chain 31337"
    assert facts["comparison"].startswith("no comparison stored")

    # a figure changed in the store afterwards is found against the chain
    with sqlite3.connect(workspace / "o2o.sqlite") as db:
        (ob_id,) = db.execute("SELECT id FROM obligations ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE obligations SET amount = amount + 1 WHERE id = ?", (ob_id,))
    tampered = cli("registry", "verify", "--registry", "evm", "--json")
    assert tampered.code == 1
    messages = [f["message"] for f in tampered.json()["findings"]]
    assert any(ob_id in m and "amount" in m for m in messages), messages


def test_anchored_heads_reveal_a_rewritten_history(cli: Any, anvil: Anvil, workspace: Path) -> None:
    _demo_with_chain_keys(cli)
    _deploy(cli, anvil, "anchored", "--anchor-every", "50")
    first = cli("registry", "publish", "--registry", "anchored", "--json")
    assert first.code == 0, first.err
    anchored = first.json()["anchored_size"]
    assert anchored and anchored > 50
    # not due again until 50 more entries (or the minutes pass)
    assert cli("registry", "publish", "--registry", "anchored", "--json").json()["transactions"] == 0
    assert cli("registry", "verify", "--registry", "anchored").code == 0

    # the hub rewrites an old entry's payload, hash and leaf: the chain's anchored root no longer matches
    with sqlite3.connect(workspace / "o2o.sqlite") as db:
        seq, leaf = db.execute("SELECT seq, leaf_hash FROM ledger_entries WHERE seq = 3").fetchone()
        db.execute("UPDATE ledger_entries SET leaf_hash = ? WHERE seq = ?", ("00" * 32, seq))
    rewritten = cli("registry", "verify", "--registry", "anchored", "--json")
    assert rewritten.code == 1
    messages = [f["message"] for f in rewritten.json()["findings"]]
    assert any("history was rewritten" in m for m in messages), messages
    assert leaf != "00" * 32
    assert json.loads((workspace / "registry.json").read_text())["mode"] == "anchored"
    assert os.environ["O2O_HOME"] == str(workspace)


def test_the_demo_on_evm_and_anchored_prints_the_central_figures_and_the_chains(cli: Any) -> None:
    small = ("demo", "--fresh", "--operators", "3", "--cdrs", "3000", "--seed", "11", "--json")
    central = cli(*small)
    assert central.code == 0, central.err
    for mode in ("evm", "anchored"):
        r = cli(*small, "--registry", mode)
        assert r.code == 0, r.err
        figures = r.json()
        chain = figures.pop("registry")
        expected = central.json()
        for same in (
            "netting",
            "statements_agreed_within_tolerance",
            "statements_disputed",
            "amount_contested",
        ):
            assert figures[same] == expected[same], same
        assert chain["registry"] == mode and chain["verified_from_chain"], chain["findings"]
        assert chain["transactions"] >= 2 and chain["gas_used"] > 0 and chain["blocks"] >= 2
        if mode == "evm":
            assert chain["events"]["StatementRegistered"] >= 1 and chain["events"]["RoundRegistered"] == 1
        else:
            assert chain["events"] == {"HeadAnchored": 1}


def test_compare_measures_the_three_backends_on_the_same_period(cli: Any, tmp_path: Path) -> None:
    demo = cli(
        "demo", "--operators", "3", "--cdrs", "1000", "--seed", "5", "--json"
    )  # this workspace's period
    assert demo.code == 0, demo.err
    r = cli("registry", "compare", "--cdrs", "2000", "--seed", "5", "--json")
    assert r.code == 0, r.err
    data = r.json()
    central, anchored, evm = (data["backends"][b] for b in ("central", "anchored", "evm"))
    assert all(b["verified"] for b in (central, anchored, evm))
    n = central["registrations"]
    assert 0 < n < data["ledger_entries"]  # the keys' own registrations are made by registering the keys
    assert central["gas_per_period"] == 0 and central["transactions"] == 0
    assert anchored["registrations"] == n and anchored["transactions"] == 1 and anchored["gas_per_period"] > 0
    # every ledger registration a transaction, plus declarations and each participant's acceptance
    assert evm["transactions"] == evm["registrations"] > n
    assert evm["gas_per_registration"] > anchored["gas_per_registration"] > 0
    for b in (central, anchored, evm):
        assert b["seconds_to_register"] > 0 and b["latency_to_finality_s"] > 0 and b["storage_bytes"] > 0
    # every attack executed against every backend, and what detected it, who and when
    found = {(a["attack"], a["backend"]): a for a in data["attacks"]}
    rewrite, delete, deny, node_down, hub_down = (
        "the hub rewrites a statement",
        "the hub deletes a payment",
        "an operator denies having signed",
        "a participant's node is down",
        "the hub is unreachable",
    )
    assert len(found) == 15, sorted(found)
    assert all(a["who"] and a["when"] for a in found.values())
    integrity = [a for (name, _b), a in found.items() if name in (rewrite, delete, deny)]
    assert len(integrity) == 9 and all(a["detected"] for a in integrity), integrity
    assert "prev_hash is not the hash before it" in found[rewrite, "central"]["how"]
    assert "history was rewritten" in found[rewrite, "anchored"]["how"]
    assert "has no registration in the workspace" in found[rewrite, "evm"]["how"]
    assert "history was cut" in found[delete, "anchored"]["how"]
    assert "has no registration in the workspace" in found[delete, "evm"]["how"]
    assert "Ed25519 signature" in found[deny, "central"]["how"]
    assert "EIP-712 signature recovered from transaction" in found[deny, "evm"]["how"]

    # a participant's node is down while the hub registers more
    central_down, anchored_down, evm_down = (found[node_down, b] for b in ("central", "anchored", "evm"))
    for down in (central_down, anchored_down, evm_down):
        assert down["added"] >= 1 and down["record_after"] == down["record_before"] + down["added"], down
        assert down["verifiable_after"] and down["verifiable_after"] > 0, down
    # central: no participant node; its check through the hub's API never stopped
    assert central_down["detected"] is None and "no participant runs a node" in central_down["how"]
    assert central_down["verifiable_during"] == central_down["verifiable_after"]
    # anchored: its own node's heads cannot be read, its entries still proved through the hub
    assert anchored_down["detected"] is True and "does not answer" in anchored_down["how"]
    assert anchored_down["verifiable_during"] == anchored_down["verifiable_after"]
    # evm: nothing verifiable while its node is down; after the restart everything, the new entry included
    assert evm_down["detected"] is True and "does not answer" in evm_down["how"]
    assert evm_down["verifiable_during"] == 0 and "both EIP-712 signatures recovered" in evm_down["how"]

    # the hub is unreachable: noticed at once by the participant; only on evm are the facts still verifiable
    for backend in ("central", "anchored", "evm"):
        gone = found[hub_down, backend]
        assert gone["detected"] is True and "cannot reach the hub" in gone["how"], gone
    assert found[hub_down, "central"]["verifiable_during"] == 0
    assert found[hub_down, "anchored"]["verifiable_during"] == 0
    assert "heads anchored by the hub" in found[hub_down, "anchored"]["how"]
    assert found[hub_down, "evm"]["verifiable_during"] == evm_down["verifiable_after"]
    assert found[hub_down, "evm"]["record_after"] == evm_down["record_after"]

    # the period report of the workspace: where its period is registered, and the comparison stored there
    made = cli("documents", "report", "--period", demo.json()["period"], "--format", "json", "--out", tmp_path,
               "--json")  # fmt: skip
    assert made.code == 0, made.err
    doc = json.loads(Path(made.json()[0]["files"][0]).read_text())
    section = next(s for s in doc["sections"] if s["key"] == "registry")
    facts = {f["key"]: f["value"] for f in section["facts"]}
    assert facts["registry"].startswith("central:") and int(facts["registrations"]) > 0
    assert data["measured_at"] in facts["comparison"] and "not on this one" in facts["comparison"]
    tables = {t["key"]: t for t in section["tables"]}
    figures = tables["registry_figures"]
    keys = [c["key"] for c in figures["columns"]]
    rows = {row[0]: dict(zip(keys, row, strict=True)) for row in figures["rows"]}
    assert set(rows) == {"central", "anchored", "evm"}
    for backend, row in rows.items():
        measured = data["backends"][backend]
        assert int(row["registrations"]) == measured["registrations"]
        assert int(row["gas_per_period"]) == measured["gas_per_period"]
        assert row["verified"] == "yes"
    attack_rows = {row[0]: row[1:] for row in tables["registry_attacks"]["rows"]}
    assert len(attack_rows) == 5
    assert attack_rows[hub_down][2] == (
        f"noticed at once; {found[hub_down, 'evm']['verifiable_during']} facts verifiable meanwhile"
    )
    assert attack_rows[rewrite] == ["detected", "detected", "detected"]


def test_on_evm_each_command_carries_its_registrations_to_the_chain(cli: Any, anvil: Anvil) -> None:
    _demo_with_chain_keys(cli)
    _deploy(cli, anvil, "evm")
    assert cli("registry", "publish").code == 0
    before = cli("registry", "verify", "--json").json()["counts"]
    opened = cli("period", "open", "2026-12")  # registers the opening on the ledger, then on the chain
    assert opened.code == 0, opened.err
    after = cli("registry", "verify", "--json").json()
    assert after["ok"] and "pending" not in after["counts"], after
    assert after["counts"]["FactRegistered"] > before["FactRegistered"]
    # with the node gone, the command's own work stands and the one line says what to run later
    anvil.stop()
    again = cli("period", "open", "2027-01")
    assert again.code == 1 and "does not answer" in again.err and len(again.err.strip().splitlines()) == 1
    anvil.start()
    assert cli("registry", "publish").code == 0
    assert cli("registry", "verify").code == 0


def test_a_registration_reorganised_away_is_sent_again_and_counted_once(
    anvil: Anvil, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eth_account import Account

    import o2o.chain.client as client_module
    from o2o.chain.client import ChainClient, ChainConfig

    client = ChainClient.connect(ChainConfig(anvil.url, 31337, confirmations=3))
    rpc = client.w3.provider.make_request
    hub = Account.create()
    rpc("anvil_setBalance", [hub.address, hex(10**20)])  # type: ignore[arg-type]
    events: list[str] = []
    snapshot: list[str] = []

    class Clock:  # the client's clock: while it waits for confirmations, blocks come; once, a reorg
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(_seconds: float) -> None:
            if snapshot:
                rpc("evm_revert", [snapshot.pop()])  # type: ignore[arg-type]
                events.append("reorg")
            else:
                rpc("evm_mine", [])  # type: ignore[arg-type]
                events.append("block")

    monkeypatch.setattr(client_module, "time", Clock)
    contract, _ = SettlementContract.deploy(client, hub, [])
    snapshot.append(rpc("evm_snapshot", [])["result"])  # type: ignore[arg-type]
    sent = contract.send(hub, "anchorHead", 7, b"\x07" * 32, 1, b"\x00" * 64)
    assert "reorg" in events
    # the transaction that counted is the one the canonical chain holds now, confirmed by 3 blocks
    assert client.w3.eth.get_block(sent.block_number)["hash"].to_0x_hex() == sent.block_hash
    assert client.w3.eth.block_number >= sent.block_number + 2
    assert contract.view("anchored_size") == 7
    assert len(contract.events(names=["HeadAnchored"])) == 1


def test_a_proof_of_authority_connection_reads_blocks_through_the_extra_data_middleware(anvil: Anvil) -> None:
    from web3.middleware import ExtraDataToPOAMiddleware

    from o2o.chain.client import ChainClient, ChainConfig
    from o2o.chain.errors import ChainError

    plain = ChainClient.connect(ChainConfig(anvil.url, 31337))
    poa = ChainClient.connect(ChainConfig(anvil.url, 31337, poa=True))
    assert ExtraDataToPOAMiddleware in list(poa.w3.middleware_onion)
    assert ExtraDataToPOAMiddleware not in list(plain.w3.middleware_onion)
    assert poa.w3.eth.get_block("latest")["number"] == plain.w3.eth.get_block("latest")["number"]
    with pytest.raises(ChainError, match=r"is chain 31337, not the configured chain id 1337"):
        ChainClient.connect(ChainConfig(anvil.url, 1337, poa=True))


def test_a_new_participant_is_admitted_by_a_majority_of_the_participants(
    cli: Any, anvil: Anvil, tmp_path: Path
) -> None:
    net = tmp_path / "net"
    assert cli("generate", "--operators", "3", "--cdrs", "100", "--out", net).code == 0
    assert cli("operator", "add", "--file", net / "operators.toml").code == 0
    for op in ("HUB", "ALFA", "BRAVO", "CHARLIE"):
        assert cli("keys", "generate", op).code == 0
    for op in ("HUB", "ALFA", "BRAVO"):
        assert cli("keys", "generate", op, "--chain").code == 0
    deployed = _deploy(cli, anvil, "evm")
    assert set(deployed["participants"]) == {"ALFA", "BRAVO"}
    assert cli("keys", "generate", "CHARLIE", "--chain").code == 0
    first = cli("registry", "approve", "CHARLIE", "--as", "ALFA", "--dev-fund", "--json")
    assert first.code == 0, first.err
    assert first.json() | {"block": 0} == {
        "candidate": "CHARLIE", "approver": "ALFA", "approvals": 1, "participants": 2, "admitted": False, "block": 0,
    }  # fmt: skip
    again = cli("registry", "approve", "CHARLIE", "--as", "ALFA", "--dev-fund")
    assert again.code == 1 and "already approved" in again.err
    second = cli("registry", "approve", "CHARLIE", "--as", "BRAVO", "--dev-fund", "--json")
    assert second.code == 0 and second.json()["admitted"] and second.json()["participants"] == 3
    outsider = cli("registry", "approve", "ALFA", "--as", "HUB", "--dev-fund")
    assert outsider.code == 1 and "not a participant" in outsider.err
    assert cli("registry", "publish").code == 0
    assert cli("registry", "verify").code == 0
