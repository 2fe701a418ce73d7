"""The portal's pages of the demo's period: server time per page beside the API's JSON of the same data.

Data: `o2o demo` (8 operators, N calls, default 1,000,000, seed 2026: the whole cycle, disputes resolved,
statements signed, netted) in a fresh workspace under bench-data/portal (kept between runs; `--fresh` makes
it again). Then, in this process, the hub as `o2o serve` runs it (`create_hub()`), an operator's analyst and
the hub's admin signed in: each page and its API baseline are requested `--repeat` times through an ASGI
transport; the server time is measured inside the app (from the request's start to the end of its body),
and the median is printed with the ratio page / API. Goal: every page under 300 ms at the demo's size.

    .venv/bin/python benchmarks/portal_bench.py [--cdrs N] [--repeat 7] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data" / "portal"
GOAL_MS = 300.0


def prepare(cdrs: int, fresh: bool) -> Path:
    home = DATA / f"home-{cdrs}"
    done = home / ".demo-done"
    if fresh and home.exists():
        shutil.rmtree(home)
    if not done.exists():
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "O2O_HOME": str(home)}
        env.pop("O2O_DATABASE_URL", None)
        start = time.perf_counter()
        o2o = str(Path(sys.executable).parent / "o2o")
        subprocess.run([o2o, "demo", "--cdrs", str(cdrs), "--fresh", "--json"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        print(f"demo data: {cdrs:,} calls in {time.perf_counter() - start:.0f} s")
        done.touch()
    return home


class ServerTime:
    """ASGI middleware: the time from a request's arrival to the last byte of its answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()

        async def sending(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - start

        await self.app(scope, receive, sending)


def client_for(timer: ServerTime) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(timer)


def signed_in(timer: ServerTime, token: str) -> Any:
    client = client_for(timer)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = client.post("/login", data={"csrf": csrf.group(1), "token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def timed(
    client: Any, timer: ServerTime, url: str, repeat: int, headers: dict[str, str] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        r = client.get(url, headers=headers or {})
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        times.append(timer.last * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    home = prepare(args.cdrs, args.fresh)
    os.environ["O2O_HOME"] = str(home)
    os.environ.pop("O2O_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT / "src"))
    from o2o.config import Settings
    from o2o.portal.app import create_hub
    from o2o.services.hub_identity import create_token

    app = create_hub(Settings())
    ws = app.state.workspace
    operator = _first_operator(ws)
    op_token = create_token(ws, operator, "analyst", user=f"bench-{operator}").token
    hub_token = create_token(ws, "HUB", "admin", user="bench-admin").token
    timer = ServerTime(app)
    page_client = signed_in(timer, op_token)
    admin_client = signed_in(timer, hub_token)
    api = client_for(timer)
    auth = {"Authorization": f"Bearer {op_token}"}
    hub_auth = {"Authorization": f"Bearer {hub_token}"}
    me = api.get("/api/v1/me", headers=auth).json()
    cycles = api.get("/api/v1/cycles", headers=auth).json()
    period = max(c["period"] for c in cycles)
    statement = next(c["statement"] for c in cycles if c["statement"] and c["period"] == period)
    disputes = api.get("/api/v1/disputes", headers=auth).json()
    line = next((d for d in disputes if d["statement"] == statement), disputes[0] if disputes else None)
    seq = int(re.findall(r'href="/ledger/entries/(\d+)"', page_client.get("/ledger").text)[0])
    pairs: list[tuple[str, Any, str, str, Any, dict[str, str]]] = [
        ("This month", page_client, f"/?period={period}", f"/api/v1/cycles?period={period}", api, auth),
        ("Statement (sign)", page_client, f"/statements/{statement}", f"/api/v1/statements/{statement}", api, auth),
        ("Disputes", page_client, "/disputes", "/api/v1/disputes", api, auth),
        ("Netting", page_client, f"/netting?period={period}", f"/api/v1/obligations?period={period}", api, auth),
        ("Accounts", page_client, "/accounts", "/api/v1/me", api, auth),
        ("Ledger", page_client, "/ledger", "/api/v1/ledger/head", api, auth),
        ("Ledger entry verified", page_client, f"/ledger/entries/{seq}", f"/api/v1/ledger/entries/{seq}/proof",
         api, auth),
        ("Admin", admin_client, "/admin", "/api/v1/admin/tokens", api, hub_auth),
        ("Admin operators", admin_client, "/admin/operators", "/api/v1/admin/operators", api, hub_auth),
        ("Admin agreements", admin_client, "/admin/agreements", "/api/v1/admin/agreements", api, hub_auth),
        ("Admin users, tokens", admin_client, "/admin/users", "/api/v1/admin/tokens", api, hub_auth),
    ]  # fmt: skip
    declared = re.findall(
        r'<a href="/declarations/([^"?]+)">', page_client.get(f"/declarations?period={period}").text
    )
    if declared:
        pairs.insert(
            1,
            ("Declarations", page_client, f"/declarations?period={period}",
             f"/api/v1/declarations/{declared[0]}", api, auth),
        )  # fmt: skip
    if line is not None:
        pairs.insert(
            -4,
            ("Dispute", page_client, f"/disputes/{line['id']}", f"/api/v1/disputes/{line['id']}", api, auth),
        )  # fmt: skip
        pairs.insert(
            2,
            ("Drill-down", page_client, f"/statements/{line['statement']}/lines/{line['service']}",
             f"/api/v1/statements/{line['statement']}/evidence", api, auth),
        )  # fmt: skip
    print(
        f"portal pages of {period} for {me['user']} ({operator}), {args.cdrs:,} calls; median of {args.repeat}"
    )
    print(f"{'page':<24} {'page ms':>9} {'API ms':>9} {'ratio':>7}  API baseline")
    worst = 0.0
    for name, client, url, api_url, api_client, headers in pairs:
        page_ms = timed(client, timer, url, args.repeat)
        api_ms = timed(api_client, timer, api_url, args.repeat, headers)
        worst = max(worst, page_ms)
        print(
            f"{name:<24} {page_ms:>9.1f} {api_ms:>9.1f} {page_ms / api_ms:>7.2f}  GET {api_url.split('?')[0]}"
        )
    verdict = "under" if worst < GOAL_MS else "OVER"
    print(f"slowest page {worst:.1f} ms: {verdict} the {GOAL_MS:.0f} ms goal")


def _first_operator(ws: Any) -> str:
    with ws.uow() as uow:
        return str(next(o.id for o in uow.operators.all() if o.id != "HUB"))


if __name__ == "__main__":
    main()
