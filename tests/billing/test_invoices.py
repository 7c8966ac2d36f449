"""Invoices and statements: lines, status through an invoice's life, balances and rendering."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.charges import void_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.billing.invoices import InvoiceStatus, get_invoice, patient_invoices
from ona_ledger.billing.payments import PaymentMethod, apply_credit, collect_payment
from ona_ledger.billing.statements import (
    Demographics,
    build_statement,
    patient_balance,
    render_statement_html,
    render_statement_text,
)
from ona_ledger.errors import InvoiceStateError
from tests.billing.helpers import insured, sign, usd

TWO_LINES = [{"code": "99213"}, {"code": "36415"}]
PATIENT = Demographics("Jane <b>Doe</b>", ("12 Elm St & Co", "Springfield"))


def pay(ledger: Ledger, amount: str, **kwargs: object) -> None:
    collect_payment(ledger, "P-1", usd(amount), PaymentMethod.CASH, actor="d", **kwargs)  # type: ignore[arg-type]


def test_invoice_per_visit(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    sign(ledger, fees, visit_id="V-2")
    ids = [invoice.invoice_id for invoice in patient_invoices(ledger, "P-1")]
    assert ids == ["INV-V-1", "INV-V-2"]


def test_visits_grouped_on_invoice(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1", invoice_id="INV-MARCH")
    sign(
        ledger, fees, visit_id="V-2", invoice_id="INV-MARCH", lines=[{"code": "36415"}]
    )
    invoice = get_invoice(ledger, "INV-MARCH")
    assert [line.visit_id for line in invoice.lines] == ["V-1", "V-2"]
    assert invoice.charged == usd("120.00")


def test_group_other_patient_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    from ona_ledger.errors import InvalidVisitError

    sign(memory_ledger, fees, visit_id="V-1", invoice_id="INV-X")
    with pytest.raises(
        InvalidVisitError, match="invoice INV-X belongs to another patient"
    ):
        sign(memory_ledger, fees, visit_id="V-2", patient_id="P-2", invoice_id="INV-X")
    assert memory_ledger.store.head(memory_ledger.book_id).seq == 1


def test_invoice_lines(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    lines = get_invoice(ledger, "INV-V-1").lines
    assert [(line.code, str(line.charged)) for line in lines] == [
        ("99213", "100.00"),
        ("36415", "20.00"),
    ]


def test_invoice_due_date(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    invoice = get_invoice(ledger, "INV-V-1")
    assert invoice.issued == date(2026, 3, 2)
    assert invoice.due == date(2026, 4, 1)


def test_unknown_invoice(memory_ledger: Ledger) -> None:
    with pytest.raises(InvoiceStateError, match="invoice INV-9 does not exist"):
        get_invoice(memory_ledger, "INV-9")


def test_status_through_life(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.OPEN
    pay(ledger, "20.00")
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.PARTLY_PAID
    assert get_invoice(ledger, "INV-V-1").balance_due == usd("100.00")
    pay(ledger, "100.00")
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.PAID
    pay(ledger, "15.00", invoices=["INV-V-1"], allow_credit=True)
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.IN_CREDIT
    assert get_invoice(ledger, "INV-V-1").credit == usd("15.00")
    void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.VOID


def test_adjusted_only_is_open(ledger: Ledger, fees: FeeSchedule) -> None:
    from ona_ledger.billing.payments import AdjustmentReason, adjust_invoice

    sign(ledger, fees)
    adjust_invoice(
        ledger,
        "INV-V-1",
        usd("10.00"),
        AdjustmentReason.COURTESY,
        actor="m",
        reason="x",
    )
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.OPEN


def test_credit_used_elsewhere_leaves_paid(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    pay(ledger, "120.00", invoices=["INV-V-1"], allow_credit=True)
    sign(
        ledger,
        fees,
        visit_id="V-2",
        lines=[{"code": "36415"}],
        date_of_service="2026-03-04",
    )
    apply_credit(ledger, "P-1", actor="billing")
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.PAID
    assert get_invoice(ledger, "INV-V-1").credit == usd("0.00")


def test_balance_apart_from_payer(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1", coverage=insured())
    sign(ledger, fees, visit_id="V-2", lines=[{"code": "36415"}])
    balance = patient_balance(ledger, "P-1")
    assert balance.owes_now == usd("20.00")
    assert balance.pending_insurance == usd("100.00")


def test_patient_share_moves_to_owes(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, coverage=insured())
    post_claim_payment(
        ledger,
        "V-1",
        paid=usd("60.00"),
        contractual=usd("20.00"),
        patient_responsibility=usd("20.00"),
        actor="era",
        effective_date=date(2026, 3, 10),
        trace_number="T-1",
    )
    balance = patient_balance(ledger, "P-1")
    assert balance.owes_now == usd("20.00")
    assert balance.pending_insurance == usd("0.00")


def test_statement_excludes_payer_pending(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1", coverage=insured())
    sign(ledger, fees, visit_id="V-2", lines=[{"code": "36415"}])
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    text = render_statement_text(statement, PATIENT, "Test Clinic")
    assert statement.balance.net_due == usd("20.00")
    assert "Amount due:                      20.00" in text
    assert "Pending with insurance:         100.00" in text


def test_statement_text_demographics(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    text = render_statement_text(statement, PATIENT, "Test Clinic")
    assert "Statement for Jane <b>Doe</b>" in text
    assert "12 Elm St & Co" in text


def test_statement_html_escapes(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    page = render_statement_html(statement, PATIENT, "Test <Clinic>")
    assert "Jane &lt;b&gt;Doe&lt;/b&gt;" in page
    assert "12 Elm St &amp; Co" in page
    assert "Test &lt;Clinic&gt;" in page
    assert "<b>Doe" not in page


def test_names_not_in_ledger(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    render_statement_html(statement, PATIENT, "Test Clinic")
    assert "Jane" not in repr(ledger.entries())


def test_statement_marks_hsa(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}, {"code": "15788"}])
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    text = render_statement_text(statement, PATIENT, "Test Clinic")
    page = render_statement_html(statement, PATIENT, "Test Clinic")
    # 99213 (100.00) is HSA-eligible; the chemical peel 15788 (400.00) is not.
    assert statement.hsa_eligible_due == usd("100.00")
    assert "HSA/FSA eligible amount due: 100.00" in text
    assert page.count("<td>HSA/FSA eligible</td>") == 1
    hsa_rows = [row for row in text.splitlines() if row.endswith(" *")]
    assert len(hsa_rows) == 1


def test_statement_lists_payments(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    pay(ledger, "30.00")
    statement = build_statement(ledger, "P-1", date(2026, 3, 31))
    assert [(a.description, str(a.amount)) for a in statement.activity] == [
        ("Payment, cash", "-30.00")
    ]
