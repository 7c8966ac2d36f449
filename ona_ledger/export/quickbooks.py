"""QuickBooks Online journal entry import CSV: one row per journal line, grouped by Journal No.

Column rules (Intuit's "Import journal entries" help article for QuickBooks
Online): Journal No groups the lines of one entry, whose debits and credits must
balance; Journal Date; Account Name, with a sub-account written as
"Parent:Sub"; Debits or Credits, the other left blank; Description; and Name,
which QuickBooks requires on accounts receivable and payable lines.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date
from typing import Final, TextIO

from ona_ledger.errors import ExportMappingError
from ona_ledger.export.csv_journal import (
    amount_text,
    journal_lines,
    posted_entries,
    spreadsheet_text,
)
from ona_ledger.ledger import Ledger

QUICKBOOKS_COLUMNS: Final = (
    "Journal No",
    "Journal Date",
    "Account Name",
    "Debits",
    "Credits",
    "Description",
    "Name",
)
# QuickBooks Online caps a journal number at 21 characters.
JOURNAL_NO_MAX: Final = 21
DATE_FORMATS: Final = {"us": "%m/%d/%Y", "day-first": "%d/%m/%Y"}


def quickbooks_account_name(account: str, account_map: Mapping[str, str]) -> str:
    """Return the QuickBooks account for a ledger account.

    A mapped name wins. Otherwise the ledger's name without its root (Assets,
    Income, ...) is used, so "Assets:Receivable:Patients" becomes the
    sub-account "Receivable:Patients", which must exist in QuickBooks.
    """
    if account in account_map:
        return account_map[account]
    parts = account.split(":")
    return ":".join(parts[1:]) if len(parts) > 1 else account


def export_quickbooks(
    ledger: Ledger,
    out: TextIO,
    *,
    start: date | None = None,
    end: date | None = None,
    account_map: Mapping[str, str] | None = None,
    date_format: str = "us",
    prefix: str = "ONA-",
) -> int:
    """Write posted entries as a QuickBooks Online journal import file; return the line count.

    Each ledger entry is one journal, numbered `prefix` + its sequence number.
    The Name column carries the patient id on patient lines and the payer id
    on payer lines: opaque ids that must exist as customers in QuickBooks.
    """
    if date_format not in DATE_FORMATS:
        raise ExportMappingError(
            f"date format {date_format!r} is not valid; use us (MM/DD/YYYY) or "
            "day-first (DD/MM/YYYY), as the company's region sets"
        )
    mapping = dict(account_map or {})
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(QUICKBOOKS_COLUMNS)
    rows = 0
    for line in journal_lines(posted_entries(ledger, start, end)):
        entry, posting = line.entry, line.posting
        journal_no = f"{prefix}{entry.seq}"
        if len(journal_no) > JOURNAL_NO_MAX:
            raise ExportMappingError(
                f"journal number {journal_no!r} is longer than QuickBooks' "
                f"{JOURNAL_NO_MAX} characters; use a shorter prefix"
            )
        name = (
            posting.payer or posting.patient or ""
            if posting.account.startswith("Assets:Receivable:")
            else ""
        )
        writer.writerow(
            [
                spreadsheet_text(journal_no),
                entry.effective_date.strftime(DATE_FORMATS[date_format]),
                spreadsheet_text(quickbooks_account_name(posting.account, mapping)),
                amount_text(line.debit),
                amount_text(line.credit),
                spreadsheet_text(entry.narration),
                spreadsheet_text(name),
            ]
        )
        rows += 1
    return rows
