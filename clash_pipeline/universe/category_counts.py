"""The category catalog as stored in market memory: every (category, subcategory) with how many assets it holds."""

from __future__ import annotations

import sqlite3


def category_catalog(conn: sqlite3.Connection) -> list[dict]:
    rows = conn.execute("SELECT category, subcategory, COUNT(DISTINCT coin) FROM asset_categories "
                        "GROUP BY category, subcategory ORDER BY category, subcategory").fetchall()
    return [{"category": c, "subcategory": s or None, "assets": n} for c, s, n in rows]
