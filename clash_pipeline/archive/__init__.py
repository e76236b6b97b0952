"""The artifact archive: large payloads, content-addressed, behind one interface (local folder now)."""
