"""The integration routes on PostgreSQL: a Parquet upload is the declaration a local import of the same file
makes; the events feed pages the same; a webhook is delivered by an `o2o worker` process (with PostgreSQL the
server runs no jobs itself), signed, retried after failures, every attempt on record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from api.conftest import Hub, invoker
from api.test_api_events import SECRET, Receiver, _all

pytestmark = pytest.mark.postgres


def test_a_parquet_upload_is_the_local_import_of_it(
    postgres_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = postgres_hub
    alfa = hub.parties[0]
    voice = next(d for d in hub.cli("usage", "list", "--json").json()
                 if d["declarer"] == alfa and d["service"].startswith("voice"))  # fmt: skip
    csv_path = hub.home.parent / "net" / "usage" / hub.agreement / voice["source"]
    parquet = tmp_path / "voice.parquet"
    options = pcsv.ConvertOptions(column_types={c: "string" for c in ("a_number", "b_number", "record_id")})
    pq.write_table(pcsv.read_csv(csv_path, convert_options=options), parquet)
    r = hub.client.post(
        "/api/v1/declarations",
        params={
            "agreement": hub.agreement,
            "period": hub.period,
            "service": voice["service"],
            "filename": parquet.name,
        },
        content=parquet.read_bytes(),
        headers=hub.auth(alfa, "analyst") | {"Content-Type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["supersedes"] == voice["id"] and up["rows"] == voice["rows"] and up["source"] == parquet.name

    monkeypatch.setenv("O2O_HOME", str(tmp_path / "local"))
    monkeypatch.delenv("O2O_DATABASE_URL")
    cli = invoker()
    net = hub.home.parent / "net"
    assert cli("operator", "add", "--file", net / "operators.toml").code == 0
    assert cli("agreement", "load", next((net / "agreements").glob("*.toml"))).code == 0
    local = cli("usage", "import", parquet, "--agreement", hub.agreement, "--period", hub.period,
                "--declarer", alfa, "--service", voice["service"], "--json").json()  # fmt: skip
    figures = ("rows", "rejected", "duration_s", "volume", "sha256", "source")
    assert {k: up[k] for k in figures} == {k: local[k] for k in figures}


def test_a_worker_process_delivers_the_webhook(postgres_hub: Hub) -> None:
    hub = postgres_hub
    alfa, bravo = hub.parties
    everything, _ = _all(hub, hub.auth("HUB", "admin"), 1000)
    assert _all(hub, hub.auth(alfa, "viewer"), 2)[0] == _all(hub, hub.auth(alfa, "viewer"), 1000)[0]
    assert [e["seq"] for e in everything] == list(range(len(everything)))
    with Receiver(failures=1) as receiver:
        hook = hub.client.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET},
                               headers=hub.auth(alfa, "analyst")).json()  # fmt: skip
        r = hub.client.post(f"/api/v1/disputes/{hub.disputes[0]}/proposals", json={},
                            headers=hub.auth(bravo, "analyst"))  # fmt: skip
        assert r.status_code in (200, 201), r.text
        worker = subprocess.Popen([sys.executable, "-c", "from o2o.cli.app import main; main()", "worker",
                                   "--poll", "0.2"], env=dict(os.environ),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not any(x["answer"] == 200 for x in receiver.received):
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
        assert worker.returncode == 0, "SIGTERM ends the worker cleanly"
    got: list[dict[str, Any]] = receiver.received
    assert [x["answer"] for x in got][:2] == [500, 200] and all(x["valid"] for x in got)
    assert got[0]["body"]["event"]["type"] == "dispute.proposed"
    deliveries = hub.client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=hub.auth(alfa, "viewer")
    ).json()
    assert [(d["attempt"], d["outcome"]) for d in reversed(deliveries)][:2] == [
        (1, "failed"),
        (2, "delivered"),
    ]
