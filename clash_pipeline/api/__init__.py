"""The HTTP API of the product (`clash serve`): FastAPI routers over the same core functions as the CLI and
Dagster. Every route is under /api/v1; the OpenAPI document is at /openapi.json."""

from clash_pipeline.api.app import create_app

__all__ = ["create_app"]
