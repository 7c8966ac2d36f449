"""SQL of the statement_lines table: imported bank lines, deduped by (bank account, FITID).

Rows are plain dicts keyed by column name; ona_ledger.reconcile.store turns them into
statement lines and matches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ona_ledger.store import schema
from ona_ledger.store.sql import SqlStore

_TABLE = schema.statement_lines
_CHUNK = 500


def insert_statement_lines(
    store: SqlStore, book_id: str, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Insert rows whose (bank_account_id, fitid) the book lacks; return the keys inserted.

    A row already stored is left as it was, match included, so a second import of
    the same statement adds nothing.
    """
    if not rows:
        return []
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    with store.transaction() as tx:
        connection = tx.connection
        known = _existing_keys(connection, book_id, rows)
        fresh: list[dict[str, Any]] = []
        for row in rows:
            key = (row["bank_account_id"], row["fitid"])
            if key in known:
                continue
            known.add(key)
            fresh.append({**row, "book_id": book_id})
        for chunk in _chunks(fresh):
            connection.execute(insert(_TABLE).on_conflict_do_nothing(), chunk)
    return [(row["bank_account_id"], row["fitid"]) for row in fresh]


def _existing_keys(
    connection: sa.Connection, book_id: str, rows: Sequence[Mapping[str, Any]]
) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    fitids = sorted({row["fitid"] for row in rows})
    for chunk in _chunks(fitids):
        result = connection.execute(
            sa.select(_TABLE.c.bank_account_id, _TABLE.c.fitid).where(
                _TABLE.c.book_id == book_id, _TABLE.c.fitid.in_(chunk)
            )
        )
        found.update((str(a), str(f)) for a, f in result)
    return found


def select_statement_lines(
    store: SqlStore,
    book_id: str,
    account: str,
    *,
    start: date | None = None,
    end: date | None = None,
    unmatched_only: bool = False,
) -> list[dict[str, Any]]:
    """Return the lines of a ledger account by posted date, then bank account and FITID."""
    query = sa.select(_TABLE).where(
        _TABLE.c.book_id == book_id, _TABLE.c.account == account
    )
    if start is not None:
        query = query.where(_TABLE.c.posted_date >= start)
    if end is not None:
        query = query.where(_TABLE.c.posted_date <= end)
    if unmatched_only:
        query = query.where(_TABLE.c.match_id.is_(None))
    query = query.order_by(
        _TABLE.c.posted_date, _TABLE.c.bank_account_id, _TABLE.c.fitid
    )
    with store.reading() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def matched_item_ids(store: SqlStore, book_id: str, account: str) -> set[str]:
    """Return the ids of every ledger item a line of the account was matched to."""
    query = sa.select(_TABLE.c.matched_items).where(
        _TABLE.c.book_id == book_id,
        _TABLE.c.account == account,
        _TABLE.c.matched_items.is_not(None),
    )
    with store.reading() as connection:
        found: set[str] = set()
        for (items,) in connection.execute(query):
            found.update(json.loads(items))
    return found


def set_line_match(
    store: SqlStore,
    book_id: str,
    keys: Sequence[tuple[str, str]],
    *,
    match_id: str,
    rule: str,
    score: int,
    item_ids: Sequence[str],
) -> int:
    """Mark unmatched lines as matched; return how many lines this call marked."""
    marked = 0
    with store.transaction() as tx:
        for bank_account_id, fitid in keys:
            result = tx.connection.execute(
                _TABLE.update()
                .where(
                    _TABLE.c.book_id == book_id,
                    _TABLE.c.bank_account_id == bank_account_id,
                    _TABLE.c.fitid == fitid,
                    _TABLE.c.match_id.is_(None),
                )
                .values(
                    match_id=match_id,
                    match_rule=rule,
                    match_score=score,
                    matched_items=json.dumps(sorted(item_ids)),
                )
            )
            marked += result.rowcount
    return marked


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])
