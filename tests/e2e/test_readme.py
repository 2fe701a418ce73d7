"""The README is executable: its ```bash blocks run as written, and every option it names exists.

Each block's commands run in order, in a fresh workspace and an empty current folder (the repository's
`docs/` is linked in, as in a checkout), through the CLI's own entry (`o2o.cli.app.run`, in-process, on
SQLite and PostgreSQL); a line continued with `\\` is joined, a `#` comment dropped, a glob expanded as
the shell would. Every command must exit 0. The options check reads every `o2o …` command of the README,
in the blocks and in the prose, and looks each option up in the command the real entry point (`o2o` in a
fresh process, registering only that command's modules) builds.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", block)
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def prose_commands(text: str) -> list[list[str]]:
    """`o2o …` commands quoted inline in the README's prose (outside the blocks)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return [shlex.split(span) for span in re.findall(r"`(o2o [^`]+)`", prose) if "…" not in span]


def expand(words: list[str], cwd: Path) -> list[str]:
    """Globs as bash expands them: sorted matches, or the word itself when nothing matches."""
    out: list[str] = []
    for w in words:
        found = sorted(glob.glob(w, root_dir=cwd)) if any(c in w for c in "*?[") else []
        out.extend(found or [w])
    return out


def test_the_readme_has_the_cycle_block() -> None:
    blocks = bash_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    names = [" ".join(c[:3]) for c in commands(blocks[0])]
    for step in ("o2o usage import-dir", "o2o statement list", "o2o accounts extract", "o2o dispute accept"):
        assert any(n.startswith(step) for n in names), step


def test_the_readme_runs_as_written(db_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "run"
    cwd.mkdir()
    (cwd / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    monkeypatch.chdir(cwd)
    outputs: dict[str, str] = {}
    for block in bash_blocks(README.read_text(encoding="utf-8")):
        for words in commands(block):
            assert words[0] == "o2o", f"the README runs o2o commands only, not: {shlex.join(words)}"
            argv = expand(words[1:], cwd)
            r = db_cli(*argv)
            line = shlex.join(words)
            assert r.code == 0, f"`{line}` exited {r.code}: {r.err.strip() or r.out[-800:]}"
            outputs[line] = r.out
    said = {line.split(" --")[0]: out for line, out in outputs.items()}
    # The dispute steps had a dispute to act on, and the period closed with it resolved.
    resolved = db_cli("dispute", "list", "--state", "resolved", "--json").json()
    assert [d["id"] for d in resolved] == ["DSP-ALFA-BRAVO-2026-10-voice-ALFA-BRAVO"]
    assert {c["state"] for c in db_cli("cycle", "status", "--json").json()} == {"closed"}
    assert "books agree" in said["o2o accounts reconcile"]
    verified = [out for line, out in outputs.items() if line.startswith("o2o ledger verify")]
    assert len(verified) == 2 and all("verified" in out for out in verified)
    _documents_as_the_readme_says(db_cli, cwd)
    _roaming_as_the_readme_says(db_cli)


def _documents_as_the_readme_says(db_cli: Any, cwd: Path) -> None:
    """The Documents block's files are where it says, and the statement's PDF carries both parties'
    signatures, unchanged since, their certificates on the ledger."""
    kinds = {p.name for p in (cwd / "documents").iterdir()}
    assert kinds == {"statement", "invoice", "setoff-act", "payments", "account-act", "period-report"}
    assert {p.suffix for p in (cwd / "documents" / "statement").iterdir()} == {".pdf", ".xlsx", ".json"}
    (act,) = (cwd / "acts").glob("ACT-ALFA-BRAVO-*.pdf")
    printed = subprocess.run(["pdftotext", act, "-"], capture_output=True, text=True, check=True).stdout
    assert "Акт сверки взаимных расчётов" in printed  # --lang ru
    currencies = {
        p["currency"] for p in db_cli("payment", "list", "--round", "RND-2026-10-1", "--json").json()
    }
    assert sorted(p.name for p in (cwd / "bank").iterdir()) == [
        f"PAY-RND-2026-10-1-{cur}.pain001.xml" for cur in sorted(currencies)
    ]
    r = db_cli("documents", "verify", "st-signed.pdf", "--ledger", "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert report["complete"] is True and [s["signer"] for s in report["signatures"]] == ["ALFA", "BRAVO"]
    for sig in report["signatures"]:
        assert sig["ok"] and sig["ledger"] is True and sig["changed_after_signing"] is False, sig


def _roaming_as_the_readme_says(db_cli: Any) -> None:
    """The Roaming block's figures: six agreed lines coming to 15670.00 and 1387.58, one payment of 14282.42."""
    st = db_cli("statement", "show", "ST-RA-ALFA-BETA-2026-2026-12", "--json").json()
    assert len(st["lines"]) == 6 and {ln["outcome"] for ln in st["lines"]} == {"agreed"}
    due: dict[str, Decimal] = {}
    for ln in st["lines"]:
        due[ln["customer"]] = due.get(ln["customer"], Decimal(0)) + Decimal(str(ln["agreed_amount"]))
    assert due == {"ALFA": Decimal("15670.00"), "BETA": Decimal("1387.58")}
    (pay,) = db_cli("payment", "list", "--round", "RND-2026-12-1", "--json").json()
    assert (pay["id"], pay["payer"], pay["payee"], pay["currency"], Decimal(pay["amount"])) == (
        "PAY-2026-12-1-EUR-001",
        "ALFA",
        "BETA",
        "EUR",
        Decimal("14282.42"),
    )


def _readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    return [c[1:] for b in bash_blocks(text) for c in commands(b)] + [c[1:] for c in prose_commands(text)]


# Run in a fresh process per top-level command: the entry point registers only that command's modules
# (`COMMAND_MODULES`), so an option another module adds must still be there.
_OPTIONS_PROBE = """
import json, sys
import typer
from o2o.cli import app as cli_app
top, paths = sys.argv[1], json.loads(sys.argv[2])
cli_app._register_for([top])
root = typer.main.get_command(cli_app.app)
found = {}
for words in paths:
    cmd, path = root, []
    for w in words:
        if w in getattr(cmd, "commands", {}):
            cmd = cmd.commands[w]
            path.append(w)
        else:
            break
    opts = sorted({o for p in cmd.params for o in (*p.opts, *p.secondary_opts)})
    found[" ".join(words)] = {"path": path, "options": opts}
print(json.dumps(found))
"""


def test_every_option_the_readme_names_exists() -> None:
    by_top: dict[str, list[list[str]]] = {}
    for words in _readme_commands():
        by_top.setdefault(words[0], []).append(words)
    missing: list[str] = []
    for top, paths in sorted(by_top.items()):
        probe = subprocess.run(
            [sys.executable, "-c", _OPTIONS_PROBE, top, json.dumps(paths)],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert probe.returncode == 0, probe.stderr
        found = json.loads(probe.stdout)
        for words in paths:
            seen = found[" ".join(words)]
            if not seen["path"] and not top.startswith("-"):  # `o2o --version` is the app's own option
                missing.append(f"o2o {top}: no such command")
            for word in words:
                name = word.split("=")[0]
                if name.startswith("--") and name not in seen["options"]:
                    missing.append(f"o2o {' '.join(seen['path'])}: no option {name}")
    assert not missing, "; ".join(sorted(set(missing)))
