"""The store's receivable per invoice line: written with each post, rebuilt by migration 4."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from ona_ledger import open_ledger
from ona_ledger.reports.aging import ar_aging
from ona_ledger.store import create_engine
from ona_ledger.store.migrations import LATEST, migrate
from tests.conftest import FakeClock
from tests.reports.helpers import fill_clinic


def open_items(engine: sa.Engine) -> list[tuple[str, str, str, int]]:
    with engine.connect() as connection:
        return [
            (row[0], row[1], row[2], int(row[3]))
            for row in connection.execute(
                sa.text(
                    "SELECT account, invoice_line, CAST(day AS TEXT), posted_cents "
                    "FROM receivable_items ORDER BY account, invoice_line, day"
                )
            )
        ]


def test_items_follow_postings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'book.db'}")
    fill_clinic(open_ledger(engine, "clinic", clock=FakeClock()))
    items = open_items(engine)
    # L1: +100.00 on 01-10, -60.00 on 03-20, -10.00 on 03-25.
    l1 = [item for item in items if item[0].endswith("Patients") and item[1] == "L1"]
    assert [cents for *_rest, cents in l1] == [10000, -6000, -1000]


def test_migration_backfills_items(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'book.db'}")
    ledger = open_ledger(engine, "clinic", clock=FakeClock())
    fill_clinic(ledger)
    before = open_items(engine)
    # Take the database back to version 3, as if the entries predated the table.
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE receivable_items"))
        connection.execute(sa.text("DELETE FROM ona_schema_version WHERE version = 4"))
    with engine.begin() as connection:
        assert migrate(connection) == LATEST
    assert open_items(engine) == before
    report = ar_aging(ledger, as_of=date(2026, 3, 31))
    assert [row.name for row in report.patients] == ["P-1", "P-2"]
