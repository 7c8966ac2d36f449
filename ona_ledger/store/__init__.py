"""Storage: SQLAlchemy Core tables, migrations and the SQL store; the only SQL in the tree."""

from __future__ import annotations

import os
from datetime import date

from sqlalchemy import Connection, Engine

from ona_ledger.accounts import CLINIC_BALANCE_LIMITS, clinic_chart
from ona_ledger.ledger import Clock, Ledger, system_clock
from ona_ledger.store.migrations import migrate
from ona_ledger.store.sql import SqlStore, create_engine

DEFAULT_DB_URL = "sqlite:///ona-ledger.db"

__all__ = [
    "DEFAULT_DB_URL",
    "SqlStore",
    "create_engine",
    "default_db_url",
    "migrate",
    "open_ledger",
]


def default_db_url() -> str:
    """Return ONA_LEDGER_DB when it is set, else a SQLite file in the current folder."""
    return os.environ.get("ONA_LEDGER_DB") or DEFAULT_DB_URL


def open_ledger(
    bind: str | Engine | Connection,
    book_id: str = "main",
    *,
    create: bool = True,
    book_name: str | None = None,
    currency: str = "USD",
    clock: Clock = system_clock,
    chart_opened: date = date(2000, 1, 1),
) -> Ledger:
    """Open one book's ledger on a URL, an Engine or a host's Connection.

    With `create` (the default) the schema is migrated to the latest version
    and a missing book is created with the clinic chart of accounts and its
    balance limits. An existing book gets any chart account it lacks (one
    added to the chart after the book was created). Pass a Connection to
    share the host's transaction.
    """
    target = create_engine(bind) if isinstance(bind, str) else bind
    store = SqlStore(target)
    if create:
        with store.transaction() as tx:
            migrate(tx.connection)
        if not store.book_exists(book_id):
            _create_book(
                store, book_id, book_name or book_id, currency, clock, chart_opened
            )
        else:
            _open_missing_chart_accounts(store, book_id, currency, clock, chart_opened)
    return Ledger(store, book_id, clock)


def _open_missing_chart_accounts(
    store: SqlStore, book_id: str, currency: str, clock: Clock, chart_opened: date
) -> None:
    """Open the chart accounts an existing book lacks, in the book's own currency.

    The book's currency is that of its first chart account; `currency` is the
    fallback for a book that holds none. Accounts the book has are left as
    they are, descriptions and close dates included.
    """
    existing = store.load_accounts(book_id)
    book_currency = next(
        (existing[a.name].currency for a in clinic_chart() if a.name in existing),
        currency,
    )
    missing = [
        account
        for account in clinic_chart(book_currency, chart_opened)
        if account.name not in existing
    ]
    if not missing:
        return
    with store.unit_of_work() as unit:
        setup = Ledger(unit, book_id, clock)
        for account in missing:
            setup.open_account(account)


def _create_book(
    store: SqlStore,
    book_id: str,
    name: str,
    currency: str,
    clock: Clock,
    chart_opened: date,
) -> None:
    """Create a book with the clinic chart and its balance limits, all or nothing.

    When two processes create the same book at once, only the one whose insert
    created the row opens the chart; the other finds it complete.
    """
    with store.unit_of_work() as unit:
        if not unit.ensure_book(book_id, name, currency, clock()):
            return
        setup = Ledger(unit, book_id, clock)
        for account in clinic_chart(currency, chart_opened):
            setup.open_account(account)
        for account_name, dimension in CLINIC_BALANCE_LIMITS:
            setup.set_balance_limit(account_name, dimension)
