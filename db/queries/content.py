"""Writing content: upserts that change nothing when nothing changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str] = ("id",),
) -> int:
    """Insert rows, or update them where a value differs. Returns rows written.

    The `IS DISTINCT FROM` guard keeps a reload from touching unchanged rows,
    so their `updated_at` (kept by a trigger) stays put.
    """
    if not rows:
        return 0
    table: Table = model.__table__  # type: ignore[assignment]
    written = 0
    columns = [c for c in rows[0] if c not in key]
    # asyncpg allows 32767 parameters a statement.
    per_statement = max(1, 30000 // max(len(rows[0]), 1))
    for start in range(0, len(rows), per_statement):
        stmt = insert(table).values(list(rows[start : start + per_statement]))
        if columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key),
                set_={c: stmt.excluded[c] for c in columns},
                where=tuple_(*(table.c[c] for c in columns)).is_distinct_from(
                    tuple_(*(stmt.excluded[c] for c in columns))
                ),
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        result = await session.execute(stmt)
        written += int(getattr(result, "rowcount", 0) or 0)
    return written
