"""Users, sign-in nonces and sessions in SQLite. Tokens are random and only their sha256 is stored; an access
token is short-lived and names its session; a refresh token is rotated on use, and presenting a replaced one
revokes its whole session (the family). No web framework here: the routers call these."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

from eth_utils import is_address, to_checksum_address

from clash_pipeline.api import siwe
from clash_pipeline.api.settings import ApiSettings
from clash_pipeline.memory.db import transaction

CLOCK_SKEW_MS = 60_000


class SignInRefused(ValueError):
    """A refused challenge, verification, refresh or token: `field` names the failing input, `status` the HTTP
    status the shell answers with."""

    def __init__(self, field: str, message: str, status: int = 401) -> None:
        self.field, self.status = field, status
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    user_id: int
    address: str
    session_id: str
    operator: bool


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def checksum(address: str, field: str = "address") -> str:
    if not isinstance(address, str) or not is_address(address):
        raise SignInRefused(field, f"not an Ethereum address: {str(address)[:64]!r}", 422)
    return to_checksum_address(address)


def challenge(conn: sqlite3.Connection, cfg: ApiSettings, now: int, address: str, chain_id: int,
              domain: str | None = None, uri: str | None = None, statement: str | None = None) -> dict:
    """Issue a single-use nonce and the exact EIP-4361 message to sign."""
    address = checksum(address)
    domain = domain or cfg.siwe_domains[0]
    if domain not in cfg.siwe_domains:
        raise SignInRefused("domain", f"domain {domain!r} is not allowed (allowed: {', '.join(cfg.siwe_domains)})",
                            422)
    uri = uri or f"https://{domain}"
    _check_uri(uri, domain, "uri", 422)
    if chain_id not in cfg.chain_ids:
        raise SignInRefused("chainId", f"chain {chain_id} is not allowed (allowed: {list(cfg.chain_ids)})", 422)
    if statement is not None and "\n" in statement:
        raise SignInRefused("statement", "the statement must be one line", 422)
    nonce, expires = secrets.token_hex(16), now + cfg.nonce_ttl_s * 1000
    message = siwe.SiweMessage(domain, address, statement or None, uri, chain_id, nonce, siwe.iso_ms(now),
                               siwe.iso_ms(expires))
    with transaction(conn):
        conn.execute("DELETE FROM siwe_nonces WHERE expires_ms < ? AND used_ms IS NULL", (now - 86_400_000,))
        conn.execute("INSERT INTO siwe_nonces VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                     (nonce, address, chain_id, domain, uri, message.text(), now, expires))
    return {"nonce": nonce, "domain": domain, "chainId": chain_id, "address": address, "uri": uri,
            "statement": statement, "issuedAt": message.issued_at, "expiresAt": message.expiration_time,
            "message": message.text()}


def _check_uri(uri: str, domain: str, field: str, status: int) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or parts.netloc != domain:
        raise SignInRefused(field, f"uri {uri!r} must be an http(s) URI on the domain {domain!r}", status)


def verify(conn: sqlite3.Connection, cfg: ApiSettings, now: int, message: str, signature: str) -> dict:
    """Check the message (domain, URI, chain, times, nonce unused and unexpired, the exact text issued) and the
    signature; consume the nonce and open a session. Every refusal changes nothing but the nonce's use."""
    try:
        parsed = siwe.parse(message)
    except siwe.SiweError as error:
        raise SignInRefused(error.field, str(error)) from None
    if parsed.domain not in cfg.siwe_domains:
        raise SignInRefused("message.domain", f"domain {parsed.domain!r} is not allowed")
    _check_uri(parsed.uri, parsed.domain, "message.uri", 401)
    if parsed.chain_id not in cfg.chain_ids:
        raise SignInRefused("message.chainId", f"chain {parsed.chain_id} is not allowed")
    if parsed.expiration_time and siwe.parse_time(parsed.expiration_time, "message.expirationTime") <= now:
        raise SignInRefused("message.expirationTime", "the message has expired")
    if siwe.parse_time(parsed.issued_at, "message.issuedAt") > now + CLOCK_SKEW_MS:
        raise SignInRefused("message.issuedAt", "the message is issued in the future")
    if parsed.not_before and siwe.parse_time(parsed.not_before, "message.notBefore") > now:
        raise SignInRefused("message.notBefore", "the message is not valid yet")
    signer = siwe.recover(message, signature) if isinstance(signature, str) else None
    if signer != parsed.address:
        raise SignInRefused("signature", "the signature is not the message address's")
    with transaction(conn):
        row = conn.execute("SELECT address, message, expires_ms, used_ms FROM siwe_nonces WHERE nonce = ?",
                           (parsed.nonce,)).fetchone()
        if row is None:
            raise SignInRefused("message.nonce", "unknown nonce: ask for a challenge first")
        if row[3] is not None:
            raise SignInRefused("message.nonce", "this nonce was already used")
        if row[2] <= now:
            raise SignInRefused("message.nonce", "the nonce has expired")
        if row[0] != parsed.address or row[1] != message:
            raise SignInRefused("message", "the message differs from the challenge issued with this nonce")
        conn.execute("UPDATE siwe_nonces SET used_ms = ? WHERE nonce = ?", (now, parsed.nonce))
        user = conn.execute("SELECT user_id, created_ms FROM api_users WHERE address = ?", (signer,)).fetchone()
        new = user is None
        if new:
            user = conn.execute("INSERT INTO api_users (address, created_ms, last_login_ms) VALUES (?, ?, ?) "
                                "RETURNING user_id, created_ms", (signer, now, now)).fetchone()
        else:
            conn.execute("UPDATE api_users SET last_login_ms = ? WHERE user_id = ?", (now, user[0]))
        session_id = "s_" + secrets.token_hex(12)
        access, access_expires = _access(cfg, now)
        conn.execute("INSERT INTO api_sessions VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                     (session_id, user[0], parsed.chain_id, digest(access), access_expires, now))
        refresh, refresh_expires = _refresh(conn, cfg, session_id, now)
    return {"accessToken": access, "accessExpiresAt": siwe.iso_ms(access_expires), "refreshToken": refresh,
            "refreshExpiresAt": siwe.iso_ms(refresh_expires), "sessionId": session_id,
            "user": user_view(cfg, user[0], signer, user[1]), "isNewUser": new}


def user_view(cfg: ApiSettings, user_id: int, address: str, created_ms: int) -> dict:
    roles = ["owner"] + (["operator"] if address in cfg.operator_addresses else [])
    return {"userId": user_id, "address": address, "roles": roles, "createdAt": siwe.iso_ms(created_ms)}


def _access(cfg: ApiSettings, now: int) -> tuple[str, int]:
    return "cat_" + secrets.token_urlsafe(32), now + cfg.access_ttl_s * 1000


def _refresh(conn: sqlite3.Connection, cfg: ApiSettings, session_id: str, now: int) -> tuple[str, int]:
    token, expires = "crt_" + secrets.token_urlsafe(32), now + cfg.refresh_ttl_s * 1000
    conn.execute("INSERT INTO api_refresh_tokens VALUES (?, ?, ?, ?, NULL)", (digest(token), session_id, now, expires))
    return token, expires


def refresh(conn: sqlite3.Connection, cfg: ApiSettings, now: int, refresh_token: str) -> dict:
    """Rotate: the presented token is replaced by a new one and a new access token. A replaced token presented
    again revokes the session, so a stolen and used token locks out both holders."""
    with transaction(conn):
        row = conn.execute("SELECT r.session_id, r.expires_ms, r.replaced_ms, s.revoked_ms FROM api_refresh_tokens r "
                           "JOIN api_sessions s USING (session_id) WHERE r.token_hash = ?",
                           (digest(refresh_token),)).fetchone()
        if row is None:
            raise SignInRefused("refreshToken", "unknown refresh token")
        session_id, expires, replaced, revoked = row
        if revoked is not None:
            raise SignInRefused("refreshToken", "the session was revoked")
        if replaced is not None:
            conn.execute("UPDATE api_sessions SET revoked_ms = ?, revoked_reason = ? WHERE session_id = ?",
                         (now, "a replaced refresh token was presented again", session_id))
            conn.execute("UPDATE api_refresh_tokens SET replaced_ms = COALESCE(replaced_ms, ?) WHERE session_id = ?",
                         (now, session_id))
            revoked_now = True
        else:
            revoked_now = False
            if expires <= now:
                raise SignInRefused("refreshToken", "the refresh token has expired")
            conn.execute("UPDATE api_refresh_tokens SET replaced_ms = ? WHERE token_hash = ?",
                         (now, digest(refresh_token)))
            access, access_expires = _access(cfg, now)
            conn.execute("UPDATE api_sessions SET access_hash = ?, access_expires_ms = ? WHERE session_id = ?",
                         (digest(access), access_expires, session_id))
            new_refresh, refresh_expires = _refresh(conn, cfg, session_id, now)
    if revoked_now:  # committed above: the revocation stands even though this request is refused
        raise SignInRefused("refreshToken", "this refresh token was already used: the session is revoked")
    return {"accessToken": access, "accessExpiresAt": siwe.iso_ms(access_expires), "refreshToken": new_refresh,
            "refreshExpiresAt": siwe.iso_ms(refresh_expires), "sessionId": session_id}


def revoke(conn: sqlite3.Connection, session_id: str, now: int, reason: str = "signed out") -> None:
    with transaction(conn):
        conn.execute("UPDATE api_sessions SET revoked_ms = COALESCE(revoked_ms, ?), revoked_reason = "
                     "COALESCE(revoked_reason, ?) WHERE session_id = ?", (now, reason, session_id))


def authenticate(conn: sqlite3.Connection, cfg: ApiSettings, now: int, access_token: str) -> Principal:
    row = conn.execute("SELECT s.session_id, s.access_expires_ms, s.revoked_ms, u.user_id, u.address FROM api_sessions s "
                       "JOIN api_users u USING (user_id) WHERE s.access_hash = ?", (digest(access_token),)).fetchone()
    if row is None:
        raise SignInRefused("Authorization", "unknown or replaced access token")
    session_id, expires, revoked, user_id, address = row
    if revoked is not None:
        raise SignInRefused("Authorization", "the session was revoked")
    if expires <= now:
        raise SignInRefused("Authorization", "the access token has expired: refresh it")
    return Principal(user_id, address, session_id, address in cfg.operator_addresses)
