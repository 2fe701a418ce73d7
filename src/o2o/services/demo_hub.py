"""`o2o demo --hub`: the demo's cycle run through a settlement hub on loopback, every party over HTTP.

The demo's workspace becomes the hub's: `o2o serve` is started on a free loopback port over it (its own
process, stopped at the end, on failure and on Ctrl-C too). The hub's host makes the hub's own key and hands
out the API tokens (as `o2o hub token create` does): one for the hub's admin, and for each operator an
analyst's and a signer's. From then on every step goes through the API:

- the admin loads the operators and the agreements, approves the operators' keys, runs the reconciliation
  and the netting round as jobs (followed on `GET /jobs/{id}`) and closes the period;
- each operator is a separate client with its own tokens and its own Ed25519 key, made on its own side in a
  folder outside the hub's workspace (the public half registered through the API with a proof of
  possession); it declares its usage by upload, negotiates its disputes (the provider asks for its figure,
  the customer rejects and offers to split the difference, the provider accepts), signs its statements
  locally (only the signature goes to the hub) and confirms, as payee, the payments it received.

In clearing-house mode the hub itself is the payee of the net debtors' payments: it confirms those on its
own host (the admin role holds no signing right). The figures are read back through the admin's API once
the period is closed (`GET /admin/statements/{id}/reconciliation`, `/admin/netting-rounds/{id}`, the
disputes, payments and cycles) and summed by the local demo's `summarise`, so that both print the same
table. The ledger is exported and verified from the export on the hub's host after the server stops.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from o2o.bootstrap import Workspace
from o2o.domain.errors import O2OError, ValidationError
from o2o.ledger.keys import HUB, Signer, write_private_key
from o2o.services import hub_client as remote
from o2o.services import hub_identity, settlement
from o2o.services.cycle_common import hub_signer
from o2o.services.demo import DemoRun, Step, summarise, verify_ledger
from o2o.synth.generator import generate_network
from o2o.synth.options import SynthOptions

READY_WITHIN_S = 90
JOB_POLL_S = 0.2
QUEUED_AT_MOST_S = 120


@dataclass(frozen=True, slots=True)
class HubMatch:
    ours: int
    theirs: int
    matched: int
    only_ours: int
    only_theirs: int


@dataclass(frozen=True, slots=True)
class HubLine:
    service: str
    match: HubMatch | None


@dataclass(frozen=True, slots=True)
class HubReport:
    """A statement's reconciliation as the hub's admin reads it back."""

    agreement_id: str
    statement_id: str
    disputes: tuple[str, ...]
    lines: tuple[HubLine, ...]


@dataclass
class Operator:
    """One operator's side: its two clients (analyst, signer) and its own key file."""

    id: str
    analyst: remote.HubClient
    signer: remote.HubClient
    key: Path


@dataclass
class HubDemoRun:
    run: DemoRun
    reports: list[HubReport]
    url: str
    keys_dir: Path
    operators: list[str]
    summary: dict[str, Any]


def write_summary(ws: Workspace, figures: dict[str, Any]) -> Path:
    """`demo-report/summary.json` (beside the ledger's export and the server's log); the folder."""
    folder = ws.home / "demo-report"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    return folder


def run_demo_hub(ws: Workspace, network: Path, opts: SynthOptions, mode: str, step: Step) -> HubDemoRun:
    """The whole cycle through a hub served on loopback over `ws`; `step` reports progress."""
    lap = _Laps()
    step(f"generating {opts.operators} operators, {opts.cdrs:,} calls")
    truth = generate_network(opts, network, force=True).truth
    run = DemoRun(network, truth, lap.seconds)
    lap("generate")
    period = truth["period"]
    with ExitStack() as stack:
        step("starting the hub (o2o serve on loopback)")
        hub_signer(ws)  # the hub's own key, on the hub's host
        url = stack.enter_context(serving(ws, ws.home / "demo-report" / "hub-serve.log"))
        admin = stack.enter_context(remote.HubClient(url, hub_identity.create_token(ws, HUB, "admin").token))
        lap("hub")
        step("the admin loads the operators and agreements")
        _load(admin, network, truth)
        lap("load")
        step("each operator registers its own key; the admin approves them")
        keys_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="o2o-demo-operators-")))
        operators = {o["id"]: _operator(ws, stack, url, o["id"], keys_dir) for o in _operators_file(network)}
        _register_keys(admin, operators)
        lap("keys")
        step(f"the operators declare {len(truth['files'])} usage files by upload")
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-upload") as pool:
            list(pool.map(lambda f: remote.declare(operators[f["declarer"]].analyst, network / f["file"],
                                                   f["agreement"], period, f["service"]), truth["files"]))  # fmt: skip
        lap("import")
        step("the admin reconciles the period (a job)")
        done = wait_job(admin, admin.post("/reconcile-runs", {"period": period}))
        made = {str(s["statement"]): str(s["agreement"]) for s in done["result"]["statements"]}
        statement_ids = sorted(made)
        lap("reconcile")
        step("the operators negotiate their disputes")
        for d in remote.disputes(admin, "open"):
            _negotiate(operators, d)
        lap("disputes")
        step("the operators sign their statements with their own keys")
        _sign(operators, truth, made)
        lap("sign")
        step(f"the admin nets ({mode}); the payees confirm their payments")
        round_id = _net_and_pay(ws, admin, operators, period, mode)
        lap("net_and_pay")
        step("reading the final state through the admin's API")
        reports = _read_final_state(admin, run, statement_ids, round_id)
    step("verifying the ledger from its export")
    run.ledger = verify_ledger(ws)
    lap("ledger")
    figures = summarise(run, reports)
    return HubDemoRun(run, reports, url, keys_dir, sorted(operators), figures)


class _Laps:
    """Seconds per step, as the local demo times them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._clock, 2)
        self._clock = now


# --- the hub's process ------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(ws: Workspace, log: Path) -> Iterator[str]:
    """The URL of `o2o serve` over the workspace on a free loopback port, until the block ends (however it
    ends: the server is stopped, killed if it does not stop). With PostgreSQL, where the server leaves its
    jobs to workers, an `o2o worker` runs beside it (its output in the same log)."""
    from o2o.services.worker import runs_in_server

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, O2O_HOME=str(ws.home))
    if ws.settings.database_url is not None:
        env["O2O_DATABASE_URL"] = ws.settings.database_url
    o2o = [sys.executable, "-c", "from o2o.cli.app import main; main()"]
    commands = [[*o2o, "serve", "--host", "127.0.0.1", "--port", str(port)]]
    if not runs_in_server(ws):
        commands.append([*o2o, "worker", "--poll", "0.2"])
    log.parent.mkdir(parents=True, exist_ok=True)
    # A SIGTERM to the demo ends it as Ctrl-C does: through this block's `finally`, which stops the server.
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if on_main else None
    started: list[subprocess.Popen[bytes]] = []
    with log.open("wb") as out:
        try:
            for command in commands:
                started.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env))
            _wait_ready(url, started, log)
            yield url
        finally:
            for process in started:
                process.terminate()
            for process in started:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _wait_ready(url: str, started: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        for process in started:
            if process.poll() is not None:
                what = "serve" if process is started[0] else "worker"
                raise O2OError(f"o2o {what} exited with {process.returncode}: {_last_line(log)} (log: {log})")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise O2OError(f"o2o serve at {url} not ready within {READY_WITHIN_S} s (log: {log})")


def _last_line(log: Path) -> str:
    lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "no output"


def wait_job(admin: remote.HubClient, job: Any) -> dict[str, Any]:
    """The job once it is done (followed on `GET /jobs/{id}`); a failed job is an error naming why."""
    job_id = str(job["id"])
    queued_until = time.monotonic() + QUEUED_AT_MOST_S
    while True:
        state = admin.get(f"/jobs/{job_id}", what=f"follow job {job_id}")
        if state["state"] == "done":
            return dict(state)
        if state["state"] == "failed":
            raise O2OError(f"hub job {job_id} ({state['kind']}) failed: {state.get('error')}")
        if state["state"] == "queued" and time.monotonic() > queued_until:
            raise O2OError(f"hub job {job_id} ({state['kind']}): no worker took it in {QUEUED_AT_MOST_S} s")
        time.sleep(JOB_POLL_S)


# --- the admin's and the operators' steps -------------------------------------------------------------------


def _operators_file(network: Path) -> list[dict[str, Any]]:
    with (network / "operators.toml").open("rb") as fh:
        return list(tomllib.load(fh)["operators"])


def _load(admin: remote.HubClient, network: Path, truth: dict[str, Any]) -> None:
    """The admin adds the operators (the network's operators file: numbering plans and legal data) and loads
    each agreement through the API."""
    admin.post_file("/admin/operators/file", "file", network / "operators.toml", what="add the operators")
    for ag in truth["agreements"]:
        admin.post_file("/admin/agreements", "file", network / ag["file"], what=f"load agreement {ag['id']}")


def _operator(ws: Workspace, stack: ExitStack, url: str, op: str, keys_dir: Path) -> Operator:
    """An operator's side: its tokens (handed out by the hub's host) and its key, made here, in its folder."""

    def client(role: str) -> remote.HubClient:
        token = hub_identity.create_token(ws, op, role).token
        return stack.enter_context(remote.HubClient(url, token))

    key = keys_dir / op / f"{op}.pem"
    write_private_key(key, Signer.generate(op))
    return Operator(op, client("analyst"), client("signer"), key)


def _register_keys(admin: remote.HubClient, operators: dict[str, Operator]) -> None:
    """Each operator submits its public key with a proof of possession; the admin approves each request."""
    requested = {remote.register_key(o.signer, o.key)["id"] for o in operators.values()}
    pending = admin.get("/admin/keys", {"state": "pending"}, what="list the key requests")
    for request in pending:
        if request["id"] in requested:
            admin.post(f"/admin/keys/{request['id']}/approve", {}, what=f"approve key {request['key_id']}")
            requested.discard(request["id"])
    if requested:
        raise ValidationError(f"key requests not pending on the hub: {', '.join(sorted(requested))}")


def _negotiate(operators: dict[str, Operator], d: dict[str, Any]) -> None:
    """As the local demo: the provider asks for its own figure, the customer rejects it and offers to split
    the difference, and the provider accepts; each through its own analyst's client."""
    provider, customer = operators[d["provider"]].analyst, operators[d["customer"]].analyst
    remote.propose(provider, d["id"], d["provider_amount"], "our CDRs stand")
    remote.answer(customer, d["id"], "reject")
    remote.propose(customer, d["id"], None)
    remote.answer(provider, d["id"], "accept")


def _sign(operators: dict[str, Operator], truth: dict[str, Any], made: dict[str, str]) -> None:
    """Both parties of each statement sign it on their side, with their own key."""
    for st, agreement in sorted(made.items()):
        for party in next(a["parties"] for a in truth["agreements"] if a["id"] == agreement):
            remote.sign_statement(operators[party].signer, st, operators[party].key)


def _net_and_pay(
    ws: Workspace, admin: remote.HubClient, operators: dict[str, Operator], period: str, mode: str
) -> str:
    """The admin's netting round (a job); each payee confirms what it received; the admin closes the period.
    The round's id."""
    netted = wait_job(admin, admin.post("/netting-rounds", {"period": period, "mode": mode}))
    round_id = str(netted["result"]["round"])
    for pay in [p for p in remote.payments(admin) if p["round_id"] == round_id]:
        reference = f"DEMO-{pay['id']}"
        if pay["payee"] == HUB:  # the hub's own account: confirmed on its host
            settlement.confirm_payment(ws, pay["id"], reference=reference, confirmed_by=HUB)
        else:
            remote.confirm_payment(operators[pay["payee"]].signer, pay["id"], reference)
    admin.post(f"/admin/periods/{period}/close", {}, what=f"close {period}")
    return round_id


def _read_final_state(
    admin: remote.HubClient, run: DemoRun, statement_ids: list[str], round_id: str
) -> list[HubReport]:
    """What the hub says once the period is closed, read by its admin through the API."""
    reports = []
    for st in statement_ids:
        rec = admin.get(f"/admin/statements/{st}/reconciliation", what=f"read the reconciliation of {st}")
        lines = tuple(
            HubLine(str(ln["service"]), None if ln["match"] is None else HubMatch(
                int(ln["match"]["ours"]), int(ln["match"]["theirs"]), int(ln["match"]["matched"]),
                int(ln["match"]["only_ours"]), int(ln["match"]["only_theirs"])))
            for ln in rec["lines"]
        )  # fmt: skip
        reports.append(HubReport(str(rec["agreement"]), st, tuple(rec["disputes"]), lines))
        run.lines[st] = list(admin.get(f"/statements/{st}")["lines"])
    rnd = admin.get(f"/admin/netting-rounds/{round_id}", what=f"read netting round {round_id}")
    run.round = {"id": rnd["id"], "mode": rnd["mode"], "state": rnd["state"], **rnd["figures"]}
    run.payments = [p for p in remote.payments(admin) if p["round_id"] == round_id]
    run.disputes = [d for d in remote.disputes(admin) if d["statement"] in set(statement_ids)]
    run.cycles = list(admin.get("/cycles", {"period": run.truth["period"]}, what="read the cycles"))
    return reports
