"""Settings from the environment (`O2O_HOME`, `O2O_DATABASE_URL`, `O2O_HUB_PASSPHRASE_FILE`), validated with
pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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
