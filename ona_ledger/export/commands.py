"""The exports behind `ona-ledger export csv|quickbooks|xero`."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from ona_ledger.errors import ExportMappingError
from ona_ledger.ledger import Ledger


def read_account_map(path: Path | None, value_column: str) -> dict[str, str]:
    """Read an account map CSV with the columns `account` and `value_column`."""
    if path is None:
        return {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            names = set(reader.fieldnames or ())
            if not {"account", value_column} <= names:
                raise ExportMappingError(
                    f"account map {path} has columns {sorted(names)}; it needs a "
                    f"header row with account and {value_column}"
                )
            return {row["account"]: row[value_column] for row in reader}
    except UnicodeDecodeError as error:
        raise ExportMappingError(
            f"account map {path} is not UTF-8 text ({error.reason} at byte "
            f"{error.start}); save it as UTF-8"
        ) from None


def run_export(
    ledger: Ledger,
    fmt: str,
    out: Path,
    *,
    start: date | None,
    end: date | None,
    account_map: Path | None = None,
    tax_rate: str | None = None,
    date_format: str = "us",
) -> list[Path]:
    """Write the ledger in format `fmt` (csv, quickbooks, xero) and return the files written."""
    if fmt == "csv":
        from ona_ledger.export.csv_journal import export_csv_journal

        with out.open("w", encoding="utf-8", newline="") as handle:
            export_csv_journal(ledger, handle, start=start, end=end)
        return [out]
    if fmt == "quickbooks":
        from ona_ledger.export.quickbooks import export_quickbooks

        names = read_account_map(account_map, "name")
        with out.open("w", encoding="utf-8", newline="") as handle:
            export_quickbooks(
                ledger,
                handle,
                start=start,
                end=end,
                account_map=names,
                date_format=date_format,
            )
        return [out]
    if fmt == "xero":
        from ona_ledger.export.xero import DEFAULT_TAX_RATE, write_xero

        if account_map is None:
            raise ExportMappingError(
                "Xero imports need account codes; pass --account-map FILE with the "
                "columns account,code"
            )
        codes = read_account_map(account_map, "code")
        return write_xero(
            ledger,
            out,
            codes,
            start=start,
            end=end,
            tax_rate=tax_rate or DEFAULT_TAX_RATE,
        )
    raise ExportMappingError(
        f"export format {fmt!r} is not valid; use beancount, csv, quickbooks or xero"
    )
