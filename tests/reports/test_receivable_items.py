"""The store's receivable per invoice line and its open summary for aging.

Both are written with each post and rebuilt by migrations 4 and 5.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from ona_ledger import Entry, Ledger, Money, Posting, open_ledger
from ona_ledger.reports.aging import BUCKET_DAYS, NO_PAYER, ar_aging
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


def open_groups(engine: sa.Engine) -> list[tuple[str, str, str, str, int]]:
    with engine.connect() as connection:
        return [
            (row[0], row[1], row[2], row[3], int(row[4]))
            for row in connection.execute(
                sa.text(
                    "SELECT account, patient, payer, CAST(service_date AS TEXT), "
                    "posted_cents FROM receivable_open "
                    "ORDER BY account, patient, payer, service_date"
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
    groups_before = open_groups(engine)
    # Take the database back to version 3, as if the entries predated the tables.
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE receivable_items"))
        connection.execute(sa.text("DROP TABLE receivable_open"))
        connection.execute(sa.text("DELETE FROM ona_schema_version WHERE version >= 4"))
    with engine.begin() as connection:
        assert migrate(connection) == LATEST
    assert open_items(engine) == before
    assert open_groups(engine) == groups_before
    report = ar_aging(ledger, as_of=date(2026, 3, 31))
    assert [row.name for row in report.patients] == ["P-1", "P-2"]


AR_PAT, AR_INS, INCOME = (
    "Assets:Receivable:Patients",
    "Assets:Receivable:Insurance",
    "Income:Services",
)


def post_lines(ledger: Ledger) -> None:
    """Post lines whose service date and payer change after their first posting."""

    def post(day: str, *postings: Posting) -> None:
        ledger.post(Entry(date.fromisoformat(day), "test", postings, actor="test"))

    a = {"patient": "P-1", "invoice": "INV-A", "invoice_line": "A1"}
    b = {"patient": "P-2", "invoice": "INV-B", "invoice_line": "B1"}
    c = {"patient": "P-2", "invoice": "INV-C", "invoice_line": "C1"}
    cents = Money.of
    post(
        "2026-02-01",
        Posting(AR_PAT, cents("50.00"), **a),
        Posting(INCOME, cents("-50.00"), **a),
    )
    # A posting dated before the line's first day moves its service date back.
    post(
        "2026-01-05",
        Posting(AR_PAT, cents("10.00"), **a),
        Posting(INCOME, cents("-10.00"), **a),
    )
    post(
        "2026-01-20",
        Posting(AR_INS, cents("80.00"), **b),
        Posting(INCOME, cents("-80.00"), **b),
    )
    # The payer is named only later, on the same line; then the patient share moves.
    post(
        "2026-03-01",
        Posting(AR_INS, cents("5.00"), payer="ACME", **b),
        Posting(INCOME, cents("-5.00"), **b),
    )
    post(
        "2026-03-10",
        Posting(AR_PAT, cents("25.00"), **b),
        Posting(AR_INS, cents("-25.00"), payer="ACME", **b),
    )
    # Line C is paid in full, so its group closes and leaves no row.
    post(
        "2026-02-15",
        Posting(AR_PAT, cents("30.00"), **c),
        Posting(INCOME, cents("-30.00"), **c),
    )
    post(
        "2026-02-20",
        Posting("Assets:Bank:Operating", cents("30.00")),
        Posting(AR_PAT, cents("-30.00"), **c),
    )
    # A payment after the last report day: older reports must not see it.
    post(
        "2026-04-02",
        Posting("Assets:Bank:Operating", cents("20.00")),
        Posting(AR_PAT, cents("-20.00"), **a),
    )


def journal_aging(ledger: Ledger, as_of: date) -> tuple[dict[str, list[int]], ...]:
    """Age the receivable from the journal itself: the reference for ar_aging."""
    first: dict[tuple[str, str, str], date] = {}
    payer: dict[tuple[str, str, str], str] = {}
    cents: dict[tuple[str, str, str, str], int] = {}
    for entry in ledger.entries(end=as_of):
        for posting in entry.postings:
            if not posting.account.startswith("Assets:Receivable:"):
                continue
            key = (
                posting.patient or "",
                posting.invoice or "",
                posting.invoice_line or "",
            )
            first[key] = min(first.get(key, entry.effective_date), entry.effective_date)
            payer[key] = max(payer.get(key, ""), posting.payer or "")
            account_key = (*key, posting.account)
            cents[account_key] = cents.get(account_key, 0) + posting.amount.cents
    patients: dict[str, list[int]] = {}
    payers: dict[str, list[int]] = {}
    for key, served in first.items():
        age = (as_of - served).days
        bucket = next((i for i, days in enumerate(BUCKET_DAYS) if age <= days), 4)
        patients.setdefault(key[0], [0] * 5)[bucket] += cents.get((*key, AR_PAT), 0)
        name = payer[key] or NO_PAYER
        payers.setdefault(name, [0] * 5)[bucket] += cents.get((*key, AR_INS), 0)
    return (
        {name: sums for name, sums in patients.items() if any(sums)},
        {name: sums for name, sums in payers.items() if any(sums)},
    )


def test_aging_matches_journal(ledger: Ledger) -> None:
    post_lines(ledger)
    day = date(2025, 12, 30)
    while day <= date(2026, 7, 1):
        report = ar_aging(ledger, as_of=day)
        patients = {row.name: [a.cents for a in row.buckets] for row in report.patients}
        payers = {row.name: [a.cents for a in row.buckets] for row in report.payers}
        assert (patients, payers) == journal_aging(ledger, day), day
        day += timedelta(days=3)


def test_closed_groups_leave_no_row(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'book.db'}")
    post_lines(open_ledger(engine, "clinic", clock=FakeClock()))
    assert [row for row in open_groups(engine) if row[1] == "P-2"] == [
        (AR_INS, "P-2", "ACME", "2026-01-20", 6000),
        (AR_PAT, "P-2", "ACME", "2026-01-20", 2500),
    ]
