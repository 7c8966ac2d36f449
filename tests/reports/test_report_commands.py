"""`ona-ledger report NAME` and `ona-ledger export FORMAT` on a hand-worked book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ona_ledger import open_ledger
from ona_ledger.cli import main
from tests.conftest import FakeClock
from tests.reports.helpers import fill_clinic


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    fill_clinic(open_ledger(url, "clinic", clock=FakeClock()))
    return url


def run(db_url: str, *args: str) -> int:
    return main([*args, "--db", db_url, "--book", "clinic"])


def test_revenue_json(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db_url, "report", "revenue", "--json", "--start", "2026-03-01") == 0
    document = json.loads(capsys.readouterr().out)
    # March collections: 60.00 + 90.00 + 20.00 = 170.00.
    assert document["totals"]["collections"] == "170.00"


def test_aging_table(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db_url, "report", "aging", "--as-of", "2026-03-31") == 0
    assert "ACME" in capsys.readouterr().out


def test_aging_png(db_url: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "aging.png"
    assert (
        run(db_url, "report", "aging", "--as-of", "2026-03-31", "--png", str(png)) == 0
    )
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_splits_needs_split(db_url: str) -> None:
    # A report without its required option is bad input: exit status 2.
    assert run(db_url, "report", "splits") == 2


def test_kpis_and_close(db_url: str) -> None:
    assert (
        run(db_url, "report", "kpis", "--start", "2026-01-01", "--end", "2026-03-31")
        == 0
    )
    assert run(db_url, "report", "daily-close", "--as-of", "2026-03-31") == 0


def test_balance_sheet_ok(db_url: str) -> None:
    assert run(db_url, "report", "balance-sheet") == 0


def test_export_formats(db_url: str, tmp_path: Path) -> None:
    codes = tmp_path / "codes.csv"
    codes.write_text(
        "account,code\n"
        + "".join(
            f"{name},{100 + n}\n"
            for n, name in enumerate(
                [
                    "Assets:Receivable:Patients",
                    "Assets:Receivable:Insurance",
                    "Income:Services",
                    "Assets:Clearing:Undeposited",
                    "Assets:Clearing:Insurance",
                    "Income:Adjustments:Contractual",
                    "Income:Adjustments:Courtesy",
                    "Assets:Clearing:Processor",
                    "Expenses:ProcessorFees",
                    "Assets:Bank:Operating",
                ]
            )
        ),
        encoding="utf-8",
    )
    for fmt, extra in (
        ("csv", []),
        ("quickbooks", []),
        ("xero", ["--account-map", str(codes)]),
    ):
        out = tmp_path / f"{fmt}.csv"
        assert run(db_url, "export", fmt, "--out", str(out), *extra) == 0
        assert out.exists(), fmt


def test_xero_without_codes(db_url: str, tmp_path: Path) -> None:
    assert run(db_url, "export", "xero", "--out", str(tmp_path / "x.csv")) == 2
