"""The FastAPI application: settings, migrations, middleware (CORS, size and rate limits, request log), problem
handlers and the domain routers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from clash_pipeline.api import problems
from clash_pipeline.api.deps import ApiContext
from clash_pipeline.api.middleware import GuardMiddleware, TokenBucket
from clash_pipeline.api.routers import arena, auth, clones, market, operator, results
from clash_pipeline.api.settings import ApiSettings, load_api_settings
from clash_pipeline.memory.db import open_memory
from clash_pipeline.settings import Settings, load_settings
from clash_pipeline.timeutil import now_ms


def create_app(settings: Settings | None = None, api: ApiSettings | None = None,
               clock: Callable[[], int] = now_ms) -> FastAPI:
    """An app on the configured market memory (migrated now); `clock` is injectable for tests."""
    settings, api = settings or load_settings(), api or load_api_settings()
    open_memory(settings.memory_path).close()  # bring the schema up to date before serving
    app = FastAPI(title="Clash of Clones API", version="1", openapi_url="/openapi.json", docs_url="/docs",
                  redoc_url=None, description="The product's HTTP API: wallet sign-in (EIP-4361), clones and "
                  "their private strategy graphs, results, the arena loop, operator controls. Errors are RFC 9457 "
                  "problem details.")
    app.state.ctx = ApiContext(settings, api, clock)
    problems.install(app)
    for router in (auth.router, clones.router, market.router, results.router, arena.router, operator.router):
        app.include_router(router, responses=problems.PROBLEM_RESPONSES)
    app.state.limiter = TokenBucket(api.rate_per_minute / 60.0, api.rate_burst)
    app.add_middleware(GuardMiddleware, max_body_bytes=api.max_body_bytes, limiter=app.state.limiter)
    # added last, so outermost: 429 and 413 answers carry CORS headers too (a browser can read Retry-After)
    if api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(api.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
                           expose_headers=["ETag", "Retry-After", "Idempotent-Replayed"])
    return app
