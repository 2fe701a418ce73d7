"""Settings from the environment (`O2O_HOME`, `O2O_DATABASE_URL`, `O2O_HUB_PASSPHRASE_FILE`, `O2O_ENGINE`,
`O2O_SPARK_MASTER`, `O2O_REGISTRY_POLL`), validated with pydantic-settings; a bad one is a domain error naming
the variable, on one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from o2o.domain.errors import ValidationError

# The stores O2O runs on (tests/conftest.py runs every store test on both).
DATABASE_SCHEMES = ("sqlite", "postgresql")


class Settings(BaseSettings):
    """Where the workspace lives and which database holds workflow state.

    The embedded default is a workspace folder with `o2o.sqlite` and `lake/`; production sets
    `O2O_DATABASE_URL=postgresql+psycopg://…`.
    """

    model_config = SettingsConfigDict(env_prefix="O2O_", extra="ignore")

    home: Path = Path("o2o-data")
    database_url: str | None = None
    # The passphrase of an encrypted hub key, for the many commands that sign as the hub on the side.
    hub_passphrase_file: Path | None = None
    # The Spark master of `--engine spark` when a command or a job names none (e.g. spark://host:7077);
    # unset: `local[*]`, this machine's cores.
    spark_master: str | None = None
    # The engine the hub's jobs (`o2o worker`, or the server on SQLite) rate and match with: duckdb on the
    # worker's machine, or spark (the large steps on the cluster of `spark_master`).
    engine: str = "duckdb"
    # How often the hub (`o2o serve`) looks whether registrations are due on the chain (anchored or evm:
    # a retry after the node failed, a head due by the minutes) beside the look after each mutating request.
    registry_poll: float = Field(default=30.0, gt=0)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except pydantic.ValidationError as exc:
            problems = [
                f"O2O_{'_'.join(str(part) for part in err['loc']).upper()}: "
                + " ".join(err["msg"].removeprefix("Value error, ").split())
                for err in exc.errors(include_url=False)
            ]
            raise ValidationError("environment: " + "; ".join(problems)) from None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        # An unknown scheme would otherwise surface as SQLAlchemy's plugin error at the first command.
        if value and value.split(":", 1)[0].split("+", 1)[0] not in DATABASE_SCHEMES:
            shown = value.split("://", 1)[0]
            raise ValueError(
                f"{shown}:// is not a database O2O runs on (sqlite:///FILE, postgresql+psycopg://…)"
            )
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ("duckdb", "spark"):
            raise ValueError(f"{value!r} is not duckdb or spark")
        return value

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'o2o.sqlite').resolve()}"
