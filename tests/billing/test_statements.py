"""Patient statements: invoices and balance both as of the statement date."""

from __future__ import annotations

from datetime import date

from ona_ledger import Ledger
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import PaymentMethod, collect_payment
from ona_ledger.billing.statements import build_statement
from tests.billing.helpers import sign, usd

STATEMENT_DATE = date(2026, 3, 5)


def month_after(ledger: Ledger, fees: FeeSchedule) -> None:
    """Sign V-1 on 2026-03-02, pay it in full on the 10th, sign V-2 on the 20th."""
    sign(ledger, fees)
    collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CASH,
        actor="desk",
        effective_date=date(2026, 3, 10),
    )
    sign(
        ledger,
        fees,
        "V-2",
        date_of_service="2026-03-20",
        signed_at="2026-03-20T17:00:00Z",
    )


def test_statement_invoices_as_of(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    month_after(memory_ledger, fees)
    statement = build_statement(memory_ledger, "P-1", STATEMENT_DATE)
    # V-1 was still open on the 5th; V-2 did not exist yet.
    assert [invoice.invoice_id for invoice in statement.invoices] == ["INV-V-1"]
    assert statement.invoices[0].patient_due == usd("100.00")


def test_statement_agrees_with_balance(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    month_after(memory_ledger, fees)
    statement = build_statement(memory_ledger, "P-1", STATEMENT_DATE)
    due = sum(invoice.patient_due.cents for invoice in statement.invoices)
    assert statement.balance.owes_now.cents == due
