"""After a successful command: carry its registrations to the chain when the workspace's registry is anchored
or evm. Light on purpose: a central workspace (no `O2O_REGISTRY`, no `registry.json`) costs a stat, and
nothing (no database, no web3) is imported to find that out."""

from __future__ import annotations

import os
from pathlib import Path

# Commands after which nothing is carried: they register nothing, or manage the registry themselves.
NOT_PUBLISHED_AFTER = frozenset({"registry", "demo", "version", "generate", "recon", "init", "serve"})


def publish_after_command(command: str) -> None:
    if command in NOT_PUBLISHED_AFTER:
        return
    home = Path(os.environ.get("O2O_HOME") or "o2o-data")  # the default of o2o.config.Settings.home
    if not os.environ.get("O2O_REGISTRY", "").strip() and not (home / "registry.json").exists():
        return
    from o2o.services.registry import publish_after_command as publish

    publish()
