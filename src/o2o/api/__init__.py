"""The hub's HTTP API (FastAPI): an entry point beside the CLI, calling the same services.

`create_app()` in `o2o.api.app` builds it over one workspace; every route under `/api/v1` declares one access
rule (`o2o.api.auth.require`), errors are RFC 9457 problem details.
"""
