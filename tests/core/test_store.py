"""SQL store: migrations, a host's own transaction, and maintained balances."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ona_ledger import BalanceLimitError, Ledger, SchemaError, open_ledger
from ona_ledger.errors import LedgerError
from ona_ledger.store import create_engine, migrate, schema
from ona_ledger.store.migrations import LATEST, current_version
from tests.conftest import FakeClock, new_book_id
from tests.core.helpers import (
    BANK,
    CLEARING,
    CREDIT,
    RECEIVABLE,
    SERVICES,
    count_rows,
    maintained_totals,
    posting_totals,
    sql_store,
    transfer,
)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on an empty SQLite file, or on the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
    created = create_engine(url)
    yield created
    created.dispose()


def test_fresh_sqlite_reaches_latest(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with engine.begin() as connection:
        assert current_version(connection) == 0
        assert migrate(connection) == LATEST
    with engine.connect() as connection:
        assert current_version(connection) == LATEST
        assert sa.inspect(connection).has_table("balances")


def test_migrate_twice_is_noop(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        migrate(connection)
    with engine.begin() as connection:
        rows_before = connection.execute(
            sa.select(sa.func.count()).select_from(schema.schema_version)
        ).scalar_one()
        assert migrate(connection) == LATEST
        rows_after = connection.execute(
            sa.select(sa.func.count()).select_from(schema.schema_version)
        ).scalar_one()
    assert rows_after == rows_before


def test_second_database_in_process_migrates(tmp_path: Path) -> None:
    # The records index once attached itself to the shared metadata, so a
    # second fresh database in one process failed at migration 2.
    for name in ("one.db", "two.db"):
        engine = create_engine(f"sqlite:///{tmp_path / name}")
        with engine.begin() as connection:
            assert migrate(connection) == LATEST
        engine.dispose()


def test_newer_schema_raises(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'newer.db'}")
    with engine.begin() as connection:
        migrate(connection)
        connection.execute(
            schema.schema_version.insert().values(
                version=LATEST + 1, applied_at=datetime.now(UTC).isoformat()
            )
        )
    with pytest.raises(SchemaError, match="newer than this library's"):
        open_ledger(engine, "main")


def test_schema_error_is_ledger_error() -> None:
    assert issubclass(SchemaError, LedgerError)


# A host's own connection ------------------------------------------------------


def prepared_engine(engine: sa.Engine, book_id: str, clock: FakeClock) -> None:
    """Create the schema and the book up front, with the ledger's own transaction."""
    open_ledger(engine, book_id, clock=clock)


def test_host_commit_keeps_entry(engine: sa.Engine, clock: FakeClock) -> None:
    book_id = new_book_id()
    prepared_engine(engine, book_id, clock)
    with engine.connect() as connection, connection.begin():
        host_ledger = open_ledger(connection, book_id, clock=clock)
        host_ledger.post(transfer(date(2026, 1, 5), "12.00"))
    after = open_ledger(engine, book_id, clock=clock, create=False)
    assert len(after.entries()) == 1
    assert after.balance(BANK).posted.cents == 1200


def test_host_rollback_drops_entry(engine: sa.Engine, clock: FakeClock) -> None:
    book_id = new_book_id()
    prepared_engine(engine, book_id, clock)
    with engine.connect() as connection:
        transaction = connection.begin()
        host_ledger = open_ledger(connection, book_id, clock=clock)
        host_ledger.post(transfer(date(2026, 1, 5), "12.00"))
        assert len(host_ledger.entries()) == 1
        transaction.rollback()
    after = open_ledger(engine, book_id, clock=clock, create=False)
    assert after.entries() == []
    assert after.balance(BANK).posted.cents == 0
    assert after.verify().ok


def test_host_rollback_drops_new_book(engine: sa.Engine, clock: FakeClock) -> None:
    book_id = new_book_id()
    with engine.begin() as connection:
        migrate(connection)
    with engine.connect() as connection:
        transaction = connection.begin()
        open_ledger(connection, book_id, clock=clock).post(
            transfer(date(2026, 1, 5), "1.00")
        )
        transaction.rollback()
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(schema.books.c.book_id).where(schema.books.c.book_id == book_id)
        ).first()
    assert found is None


def test_rejected_post_keeps_host_work(engine: sa.Engine, clock: FakeClock) -> None:
    book_id = new_book_id()
    prepared_engine(engine, book_id, clock)
    with engine.connect() as connection, connection.begin():
        host_ledger = open_ledger(connection, book_id, clock=clock)
        host_ledger.post(transfer(date(2026, 1, 5), "12.00", key="first"))
        with pytest.raises(LedgerError):
            host_ledger.post(transfer(date(2026, 1, 5), "13.00", key="first"))
    after = open_ledger(engine, book_id, clock=clock, create=False)
    assert [e.idempotency_key for e in after.entries()] == ["first"]


# Maintained balances ----------------------------------------------------------


def random_workload(ledger: Ledger, seed: int, count: int) -> None:
    rng = random.Random(seed)
    patients = [f"P-{n}" for n in range(5)]
    providers = ["DR-A", "DR-B", "DR-C"]
    posted: list[int] = []
    for n in range(count):
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(60))
        amount = f"{rng.randrange(1, 50000) / 100:.2f}"
        patient, provider = rng.choice(patients), rng.choice(providers)
        choice = rng.random()
        if choice < 0.5:
            entry = transfer(day, amount, RECEIVABLE, SERVICES, patient=patient,
                             provider=provider, invoice=f"INV-{n}")  # fmt: skip
            posted.append(ledger.post(entry).seq)
        elif choice < 0.7:
            entry = transfer(day, amount, BANK, CREDIT, patient=patient)
            posted.append(ledger.post(entry).seq)
        elif choice < 0.85:
            entry = transfer(day, amount, CLEARING, RECEIVABLE, patient=patient,
                             location="MAIN", plan="PLAN-1", payer="SELF")  # fmt: skip
            held = ledger.post_pending(entry)
            if rng.random() < 0.5:
                ledger.post_pending_entry(held.seq, actor="tester")
        elif posted:
            seq = posted.pop(rng.randrange(len(posted)))
            # A reversal may break a patient's credit limit; that one is skipped.
            with contextlib.suppress(BalanceLimitError):
                ledger.reverse(seq, actor="tester", reason="random")


def test_maintained_balances_match_postings(ledger: Ledger) -> None:
    random_workload(ledger, seed=7, count=120)
    assert maintained_totals(ledger) == posting_totals(ledger)


def test_balance_reads_maintained_table(ledger: Ledger) -> None:
    ledger.post(transfer(date(2026, 1, 5), "10.00", patient="P-1"))
    with sql_store(ledger).transaction() as tx:
        tx.connection.execute(
            sa.update(schema.balances)
            .where(schema.balances.c.book_id == ledger.book_id)
            .values(posted_cents=schema.balances.c.posted_cents + 1)
        )
    assert ledger.balance(BANK).posted.cents == 1001
    assert ledger.balance(BANK, patient="P-1").posted.cents == 1001
    assert count_rows(ledger, schema.postings) == 2
