"""The workspace a command works on (built lazily, once per process, from the environment)."""

from __future__ import annotations

from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings


def workspace() -> Workspace:
    return open_workspace(Settings())
