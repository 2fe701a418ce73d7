"""`create_hub()`: the hub's API (`o2o.api.create_app`) with the analyst portal's pages on the same app —
the same workspace, identities and isolation — as `o2o serve` runs it.

The pages sit at the root (`/` is This month; `/login`), their script and style under `/static/` (served
from this package: nothing is fetched from elsewhere at run time). The pages are kept out of the OpenAPI
document: it describes the API only. Errors of a page (a foreign or unknown id, a refused action) are
answered as HTML pages with the same status the API would give; errors under /api/ stay problem details.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from o2o.api.app import create_app
from o2o.api.problems import classify
from o2o.config import Settings
from o2o.domain.errors import O2OError
from o2o.portal.web import HERE, SignInRequired, render

# The page modules under o2o.portal, each with `router = APIRouter(include_in_schema=False)`.
PAGES: Final[tuple[str, ...]] = ("sign_in", "pages_cycle", "pages_declare", "pages_books", "pages_admin")


def create_hub(settings: Settings | None = None) -> FastAPI:
    """The hub as served: the API under /api/v1 and the portal's pages."""
    app = create_app(settings)
    mount(app)
    return app


def mount(app: FastAPI) -> None:
    """Add the portal's pages, static files and HTML error pages to a hub app."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for name in PAGES:
        app.include_router(importlib.import_module(f"o2o.portal.{name}").router)
    _html_errors(app)


def _html_errors(app: FastAPI) -> None:
    """Errors of pages as HTML; the API's own handlers keep answering under /api/."""
    api_handlers = dict(app.exception_handlers)

    def wrap(kind: Any, page: Any) -> None:
        api = api_handlers.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if api is not None and request.url.path.startswith(("/api/", "/docs", "/openapi", "/health")):
                response: Response = await api(request, exc)
                return response
            result: Response = page(request, exc)
            return result

        app.add_exception_handler(kind, handler)

    wrap(O2OError, _domain_error)
    wrap(RequestValidationError, _validation_error)
    wrap(StarletteHTTPException, _http_error)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    app.add_exception_handler(SignInRequired, sign_in_required)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    request.state.outcome = title.lower().replace(" ", "-")
    return render(request, None, "error.html", status=status, title=title, detail=detail)


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, O2OError)
    status, _, title = classify(exc)
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return _error_page(request, status, title, str(exc))


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
    )
    return _error_page(request, 422, "Invalid value", detail or "invalid request")


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return _error_page(request, exc.status_code, title, str(exc.detail))
