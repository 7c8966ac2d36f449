"""The CSV general journal: one row per posting, debit and credit apart, with its dimensions.

Only posted amounts are exported; pending holds are not accounting facts yet.
Patients appear as their opaque ids, never by name. Text cells are neutralised for spreadsheets.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final, TextIO

from ona_ledger.entries import DIMENSIONS, JournalEntry, Posting, PostingStatus
from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

CSV_COLUMNS: Final = (
    "entry",
    "date",
    "kind",
    "type",
    "narration",
    "account",
    "debit",
    "credit",
    "currency",
    *DIMENSIONS,
)


# First characters that make Excel, LibreOffice Calc or Google Sheets read a cell as a
# formula: OWASP's "CSV Injection" page lists = + - @ tab and CR, and OWASP ASVS 5.0
# requirement 1.2.10 adds NUL. LF is added for the same reason as CR.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


def spreadsheet_text(value: object) -> str:
    """Return a text cell that a spreadsheet shows as text, never runs as a formula.

    A value that starts with a formula trigger gets a single quote before it, as
    OWASP advises: '=SUM(1,2)' is written as "'=SUM(1,2)". Use it for text cells
    only, because an amount such as '-12.50' must stay a number.
    """
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One posted posting of an entry, with its debit or credit as a positive amount."""

    entry: JournalEntry
    posting: Posting

    @property
    def debit(self) -> Money | None:
        return self.posting.amount if self.posting.amount.cents > 0 else None

    @property
    def credit(self) -> Money | None:
        return -self.posting.amount if self.posting.amount.cents < 0 else None


def posted_entries(
    ledger: Ledger, start: date | None = None, end: date | None = None
) -> list[JournalEntry]:
    """Return the entries with posted amounts from `start` through `end`, by date then number."""
    check_period(start, end)
    entries = [
        entry
        for entry in ledger.entries(start=start, end=end)
        if any(p.status is PostingStatus.POSTED for p in entry.postings)
    ]
    return sorted(entries, key=lambda entry: (entry.effective_date, entry.seq))


def check_period(start: date | None, end: date | None) -> None:
    """Raise InvalidInputError when an export period starts after it ends."""
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"export period starts {start} after it ends {end}; swap the dates"
        )


def journal_lines(entries: list[JournalEntry]) -> Iterator[JournalLine]:
    """Yield the posted, non-zero postings of `entries` in order."""
    for entry in entries:
        for posting in entry.postings:
            if posting.status is PostingStatus.POSTED and posting.amount.cents:
                yield JournalLine(entry, posting)


def amount_text(amount: Money | None) -> str:
    """Format an amount with two decimals and no thousands separator, or '' for None."""
    return "" if amount is None else str(amount.to_decimal())


def export_csv_journal(
    ledger: Ledger,
    out: TextIO,
    *,
    start: date | None = None,
    end: date | None = None,
) -> int:
    """Write the general journal as CSV (RFC 4180, ISO dates) and return the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for line in journal_lines(posted_entries(ledger, start, end)):
        entry, posting = line.entry, line.posting
        writer.writerow(
            [
                entry.seq,
                entry.effective_date.isoformat(),
                spreadsheet_text(entry.kind.value),
                spreadsheet_text(entry.meta.get("type", "")),
                spreadsheet_text(entry.narration),
                spreadsheet_text(posting.account),
                amount_text(line.debit),
                amount_text(line.credit),
                spreadsheet_text(posting.amount.currency),
                *(
                    spreadsheet_text(getattr(posting, name) or "")
                    for name in DIMENSIONS
                ),
            ]
        )
        rows += 1
    return rows
