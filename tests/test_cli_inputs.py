"""Bad files, dates and database URLs on the command line: exit 2 with a reason, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ona_ledger.cli import EXIT_USAGE, main
from tests.billing.helpers import FEE_CSV, visit_data

BOOK = "clinic"
NOT_UTF8 = b"\xff\xfe[1]"
DEEP_JSON = "[" * 100_000 + "]" * 100_000
HUGE_OFX = """<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD<BANKACCTFROM>
<BANKID>1<ACCTID>2</BANKACCTFROM><BANKTRANLIST>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261103<TRNAMT>99999999999999999999.99<FITID>A</STMTTRN>
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261103<TRNAMT>10.00<FITID>B</STMTTRN>
</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The --db and --book options of a fresh SQLite book."""
    options = ["--db", f"sqlite:///{tmp_path / 'ledger.db'}", "--book", BOOK]
    assert main(["init", *options]) == 0
    capsys.readouterr()
    return options


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write_visit(folder: Path, **changes: object) -> Path:
    path = folder / "visits.json"
    path.write_text(json.dumps([visit_data(BOOK, "V-1", **changes)]), "utf-8")
    return path


# Input files -------------------------------------------------------------------------


def test_visits_not_utf8(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "visits.json").write_bytes(NOT_UTF8)
    (tmp_path / "fees.csv").write_text(FEE_CSV, "utf-8")
    status, _, err = run(
        capsys,
        "post-visits",
        str(tmp_path / "visits.json"),
        "--fees",
        str(tmp_path / "fees.csv"),
        *db,
    )
    assert status == EXIT_USAGE
    assert "visits.json is not UTF-8 text" in err


def test_visits_nested_too_deeply(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "visits.json").write_text(DEEP_JSON, "utf-8")
    (tmp_path / "fees.csv").write_text(FEE_CSV, "utf-8")
    status, _, err = run(
        capsys,
        "post-visits",
        str(tmp_path / "visits.json"),
        "--fees",
        str(tmp_path / "fees.csv"),
        *db,
    )
    assert status == EXIT_USAGE
    assert "too deeply" in err


@pytest.mark.parametrize("content", [NOT_UTF8, DEEP_JSON.encode()])
def test_clinic_file_unreadable(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    (tmp_path / "clinic.json").write_bytes(content)
    status, _, err = run(
        capsys, "claims", "scrub", "--clinic", str(tmp_path / "clinic.json"), *db
    )
    assert status == EXIT_USAGE
    assert "clinic file" in err


@pytest.mark.parametrize(
    ("price", "words"),
    [("1e400000000", "not a plain decimal"), ("1" * 40, "more than 20 digits")],
)
def test_fee_price_out_of_range(
    db: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    price: str,
    words: str,
) -> None:
    fees = "schedule,code,modifier,price,effective_from\n"
    fees += f"self-pay,99213,,{price},2026-01-01\n"
    (tmp_path / "fees.csv").write_text(fees, "utf-8")
    visits = write_visit(tmp_path)
    status, _, err = run(
        capsys, "post-visits", str(visits), "--fees", str(tmp_path / "fees.csv"), *db
    )
    assert status == EXIT_USAGE
    assert "fee schedule" in err
    assert words in err


def test_fees_not_utf8(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fees.csv").write_bytes(b"schedule,code\n\xff\n")
    visits = write_visit(tmp_path)
    status, _, err = run(
        capsys, "post-visits", str(visits), "--fees", str(tmp_path / "fees.csv"), *db
    )
    assert status == EXIT_USAGE
    assert "fee schedule" in err


def test_statement_csv_not_utf8(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bank.csv").write_bytes(b"Details,Posting Date\n\xff\xff\n")
    status, _, err = run(capsys, "import-statement", str(tmp_path / "bank.csv"), *db)
    assert status == EXIT_USAGE
    assert "bank.csv: not utf-8-sig text" in err


def test_account_map_not_utf8(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "map.csv").write_bytes(b"account,name\n\xff\n")
    out = tmp_path / "qb.csv"
    status, _, err = run(
        capsys,
        "export",
        "quickbooks",
        "--out",
        str(out),
        "--account-map",
        str(tmp_path / "map.csv"),
        *db,
    )
    assert status == EXIT_USAGE
    assert "account map" in err
    assert not out.exists()


def test_huge_ofx_amount_rejected_per_line(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bank.ofx").write_text(HUGE_OFX, "utf-8")
    status, out, _ = run(
        capsys, "import-statement", str(tmp_path / "bank.ofx"), *db, "--json"
    )
    document = json.loads(out)
    assert status == 0
    assert document["added"] == 1
    assert "larger than the ledger can store" in document["rejected"][0]["reason"]


def test_validation_error_hides_input(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fees.csv").write_text(FEE_CSV, "utf-8")
    visits = write_visit(
        tmp_path, patient_name="John Smith", date_of_service="1980-02-31"
    )
    status, _, err = run(
        capsys, "post-visits", str(visits), "--fees", str(tmp_path / "fees.csv"), *db
    )
    assert status == EXIT_USAGE
    assert "patient_name" in err
    assert "date_of_service" in err
    assert "John Smith" not in err
    assert "1980-02-31" not in err
    assert "input_value" not in err


# Dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("report", "aging", "--as-of", "0001-01-01"),
        ("report", "aging", "--end", "0001-01-01"),
        ("report", "kpis", "--end", "0001-02-01"),
    ],
)
def test_report_date_out_of_range(
    db: list[str], capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    status, _, err = run(capsys, *args, *db)
    assert status == EXIT_USAGE
    assert "is out of range" in err


def test_report_earliest_date_accepted(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run(capsys, "report", "aging", "--as-of", "0001-05-01", *db)
    assert status == 0


@pytest.mark.parametrize(
    ("option", "day", "words"),
    [
        ("--start", "0001-01-01", "no day before it"),
        ("--end", "9999-12-31", "no day after it"),
    ],
)
def test_beancount_period_out_of_range(
    db: list[str],
    capsys: pytest.CaptureFixture[str],
    option: str,
    day: str,
    words: str,
) -> None:
    status, out, err = run(capsys, "export", "beancount", option, day, *db)
    assert status == EXIT_USAGE
    assert words in err
    assert out == ""


def test_beancount_bad_period_writes_no_file(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "book.beancount"
    args = ["export", "beancount", "--out", str(out), "--start", "0001-01-01"]
    status, _, _ = run(capsys, *args, *db)
    assert status == EXIT_USAGE
    assert not out.exists()


def test_csv_backwards_period_writes_no_file(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "journal.csv"
    args = ["export", "csv", "--out", str(out)]
    args += ["--start", "2026-03-02", "--end", "2026-03-01"]
    status, _, err = run(capsys, *args, *db)
    assert status == EXIT_USAGE
    assert "swap the dates" in err
    assert not out.exists()


def test_csv_export_accepts_calendar_ends(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "journal.csv"
    args = ["export", "csv", "--out", str(out)]
    args += ["--start", "0001-01-01", "--end", "9999-12-31"]
    status, _, _ = run(capsys, *args, *db)
    assert status == 0


# Databases -----------------------------------------------------------------------------


def test_db_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database " * 10, "utf-8")
    status, _, err = run(capsys, "verify", "--db", f"sqlite:///{path}")
    assert status == EXIT_USAGE
    assert "file is not a database" in err


def test_init_on_non_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database " * 10, "utf-8")
    status, _, err = run(capsys, "init", "--db", f"sqlite:///{path}")
    assert status == EXIT_USAGE
    assert "file is not a database" in err


@pytest.mark.parametrize("command", ["init", "verify"])
def test_mysql_url_unsupported(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, command, "--db", "mysql://user@127.0.0.1/ledger")
    assert status == EXIT_USAGE
    assert "'mysql' is not supported" in err


def test_refused_port_is_connection_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Port 1 on this machine has no server, so the connection is refused.
    url = "postgresql://postgres@127.0.0.1:1/ledger"
    status, _, err = run(capsys, "verify", "--db", url)
    assert status == EXIT_USAGE
    assert "cannot connect to database" in err
    assert "no ona-ledger tables" not in err


def test_empty_database_has_no_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    status, _, err = run(capsys, "verify", "--db", f"sqlite:///{path}")
    assert status == EXIT_USAGE
    assert "has no ona-ledger tables" in err


# Chart files ---------------------------------------------------------------------------


def test_png_needs_existing_folder(
    db: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "missing" / "aging.png"
    status, _, err = run(
        capsys, "report", "aging", "--as-of", "2026-03-31", "--png", str(png), *db
    )
    assert status == EXIT_USAGE
    assert "does not exist" in err
    assert not png.parent.exists()
