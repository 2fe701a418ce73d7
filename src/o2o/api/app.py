"""`create_app()`: the hub's FastAPI application over one workspace (SQLite and the lake in `O2O_HOME`, or
PostgreSQL by `O2O_DATABASE_URL`), the same services the CLI calls.

Routes live in the modules `ROUTERS` names (each has `router`), all under `/api/v1`; `/health`, `/ready`,
`/openapi.json` and `/docs` sit at the root. Every request under `/api/` is logged (method, path, operator,
user, token, status and outcome) after its answer; after each mutating request that succeeded, the
registrations it made are queued for the chain when the workspace's registry is anchored or evm.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from o2o import __version__
from o2o.api import problems
from o2o.api.auth import Public
from o2o.api.background import lifespan
from o2o.api.deps import WS
from o2o.bootstrap import Workspace, open_workspace
from o2o.config import Settings
from o2o.domain.identity import Actor
from o2o.services.hub_identity import log_request, readiness
from o2o.services.registry_carrier import carry_after_request
from o2o.services.registry_hook import may_be_on_chain

API_PREFIX: Final = "/api/v1"

# The route modules under o2o.api.routes, each with `router = APIRouter()`; mounted under /api/v1.
ROUTERS: Final[tuple[str, ...]] = (
    "me",
    "statements",
    "disputes",
    "settlement",
    "accounts",
    "ledger",
    "admin",
    "keys",
    "jobs",
    "declarations",
    "events",
    "documents",
    "reports",
)


class _Answer:
    """An ASGI `send` passed on, that keeps the status of the answer it sent (500 until one starts)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


class RequestLog:
    """ASGI middleware: after each answer under /api/, one line in the hub's request log."""

    def __init__(self, app: ASGIApp, ws: Workspace) -> None:
        self.app = app
        self.ws = ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        sent = _Answer(send)
        try:
            await self.app(scope, receive, sent)
        finally:
            status = sent.status
            state: dict[str, Any] = scope.get("state", {})
            actor = state.get("actor")
            outcome = state.get("outcome") or ("ok" if status < 400 else "error")
            await run_in_threadpool(
                log_request,
                self.ws,
                str(scope.get("method", "")),
                str(scope.get("path", "")),
                actor if isinstance(actor, Actor) else None,
                status,
                str(outcome),
            )


class CarryRegistrations:
    """ASGI middleware: after a mutating request (POST, PUT, PATCH, DELETE; the API's and the portal's) has
    been answered with success, queue the publish job when the workspace's registry is anchored or evm and
    registrations are due on the chain (o2o.services.registry_carrier). The answer is already sent; a
    central workspace costs an environment lookup and a stat."""

    MUTATING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, ws: Workspace) -> None:
        self.app = app
        self.ws = ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in self.MUTATING:
            await self.app(scope, receive, send)
            return
        sent = _Answer(send)
        await self.app(scope, receive, sent)
        if sent.status < 400 and may_be_on_chain(self.ws.home):
            runner = getattr(getattr(scope.get("app"), "state", None), "jobs", None)
            await run_in_threadpool(
                carry_after_request, self.ws, str(scope["method"]), str(scope.get("path", "")),
                runner.wake if runner is not None else None,
            )  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    """The hub's API over the workspace `settings` name (the environment's by default)."""
    ws = open_workspace(settings)
    app = FastAPI(
        title="O2O Settle hub",
        version=__version__,
        description=(
            "Operators connect to the settlement hub: each acts for itself and sees only its own agreements. "
            "Authenticate with `Authorization: Bearer <token>` (`o2o hub token create`). Errors are RFC 9457 "
            "problem details."
        ),
        lifespan=lifespan,  # sweeps dead uploads; runs jobs in this process on SQLite
    )
    app.state.workspace = ws
    problems.install(app)
    app.add_middleware(RequestLog, ws=ws)
    app.add_middleware(CarryRegistrations, ws=ws)  # the registrations of mutating requests to the chain

    @app.get("/health", tags=["hub"])
    def health(_: Public) -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["hub"], responses={503: {"description": "The database does not answer"}})
    def ready(_: Public, ws: WS, request: Request) -> Any:
        """The database answers (and is at the schema this hub runs)."""
        problem = readiness(ws)
        if problem is not None:
            return problems.problem(request, 503, "not-ready", "Not ready", problem)
        return {"status": "ready"}

    for name in ROUTERS:
        module = importlib.import_module(f"o2o.api.routes.{name}")
        app.include_router(module.router, prefix=API_PREFIX)
    _add_problem_schema(app)
    return app


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route as served: its full path, methods, and the route (with its dependencies) behind it."""

    path: str
    methods: frozenset[str]
    route: APIRoute


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every FastAPI route of the app with its full path (included routers' prefixes applied); the
    isolation tests walk this list, so a route added later is covered at once."""
    found: list[RouteInfo] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append(RouteInfo(str(context.path), frozenset(context.methods or ()), route))
    return found


def _add_problem_schema(app: FastAPI) -> None:
    """Put the Problem model in the OpenAPI components (the routes' problem responses refer to it)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
