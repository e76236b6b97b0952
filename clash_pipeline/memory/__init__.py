"""SQLite market memory: connection, migrations, idempotent upserts and status."""
