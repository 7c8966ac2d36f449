"""The import-statement and reconcile commands: output, JSON and exit status."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from ona_ledger import Money
from ona_ledger.billing.deposits import record_payout
from ona_ledger.cli import main
from ona_ledger.store import open_ledger
from tests.reconcile.test_wiring import EXAMPLE_STATEMENT, write_ofx

DATA = Path(__file__).parent / "data"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ledger = open_ledger(url, "main")
    record_payout(
        ledger, "po_cli", Money.of("40.00"), date(2026, 3, 6), actor="processor"
    )
    return url


def test_import_statement_twice(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import-statement", str(EXAMPLE_STATEMENT), "--db", db_url, "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["added"] == 5
    assert second["added"] == 0
    assert second["already_stored"] == 5


def test_import_csv_layout(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["import-statement", str(DATA / "chase_checking.csv"), "--db", db_url]
    assert main([*args, "--csv-layout", "chase_checking"]) == 0
    assert "lines added to Assets:Bank:Operating" in capsys.readouterr().out


def test_import_unknown_layout(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["import-statement", str(DATA / "chase_checking.csv"), "--db", db_url]
    assert main([*args, "--csv-layout", "nope"]) == 2
    assert "CSV layout 'nope' is unknown" in capsys.readouterr().err


def test_reconcile_exit_status(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        ("P1", "20260309", "40.00", "PAYOUT", "po_cli"),
        ("F1", "20260331", "-2.00", "SERVICE FEE", ""),
    ]
    path = write_ofx(tmp_path / "s.ofx", lines, "38.00")
    assert main(["import-statement", str(path), "--db", db_url]) == 0
    assert main(["reconcile", "--db", db_url]) == 1
    assert "Differences to confirm (1)" in capsys.readouterr().out
    assert main(["reconcile", "--db", db_url, "--confirm", "F1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["clean"] is True
    assert document["balance"]["difference"] == "0.00"


def test_reconcile_without_statement(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reconcile", "--db", db_url]) == 2
    assert "import-statement" in capsys.readouterr().err


def test_card_number_never_stored_or_printed(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "JOHN SMITH CARD 4242424242424242"
    path = write_ofx(
        tmp_path / "card.ofx",
        [("C1", "20260306", "-5.00", name, "REFUND 5555-5555-5555-4444")],
        "35.00",
    )
    assert main(["import-statement", str(path), "--db", db_url]) == 0
    main(["reconcile", "--db", db_url, "--json"])
    printed = capsys.readouterr().out
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        stored = connection.execute(
            "select payee, memo from statement_lines"
        ).fetchall()
    assert "************4242" in printed
    assert "4242424242424242" not in printed
    assert "5555-5555-5555-4444" not in printed
    assert ("JOHN SMITH CARD ************4242", "REFUND ****-****-****-4444") in stored
