"""Charges from signed notes: once per signature, differences on amendment, reversal on void."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.charges import sign_visit, void_visit
from ona_ledger.billing.common import (
    CONTRACTUAL,
    INCOME_SERVICES,
    PATIENT_CREDIT,
    PAYER_REFUNDS,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
)
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.billing.invoices import get_invoice
from ona_ledger.billing.payments import PaymentMethod, collect_payment
from ona_ledger.errors import InvalidVisitError, InvoiceStateError
from tests.billing.helpers import (
    OTHER_NPI,
    insured,
    journal_length,
    make_visit,
    sign,
    usd,
)

TWO_LINES = [{"code": "99213"}, {"code": "36415"}]


def services(ledger: Ledger, visit: str | None = None) -> str:
    """Return Income:Services as text, for one visit or the whole book."""
    if visit is None:
        return str(ledger.balance(INCOME_SERVICES).posted)
    return str(ledger.balance(INCOME_SERVICES, visit=visit).posted)


def test_sign_posts_charges(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    assert services(ledger, visit="V-1") == "120.00"


def test_sign_debits_patient_receivable(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    assert ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted == usd("120.00")


def test_sign_retried_posts_once(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    again = sign(ledger, fees, lines=TWO_LINES)
    assert again.entry is None
    assert journal_length(ledger) == 1
    assert services(ledger) == "120.00"


def test_sign_retried_many_times(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    for _ in range(5):
        sign(memory_ledger, fees, lines=TWO_LINES)
    assert journal_length(memory_ledger) == 1


def test_amendment_adds_line(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}])
    amended = sign(ledger, fees, lines=TWO_LINES, signed_at="2026-03-02T18:00:00Z")
    assert amended.entry is not None
    income = [p for p in amended.entry.postings if p.account == INCOME_SERVICES]
    assert [(p.invoice_line, str(p.amount)) for p in income] == [
        ("V-1-2-36415", "-20.00")
    ]
    assert journal_length(ledger) == 2


def test_amendment_removes_line(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    amended = sign(
        ledger, fees, lines=[{"code": "99213"}], signed_at="2026-03-02T18:00:00Z"
    )
    assert amended.entry is not None
    income = [p for p in amended.entry.postings if p.account == INCOME_SERVICES]
    assert [(p.invoice_line, str(p.amount)) for p in income] == [
        ("V-1-2-36415", "20.00")
    ]
    assert services(ledger) == "100.00"


def test_amendment_changes_units(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "J1885", "units": 3}])
    amended = sign(
        ledger,
        fees,
        lines=[{"code": "J1885", "units": 1}],
        signed_at="2026-03-02T18:00:00Z",
    )
    assert amended.entry is not None
    income = [p for p in amended.entry.postings if p.account == INCOME_SERVICES]
    # 3 units of 15.00 became 1: the difference is 2 x 15.00 = 30.00 back.
    assert [str(p.amount) for p in income] == ["30.00"]


def test_amendment_changes_code(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}])
    sign(ledger, fees, lines=[{"code": "99214"}], signed_at="2026-03-02T18:00:00Z")
    invoice = get_invoice(ledger, "INV-V-1")
    charged = {line.code: str(line.charged) for line in invoice.lines}
    assert charged == {"99213": "0.00", "99214": "150.00"}


def test_amendment_back_and_forth(ledger: Ledger, fees: FeeSchedule) -> None:
    states = [[{"code": "99213"}], TWO_LINES, [{"code": "99213"}], TWO_LINES]
    for hour, lines in enumerate(states, start=10):
        sign(ledger, fees, lines=lines, signed_at=f"2026-03-02T{hour}:00:00Z")
    assert journal_length(ledger) == 4
    assert services(ledger) == "120.00"


def test_stale_retry_keeps_amendment(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}], signed_at="2026-03-02T17:00:00Z")
    sign(ledger, fees, lines=TWO_LINES, signed_at="2026-03-02T18:00:00Z")
    late = sign(
        ledger, fees, lines=[{"code": "99213"}], signed_at="2026-03-02T17:00:00Z"
    )
    assert late.entry is None
    assert services(ledger) == "120.00"


def test_void_reverses_charges(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    voided = void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    assert voided.entry is not None
    assert services(ledger) == "0.00"
    assert ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted == usd("0.00")


def test_void_keeps_reason(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    voided = void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    assert voided.entry is not None
    assert voided.entry.reason == "wrong chart"
    assert voided.entry.actor == "billing"


def test_void_twice_posts_once(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    again = void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    assert again.entry is None
    assert journal_length(ledger) == 2


def test_void_paid_visit_gives_credit(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES)
    collect_payment(ledger, "P-1", usd("50.00"), PaymentMethod.CASH, actor="desk")
    void_visit(ledger, "V-1", actor="billing", reason="wrong chart")
    assert ledger.balance("Liabilities:PatientCredit", patient="P-1").posted == usd(
        "50.00"
    )
    assert ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted == usd("0.00")


def test_void_needs_reason(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(InvalidVisitError, match="voiding visit V-1 needs a reason"):
        void_visit(memory_ledger, "V-1", actor="billing", reason="")
    assert journal_length(memory_ledger) == 1


def test_void_unknown_visit(memory_ledger: Ledger) -> None:
    with pytest.raises(InvalidVisitError, match="visit V-9 was never signed"):
        void_visit(memory_ledger, "V-9", actor="billing", reason="x")


def test_sign_after_void_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    void_visit(memory_ledger, "V-1", actor="billing", reason="wrong chart")
    with pytest.raises(InvoiceStateError, match="visit V-1 was voided"):
        sign(memory_ledger, fees, signed_at="2026-03-02T18:00:00Z")
    assert journal_length(memory_ledger) == 2


def test_charge_posting_dimensions(ledger: Ledger, fees: FeeSchedule) -> None:
    signed = sign(ledger, fees, lines=[{"code": "99213"}])
    assert signed.entry is not None
    income = next(p for p in signed.entry.postings if p.account == INCOME_SERVICES)
    assert income.provider == "DR-A"
    assert income.visit == "V-1"
    assert income.invoice == "INV-V-1"
    assert income.invoice_line == "V-1-1-99213"
    assert income.location == "MAIN"
    assert income.patient == "P-1"


def test_charge_code_via_invoice_line(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213", "modifiers": ["25"]}])
    line = get_invoice(ledger, "INV-V-1").lines[0]
    assert line.invoice_line == "V-1-1-9921325"
    assert line.code == "99213"
    assert line.modifiers == ("25",)


def test_charge_meta_names_codes(ledger: Ledger, fees: FeeSchedule) -> None:
    signed = sign(ledger, fees, lines=TWO_LINES)
    assert signed.entry is not None
    assert signed.entry.meta["codes"] == "99213 36415"


def test_insured_charge_to_payer(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=TWO_LINES, coverage=insured())
    receivable = ledger.balance("Assets:Receivable:Insurance", payer="ACME").posted
    assert receivable == usd("120.00")


def test_wrong_book_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    visit = make_visit("other-book")
    with pytest.raises(InvalidVisitError, match="belongs to book other-book"):
        sign_visit(memory_ledger, visit, fees, actor="DR-A")
    assert journal_length(memory_ledger) == 0


def test_amendment_new_patient_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(InvalidVisitError, match="signed with patient P-1"):
        sign(memory_ledger, fees, patient_id="P-2", lines=TWO_LINES)
    assert journal_length(memory_ledger) == 1


def test_amendment_new_coverage_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(InvalidVisitError, match="cannot change it to insured by ACME"):
        sign(memory_ledger, fees, coverage=insured())
    assert journal_length(memory_ledger) == 1


def test_amendment_new_provider_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    provider = {"provider_id": "DR-B", "npi": OTHER_NPI}
    with pytest.raises(InvalidVisitError, match="signed with provider DR-A"):
        sign(memory_ledger, fees, provider=provider)
    assert journal_length(memory_ledger) == 1


def pay_claim(ledger: Ledger) -> None:
    """Have ACME pay 60.00 of V-1's 100.00: contractual 20.00, patient share 20.00."""
    post_claim_payment(
        ledger,
        "V-1",
        paid=usd("60.00"),
        contractual=usd("20.00"),
        patient_responsibility=usd("20.00"),
        actor="biller",
        effective_date=date(2026, 3, 10),
        trace_number="EFT-1",
    )


def test_void_paid_claim_owes_payer(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees, coverage=insured())
    pay_claim(memory_ledger)
    void_visit(memory_ledger, "V-1", actor="desk", reason="wrong chart")
    balance = memory_ledger.balance
    assert balance(RECEIVABLE_INSURANCE, claim="V-1").posted.is_zero()
    assert balance(PAYER_REFUNDS, payer="ACME").posted == usd("60.00")
    assert balance(CONTRACTUAL, claim="V-1").posted.is_zero()
    assert balance(RECEIVABLE_PATIENTS, patient="P-1").posted.is_zero()
    assert balance(INCOME_SERVICES, visit="V-1").posted.is_zero()


def test_void_paid_share_to_credit(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees, coverage=insured())
    pay_claim(memory_ledger)
    collect_payment(
        memory_ledger, "P-1", usd("20.00"), PaymentMethod.CASH, actor="desk"
    )
    void_visit(memory_ledger, "V-1", actor="desk", reason="wrong chart")
    balance = memory_ledger.balance
    assert balance(PATIENT_CREDIT, patient="P-1").posted == usd("20.00")
    assert balance(PAYER_REFUNDS, claim="V-1").posted == usd("60.00")
    assert balance(RECEIVABLE_PATIENTS, patient="P-1").posted.is_zero()


def test_reduced_paid_line_refund(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees, lines=TWO_LINES, coverage=insured())
    post_claim_payment(
        memory_ledger,
        "V-1",
        paid=usd("120.00"),
        contractual=usd("0.00"),
        patient_responsibility=usd("0.00"),
        actor="biller",
        effective_date=date(2026, 3, 10),
        trace_number="EFT-2",
    )
    # The amendment drops 36415 (20.00), which the payer paid in full.
    sign(memory_ledger, fees, signed_at="2026-03-12T09:00:00Z", coverage=insured())
    balance = memory_ledger.balance
    assert balance(RECEIVABLE_INSURANCE, claim="V-1").posted.is_zero()
    assert balance(PAYER_REFUNDS, claim="V-1").posted == usd("20.00")
