"""Payments: desk and card methods, allocation to invoice lines, split tender and credit."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.common import (
    BANK,
    CLEARING_PROCESSOR,
    CLEARING_UNDEPOSITED,
    PATIENT_CREDIT,
    PROCESSOR_FEES,
    RECEIVABLE_PATIENTS,
)
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.billing.invoices import InvoiceStatus, get_invoice
from ona_ledger.billing.payments import (
    PaymentMethod,
    Tender,
    apply_credit,
    checkout,
    collect_payment,
)
from ona_ledger.errors import BalanceLimitError, PaymentDeclinedError, PaymentError
from ona_ledger.processors.simulator import SimulatorProcessor
from ona_ledger.reports.providers import provider_revenue
from tests.billing.helpers import OTHER_NPI, insured, journal_length, sign, usd

THREE_EQUAL = [
    {"code": "87880", "line_id": "a"},
    {"code": "87880", "line_id": "b"},
    {"code": "87880", "line_id": "c"},
]


def owed(ledger: Ledger, patient: str = "P-1") -> str:
    return str(ledger.balance(RECEIVABLE_PATIENTS, patient=patient).posted)


def credit(ledger: Ledger, patient: str = "P-1") -> str:
    return str(ledger.balance(PATIENT_CREDIT, patient=patient).posted)


def test_cash_to_undeposited(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    collect_payment(ledger, "P-1", usd("40.00"), PaymentMethod.CASH, actor="desk")
    assert ledger.balance(CLEARING_UNDEPOSITED).posted == usd("40.00")
    assert owed(ledger) == "60.00"


def test_check_needs_number(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="needs the check number"):
        collect_payment(
            memory_ledger, "P-1", usd("40.00"), PaymentMethod.CHECK, actor="d"
        )
    assert journal_length(memory_ledger) == 1


def test_check_keeps_number(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    payment = collect_payment(
        ledger, "P-1", usd("40.00"), PaymentMethod.CHECK, actor="d", check_number="4417"
    )
    assert payment.entry.meta["check_number"] == "4417"


def test_ach_to_bank(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    collect_payment(ledger, "P-1", usd("100.00"), PaymentMethod.ACH, actor="web")
    assert ledger.balance(BANK).posted == usd("100.00")


def test_card_through_simulator(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    token = processor.tokenize("4242 4242 4242 4242")
    payment = collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=token,
    )
    # Fee: 2.9% of 100.00 is 2.90, plus 0.30 fixed = 3.20.
    assert payment.fee == usd("3.20")
    assert ledger.balance(PROCESSOR_FEES).posted == usd("3.20")
    assert ledger.balance(CLEARING_PROCESSOR).posted == usd("96.80")
    assert owed(ledger) == "0.00"


def test_card_number_not_stored(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    token = processor.tokenize("4242424242424242")
    payment = collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=token,
    )
    assert "4242424242424242" not in repr(payment.entry)


def test_hsa_card_flagged(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    token = processor.tokenize("4000056655665556")
    payment = collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.HSA_FSA_CARD,
        actor="desk",
        processor=processor,
        card_token=token,
    )
    assert payment.hsa_fsa
    assert payment.entry.meta["hsa_fsa"] == "true"


def test_hsa_card_as_card_flagged(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    token = processor.tokenize("4000056655665556")
    payment = collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=token,
    )
    assert payment.hsa_fsa


@pytest.mark.parametrize(
    ("card", "code", "category"),
    [
        ("4000000000000002", "generic_decline", "unclear"),
        ("4000000000009995", "insufficient_funds", "retry_later"),
        ("4000000000009987", "lost_card", "new_card"),
        ("4000000000000069", "expired_card", "new_card"),
        ("4000002760003184", "authentication_required", "patient_present"),
        ("4000000000000127", "incorrect_cvc", "patient_present"),
    ],
)
def test_decline_posts_nothing(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    card: str,
    code: str,
    category: str,
) -> None:
    sign(memory_ledger, fees)
    token = processor.tokenize(card)
    with pytest.raises(
        PaymentDeclinedError, match=f"was declined \\({code}\\)"
    ) as caught:
        collect_payment(
            memory_ledger,
            "P-1",
            usd("50.00"),
            PaymentMethod.CARD,
            actor="desk",
            processor=processor,
            card_token=token,
        )
    assert caught.value.decline_code == code
    assert caught.value.category == category
    assert journal_length(memory_ledger) == 1


def test_declined_then_other_card(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    declined = processor.tokenize("4000000000009995")
    with pytest.raises(PaymentDeclinedError):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("50.00"),
            PaymentMethod.CARD,
            actor="desk",
            processor=processor,
            card_token=declined,
            payment_id="PAY-X",
        )
    good = processor.tokenize("4242424242424242")
    payment = collect_payment(
        memory_ledger,
        "P-1",
        usd("50.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=good,
        payment_id="PAY-X",
    )
    assert payment.amount == usd("50.00")


def test_card_over_due_not_charged(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    token = processor.tokenize("4242424242424242")
    with pytest.raises(PaymentError, match=r"more than the 100.00 open"):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("150.00"),
            PaymentMethod.CARD,
            actor="desk",
            processor=processor,
            card_token=token,
        )
    assert journal_length(memory_ledger) == 1
    assert processor.payout(date(2026, 3, 3)) is None


def test_card_needs_processor(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="needs a processor and a card token"):
        collect_payment(
            memory_ledger, "P-1", usd("50.00"), PaymentMethod.CARD, actor="d"
        )


def test_zero_payment_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="must be more than zero"):
        collect_payment(
            memory_ledger, "P-1", usd("0.00"), PaymentMethod.CASH, actor="d"
        )
    assert journal_length(memory_ledger) == 1


def test_payment_id_replay_returns_first(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    first = collect_payment(
        memory_ledger,
        "P-1",
        usd("40.00"),
        PaymentMethod.CASH,
        actor="d",
        payment_id="P1",
    )
    again = collect_payment(
        memory_ledger,
        "P-1",
        usd("40.00"),
        PaymentMethod.CASH,
        actor="d",
        payment_id="P1",
    )
    assert again.entry.seq == first.entry.seq
    assert journal_length(memory_ledger) == 2


def test_payment_id_reuse_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    collect_payment(
        memory_ledger,
        "P-1",
        usd("40.00"),
        PaymentMethod.CASH,
        actor="d",
        payment_id="P1",
    )
    with pytest.raises(PaymentError, match="payment P1 was already posted"):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("50.00"),
            PaymentMethod.CASH,
            actor="d",
            payment_id="P1",
        )
    assert journal_length(memory_ledger) == 2


def test_named_invoice_paid(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1", date_of_service="2026-03-02")
    sign(ledger, fees, visit_id="V-2", date_of_service="2026-03-03")
    collect_payment(
        ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CASH,
        actor="d",
        invoices=["INV-V-2"],
    )
    assert get_invoice(ledger, "INV-V-2").status is InvoiceStatus.PAID
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.OPEN


def test_oldest_invoice_first(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-2", date_of_service="2026-03-03")
    sign(ledger, fees, visit_id="V-1", date_of_service="2026-03-02")
    collect_payment(ledger, "P-1", usd("150.00"), PaymentMethod.CASH, actor="d")
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.PAID
    assert get_invoice(ledger, "INV-V-2").patient_due == usd("50.00")


def test_named_invoice_of_other_patient(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees, visit_id="V-2", patient_id="P-2")
    with pytest.raises(
        PaymentError, match="invoice INV-V-2 belongs to another patient"
    ):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("10.00"),
            PaymentMethod.CASH,
            actor="d",
            invoices=["INV-V-2"],
            allow_credit=True,
        )
    assert journal_length(memory_ledger) == 1


def test_unknown_named_invoice(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="invoice INV-NOPE does not exist"):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("10.00"),
            PaymentMethod.CASH,
            actor="d",
            invoices=["INV-NOPE"],
        )


def test_payment_posts_per_line(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}, {"code": "36415"}])
    payment = collect_payment(
        ledger, "P-1", usd("120.00"), PaymentMethod.CASH, actor="d"
    )
    lines = [
        (p.invoice_line, str(p.amount))
        for p in payment.entry.postings
        if p.account == RECEIVABLE_PATIENTS
    ]
    assert lines == [("V-1-1-99213", "-100.00"), ("V-1-2-36415", "-20.00")]


def test_partial_cents_deterministic(ledger: Ledger, fees: FeeSchedule) -> None:
    override = {"price": "50.00", "reason": "test price"}
    lines = [{"code": "87880", "line_id": n, "price_override": override} for n in "abc"]
    sign(ledger, fees, lines=lines)
    payment = collect_payment(
        ledger, "P-1", usd("100.00"), PaymentMethod.CASH, actor="d"
    )
    # 100.00 over three lines of 50.00 each: 33.33 each and the leftover cent
    # goes to the first line, so 33.34 + 33.33 + 33.33 = 100.00.
    parts = [str(amount) for _invoice, _line, amount in payment.applied]
    assert parts == ["33.34", "33.33", "33.33"]


def test_partial_payment_split_evenly(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=THREE_EQUAL)
    payment = collect_payment(
        ledger, "P-1", usd("50.00"), PaymentMethod.CASH, actor="d"
    )
    # 50.00 over three equal lines of 30.00: 16.666... each, so 16.67 + 16.67
    # + 16.66 = 50.00, the two extra cents to the earlier lines.
    parts = [str(amount) for _invoice, _line, amount in payment.applied]
    assert parts == ["16.67", "16.67", "16.66"]


def test_allocation_weighted_by_open(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}, {"code": "36415"}])
    payment = collect_payment(
        ledger, "P-1", usd("60.00"), PaymentMethod.CASH, actor="d"
    )
    # 60.00 pro rata over 100.00 and 20.00: 60 x 100/120 = 50.00, 60 x 20/120 = 10.00.
    parts = [str(amount) for _invoice, _line, amount in payment.applied]
    assert parts == ["50.00", "10.00"]


def test_collections_per_provider(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    provider_b = {"provider_id": "DR-B", "npi": OTHER_NPI}
    sign(ledger, fees, visit_id="V-2", provider=provider_b, lines=[{"code": "36415"}])
    collect_payment(ledger, "P-1", usd("60.00"), PaymentMethod.CASH, actor="d")
    rows = {row.provider: str(row.collections) for row in provider_revenue(ledger)}
    # Both invoices are dated 2026-03-02; INV-V-1 sorts first and takes all 60.00.
    assert rows == {"DR-A": "60.00", "DR-B": "0.00"}


def test_overpayment_rejected(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(
        PaymentError, match=r"more than the 100.00 open for patient P-1"
    ):
        collect_payment(
            memory_ledger, "P-1", usd("120.00"), PaymentMethod.CASH, actor="d"
        )
    assert journal_length(memory_ledger) == 1


def test_overpayment_to_credit(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    payment = collect_payment(
        ledger, "P-1", usd("120.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    assert payment.credit == usd("20.00")
    assert credit(ledger) == "20.00"


def test_credit_applied_later(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    collect_payment(
        ledger, "P-1", usd("130.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    sign(
        ledger,
        fees,
        visit_id="V-2",
        lines=[{"code": "36415"}],
        date_of_service="2026-03-05",
    )
    entry = apply_credit(ledger, "P-1", actor="billing")
    assert entry is not None
    assert credit(ledger) == "10.00"
    assert get_invoice(ledger, "INV-V-2").status is InvoiceStatus.PAID


def test_credit_not_applied_unasked(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, visit_id="V-1")
    collect_payment(
        ledger, "P-1", usd("130.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    sign(
        ledger,
        fees,
        visit_id="V-2",
        lines=[{"code": "36415"}],
        date_of_service="2026-03-05",
    )
    assert credit(ledger) == "30.00"
    assert owed(ledger) == "20.00"


def test_apply_credit_beyond_credit(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    collect_payment(
        memory_ledger,
        "P-1",
        usd("110.00"),
        PaymentMethod.CASH,
        actor="d",
        allow_credit=True,
    )
    sign(memory_ledger, fees, visit_id="V-2", date_of_service="2026-03-05")
    with pytest.raises(PaymentError, match=r"has 10.00 of credit; applying 50.00"):
        apply_credit(memory_ledger, "P-1", actor="billing", amount=usd("50.00"))
    assert journal_length(memory_ledger) == 3


def test_apply_negative_credit_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="must be more than zero"):
        apply_credit(memory_ledger, "P-1", actor="billing", amount=usd("-5.00"))


def test_credit_never_below_zero(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    from ona_ledger import Entry, Posting

    with pytest.raises(BalanceLimitError, match="may not go below zero"):
        memory_ledger.post(
            Entry(
                date(2026, 3, 2),
                "overdraw credit",
                (
                    Posting(PATIENT_CREDIT, usd("5.00"), patient="P-1"),
                    Posting(RECEIVABLE_PATIENTS, usd("-5.00"), patient="P-1"),
                ),
                actor="test",
            )
        )
    assert journal_length(memory_ledger) == 0


def test_split_tender(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees, lines=[{"code": "99213"}, {"code": "36415"}])
    tenders = [
        Tender(usd("20.00"), PaymentMethod.CASH),
        Tender(
            usd("100.00"),
            PaymentMethod.CARD,
            card_token=processor.tokenize("4242424242424242"),
        ),
    ]
    payments = checkout(ledger, "P-1", tenders, actor="desk", processor=processor)
    assert [p.method for p in payments] == [PaymentMethod.CASH, PaymentMethod.CARD]
    assert owed(ledger) == "0.00"
    assert ledger.balance(CLEARING_UNDEPOSITED).posted == usd("20.00")


def test_split_tender_over_due(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    tenders = [
        Tender(usd("50.00"), PaymentMethod.CASH),
        Tender(
            usd("60.00"),
            PaymentMethod.CARD,
            card_token=processor.tokenize("4242424242424242"),
        ),
    ]
    with pytest.raises(PaymentError, match=r"tenders of 110.00 exceed the 100.00 open"):
        checkout(memory_ledger, "P-1", tenders, actor="desk", processor=processor)
    assert journal_length(memory_ledger) == 1
    assert processor.payout(date(2026, 3, 3)) is None


def test_split_tender_allow_credit(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    tenders = [
        Tender(usd("50.00"), PaymentMethod.CASH),
        Tender(
            usd("60.00"),
            PaymentMethod.CARD,
            card_token=processor.tokenize("4242424242424242"),
        ),
    ]
    checkout(
        ledger, "P-1", tenders, actor="desk", processor=processor, allow_credit=True
    )
    assert credit(ledger) == "10.00"


def test_split_tender_decline_posts_nothing(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees, lines=[{"code": "99213"}, {"code": "36415"}])
    tenders = [
        Tender(usd("20.00"), PaymentMethod.CASH),
        Tender(
            usd("50.00"),
            PaymentMethod.CARD,
            card_token=processor.tokenize("4242424242424242"),
        ),
        Tender(
            usd("50.00"),
            PaymentMethod.CARD,
            card_token=processor.tokenize("4000000000000002"),
        ),
    ]
    with pytest.raises(PaymentDeclinedError):
        checkout(memory_ledger, "P-1", tenders, actor="desk", processor=processor)
    assert journal_length(memory_ledger) == 1
    payout = processor.payout(date(2026, 3, 3))
    assert payout is None or payout.amount.is_zero() or payout.amount.cents < 0


def test_worked_example_credit(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees, lines=[{"code": "99215"}], coverage=insured())
    post_claim_payment(
        ledger,
        "V-1",
        paid=usd("2000.00"),
        contractual=usd("0.00"),
        patient_responsibility=usd("1500.00"),
        actor="era",
        effective_date=date(2026, 3, 20),
        trace_number="T-1",
    )
    payment = collect_payment(
        ledger, "P-1", usd("3000.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    # Charge 3,500.00; payer pays 2,000.00 and leaves 1,500.00 to the patient,
    # who pays 3,000.00: 3,000.00 - 1,500.00 = 1,500.00 credit.
    assert payment.credit == usd("1500.00")
    assert credit(ledger) == "1500.00"
    assert owed(ledger) == "0.00"
