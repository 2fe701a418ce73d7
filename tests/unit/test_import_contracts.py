"""The layering of DESIGN.md is checked by import-linter (`make lint` runs `lint-imports`): the contracts are
in pyproject.toml, the source keeps them, and an import that crosses a layer the wrong way breaks them.

A planted import goes into a copy of `src/o2o` put first on the path, so the checked-out source is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_contracts_are_declared_and_the_source_keeps_them() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c for c in project["tool"]["importlinter"]["contracts"]}
    assert set(contracts) == {"layers", "cli-calls-services", "domain-stdlib-only"}
    # Every runtime dependency (and extra) is forbidden to the domain (a new one must be added to the contract too).
    # Import names differ from distribution names for a few.
    import_name = {"python_multipart": "multipart", "argon2_cffi": "argon2"}
    # The optional extras (pyspark) too: the domain must not import them either.
    requirements = list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        requirements += extra
    distributions = {re.split(r"[\[<>=]", d, maxsplit=1)[0].replace("-", "_") for d in requirements}
    installed = {import_name.get(d, d) for d in distributions}
    assert installed == set(contracts["domain-stdlib-only"]["forbidden_modules"])
    assert contracts["layers"]["layers"][0] == "cli | portal"
    assert contracts["cli-calls-services"]["source_modules"] == ["o2o.cli", "o2o.api", "o2o.portal"]
    assert contracts["layers"]["layers"][-1] == "domain"
    assert "lint-imports" in (ROOT / "Makefile").read_text(encoding="utf-8")
    run = _lint()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


# (module of the copy, line planted at its end, the contract that must break, what the report names)
PLANTED = [
    ("domain/money.py", "import o2o.store\n", "Layers", "o2o.domain.money -> o2o.store"),
    ("domain/periods.py", "import sqlalchemy\n", "standard library only", "o2o.domain.periods -> sqlalchemy"),
    ("rating/clock.py", "import o2o.netting.results\n", "Layers", "o2o.rating.clock -> o2o.netting.results"),
    (
        "cli/net.py",
        "def _solve_directly() -> None:\n    from o2o.netting import net_obligations  # noqa: F401\n",
        "The CLI, the API and the portal call services",
        "o2o.cli.net -> o2o.netting",
    ),
    (
        "api/routes/ledger.py",
        "def _head_directly() -> None:\n    from o2o.store.uow import UnitOfWork  # noqa: F401\n",
        "The CLI, the API and the portal call services",
        "o2o.api.routes.ledger -> o2o.store.uow",
    ),
    ("api/app.py", "import o2o.cli.app\n", "Layers", "o2o.api.app -> o2o.cli.app"),
]


@pytest.mark.parametrize(("module", "line", "contract", "named"), PLANTED, ids=[p[0] for p in PLANTED])
def test_an_import_across_a_layer_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str, named: str
) -> None:
    shutil.copytree(ROOT / "src" / "o2o", tmp_path / "o2o", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "o2o" / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line, encoding="utf-8")
    run = _lint(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    broken = run.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    assert named in broken
    assert "0 broken" not in run.stdout
