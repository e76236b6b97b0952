"""Errors as RFC 9457 problem details (application/problem+json), each naming the failing field's path; the
handlers that turn core exceptions and FastAPI's validation errors into them."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from clash_pipeline.api.sessions import SignInRefused
from clash_pipeline.arena.addresses import InvalidAddress
from clash_pipeline.arena.audition import AuditionError
from clash_pipeline.arena.lifecycle import IllegalTransition
from clash_pipeline.arena.payments import PaymentConflict
from clash_pipeline.strategy.graph import GraphInvalid
from clash_pipeline.strategy.identity import IdentityInvalid

PROBLEM_JSON = "application/problem+json"
IDENTITY_FIELDS = {"bio": "description", "avatar_url": "avatarUrl"}  # core field -> API body field
log = logging.getLogger("clash_pipeline.api")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with the failing field's path."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None


PROBLEM_RESPONSES = {code: {"content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}},
                            "description": what}
                     for code, what in ((401, "not signed in, or the session is over"), (403, "not yours"),
                                        (404, "not found"), (409, "conflicts with the current state"),
                                        (422, "invalid input: `field` names it"), (429, "rate limited"))}


class Problem(Exception):
    """An HTTP problem: status, a one-line detail, and the failing field (a JSON path like body.chainId)."""

    def __init__(self, status: int, detail: str, field: str | None = None, headers: dict | None = None,
                 **extra: object) -> None:
        self.status, self.detail, self.field, self.headers, self.extra = status, detail, field, headers, extra
        super().__init__(detail)


def problem_response(request: Request | None, status: int, detail: str, field: str | None = None,
                     headers: dict | None = None, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            **({"instance": request.url.path} if request is not None else {}),
            **({"field": field} if field else {}), **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _path(loc: tuple | list) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(request, error.status, error.detail, error.field, error.headers, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _path(e["loc"]), "message": e["msg"]} for e in error.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem_response(request, 422, f"{first['field']}: {first['message']}", first["field"],
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(SignInRefused)
    async def on_sign_in(request: Request, error: SignInRefused) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if error.status == 401 else None
        return problem_response(request, error.status, str(error), error.field, headers)

    @app.exception_handler(GraphInvalid)
    async def on_graph(request: Request, error: GraphInvalid) -> JSONResponse:
        problems = [{"blockId": p.block_id, "field": p.field, "message": p.message} for p in error.problems]
        first = error.problems[0]
        return problem_response(request, 422, f"{len(problems)} problem(s) in the graph; first: {first}",
                                f"graph.blocks[{first.block_id}].{first.field}", problems=problems)

    @app.exception_handler(IdentityInvalid)
    async def on_identity(request: Request, error: IdentityInvalid) -> JSONResponse:
        conflict = "exists" in str(error) or "looks like" in str(error)
        return problem_response(request, 409 if conflict else 422, str(error),
                                "body." + IDENTITY_FIELDS.get(error.field, error.field))

    @app.exception_handler(PaymentConflict)
    async def on_payment(request: Request, error: PaymentConflict) -> JSONResponse:
        return problem_response(request, 409, str(error), "body.paymentRef")

    @app.exception_handler(InvalidAddress)
    async def on_address(request: Request, error: InvalidAddress) -> JSONResponse:
        return problem_response(request, 422, str(error), "body.creatorAddress")

    @app.exception_handler(AuditionError)
    async def on_audition(request: Request, error: AuditionError) -> JSONResponse:
        return problem_response(request, 422, str(error), "body.start")

    @app.exception_handler(IllegalTransition)
    async def on_transition(request: Request, error: IllegalTransition) -> JSONResponse:
        return problem_response(request, 409, str(error))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, type(error).__name__)
        return problem_response(request, 500, "internal error")
