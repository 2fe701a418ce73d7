"""schemathesis against the app's own OpenAPI document (every operation, a few generated examples each, on
the hub after a whole cycle): no 5xx, every status and content type documented, every response matching its
schema (problem details included). Bounded: a handful of derandomised examples per operation.

(schemathesis' pytest loader `from_fixture` does not run under this pytest, so the operations are walked
here, each with its own Hypothesis run.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hub_harness import Hub
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

ADMIN_PATHS = ("/api/v1/admin/", "/api/v1/reconcile-runs", "/api/v1/netting-rounds")
SIGNER_PATHS = ("/signatures", "/confirm")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = 4


def _role(path: str) -> tuple[str, str]:
    if path.startswith(ADMIN_PATHS):
        return ("HUB", "admin")
    if path.endswith(SIGNER_PATHS):
        return ("ALFA", "signer")
    return ("ALFA", "analyst")


def _runner(operation: Any, headers: dict[str, str], called: list[str]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)
        called.append(operation.label)

    return run


def fuzz(app: Any, headers_for: Any) -> list[str]:
    """Every operation of the app's OpenAPI, `EXAMPLES` generated cases each, called and validated."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    called: list[str] = []
    for operation in operations:
        _runner(operation, headers_for(operation.path), called)()
    return [op.label for op in operations if op.label in called]


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_api_keeps_its_openapi(hub: Hub) -> None:
    called = fuzz(hub.app, lambda path: hub.auth(*_role(path)))
    assert len(called) >= 30


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_an_undocumented_answer_is_caught() -> None:
    app = FastAPI()

    @app.get("/teapot")
    def teapot() -> JSONResponse:
        return JSONResponse({"tea": True}, status_code=418)

    with pytest.raises(FailureGroup, match="Undocumented status code"):
        fuzz(app, lambda path: {})
