"""Wallet sign-in (EIP-4361) and sessions."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from clash_pipeline.api import sessions
from clash_pipeline.api.deps import Ctx, User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(min_length=40, max_length=42)
    chainId: int
    domain: str | None = Field(None, max_length=253)
    uri: str | None = Field(None, max_length=2048)
    statement: str | None = Field(None, max_length=280)


class ChallengeOut(BaseModel):
    nonce: str
    domain: str
    chainId: int
    address: str
    uri: str
    statement: str | None
    issuedAt: str
    expiresAt: str
    message: str


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=4096)
    signature: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    userId: int
    address: str
    roles: list[str]
    createdAt: str


class TokensOut(BaseModel):
    accessToken: str
    accessExpiresAt: str
    refreshToken: str
    refreshExpiresAt: str
    sessionId: str


class VerifyOut(TokensOut):
    user: UserOut
    isNewUser: bool


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refreshToken: str = Field(min_length=1, max_length=200)


@router.post("/siwe/challenge", response_model=ChallengeOut, summary="A single-use nonce and the message to sign")
def challenge(body: ChallengeIn, ctx: Ctx) -> dict:
    return sessions.challenge(ctx.conn(), ctx.api, ctx.clock(), body.address, body.chainId, body.domain, body.uri,
                              body.statement)


@router.post("/siwe/verify", response_model=VerifyOut, summary="Verify the signed message; open a session")
def verify(body: VerifyIn, ctx: Ctx) -> dict:
    return sessions.verify(ctx.conn(), ctx.api, ctx.clock(), body.message, body.signature)


@router.post("/session/refresh", response_model=TokensOut,
             summary="Rotate the refresh token; a replaced one presented again revokes the session")
def refresh(body: RefreshIn, ctx: Ctx) -> dict:
    return sessions.refresh(ctx.conn(), ctx.api, ctx.clock(), body.refreshToken)


@router.post("/session/logout", status_code=204, summary="Revoke this session")
def logout(user: User, ctx: Ctx) -> None:
    sessions.revoke(ctx.conn(), user.session_id, ctx.clock())


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(user: User, ctx: Ctx) -> dict:
    (created,) = ctx.conn().execute("SELECT created_ms FROM api_users WHERE user_id = ?", (user.user_id,)).fetchone()
    return sessions.user_view(ctx.api, user.user_id, user.address, created)
