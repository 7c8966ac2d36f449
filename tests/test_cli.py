"""The ona-ledger command run as a user runs it: exit status, output and stderr."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.billing.helpers import FEE_CSV, visit_data

BOOK = "clinic"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ona_ledger.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def write_visits(folder: Path, visits: Any, name: str = "visits.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(visits), encoding="utf-8")
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A folder with an initialised ona-ledger.db, a fee schedule and two visits."""
    assert run(tmp_path, "init", "--book", BOOK).returncode == 0
    (tmp_path / "fees.csv").write_text(FEE_CSV, encoding="utf-8")
    visits = [
        visit_data(BOOK, "V-1", lines=[{"code": "99213"}, {"code": "36415"}]),
        visit_data(BOOK, "V-2", patient_id="P-2", date_of_service="2026-03-05"),
    ]
    write_visits(tmp_path, visits)
    return tmp_path


def post(folder: Path, name: str = "visits.json") -> subprocess.CompletedProcess[str]:
    return run(folder, "post-visits", name, "--fees", "fees.csv", "--book", BOOK)


def entry_count(folder: Path) -> int:
    with sqlite3.connect(folder / "ona-ledger.db") as connection:
        return int(connection.execute("select count(*) from entries").fetchone()[0])


def test_init_creates_chart(tmp_path: Path) -> None:
    result = run(tmp_path, "init", "--book", BOOK, "--json")
    assert result.returncode == 0
    accounts = json.loads(result.stdout)["accounts"]
    assert "Income:Services" in accounts
    assert (tmp_path / "ona-ledger.db").exists()


def test_post_visits(book: Path) -> None:
    result = post(book)
    assert result.returncode == 0
    assert "V-1: 120.00 on INV-V-1, entry clinic/1" in result.stdout
    assert "V-2: 100.00 on INV-V-2, entry clinic/2" in result.stdout


def test_post_visits_again(book: Path) -> None:
    post(book)
    result = post(book)
    assert result.returncode == 0
    assert "V-1: 120.00 on INV-V-1, already posted" in result.stdout
    assert entry_count(book) == 2


def test_trial_balance_json(book: Path) -> None:
    post(book)
    result = run(book, "report", "trial-balance", "--json", "--book", BOOK)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    # Charges: 100.00 + 20.00 for V-1 and 100.00 for V-2 = 220.00 each side.
    assert document["total_debit"] == "220.00"
    assert document["total_credit"] == "220.00"


def test_trial_balance_as_of(book: Path) -> None:
    post(book)
    result = run(
        book,
        "report",
        "trial-balance",
        "--json",
        "--as-of",
        "2026-03-03",
        "--book",
        BOOK,
    )
    # Only V-1 (2026-03-02) is on or before 2026-03-03: 120.00.
    assert json.loads(result.stdout)["total_debit"] == "120.00"


def test_trial_balance_text(book: Path) -> None:
    post(book)
    result = run(book, "report", "trial-balance", "--book", BOOK)
    assert "Assets:Receivable:Patients" in result.stdout
    assert "Total" in result.stdout


def test_providers_report(book: Path) -> None:
    post(book)
    result = run(book, "report", "providers", "--json", "--book", BOOK)
    assert result.returncode == 0
    assert json.loads(result.stdout) == [
        {
            "provider": "DR-A",
            "charges": "220.00",
            "collections": "0.00",
            "adjustments": "0.00",
        }
    ]


def test_providers_report_as_of(book: Path) -> None:
    post(book)
    result = run(
        book, "report", "providers", "--json", "--as-of", "2026-03-02", "--book", BOOK
    )
    assert json.loads(result.stdout)[0]["charges"] == "120.00"


def test_export_beancount(book: Path) -> None:
    post(book)
    result = run(book, "export", "beancount", "--out", "book.beancount", "--book", BOOK)
    assert result.returncode == 0
    check = subprocess.run(
        [str(Path(sys.executable).parent / "bean-check"), "book.beancount"],
        cwd=book,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0
    assert check.stderr == ""


def test_verify_ok(book: Path) -> None:
    post(book)
    result = run(book, "verify", "--book", BOOK)
    assert result.returncode == 0
    assert "hash chain verified: 2 entries" in result.stdout


def test_verify_after_tampering(book: Path) -> None:
    post(book)
    with sqlite3.connect(book / "ona-ledger.db") as connection:
        connection.execute("update entries set narration = 'edited' where seq = 1")
    result = run(book, "verify", "--book", BOOK)
    assert result.returncode == 1
    assert "hash chain broken at entry clinic/1" in result.stdout


def test_bad_json(book: Path) -> None:
    (book / "bad.json").write_text("{not json", encoding="utf-8")
    result = post(book, "bad.json")
    assert result.returncode == 2
    assert "Expecting property name" in result.stderr
    assert entry_count(book) == 0


def test_unknown_book(book: Path) -> None:
    result = run(book, "verify", "--book", "nope")
    assert result.returncode == 2
    assert "book nope does not exist" in result.stderr


def test_missing_database(tmp_path: Path) -> None:
    result = run(tmp_path, "verify")
    assert result.returncode == 2
    assert "database file ona-ledger.db does not exist" in result.stderr
    assert not (tmp_path / "ona-ledger.db").exists()


def test_invalid_visit(book: Path) -> None:
    bad = visit_data(BOOK, provider={"provider_id": "DR-A", "npi": "1234567890"})
    write_visits(book, [bad], "bad.json")
    result = post(book, "bad.json")
    assert result.returncode == 2
    assert "NPI '1234567890' is invalid" in result.stderr
    assert entry_count(book) == 0


def test_unpriced_code_posts_nothing(book: Path) -> None:
    visits = [
        visit_data(BOOK, "V-1"),
        visit_data(BOOK, "V-2", lines=[{"code": "99999"}]),
    ]
    write_visits(book, visits, "bad.json")
    result = post(book, "bad.json")
    assert result.returncode == 2
    assert "code 99999 has no price" in result.stderr
    assert entry_count(book) == 0


def test_visit_of_other_book(book: Path) -> None:
    write_visits(book, [visit_data("other", "V-1")], "bad.json")
    result = post(book, "bad.json")
    assert result.returncode == 2
    assert "visit V-1 belongs to book other, not clinic" in result.stderr


def test_bad_date_usage(book: Path) -> None:
    result = run(book, "report", "trial-balance", "--as-of", "March", "--book", BOOK)
    assert result.returncode == 2
    assert "date 'March' is invalid; use YYYY-MM-DD" in result.stderr


def test_installed_script(book: Path) -> None:
    script = Path(sys.executable).parent / "ona-ledger"
    result = subprocess.run(
        [str(script), "verify", "--book", BOOK],
        cwd=book,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
