-- Indexes for the decision runtime's hot reads: a clone's recent orders (rate limits) and resting limits.
CREATE INDEX orders_clone_time ON orders (clone_id, created_ms);
CREATE INDEX orders_open ON orders (clone_id, status, order_type);
