"""Schema migrations: numbered steps applied in order, so a host upgrades in place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, inspect, select, text

from ona_ledger.errors import SchemaError
from ona_ledger.store import schema

logger = logging.getLogger(__name__)


def _create_core_tables(connection: Connection) -> None:
    tables = [
        schema.books,
        schema.accounts,
        schema.balance_limits,
        schema.entries,
        schema.postings,
        schema.balances,
        schema.sequences,
        schema.records,
    ]
    schema.metadata.create_all(connection, tables=tables)


def _index_records_by_kind(connection: Connection) -> None:
    # Plain DDL: an Index built on schema.records would attach itself to the
    # shared metadata, so the next create_all in this process would build it
    # in step 1 and this step would then fail on the existing index.
    connection.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_records_kind ON records (book_id, kind)"
    )


def _create_statement_lines(connection: Connection) -> None:
    schema.statement_lines.create(connection, checkfirst=True)


def _create_receivable_items(connection: Connection) -> None:
    schema.receivable_items.create(connection, checkfirst=True)
    # Fill the new table from the journal already posted, so aging is complete
    # on a database that had entries before this migration.
    connection.execute(
        text(
            "INSERT INTO receivable_items (book_id, account, currency, patient, "
            "invoice, invoice_line, day, payer, posted_cents) "
            "SELECT book_id, account, currency, COALESCE(patient, ''), "
            "COALESCE(invoice, ''), COALESCE(invoice_line, ''), effective_date, "
            "MAX(COALESCE(payer, '')), SUM(amount_cents) FROM postings "
            "WHERE account LIKE :receivables AND status = 'posted' "
            "GROUP BY book_id, account, currency, COALESCE(patient, ''), "
            "COALESCE(invoice, ''), COALESCE(invoice_line, ''), effective_date"
        ),
        {"receivables": "Assets:Receivable:%"},
    )


def _create_receivable_open(connection: Connection) -> None:
    schema.receivable_open.create(connection, checkfirst=True)
    # Fill it from receivable_items: each line's service date and payer over
    # all its rows, its open cents per account, summed per group, zeros left out.
    connection.execute(
        text(
            "INSERT INTO receivable_open (book_id, account, currency, patient, payer, "
            "service_date, posted_cents) "
            "SELECT r.book_id, r.account, r.currency, r.patient, line.payer, "
            "line.service_date, SUM(r.posted_cents) FROM receivable_items r JOIN "
            "(SELECT book_id, patient, invoice, invoice_line, currency, "
            "MAX(payer) AS payer, MIN(day) AS service_date FROM receivable_items "
            "GROUP BY book_id, patient, invoice, invoice_line, currency) line "
            "ON line.book_id = r.book_id AND line.patient = r.patient "
            "AND line.invoice = r.invoice AND line.invoice_line = r.invoice_line "
            "AND line.currency = r.currency "
            "GROUP BY r.book_id, r.account, r.currency, r.patient, line.payer, "
            "line.service_date HAVING SUM(r.posted_cents) <> 0"
        )
    )


# Each step runs once, in order, inside the migrating transaction. Append new
# steps at the end; never edit one that has shipped.
MIGRATIONS: Final[tuple[tuple[int, str, Callable[[Connection], None]], ...]] = (
    (1, "core tables", _create_core_tables),
    (2, "index records by kind", _index_records_by_kind),
    (3, "bank statement lines", _create_statement_lines),
    (4, "receivable items for aging", _create_receivable_items),
    (5, "open receivable by date of service", _create_receivable_open),
)
LATEST: Final = MIGRATIONS[-1][0]


def current_version(connection: Connection) -> int:
    """Return the highest migration applied, or 0 on an empty database."""
    if not inspect(connection).has_table(schema.schema_version.name):
        return 0
    found = connection.execute(
        select(schema.schema_version.c.version).order_by(
            schema.schema_version.c.version.desc()
        )
    ).first()
    return int(found[0]) if found else 0


def migrate(connection: Connection) -> int:
    """Apply every migration the database lacks and return the resulting version."""
    schema.schema_version.create(connection, checkfirst=True)
    version = current_version(connection)
    if version > LATEST:
        raise SchemaError(
            f"the database is at schema version {version}, newer than this library's "
            f"{LATEST}; upgrade ona-ledger before opening it"
        )
    for number, title, step in MIGRATIONS:
        if number <= version:
            continue
        step(connection)
        connection.execute(
            schema.schema_version.insert().values(
                version=number, applied_at=datetime.now(UTC).isoformat()
            )
        )
        logger.info("applied migration %d: %s", number, title)
        version = number
    return version
