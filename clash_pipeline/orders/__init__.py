"""Orders and their execution events: one owner (`lifecycle`), one vocabulary (`enums`)."""
