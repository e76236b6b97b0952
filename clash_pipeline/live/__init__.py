"""Live trading on Hyperliquid, by the owner's explicit opt-in, through an API wallet ("agent") per clone.

The owner's personal wallet signs one `approveAgent` action; the platform holds only the agent's key (encrypted at
rest), which can place and cancel orders for the owner's account but cannot withdraw or transfer. Modules:
`config` (the deployment switch and live limits), `keystore` (agent keys at rest), `signing` (wire format and
signatures, through hyperliquid-python-sdk), `agents` (connect, approve, revoke, expiry, nonces), `client` (the
exchange's /exchange and /info), `orders` (a live order's exchange side, and exchange reports as order statuses;
the statuses and events are `clash_pipeline.orders.lifecycle`'s), `execute` (a verdict as a live order),
`reconcile` (the exchange's fills, funding and order states into the ledger), `runtime` (the decision tick).
"""
