"""Access rules: every route declares exactly one, as a parameter `actor: Annotated[Actor, require(P)]`
(or `public()` for the few routes anyone may call: /health, /ready).

`require(permission)` reads `Authorization: Bearer <token>`, authenticates it through the hub's identity
service (401 problem when missing, unknown, expired or revoked), checks the caller's role grants the
permission (403 problem), keeps the caller on the request for the request log, and gives the `Actor` to the
route. Isolation (which agreements the caller sees) is decided by the services with that actor.
tests/api/test_api_isolation.py walks the app's routes and fails on one without a rule.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from o2o.api.deps import workspace
from o2o.bootstrap import Workspace
from o2o.domain.identity import Actor, Permission
from o2o.services.hub_identity import authenticate

_bearer = HTTPBearer(auto_error=False, description="An API token from `o2o hub token create`.")


class AccessRule:
    """A route's access rule: the permission it needs (None: public). Its instances are the dependencies
    that the isolation test finds on every route."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"AccessRule({self.permission.value if self.permission else 'public'})"


class _Required(AccessRule):
    def __call__(
        self,
        request: Request,
        ws: Annotated[Workspace, Depends(workspace)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        token = None if credentials is None else credentials.credentials
        actor = authenticate(ws, token)
        request.state.actor = actor
        assert self.permission is not None
        actor.require(self.permission)
        return actor


class _Public(AccessRule):
    def __call__(self) -> None:
        return None


def require(permission: Permission) -> Any:
    """The access rule of a route that needs `permission`: use as `Annotated[Actor, require(P)]`."""
    return Depends(_Required(permission))


def public() -> Any:
    """The access rule of a route anyone may call (health and readiness)."""
    return Depends(_Public(None))


Reader = Annotated[Actor, require(Permission.READ)]
Analyst = Annotated[Actor, require(Permission.ANALYSE)]
SignerRole = Annotated[Actor, require(Permission.SIGN)]
Admin = Annotated[Actor, require(Permission.ADMIN)]
Public = Annotated[None, public()]
