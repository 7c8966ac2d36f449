"""Shared fixtures: a fresh ledger on SQLite (file and memory) and on PostgreSQL.

The PostgreSQL fixtures run when ONA_LEDGER_TEST_POSTGRES holds a server URL;
each test session gets its own database there, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ona_ledger import Ledger, open_ledger
from ona_ledger.store import create_engine

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POSTGRES_URL = os.environ.get("ONA_LEDGER_TEST_POSTGRES")


class FakeClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def today(self) -> date:
        return self.now.date()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server, for this test session."""
    if not POSTGRES_URL:
        pytest.skip("set ONA_LEDGER_TEST_POSTGRES to run the PostgreSQL suite")
    name = f"ona_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_book_id() -> str:
    return f"book-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Ledger]:
    """A new book with the clinic chart, on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
    engine = create_engine(url)
    yield open_ledger(engine, new_book_id(), clock=clock)
    engine.dispose()


@pytest.fixture
def memory_ledger(clock: FakeClock) -> Ledger:
    """A new book in an in-memory SQLite database, for fast tests."""
    return open_ledger("sqlite://", new_book_id(), clock=clock)
