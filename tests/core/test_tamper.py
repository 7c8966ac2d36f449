"""Tamper evidence: edits made straight in the database are caught by verify()."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from ona_ledger import Ledger
from ona_ledger.store import schema
from tests.core.helpers import RECEIVABLE, SERVICES, sql_store, transfer

entries, postings = schema.entries, schema.postings


def five_entries(ledger: Ledger) -> None:
    ledger.post_many(
        [
            transfer(date(2026, 1, day), f"{day}.00", RECEIVABLE, SERVICES,
                     patient="P-1")
            for day in range(1, 6)
        ]
    )  # fmt: skip


def tamper(ledger: Ledger, statement: sa.Executable) -> None:
    with sql_store(ledger).transaction() as tx:
        tx.connection.execute(statement)


def test_untouched_chain_verifies(ledger: Ledger) -> None:
    five_entries(ledger)
    result = ledger.verify()
    assert result.ok
    assert result.entries_checked == 5


def test_empty_book_verifies(ledger: Ledger) -> None:
    assert ledger.verify().ok


def test_changed_amount_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(postings)
        .where(postings.c.book_id == ledger.book_id, postings.c.entry_seq == 3)
        .values(amount_cents=postings.c.amount_cents * 10),
    )
    result = ledger.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.entries_checked == 2
    assert result.problem == "its content no longer matches its stored hash"


def test_unbalancing_amount_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(postings)
        .where(
            postings.c.book_id == ledger.book_id,
            postings.c.entry_seq == 2,
            postings.c.idx == 0,
        )
        .values(amount_cents=1),
    )
    result = ledger.verify()
    assert result.first_bad_seq == 2
    assert "no longer a valid entry" in (result.problem or "")


def test_changed_narration_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(entries)
        .where(entries.c.book_id == ledger.book_id, entries.c.seq == 4)
        .values(narration="nothing to see"),
    )
    assert ledger.verify().first_bad_seq == 4


def test_changed_patient_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(postings)
        .where(postings.c.book_id == ledger.book_id, postings.c.entry_seq == 1)
        .values(patient="P-2"),
    )
    assert ledger.verify().first_bad_seq == 1


def test_rehashed_entry_breaks_next_link(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(entries)
        .where(entries.c.book_id == ledger.book_id, entries.c.seq == 2)
        .values(hash="f" * 64),
    )
    assert ledger.verify().first_bad_seq == 2


@pytest.mark.parametrize("seq", [1, 3])
def test_deleted_entry_caught(ledger: Ledger, seq: int) -> None:
    five_entries(ledger)
    for table, column in ((postings, postings.c.entry_seq), (entries, entries.c.seq)):
        tamper(
            ledger,
            sa.delete(table).where(table.c.book_id == ledger.book_id, column == seq),
        )
    result = ledger.verify()
    assert result.first_bad_seq == seq
    assert (
        result.problem == f"entry {seq} is missing; the next entry found is {seq + 1}"
    )


def test_deleted_last_entry_caught(ledger: Ledger) -> None:
    # The walk used to end quietly at the new last entry.
    five_entries(ledger)
    tamper(
        ledger,
        sa.delete(entries).where(
            entries.c.book_id == ledger.book_id, entries.c.seq == 5
        ),
    )
    result = ledger.verify()
    assert result.first_bad_seq == 5
    assert "the book's head is entry 5" in (result.problem or "")


def test_deleted_posting_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.delete(postings).where(
            postings.c.book_id == ledger.book_id,
            postings.c.entry_seq == 2,
            postings.c.idx == 1,
        ),
    )
    assert ledger.verify().first_bad_seq == 2


def test_changed_fingerprint_caught(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(entries)
        .where(entries.c.book_id == ledger.book_id, entries.c.seq == 5)
        .values(fingerprint="0" * 64),
    )
    result = ledger.verify()
    assert result.first_bad_seq == 5
    assert "idempotency fingerprint" in (result.problem or "")


def test_tamper_in_other_book_not_reported(ledger: Ledger) -> None:
    five_entries(ledger)
    tamper(
        ledger,
        sa.update(entries)
        .where(entries.c.book_id == "some-other-book")
        .values(narration="x"),
    )
    ledger.post(transfer(date(2026, 1, 9), "1.00"))
    assert ledger.verify().ok
