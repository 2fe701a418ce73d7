"""Signing with a local key through a hub, on SQLite and PostgreSQL: `o2o statement sign ST --key FILE --hub URL`
against a real `o2o serve` on a free loopback port. Each party's key is in its own folder, not the hub's
workspace; the client reads the statement, checks its digest, signs the canonical document and sends only
the signature, which the hub verifies against the key registered on the ledger.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

import cycle_steps
import hub_server
from o2o.ledger.keys import Signer, write_private_key


@pytest.fixture
def hub(db_cli: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A reconciled network whose disputes are settled, its parties' keys moved out of the workspace into
    their own folders, signer tokens for both, and `o2o serve` running over the workspace."""
    cli = db_cli
    _, report, ag = cycle_steps.reconciled(cli, tmp_path, cdrs=300, seed=5)
    for d_id in report["disputes"]:
        cycle_steps.resolve_by_split(cli, d_id)
    keys: dict[str, Path] = {}
    for op in ag["parties"]:
        own = tmp_path / f"client-{op}"
        own.mkdir(mode=0o700)
        keys[op] = Path(shutil.move(Path(os.environ["O2O_HOME"]) / "keys" / f"{op}.pem", own / f"{op}.pem"))
    tokens = {
        op: cli("hub", "token", "create", "--operator", op, "--role", "signer", "--json").json()["token"]
        for op in ag["parties"]
    }
    viewer = cli("hub", "token", "create", "--operator", ag["parties"][0], "--role", "viewer", "--json")
    with hub_server.running_hub(tmp_path / "serve.log") as url:
        yield {"cli": cli, "url": url, "keys": keys, "tokens": tokens, "viewer": viewer.json()["token"],
               "statement": report["statement"], "parties": ag["parties"], "tmp": tmp_path}  # fmt: skip


def _one_line(r: Any) -> str:
    assert r.code != 0 and r.out == "", (r.code, r.out, r.err)
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err, r.err
    return str(r.err.strip())


def test_each_party_signs_on_the_hub_with_its_own_key(
    hub: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, url, st = hub["cli"], hub["url"], hub["statement"]
    first, second = hub["parties"]
    shown = cli("statement", "show", st, "--json").json()
    assert shown["state"] == "agreed" and shown["signatures"] == []
    # The hub's workspace holds no party's key: it cannot sign for them.
    assert "has no signing key here" in _one_line(cli("statement", "sign", st, "--as", first))

    r = cli("statement", "sign", st, "--key", hub["keys"][first], "--hub", url, "--token", hub["tokens"][first],
            "--digest", shown["digest"], "--json")  # fmt: skip
    assert r.code == 0, r.err
    one = r.json()
    assert one["operator"] == first and one["complete"] is False and one["digest"] == shown["digest"]

    # The token from the environment, as an integration sets it; the second signature completes it.
    monkeypatch.setenv("O2O_HUB_TOKEN", hub["tokens"][second])
    r = cli("statement", "sign", st, "--key", hub["keys"][second], "--hub", url + "/", "--json")
    assert r.code == 0, r.err
    two = r.json()
    assert two["operator"] == second and two["complete"] is True and two["obligations"]

    done = cli("statement", "show", st, "--json").json()
    assert done["state"] == "signed" and done["digest"] == shown["digest"]
    by = {s["operator"]: s for s in done["signatures"]}
    assert by[first]["signature"] == one["signature"] and by[first]["key_id"] == one["key_id"]
    assert by[second]["signature"] == two["signature"]
    # Each signature is the party's own over the canonical document: verified here against its public key.
    for op, sig in ((first, one), (second, two)):
        private = load_pem_private_key(hub["keys"][op].read_bytes(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        public = private.public_key()
        canonical = httpx.get(f"{url}/api/v1/statements/{st}",
                              headers={"Authorization": f"Bearer {hub['viewer']}"}).json()["canonical"]  # fmt: skip
        public.verify(bytes.fromhex(sig["signature"]), canonical.encode())  # raises if it is not
    assert cli("ledger", "verify", "--store").code == 0
    err = _one_line(cli("statement", "sign", st, "--key", hub["keys"][second], "--hub", url))
    assert "409" in err and "already signed" in err


def test_the_client_refuses_in_one_line_and_the_hub_stores_nothing(hub: dict[str, Any]) -> None:
    cli, url, st = hub["cli"], hub["url"], hub["statement"]
    first = hub["parties"][0]
    key, token = hub["keys"][first], hub["tokens"][first]

    def sign(*more: Any) -> Any:
        return cli("statement", "sign", st, *more)

    # A key that is not the one registered on the ledger: the hub refuses the signature.
    stranger = hub["tmp"] / "stranger.pem"
    write_private_key(stranger, Signer.generate(first))
    err = _one_line(sign("--key", stranger, "--hub", url, "--token", token))
    assert "422" in err and "key_id" in err
    # A digest other than the statement's: refused here, before anything is sent.
    err = _one_line(sign("--key", key, "--hub", url, "--token", token, "--digest", "0" * 64))
    assert "has changed" in err
    # Who, where and with what: each a line.
    assert "401" in _one_line(sign("--key", key, "--hub", url, "--token", "not-a-token"))
    assert "403" in _one_line(sign("--key", key, "--hub", url, "--token", hub["viewer"]))
    assert "404" in _one_line(cli("statement", "sign", "ST-NOPE-2026-10", "--key", key, "--hub", url,
                                  "--token", token))  # fmt: skip
    closed = f"http://127.0.0.1:{hub_server.free_port()}"
    assert "cannot reach the hub" in _one_line(sign("--key", key, "--hub", closed, "--token", token))
    assert "no such file" in _one_line(sign("--key", hub["tmp"] / "none.pem", "--hub", url, "--token", token))
    assert "go together" in _one_line(sign("--hub", url, "--token", token))
    assert "--token" in _one_line(sign("--key", key, "--hub", url, "--token", " "))
    err = _one_line(sign("--as", first, "--key", key, "--hub", url, "--token", token))
    assert "--as is for a key in the workspace" in err
    assert cli("statement", "show", st, "--json").json()["signatures"] == []
