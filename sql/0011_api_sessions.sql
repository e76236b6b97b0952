-- The HTTP API: users signed in with Ethereum (EIP-4361), single-use sign-in nonces, sessions with short-lived
-- access tokens and rotated refresh tokens (only sha256 hashes are stored), clone ownership and drafts, and
-- payments recorded once per idempotency key.

CREATE TABLE api_users (
    user_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    address           TEXT NOT NULL UNIQUE,        -- EIP-55 checksummed
    created_ms        INTEGER NOT NULL,
    last_login_ms     INTEGER NOT NULL
);

CREATE TABLE siwe_nonces (
    nonce             TEXT PRIMARY KEY,
    address           TEXT NOT NULL,
    chain_id          INTEGER NOT NULL,
    domain            TEXT NOT NULL,
    uri               TEXT NOT NULL,
    message           TEXT NOT NULL,               -- the exact message issued: what must be signed
    issued_ms         INTEGER NOT NULL,
    expires_ms        INTEGER NOT NULL,
    used_ms           INTEGER                      -- single use: set once, by the verify that consumed it
);

-- A session is one refresh-token family: reusing a replaced refresh token revokes it.
CREATE TABLE api_sessions (
    session_id        TEXT PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES api_users (user_id),
    chain_id          INTEGER NOT NULL,
    access_hash       TEXT NOT NULL UNIQUE,        -- sha256 of the current access token
    access_expires_ms INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL,
    revoked_ms        INTEGER,
    revoked_reason    TEXT
);

CREATE TABLE api_refresh_tokens (
    token_hash        TEXT PRIMARY KEY,            -- sha256 of the refresh token
    session_id        TEXT NOT NULL REFERENCES api_sessions (session_id),
    issued_ms         INTEGER NOT NULL,
    expires_ms        INTEGER NOT NULL,
    replaced_ms       INTEGER                      -- rotated: presenting it again revokes the session
);
CREATE INDEX api_refresh_tokens_session ON api_refresh_tokens (session_id);

CREATE TABLE clone_owners (
    clone_id          INTEGER PRIMARY KEY REFERENCES clones (clone_id),
    owner_address     TEXT NOT NULL,               -- EIP-55 checksummed
    created_ms        INTEGER NOT NULL
);
CREATE INDEX clone_owners_owner ON clone_owners (owner_address, clone_id);

-- An owner's working copy of a graph (blocks, edges, layout); publishing stores it as a new immutable version.
CREATE TABLE clone_drafts (
    clone_id          INTEGER PRIMARY KEY REFERENCES clones (clone_id),
    graph_json        TEXT NOT NULL,
    updated_ms        INTEGER NOT NULL
);

-- Payment requests (audition fees, ticket purchases) and the answer given, once per (payer, idempotency key);
-- the payment itself is recorded once per payment reference by the core (audition_fees, tickets).
CREATE TABLE api_payments (
    payment_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    payer             TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('audition_fee', 'ticket')),
    request_sha256    TEXT NOT NULL,               -- the same key with another request is refused
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    payment_ref       TEXT NOT NULL,
    amount_wei        TEXT NOT NULL,
    response_json     TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    UNIQUE (payer, idempotency_key)
);
