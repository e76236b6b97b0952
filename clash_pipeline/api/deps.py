"""What a route needs: a market-memory connection (one per worker thread), the archive outbox, the clock, and
who is calling (public, a signed-in owner, an operator)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clash_pipeline.api.problems import Problem
from clash_pipeline.api.sessions import Principal, SignInRefused, authenticate
from clash_pipeline.api.settings import ApiSettings
from clash_pipeline.archive.outbox import Outbox
from clash_pipeline.settings import Settings
from clash_pipeline.strategy import ownership


@dataclass
class ApiContext:
    settings: Settings
    api: ApiSettings
    clock: Callable[[], int]
    local: threading.local = field(default_factory=threading.local)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections stay on the thread that opened them)."""
        if getattr(self.local, "conn", None) is None:
            from clash_pipeline.memory.db import connect

            self.local.conn = connect(self.settings.memory_path)
        return self.local.conn

    def outbox(self) -> Outbox:
        if getattr(self.local, "outbox", None) is None:
            from clash_pipeline.archive import open_archive

            self.local.outbox = Outbox(self.settings.outbox_dir, self.conn(), open_archive(self.settings))
        return self.local.outbox


async def context(request: Request) -> ApiContext:
    """Async so that it does not take a worker thread (the routes' own work runs in the thread pool)."""
    return request.app.state.ctx


Ctx = Annotated[ApiContext, Depends(context)]
bearer = HTTPBearer(auto_error=False, description="an accessToken from POST /api/v1/auth/siwe/verify")


def principal(ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if credentials is None:
        raise SignInRefused("Authorization", "sign in first: this route needs a bearer access token")
    return authenticate(ctx.conn(), ctx.api, ctx.clock(), credentials.credentials)


User = Annotated[Principal, Depends(principal)]


def operator(user: User) -> Principal:
    if not user.operator:
        raise Problem(403, "operators only (CLASH_OPERATOR_ADDRESSES)", "Authorization")
    return user


Operator = Annotated[Principal, Depends(operator)]


def owned(ctx: ApiContext, user: Principal, clone_id: int) -> int:
    """The clone id when `user` owns it: 404 for no such clone, 403 for someone else's."""
    try:
        owner = ownership.owner_of(ctx.conn(), clone_id)
    except KeyError:
        raise Problem(404, f"no clone {clone_id}", "path.clone_id") from None
    if owner != user.address:
        raise Problem(403, f"clone {clone_id} is not yours", "path.clone_id")
    return clone_id
