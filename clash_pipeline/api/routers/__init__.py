"""One router per domain: auth, clones, market, results, arena, operator."""
