-- Live trading on Hyperliquid through API wallets ("agents"): one agent per clone, approved by the clone's owner,
-- its key encrypted at rest; live orders and their exchange state; exchange fills; reconciliation checks.
-- Live orders are rows of `orders` (context live-exchange) with their exchange side here.

CREATE TABLE live_agents (
    agent_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    network           TEXT NOT NULL CHECK (network IN ('testnet', 'mainnet')),
    owner_address     TEXT NOT NULL,               -- the clone's creator: the account the agent trades for
    agent_address     TEXT NOT NULL UNIQUE,
    agent_name        TEXT NOT NULL,               -- includes "valid_until <ms>" when the approval expires
    key_ciphertext    BLOB,                        -- AES-GCM under CLASH_MASTER_KEY; NULL once revoked (destroyed)
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked', 'expired')),
    approve_action    TEXT NOT NULL,               -- the approveAgent action the owner signs (JSON, no secret)
    valid_until_ms    INTEGER,
    last_nonce        INTEGER NOT NULL DEFAULT 0,  -- nonces of this agent's L1 actions only increase
    status_reason     TEXT,
    created_ms        INTEGER NOT NULL,
    approved_ms       INTEGER,
    revoked_ms        INTEGER
);
CREATE UNIQUE INDEX live_agents_one_active ON live_agents (clone_id) WHERE status IN ('pending', 'approved');

CREATE TABLE live_orders (
    order_id          INTEGER PRIMARY KEY REFERENCES orders (order_id),
    agent_id          INTEGER REFERENCES live_agents (agent_id),   -- NULL: refused before any agent existed
    cloid             TEXT NOT NULL UNIQUE,        -- the runtime's client_order_id: the idempotency key
    state             TEXT NOT NULL CHECK (state IN ('pending', 'refused', 'sent', 'unknown', 'resting', 'filled',
                                                     'partially_filled', 'cancelled', 'rejected')),
    notional_micro    INTEGER NOT NULL,            -- size x reference price, what the day limit counts
    nonce             INTEGER,
    request_json      TEXT,                        -- the signed request as sent (a signature, never a key)
    exchange_oid      INTEGER,
    detail            TEXT,                        -- the refusal or the exchange's own reply
    created_ms        INTEGER NOT NULL,
    sent_ms           INTEGER,
    updated_ms        INTEGER NOT NULL
);
CREATE INDEX live_orders_state ON live_orders (state, agent_id);

-- Exchange fills by trade id: each lands once in paper_fills (source 'exchange') and the ledger.
CREATE TABLE live_fills (
    tid               INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES paper_accounts (account_id),
    fill_id           INTEGER REFERENCES paper_fills (fill_id),
    order_id          INTEGER REFERENCES orders (order_id),
    exchange_oid      INTEGER NOT NULL,
    coin              TEXT NOT NULL,
    hash              TEXT,
    ts_ms             INTEGER NOT NULL
);

CREATE TABLE live_reconciliations (
    recon_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    clone_id          INTEGER NOT NULL REFERENCES clones (clone_id),
    ts_ms             INTEGER NOT NULL,
    ok                INTEGER NOT NULL,
    fills             INTEGER NOT NULL,
    funding           INTEGER NOT NULL,
    detail            TEXT NOT NULL                -- every difference, or "positions match"
);
