"""Helpers for the core tests: short entry builders and checks of the stored journal."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from ona_ledger import Entry, Ledger, Money, Posting, SqlStore
from ona_ledger.store import schema

BANK = "Assets:Bank:Operating"
SERVICES = "Income:Services"
RECEIVABLE = "Assets:Receivable:Patients"
CLEARING = "Assets:Clearing:Processor"
CREDIT = "Liabilities:PatientCredit"
GIFT_CARDS = "Liabilities:Deferred:GiftCards"
OPENING = "Equity:OpeningBalances"

KeyTotals = dict[tuple[str, str, str, str, date], tuple[int, int]]


def usd(amount: str) -> Money:
    return Money.of(amount)


def transfer(
    day: date,
    amount: str,
    debit: str = BANK,
    credit: str = SERVICES,
    *,
    key: str | None = None,
    narration: str = "test entry",
    **dimensions: Any,
) -> Entry:
    """Build a two-posting entry moving `amount` from `credit` to `debit`."""
    money = Money.of(amount)
    return Entry(
        effective_date=day,
        narration=narration,
        postings=(
            Posting(debit, money, **dimensions),
            Posting(credit, -money, **dimensions),
        ),
        actor="tester",
        idempotency_key=key,
    )


def sql_store(ledger: Ledger) -> SqlStore:
    store = ledger.store
    assert isinstance(store, SqlStore)
    return store


def engine_of(ledger: Ledger) -> sa.Engine:
    engine = sql_store(ledger)._engine
    assert engine is not None
    return engine


def count_rows(ledger: Ledger, table: sa.Table) -> int:
    with sql_store(ledger).reading() as connection:
        found = connection.execute(
            sa.select(sa.func.count()).where(table.c.book_id == ledger.book_id)
        ).scalar_one()
    return int(found)


def maintained_totals(ledger: Ledger) -> KeyTotals:
    """Return the `balances` table of the book, leaving out rows that are zero."""
    table = schema.balances
    with sql_store(ledger).reading() as connection:
        rows = connection.execute(
            sa.select(table).where(table.c.book_id == ledger.book_id)
        ).all()
    result: KeyTotals = {}
    for row in rows:
        if row.posted_cents or row.pending_cents:
            key = (row.account, row.currency, row.dim_name, row.dim_value, row.day)
            result[key] = (int(row.posted_cents), int(row.pending_cents))
    return result


def posting_totals(ledger: Ledger) -> KeyTotals:
    """Return the same keys as `balances`, summed straight from the postings."""
    table = schema.postings
    with sql_store(ledger).reading() as connection:
        rows = connection.execute(
            sa.select(table).where(table.c.book_id == ledger.book_id)
        ).all()
    sums: dict[tuple[str, str, str, str, date], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        column = 0 if row.status == "posted" else 1
        keys = [("", "")]
        keys += [
            (name, getattr(row, name))
            for name in schema.MAINTAINED_DIMENSIONS
            if getattr(row, name) is not None
        ]
        for dim_name, dim_value in keys:
            key = (row.account, row.currency, dim_name, dim_value, row.effective_date)
            sums[key][column] += int(row.amount_cents)
    return {key: (v[0], v[1]) for key, v in sums.items() if v[0] or v[1]}


def journal_problems(ledger: Ledger) -> list[str]:
    """Check the stored book and return what is wrong with it, or an empty list.

    Checks: every entry balances per currency and status, all account balances
    sum to zero per currency, the maintained balances equal the sums of the
    postings, and the hash chain verifies.
    """
    problems: list[str] = []
    for stored in ledger.entries():
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for posting in stored.postings:
            sums[(posting.amount.currency, posting.status.value)] += (
                posting.amount.cents
            )
        if any(sums.values()):
            problems.append(f"entry {stored.seq} does not balance: {dict(sums)}")

    per_currency: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for balance in ledger.account_balances().values():
        per_currency[balance.posted.currency][0] += balance.posted.cents
        per_currency[balance.posted.currency][1] += balance.pending.cents
    for currency, (posted, pending) in per_currency.items():
        if posted or pending:
            problems.append(f"{currency} balances sum to {posted}/{pending}, not 0")

    maintained, summed = maintained_totals(ledger), posting_totals(ledger)
    if maintained != summed:
        keys = sorted(set(maintained) ^ set(summed)) or sorted(
            k for k in maintained if maintained[k] != summed[k]
        )
        problems.append(f"maintained balances differ from postings at {keys[:5]}")

    result = ledger.verify()
    if not result.ok:
        problems.append(f"verify failed at {result.first_bad_seq}: {result.problem}")
    return problems


def table_snapshot(ledger: Ledger) -> dict[str, Any]:
    """Return row counts and the head of the book, to show a call wrote nothing."""
    store = sql_store(ledger)
    head = store.head(ledger.book_id)
    return {
        "entries": count_rows(ledger, schema.entries),
        "postings": count_rows(ledger, schema.postings),
        "balances": maintained_totals(ledger),
        "head": (head.seq, head.hash),
    }
