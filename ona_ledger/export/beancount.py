"""Beancount export: open directives, transactions with dimensions as metadata, balance assertions.

Only posted amounts are exported; pending amounts are not accounting facts yet.
Patients appear as their opaque ids, never by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from ona_ledger.accounts import AccountType, account_type
from ona_ledger.entries import DIMENSIONS, JournalEntry, PostingStatus
from ona_ledger.errors import InvalidInputError
from ona_ledger.export.csv_journal import check_period
from ona_ledger.ledger import Balance, Ledger
from ona_ledger.money import Money

OPENING_ACCOUNT = "Equity:OpeningBalances"
_LINK_UNSAFE = re.compile(r"[^A-Za-z0-9\-_/.]")
_META_KEY_UNSAFE = re.compile(r"[^a-zA-Z0-9\-_]")


def check_beancount_period(start: date | None, end: date | None) -> None:
    """Raise InvalidInputError for a period that starts after it ends or has no day around it.

    The opening balances are dated the day before `start` and the balance
    assertions the day after `end`, so both days must exist: `start` after
    0001-01-01 and `end` before 9999-12-31.
    """
    check_period(start, end)
    if start is not None and start == date.min:
        raise InvalidInputError(
            f"export start {start} leaves no day before it for the opening balances; "
            "leave out the start to export from the first entry"
        )
    if end is not None and end == date.max:
        raise InvalidInputError(
            f"export end {end} leaves no day after it for the balance assertions; "
            "leave out the end to export through the last entry"
        )


def export_beancount(
    ledger: Ledger,
    out: TextIO,
    *,
    start: date | None = None,
    end: date | None = None,
    title: str | None = None,
) -> dict[str, Money]:
    """Write the book as a beancount file and return the closing balance of each account.

    With `start`, the balance sheet before it is carried in as one opening
    transaction dated the day before: assets, liabilities and equity at their
    balances, and earlier income and expenses closed into
    Equity:OpeningBalances, so the file's income statement covers only the
    period. With `end`, entries after it are left out. Balance assertions
    close the file.
    Raises InvalidInputError, before writing anything, for a period that
    check_beancount_period rejects.
    """
    check_beancount_period(start, end)
    accounts = ledger.accounts()
    out.write(
        f'option "title" "{_quote(title or "ona_ledger book " + ledger.book_id)}"\n'
    )
    out.write('option "operating_currency" "USD"\n\n')
    for account in accounts:
        out.write(
            f"{account.opened.isoformat()} open {account.name} {account.currency}\n"
        )
        if account.closed is not None:
            closing_day = account.closed + timedelta(days=1)
            out.write(f"{closing_day.isoformat()} close {account.name}\n")
    out.write("\n")

    closing: dict[str, Money] = {}
    last_day = start - timedelta(days=1) if start else None
    if start is not None:
        opening = _balance_sheet_carried_in(
            ledger.account_balances(as_of=start - timedelta(days=1))
        )
        _write_opening(out, start - timedelta(days=1), opening)
        closing.update(opening)
    for entry in _entries_in_range(ledger, start, end):
        if _write_entry(out, entry, closing):
            last_day = (
                entry.effective_date
                if last_day is None
                else max(last_day, entry.effective_date)
            )

    assertion_day = (end or last_day or ledger.clock().date()) + timedelta(days=1)
    for account in accounts:
        # Beancount's balance assertion on an account includes its subaccounts.
        amount = Money.zero(account.currency)
        for name, held in closing.items():
            if name == account.name or name.startswith(account.name + ":"):
                amount = amount + held
        if account.closed is not None and account.closed < assertion_day:
            continue
        out.write(
            f"{assertion_day.isoformat()} balance {account.name}  {amount} {amount.currency}\n"
        )
    return closing


def write_beancount_file(
    ledger: Ledger,
    path: str | Path,
    *,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Money]:
    """Export to a file; see export_beancount."""
    with open(path, "w", encoding="utf-8") as handle:
        return export_beancount(ledger, handle, start=start, end=end)


def check_with_beancount(path: str | Path) -> tuple[list[str], dict[str, Decimal]]:
    """Load a file with beancount's own loader; return its errors and each account's balance."""
    from beancount import loader
    from beancount.core import data

    entries, errors, _options = loader.load_file(str(path))
    balances: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                units = posting.units
                if units is None or units.number is None:
                    continue
                balances[posting.account] = (
                    balances.get(posting.account, Decimal(0)) + units.number
                )
    return [str(getattr(error, "message", error)) for error in errors], balances


def _entries_in_range(
    ledger: Ledger, start: date | None, end: date | None
) -> Iterable[JournalEntry]:
    in_range = []
    for entry, _fingerprint in ledger.store.iter_chain(ledger.book_id):
        if start is not None and entry.effective_date < start:
            continue
        if end is not None and entry.effective_date > end:
            continue
        in_range.append(entry)
    # Beancount sorts by date itself; sorting here keeps the file readable.
    return sorted(in_range, key=lambda e: (e.effective_date, e.seq))


def _balance_sheet_carried_in(balances: dict[str, Balance]) -> dict[str, Money]:
    """Return the balances carried into a period, with earlier income and expenses closed.

    Net income before the period is the opposite of its balancing equity, so it
    lands in Equity:OpeningBalances and income and expense accounts start at zero.
    """
    carried: dict[str, Money] = {}
    for name, balance in balances.items():
        if account_type(name) in (AccountType.INCOME, AccountType.EXPENSES):
            target = OPENING_ACCOUNT
        else:
            target = name
        held = carried.get(target, Money.zero(balance.posted.currency))
        carried[target] = held + balance.posted
    return {name: amount for name, amount in carried.items() if amount.cents}


def _write_opening(out: TextIO, day: date, balances: dict[str, Money]) -> None:
    lines = [
        (account, amount)
        for account, amount in sorted(balances.items())
        if account != OPENING_ACCOUNT and amount.cents
    ]
    if not lines:
        return
    out.write(
        f'{day.isoformat()} * "Balances carried in from before the exported period"\n'
    )
    for account, amount in lines:
        out.write(f"  {account}  {amount} {amount.currency}\n")
    out.write(f"  {OPENING_ACCOUNT}\n\n")


def _write_entry(out: TextIO, entry: JournalEntry, closing: dict[str, Money]) -> bool:
    postings = [p for p in entry.postings if p.status is PostingStatus.POSTED]
    if not postings:
        return False
    links = " ".join("^" + _LINK_UNSAFE.sub("-", link) for link in entry.links)
    out.write(f'{entry.effective_date.isoformat()} * "{_quote(entry.narration)}"')
    out.write(f" {links}\n" if links else "\n")
    out.write(f'  entry: "{entry.id}"\n')
    out.write(f'  actor: "{_quote(entry.actor)}"\n')
    if entry.reason:
        out.write(f'  reason: "{_quote(entry.reason)}"\n')
    used = {"entry", "actor", "reason"}
    for key, value in sorted(entry.meta.items()):
        out.write(f'  {_meta_key(key, used)}: "{_quote(value)}"\n')
    for posting in postings:
        amount = posting.amount
        out.write(f"  {posting.account}  {amount} {amount.currency}\n")
        for name in DIMENSIONS:
            value = getattr(posting, name)
            if value is not None:
                out.write(f'    {name}: "{_quote(value)}"\n')
        closing[posting.account] = (
            closing.get(posting.account, Money.zero(amount.currency)) + amount
        )
    out.write("\n")
    return True


def _meta_key(key: str, used: set[str]) -> str:
    """Return a beancount metadata key for `key`, unique among the keys in `used`.

    Beancount keys start with a lower-case letter and continue with letters,
    digits, dashes or underscores, at least two characters in all; keys that
    do not fit get a `meta-` prefix, and a clash gets a numbered suffix.
    """
    cleaned = _META_KEY_UNSAFE.sub("-", key)
    if len(cleaned) < 2 or not ("a" <= cleaned[0] <= "z"):
        cleaned = "meta-" + cleaned
    unique = cleaned
    number = 2
    while unique in used:
        unique = f"{cleaned}-{number}"
        number += 1
    used.add(unique)
    return unique


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
