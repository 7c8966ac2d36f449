"""Xero manual journal import CSV: signed amounts, account codes and two tracking categories.

Column rules (Xero's help article "Enter multiple manual journals using an
import template"): Narration and Date are required, and rows with the same
Narration and Date form one journal; Date as dd/mm/yyyy; Description is
optional; AccountCode is the code, not the name; TaxRate is the full tax rate
name; Amount is a debit when positive and a credit when negative;
TrackingName1/TrackingOption1 and TrackingName2/TrackingOption2 are optional.
One file holds at most 300 lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Final

from ona_ledger.entries import JournalEntry, PostingStatus
from ona_ledger.errors import ExportMappingError
from ona_ledger.export.csv_journal import posted_entries, spreadsheet_text
from ona_ledger.ledger import Ledger

XERO_COLUMNS: Final = (
    "Narration",
    "Date",
    "Description",
    "AccountCode",
    "TaxRate",
    "Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
MAX_LINES_PER_FILE: Final = 300
# NOTE: the tax rate name must match one in the Xero organisation's tax
# settings; "Tax Exempt" is assumed for medical services and may differ.
DEFAULT_TAX_RATE: Final = "Tax Exempt"


def xero_files(
    ledger: Ledger,
    account_codes: Mapping[str, str],
    *,
    start: date | None = None,
    end: date | None = None,
    tax_rate: str = DEFAULT_TAX_RATE,
) -> list[str]:
    """Render posted entries as Xero import files of at most 300 lines each.

    A journal is never split across files. Each narration starts with the
    entry number, so two entries on one day never merge into one journal.
    Tracking category 1 is the provider and 2 the location.
    """
    entries = posted_entries(ledger, start, end)
    _check_codes(entries, account_codes)
    files: list[list[list[str]]] = [[]]
    for entry in entries:
        rows = _rows(entry, account_codes, tax_rate)
        if len(rows) > MAX_LINES_PER_FILE:
            raise ExportMappingError(
                f"entry {entry.seq} has {len(rows)} lines, more than Xero's "
                f"{MAX_LINES_PER_FILE} per import file; post it in parts"
            )
        if len(files[-1]) + len(rows) > MAX_LINES_PER_FILE:
            files.append([])
        files[-1].extend(rows)
    return [_render(rows) for rows in files if rows] or [_render([])]


def write_xero(
    ledger: Ledger,
    out: Path,
    account_codes: Mapping[str, str],
    **options: object,
) -> list[Path]:
    """Write the Xero files: `out` itself, or OUT-1.csv, OUT-2.csv... when more are needed."""
    texts = xero_files(ledger, account_codes, **options)  # type: ignore[arg-type]
    if len(texts) == 1:
        paths = [out]
    else:
        paths = [
            out.with_name(f"{out.stem}-{number}{out.suffix}")
            for number in range(1, len(texts) + 1)
        ]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8", newline="")
    return paths


def _check_codes(entries: Iterable[JournalEntry], codes: Mapping[str, str]) -> None:
    missing = sorted(
        {
            posting.account
            for entry in entries
            for posting in entry.postings
            if posting.account not in codes
        }
    )
    if missing:
        raise ExportMappingError(
            f"no Xero account code for {', '.join(missing)}; add a row per "
            "account to the account map (columns account,code)"
        )


def _rows(
    entry: JournalEntry, codes: Mapping[str, str], tax_rate: str
) -> list[list[str]]:
    narration = f"#{entry.seq} {entry.narration}"
    rows = []
    for posting in entry.postings:
        if posting.status is not PostingStatus.POSTED or not posting.amount.cents:
            continue
        rows.append(
            [
                spreadsheet_text(narration),
                entry.effective_date.strftime("%d/%m/%Y"),
                spreadsheet_text(posting.account),
                spreadsheet_text(codes[posting.account]),
                spreadsheet_text(tax_rate),
                str(posting.amount.to_decimal()),
                "Provider" if posting.provider else "",
                spreadsheet_text(posting.provider or ""),
                "Location" if posting.location else "",
                spreadsheet_text(posting.location or ""),
            ]
        )
    return rows


def _render(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(XERO_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()
