"""`o2o serve`: run the settlement hub (the FastAPI app of `o2o.api`, under uvicorn) over the workspace of
the environment (`O2O_HOME`, `O2O_DATABASE_URL`)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from o2o.cli.context import workspace
from o2o.domain.errors import ValidationError

# The app factory (the API with the portal), imported by uvicorn by name: the CLI imports no entry layer.
APP_FACTORY = "o2o.portal.app:create_hub"


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Start the hub: the HTTP API (/api/v1, /docs, /openapi.json, /health, /ready) until interrupted."""
    import uvicorn

    workspace()  # the database is reached and brought to head before the port opens: errors are one line
    _check_free(host, port)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level="info", access_log=False)


def _check_free(host: str, port: int) -> None:
    """Refuse at once, on one line, an address this host has not or a port another process holds."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValidationError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValidationError(
                f"--host {host} --port {port}: cannot listen ({exc.strerror or exc})"
            ) from None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
