"""Definition metadata of the assets that write market-memory tables: table names and column schemas, read from
the schema that sql/ migrations build (one source of truth), so the UI shows every table's columns."""

from collections.abc import Sequence
from functools import cache

import dagster as dg

from clash_pipeline.memory.db import connect, migrate


@cache
def _columns() -> dict[str, tuple[tuple[str, str, bool, int], ...]]:
    """table -> (name, type, not null, primary-key position) of each column, from a freshly migrated schema."""
    conn = connect(":memory:")
    try:
        migrate(conn)
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: tuple((name, kind or "ANY", bool(notnull), pk) for _, name, kind, notnull, _, pk in
                             conn.execute(f"PRAGMA table_info({table})")) for table in tables}
    finally:
        conn.close()


def table_schema(table: str) -> dg.TableSchema:
    """The columns of one market-memory table (primary-key columns are marked unique only when the key is one
    column)."""
    columns = _columns()[table]
    single_key = sum(1 for *_, pk in columns if pk) == 1
    return dg.TableSchema(columns=[
        dg.TableColumn(name, kind.lower(), constraints=dg.TableColumnConstraints(
            nullable=not notnull and not pk, unique=bool(pk) and single_key,
            other=[f"primary key ({pk})"] if pk else []))
        for name, kind, notnull, pk in columns])


def table_metadata(tables: Sequence[str]) -> dict[str, object]:
    """`dagster/column_schema` and `dagster/table_name` of the main (first) table, and the schema of each other
    table the asset writes under `columns/<table>`."""
    main, *others = tables
    return {"dagster/table_name": f"market_memory.{main}", "dagster/column_schema": table_schema(main),
            **{f"columns/{table}": dg.MetadataValue.table_schema(table_schema(table)) for table in others}}
