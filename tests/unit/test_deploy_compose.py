"""deploy/compose.yaml cannot be run here (no Docker on the machine): what can be checked without it is.

The file parses; every service it depends on, and every named volume it mounts, is declared; every `o2o`
command it runs is one the CLI has, with options the command takes (parsed by the command itself, not
run); every `O2O_` setting it gives is one o2o reads and is valid; every Spark daemon it starts is a class
in the installed pyspark's jars, started by the `spark-class` that pyspark installs beside `o2o`; and the
Dockerfile it builds from installs the `spark` extra.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from o2o.cli.app import _register, app
from o2o.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and doc["services"]
    return doc


def _o2o_command(args: list[str]) -> Any:
    """The CLI's command that `o2o ARGS` runs, its options parsed as it would parse them (not run)."""
    _register()
    command: Any = typer.main.get_command(app)
    ctx = command.context_class(command, info_name="o2o")
    words = list(args)
    while hasattr(command, "get_command"):  # a group (Typer's own click: no isinstance to ask)
        assert words, f"o2o {' '.join(args)}: a group, not a command"
        name = words.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"o2o {' '.join(args)}: no command {name!r}"
        command, ctx = sub, sub.context_class(sub, info_name=name, parent=ctx)
    command.make_context(command.name, words, parent=ctx.parent)  # unknown options raise
    return command


def _spark_classes() -> set[str]:
    import pyspark

    classes: set[str] = set()
    for jar in (Path(pyspark.__file__).parent / "jars").glob("spark-core_*.jar"):
        with zipfile.ZipFile(jar) as z:
            classes |= {
                n.removesuffix(".class").replace("/", ".") for n in z.namelist() if n.endswith(".class")
            }
    return classes


def test_every_service_runs_a_command_that_exists(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ran = {"o2o": [], "spark-class": []}
    for name, svc in services.items():
        command = svc.get("command")
        if command is None:
            assert "image" in svc and "build" not in svc, f"{name}: runs its image's own command"
            continue
        assert isinstance(command, list) and all(isinstance(w, str) for w in command), name
        assert command[0] in ran, f"{name}: runs {command[0]!r}"
        ran[command[0]].append(command[1:])
    for args in ran["o2o"]:
        _o2o_command(args)
    assert {tuple(a[:1]) for a in ran["o2o"]} == {("init",), ("serve",), ("worker",)}
    assert sum(1 for a in ran["o2o"] if a[0] == "worker") == 2
    # pyspark installs `spark-class` beside `o2o` (the image installs the `spark` extra the same way).
    assert (Path(sys.executable).parent / "spark-class").is_file()
    classes = _spark_classes()
    started = {a[0] for a in ran["spark-class"]}
    assert started == {"org.apache.spark.deploy.master.Master", "org.apache.spark.deploy.worker.Worker"}
    assert started <= classes


def test_references_and_settings_are_valid(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], set(compose.get("volumes") or {})
    fields = set(Settings.model_fields)
    engines = {}
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            assert dep in services, f"{name} depends on an unknown service {dep}"
        for mount in svc.get("volumes") or []:
            source = mount.split(":", 1)[0]
            assert source in volumes, f"{name} mounts an undeclared volume {source}"
        env = svc.get("environment") or {}
        o2o_env = {k: str(v) for k, v in env.items() if k.startswith("O2O_")}
        for key in o2o_env:
            assert key.removeprefix("O2O_").lower() in fields, f"{name}: {key} is no setting of o2o"
        if o2o_env:
            settings = Settings(**{k.removeprefix("O2O_").lower(): v for k, v in o2o_env.items()})
            url = make_url(settings.effective_database_url)
            assert (url.drivername, url.host) == ("postgresql+psycopg", "postgres"), name
            assert url.database == services["postgres"]["environment"]["POSTGRES_DB"]
            engines[name] = (settings.engine, settings.spark_master)
    # The workers send their jobs' rating and matching to the compose file's Spark master.
    master = services["spark-master"]["command"]
    port = master[master.index("--port") + 1]
    assert engines["worker-1"] == engines["worker-2"] == ("spark", f"spark://spark-master:{port}")
    assert engines["hub"][0] == "duckdb"
    # The workers and the Spark worker see the lake at the same path (the executors read it).
    lake = {m for m in services["spark-worker"]["volumes"]}
    assert lake == set(services["worker-1"]["volumes"]) == set(services["worker-2"]["volumes"])


def test_the_image_installs_the_spark_extra() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert 'pip install --no-cache-dir ".[spark]"' in text
    assert "openjdk-17" in text


def test_a_bad_engine_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from o2o.domain.errors import ValidationError

    monkeypatch.setenv("O2O_ENGINE", "presto")
    with pytest.raises(ValidationError, match=r"^environment: O2O_ENGINE: 'presto' is not duckdb or spark$"):
        Settings()
