"""Crash atomicity: a writer killed in the middle of a large batch leaves all or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ona_ledger import open_ledger
from ona_ledger.store import schema
from tests.conftest import new_book_id
from tests.core.helpers import count_rows, journal_problems

ENTRY_COUNT = 20_000
REPO_ROOT = Path(__file__).resolve().parents[2]

# The child posts every entry in one post_many and says "inserting" from
# inside that call's transaction, just before the rows go in, so the kill
# lands while the transaction is open (or, rarely, just after it commits).
WRITER = textwrap.dedent(
    """
    import sys
    from datetime import date
    from ona_ledger import Entry, Money, Posting, open_ledger
    from ona_ledger.store.sql import SqlTransaction

    insert_entries = SqlTransaction.insert_entries

    def announced_insert(self, rows, head=None):
        print("inserting", flush=True)
        insert_entries(self, rows, head)

    SqlTransaction.insert_entries = announced_insert

    url, book_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ledger = open_ledger(url, book_id)
    batch = [
        Entry(
            date(2026, 1, 1 + n % 28),
            f"charge {n}",
            (
                Posting("Assets:Receivable:Patients", Money.from_minor(100 + n),
                        patient=f"P-{n % 50}"),
                Posting("Income:Services", Money.from_minor(-100 - n),
                        provider=f"DR-{n % 3}"),
            ),
            "crash-test",
            idempotency_key=f"charge-{n}",
        )
        for n in range(count)
    ]
    ledger.post_many(batch)
    print("done", flush=True)
    """
)


def run_and_kill(url: str, book_id: str) -> str:
    """Start the writer, SIGKILL it once it starts inserting; return the line it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, book_id, str(ENTRY_COUNT)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    return line


def check_all_or_nothing(url: str, book_id: str) -> None:
    ledger = open_ledger(url, book_id, create=False)
    entry_count = count_rows(ledger, schema.entries)
    assert entry_count in (0, ENTRY_COUNT)
    assert count_rows(ledger, schema.postings) == 2 * entry_count
    assert ledger.verify().entries_checked == entry_count
    assert journal_problems(ledger) == []


@pytest.mark.slow
def test_killed_sqlite_writer_all_or_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    book_id = new_book_id()
    open_ledger(url, book_id)
    assert run_and_kill(url, book_id) == "inserting"
    check_all_or_nothing(url, book_id)


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_postgres_writer_all_or_nothing(postgres_server_url: str) -> None:
    book_id = new_book_id()
    open_ledger(postgres_server_url, book_id)
    assert run_and_kill(postgres_server_url, book_id) == "inserting"
    check_all_or_nothing(postgres_server_url, book_id)
