"""After a successful command: carry its registrations to the chain when the workspace's registry is anchored
or evm. Light on purpose: a central workspace (no `O2O_REGISTRY`, no `registry.json`) costs a stat, and
nothing (no database, no web3) is imported to find that out. The hub asks the same question
(`may_be_on_chain`) after each mutating request before doing anything more (o2o.services.registry_carrier)."""

from __future__ import annotations

import os
from pathlib import Path

# Commands after which nothing is carried: they register nothing, or manage the registry themselves (the
# worker carries what its jobs register by the publish jobs it takes: o2o.services.registry_carrier).
NOT_PUBLISHED_AFTER = frozenset(
    {"registry", "demo", "version", "generate", "recon", "init", "serve", "worker"}
)


def may_be_on_chain(home: Path) -> bool:
    """Whether the workspace at `home` may have a registry other than central: `O2O_REGISTRY` is set, or
    `registry.json` exists. False is certain (central); True means: read the mode."""
    return bool(os.environ.get("O2O_REGISTRY", "").strip()) or (home / "registry.json").exists()


def publish_after_command(command: str) -> None:
    if command in NOT_PUBLISHED_AFTER:
        return
    home = Path(os.environ.get("O2O_HOME") or "o2o-data")  # the default of o2o.config.Settings.home
    if not may_be_on_chain(home):
        return
    from o2o.services.registry import publish_after_command as publish

    publish()
