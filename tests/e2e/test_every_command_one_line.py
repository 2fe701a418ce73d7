"""Every error is one line, for every command: generated from Typer's own command tree, not a hand-made table.

Each command of `o2o` (walked from `typer.main.get_command(app)`, so a new command is covered as soon as
it is registered) is run in-process once per date, period, amount and id option or argument it takes,
with a bad value there and plausible values in every other required place (a generated two-operator
network, loaded, declared and reconciled). Each run must fail with exactly one line on stderr that names
the bad value (or, for a value the command line itself refuses, the parameter), and no traceback. A command taking such a parameter whose other required parameters the
test cannot fill fails the test, naming what to add to `_plausible`.
(tests/e2e/test_no_silent_empty.py is the hand-made table of filters that cannot match.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from o2o.cli.app import _register, app

BAD = {
    "period": ["2026-13", "notaperiod"],
    "date": ["2026-02-30", "notadate"],
    "amount": ["1.0000001", "ten"],
    "id": ["NOPE-404", "not an id!"],
}

# Options and arguments by kind; an id is anything named `*_id` or one of these options.
DATE_OPTIONS = {"--as-of", "--date", "--from", "--to", "--due", "--fx-date"}
ID_OPTIONS = {"--agreement", "--statement", "--dispute", "--id", "--round"}
# Hand postings carry the document number they book (a statement, dispute or payment of a partner's
# books, not necessarily of this store: docs/accounts.md), so any reference is theirs to choose.
REFERENCES = {("accounts", "post", name) for name in ("invoice", "payment", "adjustment")}
# Options that go together, given with the one under test so that the command reaches it.
TOGETHER = {
    ("dispute", "propose"): ("amount",),
    ("operator", "add"): ("name", "currency", "country_code"),
    ("rate",): ("agreement", "period"),  # the group's own form: optional only because `rate file` is not it
}


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    params: tuple[Any, ...]  # Typer's parameters (options and arguments) of the command


def _commands() -> Iterator[Command]:
    _register()

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[Command]:
        # A group's own options (a callback run without a subcommand, as `o2o rate --agreement …`) count too.
        if cmd.params:
            yield Command(path, tuple(cmd.params))
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    return walk(typer.main.get_command(app), ())


def _kind(command: Command, param: Any) -> str | None:
    """Which bad values a parameter gets: by its name and flags (dates and periods are typed as text)."""
    opts = set(getattr(param, "opts", ()))
    name = param.name
    if name == "period" or name.endswith("_period"):
        return "period"
    if opts & DATE_OPTIONS or name.endswith("_date") or name == "as_of":
        return "date"
    if name == "amount":
        return "amount"
    if (name.endswith("_id") or opts & ID_OPTIONS) and command.path not in REFERENCES:
        return "id"
    return None


def _is_option(param: Any) -> bool:
    return bool(param.param_type_name == "option")


def _args(command: Command, values: dict[str, Any]) -> list[str]:
    """The command line: required parameters, plus the one under test (already in `values`)."""
    argv = list(command.path)
    for param in command.params:
        if param.name not in values:
            continue
        value = values[param.name]
        parts = [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
        argv += [param.opts[0], *parts] if _is_option(param) else parts
    return argv


@pytest.fixture
def reconciled(db_cli: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A generated network loaded, declared and reconciled: a statement and its disputes exist."""
    net = tmp_path / "net"
    r = db_cli("generate", "--operators", "2", "--cdrs", "1500", "--seed", "5", "--tolerance-absolute", "0",
               "--out", net, "--json")  # fmt: skip
    assert r.code == 0, r.err
    truth = json.loads((net / "truth.json").read_text())
    (ag,) = truth["agreements"]
    assert db_cli("operator", "add", "--file", net / "operators.toml").code == 0
    assert db_cli("agreement", "load", net / ag["file"]).code == 0
    for op in ag["parties"]:
        assert db_cli("keys", "generate", op).code == 0
    assert db_cli("usage", "import-dir", net / "usage", "--period", truth["period"]).code == 0
    r = db_cli("reconcile", "--period", truth["period"], "--json")
    assert r.code == 0, r.err
    disputes = db_cli("dispute", "list", "--json").json()
    assert disputes, "the network is meant to leave a dispute open"
    extract = tmp_path / "extract.csv"
    provider, customer = ag["parties"]
    r = db_cli("accounts", "extract", "--operator", customer, "--counterparty", provider, "--out", extract)
    assert r.code == 0, r.err
    r = db_cli("accounts", "post", "payment", "--id", "PAY-1", "--payer", customer, "--payee", provider,
               "--amount", "1.00", "--currency", ag["currency"], "--date", f"{truth['period']}-28",
               "--actor", provider, "--json")  # fmt: skip
    assert r.code == 0, r.err
    transfer = r.json()[0]["id"]
    obligations = tmp_path / "obligations.csv"
    obligations.write_text(f"id,debtor,creditor,amount,currency\nO1,{provider},{customer},10.00,GBP\n")
    first = truth["files"][0]
    return db_cli, {
        "truth": truth,
        "agreement": ag,
        "net": net,
        "tmp": tmp_path,
        "plausible": _plausible(truth, ag, net, tmp_path, disputes[0]["id"], extract, obligations, first)
        | {"transfer_id": transfer},
    }


def _plausible(
    truth: dict[str, Any],
    ag: dict[str, Any],
    net: Path,
    tmp: Path,
    dispute: str,
    extract: Path,
    obligations: Path,
    first: dict[str, Any],
) -> dict[str, Any]:
    """A value for every required parameter of the commands that take a date, period, amount or id."""
    provider, customer = ag["parties"]
    period = truth["period"]
    return {
        "period": period,
        "agreement": ag["id"],
        "agreement_id": ag["id"],
        "declarer": first["declarer"],
        "service": first["service"],
        "file": net / first["file"],
        "usage": net / first["file"],
        "agreement_file": net / ag["file"],
        "folder": net / "usage",
        "out": tmp / "out",
        "operator": provider,
        "confirmed_by": provider,
        "actor": provider,
        "provider": provider,
        "customer": customer,
        "payer": customer,
        "payee": provider,
        "counterparty": customer,
        "between": (provider, customer),
        "currency": ag["currency"],
        "amount": "1.00",
        "as_of": f"{period}-28",
        "on": f"{period}-28",
        "date_from": f"{period}-01",
        "date_to": f"{period}-28",
        "statement_id": f"ST-{ag['id']}-{period}",
        "dispute_id": dispute,
        "payment_id": "PAY-1",
        "extract": extract,
        "obligations": obligations,
        "secret_file": _secret(tmp),
        "reason": "a test",
        "reference": "REF-1",
        "name": "Nope Telecom",
        "country_code": "44",
        "url": "http://127.0.0.1:9",  # a chain node's URL (nothing listens there)
        "hub": "http://127.0.0.1:9",  # a hub's URL (nothing listens there: the error names what was asked)
        "chain_key": tmp / "ALFA.chain.json",
        # A roaming usage report (`roaming calc REQUEST --agreement TOML`), the documented example.
        "request": Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming" / "usage.json",
    }


def _secret(tmp: Path) -> Path:
    """A secret the parties share (`usage pseudonymise`)."""
    path = tmp / "shared.secret"
    path.write_text("0123456789abcdef" * 4)
    return path


def test_every_bad_date_period_amount_and_id_is_one_line(reconciled: tuple[Any, dict[str, Any]]) -> None:
    cli, ctx = reconciled
    plausible: dict[str, Any] = ctx["plausible"]
    problems: list[str] = []
    tried = 0
    for command in _commands():
        for param in command.params:
            kind = _kind(command, param)
            if kind is None:
                continue
            required = [p.name for p in command.params if p.required] + list(TOGETHER.get(command.path, ()))
            required = [name for name in required if name != param.name]
            missing = [name for name in required if name not in plausible]
            if missing:
                problems.append(f"o2o {' '.join(command.path)}: add plausible values for {missing}")
                continue
            # A new operator's id is unknown by design: only a malformed one is a mistake there.
            for bad in BAD[kind][1:] if command.path == ("operator", "add") else BAD[kind]:
                values = {name: plausible[name] for name in required} | {param.name: bad}
                argv = _args(command, values)
                tried += 1
                try:
                    r = cli(*argv)
                except Exception as exc:  # a bug is what this test looks for
                    problems.append(f"o2o {' '.join(argv)} → raised {type(exc).__name__}: {exc}")
                    continue
                lines = r.err.strip().splitlines()
                named = bad in r.err or param.opts[0] in r.err or f"'{param.name}'" in r.err
                if r.code == 0 or len(lines) != 1 or not named or "Traceback" in r.out + r.err:
                    problems.append(f"o2o {' '.join(argv)} → exit {r.code}, stderr {r.err!r}")
    assert tried > 50, tried  # the walk found the commands
    assert not problems, f"{len(problems)} of {tried}:\n" + "\n".join(problems)
