"""RFC 9457 problem details: every error the API answers is `application/problem+json` with `type`, `title`,
`status`, `detail` and `instance`; request validation adds `errors` (one per field, naming it).

The project's errors map by kind: a caller without (valid) credentials 401, without the permission 403,
an unknown (or foreign) id 404, a conflict with the current state 409, a value that breaks the rules 422;
a malformed request (JSON that does not parse) 400.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from o2o.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    ImportRefusedError,
    InvalidTransitionError,
    NotFoundError,
    O2OError,
    RecordMismatchError,
    SignatureError,
    ValidationError,
)
from o2o.domain.identity import AuthenticationError, PermissionDeniedError

PROBLEM_JSON: Final = "application/problem+json"

# (error class, status, type slug, title): the first that matches an error decides.
_KINDS: Final[tuple[tuple[type[O2OError], int, str, str], ...]] = (
    (AuthenticationError, 401, "unauthenticated", "Authentication required"),
    (PermissionDeniedError, 403, "forbidden", "Not allowed for this role"),
    (NotFoundError, 404, "not-found", "Not found"),
    (AlreadyExistsError, 409, "already-exists", "Already exists"),
    (ConcurrencyError, 409, "conflict", "Changed by someone else"),
    (InvalidTransitionError, 409, "invalid-transition", "Not allowed in the current state"),
    (RecordMismatchError, 409, "record-mismatch", "The store differs from the ledger"),
    (SignatureError, 422, "signature", "Signature refused"),
    (ImportRefusedError, 422, "import-refused", "File refused"),
    (ValidationError, 422, "validation", "Invalid value"),
)


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def problem_type(slug: str) -> str:
    return f"urn:o2o:problem:{slug}"


def problem(request: Request, status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem response; the request's log line records its type as the outcome."""
    request.state.outcome = slug
    body = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def classify(exc: O2OError) -> tuple[int, str, str]:
    for kind, status, slug, title in _KINDS:
        if isinstance(exc, kind):
            return status, slug, title
    return 400, "bad-request", "Bad request"


async def _o2o_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, O2OError)
    status, slug, title = classify(exc)
    return problem(request, status, slug, title, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]  # fmt: skip
    if any(e["type"] == "json_invalid" for e in errors):
        detail = "the request body is not valid JSON"
        return problem(request, 400, "malformed", "Malformed request", detail, errors=errors)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem(request, 422, "validation", "Invalid value", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    response = problem(request, exc.status_code, slug, title, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(O2OError, _o2o_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses a route documents in its OpenAPI (so clients and schemathesis know them)."""
    described = {
        400: "Malformed request", 401: "No valid token", 403: "Not allowed for the role",
        404: "Unknown (or another pair's) id", 409: "Conflicts with the current state",
        422: "Invalid value",
    }  # fmt: skip
    return {
        s: {
            "description": described[s],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }
