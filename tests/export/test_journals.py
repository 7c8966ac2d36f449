"""CSV journal, QuickBooks Online and Xero exports checked against each format's column rules."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ona_ledger import Entry, Ledger, Posting
from ona_ledger.errors import ExportMappingError
from ona_ledger.export.csv_journal import (
    CSV_COLUMNS,
    export_csv_journal,
    spreadsheet_text,
)
from ona_ledger.export.quickbooks import QUICKBOOKS_COLUMNS, export_quickbooks
from ona_ledger.export.xero import (
    MAX_LINES_PER_FILE,
    XERO_COLUMNS,
    write_xero,
    xero_files,
)
from tests.reports.helpers import fill_clinic, usd


@pytest.fixture
def clinic(memory_ledger: Ledger) -> Ledger:
    fill_clinic(memory_ledger)
    return memory_ledger


def codes_for(ledger: Ledger) -> dict[str, str]:
    return {account.name: str(100 + n) for n, account in enumerate(ledger.accounts())}


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_journal_rows(clinic: Ledger) -> None:
    out = io.StringIO()
    # Non-zero postings: E1-E4 2 each, E5 4, E6 2, E7 3, E8 2 = 19.
    assert export_csv_journal(clinic, out) == 19
    rows = read_rows(out.getvalue())
    assert tuple(rows[0]) == CSV_COLUMNS
    debits = sum(Decimal(r["debit"] or "0") for r in rows)
    credits = sum(Decimal(r["credit"] or "0") for r in rows)
    assert debits == credits


def test_csv_journal_period(clinic: Ledger) -> None:
    out = io.StringIO()
    # March only: E3-E8 = 2 + 2 + 4 + 2 + 3 + 2 = 15 rows.
    assert export_csv_journal(clinic, out, start=date(2026, 3, 1)) == 15


def test_csv_journal_dimensions(clinic: Ledger) -> None:
    out = io.StringIO()
    export_csv_journal(clinic, out, end=date(2026, 1, 31))
    first = read_rows(out.getvalue())[0]
    assert (first["patient"], first["provider"], first["debit"]) == (
        "P-1",
        "DR-A",
        "100.00",
    )


def test_quickbooks_journals_balance(clinic: Ledger) -> None:
    out = io.StringIO()
    export_quickbooks(clinic, out)
    rows = read_rows(out.getvalue())
    assert tuple(rows[0]) == QUICKBOOKS_COLUMNS
    # Rule: the debits and credits of each Journal No must balance.
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["Journal No"]] += Decimal(row["Debits"] or "0")
        sums[row["Journal No"]] -= Decimal(row["Credits"] or "0")
    assert set(sums.values()) == {Decimal(0)}


def test_quickbooks_one_side_per_line(clinic: Ledger) -> None:
    out = io.StringIO()
    export_quickbooks(clinic, out)
    # Rule: a line has either Debits or Credits, the other left blank.
    for row in read_rows(out.getvalue()):
        assert bool(row["Debits"]) != bool(row["Credits"]), row


def test_quickbooks_dates_and_names(clinic: Ledger) -> None:
    out = io.StringIO()
    export_quickbooks(clinic, out, account_map={"Income:Services": "Patient Services"})
    rows = read_rows(out.getvalue())
    first, second = rows[0], rows[1]
    # Rule: MM/DD/YYYY dates; sub-accounts as Parent:Sub; Name on A/R lines.
    assert first["Journal Date"] == "01/10/2026"
    assert first["Account Name"] == "Receivable:Patients"
    assert first["Name"] == "P-1"
    assert second["Account Name"] == "Patient Services"


def test_quickbooks_rejects_bad_date_format(clinic: Ledger) -> None:
    with pytest.raises(ExportMappingError, match="date format"):
        export_quickbooks(clinic, io.StringIO(), date_format="iso")


def test_xero_columns_and_signs(clinic: Ledger) -> None:
    (text,) = xero_files(clinic, codes_for(clinic))
    rows = read_rows(text)
    assert tuple(rows[0]) == XERO_COLUMNS
    # Rule: rows with the same Narration and Date form one journal, and a
    # positive Amount is a debit, a negative one a credit, so each sums to zero.
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[(row["Narration"], row["Date"])] += Decimal(row["Amount"])
    assert set(sums.values()) == {Decimal(0)}
    # Eight entries, eight journals.
    assert len(sums) == 8


def test_xero_required_fields(clinic: Ledger) -> None:
    (text,) = xero_files(clinic, codes_for(clinic))
    for row in read_rows(text):
        assert all(
            row[name]
            for name in ("Narration", "Date", "AccountCode", "TaxRate", "Amount")
        ), row


def test_xero_date_and_tracking(clinic: Ledger) -> None:
    (text,) = xero_files(clinic, codes_for(clinic))
    first = read_rows(text)[0]
    # Rule: dd/mm/yyyy. Tracking 1 is the provider, tracking 2 the location.
    assert first["Date"] == "10/01/2026"
    assert (first["TrackingName1"], first["TrackingOption1"]) == ("Provider", "DR-A")
    assert (first["TrackingName2"], first["TrackingOption2"]) == ("Location", "LOC1")


def test_xero_needs_account_codes(clinic: Ledger) -> None:
    with pytest.raises(ExportMappingError, match="no Xero account code for"):
        xero_files(clinic, {})


def test_xero_splits_at_300_lines(memory_ledger: Ledger, tmp_path: Path) -> None:
    # 160 two-line entries are 320 lines: 150 entries (300 lines) in the first
    # file, 10 in the second; no journal is split.
    for number in range(160):
        memory_ledger.post(
            Entry(
                date(2026, 3, 2),
                f"Visit {number}",
                (
                    Posting("Assets:Receivable:Patients", usd("1.00"), patient="P-1"),
                    Posting("Income:Services", usd("-1.00"), patient="P-1"),
                ),
                actor="test",
            )
        )
    paths = write_xero(memory_ledger, tmp_path / "xero.csv", codes_for(memory_ledger))
    counts = [len(read_rows(p.read_text(encoding="utf-8"))) for p in paths]
    assert counts == [MAX_LINES_PER_FILE, 20]
    assert [p.name for p in paths] == ["xero-1.csv", "xero-2.csv"]


# Formula injection -----------------------------------------------------------------

HOSTILE_NARRATION = '=HYPERLINK("http://127.0.0.1/x","click")'


@pytest.fixture
def hostile(memory_ledger: Ledger) -> Ledger:
    """A book whose text cells start with formula triggers, and a negative amount."""
    memory_ledger.post(
        Entry(
            date(2026, 3, 2),
            HOSTILE_NARRATION,
            (
                Posting(
                    "Assets:Receivable:Patients",
                    usd("-12.50"),
                    patient="+SUM(1,2)",
                    provider="@cmd",
                    location="-2+3",
                ),
                Posting("Income:Services", usd("12.50"), provider="=DR"),
            ),
            actor="test",
            meta={"type": "=1+1"},
        )
    )
    return memory_ledger


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Visit V1", "Visit V1"),
        ("", ""),
    ],
)
def test_spreadsheet_text(value: str, expected: str) -> None:
    assert spreadsheet_text(value) == expected


def test_csv_journal_neutralises_text(hostile: Ledger) -> None:
    out = io.StringIO()
    export_csv_journal(hostile, out)
    first, second = read_rows(out.getvalue())
    assert first["narration"] == "'" + HOSTILE_NARRATION
    assert first["type"] == "'=1+1"
    assert first["patient"] == "'+SUM(1,2)"
    assert first["provider"] == "'@cmd"
    assert first["location"] == "'-2+3"
    assert second["provider"] == "'=DR"


def test_csv_journal_amounts_stay_numbers(hostile: Ledger) -> None:
    out = io.StringIO()
    export_csv_journal(hostile, out)
    first, second = read_rows(out.getvalue())
    assert first["credit"] == "12.50"
    assert second["debit"] == "12.50"


def test_quickbooks_neutralises_text(hostile: Ledger) -> None:
    out = io.StringIO()
    export_quickbooks(hostile, out, account_map={"Income:Services": "@Services"})
    first, second = read_rows(out.getvalue())
    assert first["Description"] == "'" + HOSTILE_NARRATION
    assert first["Name"] == "'+SUM(1,2)"
    assert second["Account Name"] == "'@Services"
    assert first["Credits"] == "12.50"


def test_quickbooks_prefix_neutralised(hostile: Ledger) -> None:
    out = io.StringIO()
    export_quickbooks(hostile, out, prefix="=A")
    assert read_rows(out.getvalue())[0]["Journal No"] == "'=A1"


def test_xero_neutralises_text(hostile: Ledger) -> None:
    codes = {**codes_for(hostile), "Income:Services": "-400"}
    (text,) = xero_files(hostile, codes, tax_rate="+Exempt")
    first, second = read_rows(text)
    assert first["TrackingOption1"] == "'@cmd"
    assert first["TrackingOption2"] == "'-2+3"
    assert first["TaxRate"] == "'+Exempt"
    assert second["AccountCode"] == "'-400"
    assert second["TrackingOption1"] == "'=DR"


def test_xero_negative_amount_stays_number(hostile: Ledger) -> None:
    (text,) = xero_files(hostile, codes_for(hostile))
    assert read_rows(text)[0]["Amount"] == "-12.50"
