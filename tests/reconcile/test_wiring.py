"""Reconciliation wired to the ledger: import, expected items, matching, postings, report."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from ona_ledger import Entry, Ledger, Money, Posting
from ona_ledger.billing.deposits import record_deposit, record_payout
from ona_ledger.errors import CurrencyMismatchError, InvalidInputError
from ona_ledger.reconcile.ledger_items import expected_items
from ona_ledger.reconcile.matching import LedgerItemKind
from ona_ledger.reconcile.report import confirm_difference, reconcile
from ona_ledger.reconcile.statements import read_ofx
from ona_ledger.reconcile.store import import_statement, load_lines
from tests.conftest import SHARED_DATA

EXAMPLE_STATEMENT = (
    Path(__file__).resolve().parents[2] / "examples" / "clinic" / "bank-2026-03.ofx"
)
BANK = "Assets:Bank:Operating"
CLEARING_INSURANCE = "Assets:Clearing:Insurance"


def write_ofx(
    path: Path, transactions: list[tuple[str, str, str, str, str]], balance: str
) -> Path:
    """Write an OFX 1.02 statement: (FITID, YYYYMMDD, amount, NAME, MEMO) per line."""
    body = "".join(
        f"<STMTTRN>\n<TRNTYPE>{'FEE' if amount.startswith('-') else 'CREDIT'}\n"
        f"<DTPOSTED>{day}\n<TRNAMT>{amount}\n<FITID>{fitid}\n<NAME>{name}\n"
        + (f"<MEMO>{memo}\n" if memo else "")
        + "</STMTTRN>\n"
        for fitid, day, amount, name, memo in transactions
    )
    path.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX>\n<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>1\n<STATUS>\n<CODE>0\n"
        "<SEVERITY>INFO\n</STATUS>\n<STMTRS>\n<CURDEF>USD\n<BANKACCTFROM>\n"
        "<BANKID>021000021\n<ACCTID>555\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n"
        "<BANKTRANLIST>\n<DTSTART>20260301\n<DTEND>20260331\n"
        f"{body}</BANKTRANLIST>\n<LEDGERBAL>\n<BALAMT>{balance}\n<DTASOF>20260331\n"
        "</LEDGERBAL>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n",
        encoding="ascii",
    )
    return path


def post_eft(ledger: Ledger, trace: str, amount: str, day: date) -> None:
    """Post what 835 posting leaves: a payer payment waiting in insurance clearing."""
    ledger.post(
        Entry(
            effective_date=day,
            narration=f"Payer payment, trace {trace}",
            postings=(
                Posting(CLEARING_INSURANCE, Money.of(amount)),
                Posting("Assets:Receivable:Insurance", -Money.of(amount)),
            ),
            actor="remittance",
            meta={"type": "insurance_payment", "trace_number": trace},
        )
    )


def post_ach(ledger: Ledger, payment_id: str, invoice: str, amount: str) -> None:
    ledger.post(
        Entry(
            effective_date=date(2026, 3, 4),
            narration=f"Payment {payment_id} by ach",
            postings=(
                Posting(BANK, Money.of(amount)),
                Posting("Assets:Receivable:Patients", -Money.of(amount)),
            ),
            actor="front-desk",
            links=(invoice,),
            meta={"type": "payment", "payment_id": payment_id, "method": "ach"},
            idempotency_key=f"payment:{payment_id}",
        )
    )


def post_cash(ledger: Ledger, amount: str) -> None:
    ledger.post(
        Entry(
            effective_date=date(2026, 3, 3),
            narration="Cash at the desk",
            postings=(
                Posting("Assets:Clearing:Undeposited", Money.of(amount)),
                Posting("Assets:Receivable:Patients", -Money.of(amount)),
            ),
            actor="front-desk",
        )
    )


def clinic_month(ledger: Ledger) -> None:
    """A payout, a desk deposit, an ACH and an EFT of 2026-03."""
    record_payout(
        ledger, "po_test_1", Money.of("902.32"), date(2026, 3, 6), actor="processor"
    )
    post_cash(ledger, "530.00")
    record_deposit(
        ledger, "DEP-0306", Money.of("530.00"), date(2026, 3, 6), actor="desk"
    )
    post_ach(ledger, "PAY-7", "INV-77", "50.00")
    post_eft(ledger, "EFT-883201", "152.00", date(2026, 3, 6))


MONTH_LINES = [
    ("L1", "20260305", "50.00", "ONLINE TRANSFER", "PAYMENT INV-77"),
    ("L2", "20260309", "530.00", "BRANCH DEPOSIT", "DEPOSIT DEP-0306"),
    ("L3", "20260309", "902.32", "PAYOUT", "po_test_1"),
    ("L4", "20260309", "152.00", "ACME HEALTH", "TRN*1*EFT-883201*1512345678\\"),
    ("L5", "20260331", "-15.00", "MONTHLY SERVICE FEE", ""),
]


# Importing --------------------------------------------------------------------


def test_import_twice_adds_nothing(ledger: Ledger) -> None:
    statement = read_ofx(EXAMPLE_STATEMENT)
    first = import_statement(ledger, statement)
    second = import_statement(ledger, statement)
    assert len(first.added) == 5
    assert second.added == ()
    assert len(second.duplicates) == 5
    assert len(load_lines(ledger)) == 5


def test_import_shared_ofx(ledger: Ledger) -> None:
    result = import_statement(ledger, read_ofx(SHARED_DATA / "ofx" / "checking.ofx"))
    stored = [s.line.amount for s in load_lines(ledger)]
    assert len(result.added) == 3
    assert stored == [Money.of("0.01"), Money.of("-34.51"), Money.of("-25.00")]


def test_import_currency_mismatch_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(CurrencyMismatchError, match="CAD"):
        import_statement(ledger, read_ofx(SHARED_DATA / "ofx" / "bank_medium.ofx"))
    assert load_lines(ledger) == []


def test_statement_period_and_balance() -> None:
    statement = read_ofx(EXAMPLE_STATEMENT).statements[0]
    assert statement.start_date == date(2026, 3, 1)
    assert statement.end_date == date(2026, 3, 31)
    assert statement.balance_date == date(2026, 3, 31)
    assert statement.ledger_balance == Money.of("1619.32")


# Expected items -----------------------------------------------------------------


def test_expected_items_kinds(ledger: Ledger) -> None:
    clinic_month(ledger)
    found = {e.item.item_id: e for e in expected_items(ledger)}
    assert found["payout:po_test_1"].item.kind is LedgerItemKind.PAYOUT
    assert found["deposit:DEP-0306"].item.reference == "DEP-0306"
    assert found["payment:PAY-7"].item.reference == "INV-77"
    assert found["eft:EFT-883201"].in_bank is False
    assert found["eft:EFT-883201"].item.amount == Money.of("152.00")


def test_expected_eft_sums_claims_of_one_trace(ledger: Ledger) -> None:
    post_eft(ledger, "T-1", "100.00", date(2026, 3, 6))
    post_eft(ledger, "T-1", "52.00", date(2026, 3, 6))
    (only,) = expected_items(ledger)
    assert only.item.amount == Money.of("152.00")


def test_reversed_payout_is_no_item(ledger: Ledger) -> None:
    entry = record_payout(
        ledger, "po_x", Money.of("10.00"), date(2026, 3, 6), actor="processor"
    )
    ledger.reverse(entry.seq, actor="manager", reason="posted twice by mistake")
    assert expected_items(ledger) == []


# Reconciling --------------------------------------------------------------------


def test_month_matches_by_reference(ledger: Ledger, tmp_path: Path) -> None:
    clinic_month(ledger)
    path = write_ofx(tmp_path / "march.ofx", MONTH_LINES, "1619.32")
    import_statement(ledger, read_ofx(path))
    report = reconcile(ledger)
    assert [m.rule for m in report.matched] == ["reference"] * 4
    assert [m.score for m in report.matched] == [100] * 4
    assert [d.fitid for d in report.differences] == ["L5"]
    assert report.unmatched_items == []
    assert report.is_clean is False


def test_eft_settles_once(ledger: Ledger, tmp_path: Path) -> None:
    clinic_month(ledger)
    import_statement(ledger, read_ofx(write_ofx(tmp_path / "m.ofx", MONTH_LINES, "0")))
    first = reconcile(ledger)
    second = reconcile(ledger)
    settlements = [
        e for e in ledger.entries() if e.meta.get("type") == "eft_settlement"
    ]
    assert len(first.posted_entries) == 1
    assert second.posted_entries == []
    assert len(settlements) == 1
    assert settlements[0].effective_date == date(2026, 3, 9)
    assert ledger.balance(CLEARING_INSURANCE).posted.is_zero()


def test_eft_without_trace_by_amount(ledger: Ledger, tmp_path: Path) -> None:
    post_eft(ledger, "EFT-1", "152.00", date(2026, 3, 6))
    lines = [("E1", "20260309", "152.00", "ACME HEALTH", "HCCLAIMPMT")]
    import_statement(ledger, read_ofx(write_ofx(tmp_path / "e.ofx", lines, "152.00")))
    report = reconcile(ledger)
    assert [m.rule for m in report.matched] == ["amount_date"]
    assert ledger.balance(BANK).posted == Money.of("152.00")
    assert report.is_clean is True


def test_confirm_fee_posts_once(ledger: Ledger, tmp_path: Path) -> None:
    clinic_month(ledger)
    path = write_ofx(tmp_path / "m.ofx", MONTH_LINES, "1619.32")
    import_statement(ledger, read_ofx(path))
    reconcile(ledger)
    first = confirm_difference(ledger, "L5", actor="manager")
    second = confirm_difference(ledger, "L5", actor="manager")
    report = reconcile(ledger)
    assert first == second
    assert ledger.balance("Expenses:BankFees").posted == Money.of("15.00")
    assert report.differences == []
    assert report.balance.difference == Money.zero()
    assert report.is_clean is True


def test_confirm_matched_line_rejected(ledger: Ledger, tmp_path: Path) -> None:
    clinic_month(ledger)
    import_statement(ledger, read_ofx(write_ofx(tmp_path / "m.ofx", MONTH_LINES, "0")))
    reconcile(ledger)
    with pytest.raises(InvalidInputError, match="matched to payout:po_test_1"):
        confirm_difference(ledger, "L3", actor="manager")


def test_closing_balance_difference(ledger: Ledger, tmp_path: Path) -> None:
    post_eft(ledger, "EFT-1", "152.00", date(2026, 3, 6))
    lines = [("E1", "20260309", "152.00", "ACME", "TRN*1*EFT-1*1\\")]
    import_statement(ledger, read_ofx(write_ofx(tmp_path / "e.ofx", lines, "160.00")))
    report = reconcile(ledger)
    assert report.balance.difference == Money.of("8.00")
    assert report.is_clean is False


def test_unmatched_line_and_item(ledger: Ledger, tmp_path: Path) -> None:
    record_payout(
        ledger, "po_missing", Money.of("40.00"), date(2026, 3, 6), actor="processor"
    )
    lines = [("U1", "20260310", "77.00", "UNKNOWN CREDIT", "")]
    import_statement(ledger, read_ofx(write_ofx(tmp_path / "u.ofx", lines, "77.00")))
    report = reconcile(ledger)
    assert [row.fitid for row in report.unmatched_lines] == ["U1"]
    assert [row.item_id for row in report.unmatched_items] == ["payout:po_missing"]


def test_reconcile_without_statement(ledger: Ledger) -> None:
    with pytest.raises(InvalidInputError, match="import-statement"):
        reconcile(ledger)


# Notebook display -------------------------------------------------------------------


def test_report_rows_and_html(memory_ledger: Ledger, tmp_path: Path) -> None:
    clinic_month(memory_ledger)
    path = write_ofx(tmp_path / "m.ofx", MONTH_LINES, "1619.32")
    import_statement(memory_ledger, read_ofx(path))
    report = reconcile(memory_ledger)
    sections = [row["section"] for row in report.rows()]
    assert sections.count("matched") == 4
    assert sections.count("difference") == 1
    assert "<table>" in report._repr_html_()
    assert "MONTHLY SERVICE FEE" in report._repr_html_()


def test_report_to_dataframe(memory_ledger: Ledger, tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    clinic_month(memory_ledger)
    path = write_ofx(tmp_path / "m.ofx", MONTH_LINES, "1619.32")
    import_statement(memory_ledger, read_ofx(path))
    frame = reconcile(memory_ledger).to_dataframe()
    assert len(frame) == 5
    assert str(frame.loc[frame["section"] == "difference", "amount"].iloc[0]) == (
        "-15.00"
    )


def test_to_dataframe_without_pandas(
    memory_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    import_statement(memory_ledger, read_ofx(EXAMPLE_STATEMENT))
    report = reconcile(memory_ledger)
    with pytest.raises(ImportError, match=r"pip install ona-ledger\[dataframe\]"):
        report.to_dataframe()
