"""What routes receive from the app: the workspace it serves (one per app, opened by `create_app`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from o2o.bootstrap import Workspace


def workspace(request: Request) -> Workspace:
    ws = request.app.state.workspace
    assert isinstance(ws, Workspace)
    return ws


WS = Annotated[Workspace, Depends(workspace)]
