"""Refunds: full and partial, through the processor, never beyond what was paid."""

from __future__ import annotations

import pytest

from ona_ledger import Ledger
from ona_ledger.billing.common import (
    CLEARING_PROCESSOR,
    PATIENT_CREDIT,
    RECEIVABLE_PATIENTS,
)
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.invoices import InvoiceStatus, get_invoice
from ona_ledger.billing.payments import (
    Payment,
    PaymentMethod,
    collect_payment,
    refund_payment,
)
from ona_ledger.errors import PaymentError
from ona_ledger.processors.simulator import SimulatorProcessor
from tests.billing.helpers import journal_length, sign, usd


def card_payment(
    ledger: Ledger,
    processor: SimulatorProcessor,
    amount: str = "100.00",
    **kwargs: object,
) -> Payment:
    token = processor.tokenize("4242424242424242")
    return collect_payment(
        ledger,
        "P-1",
        usd(amount),
        PaymentMethod.CARD,
        actor="desk",
        processor=processor,
        card_token=token,
        **kwargs,  # type: ignore[arg-type]
    )


def refund(
    ledger: Ledger, processor: SimulatorProcessor, payment_id: str, amount: str
) -> None:
    refund_payment(
        ledger,
        payment_id,
        usd(amount),
        actor="manager",
        reason="goodwill",
        processor=processor,
    )


def owed(ledger: Ledger) -> str:
    return str(ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted)


def test_full_refund_reopens(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor)
    refund(ledger, processor, payment.payment_id, "100.00")
    assert owed(ledger) == "100.00"
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.OPEN


def test_full_refund_leaves_clearing(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor)
    refund(ledger, processor, payment.payment_id, "100.00")
    # 100.00 captured, 3.20 fee, 100.00 refunded: clearing is at -3.20.
    assert ledger.balance(CLEARING_PROCESSOR).posted == usd("-3.20")


def test_partial_refunds_add_up(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor)
    refund(ledger, processor, payment.payment_id, "2.00")
    refund(ledger, processor, payment.payment_id, "3.00")
    # 2.00 + 3.00 = 5.00 refunded, so 5.00 of the 100.00 invoice is open again.
    assert owed(ledger) == "5.00"
    assert get_invoice(ledger, "INV-V-1").paid == usd("95.00")


def test_refund_through_processor(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor)
    result = refund_payment(
        ledger,
        payment.payment_id,
        usd("2.00"),
        actor="m",
        reason="x",
        processor=processor,
    )
    assert result.processor_id.startswith("re_sim_")
    assert result.entry.meta["processor_id"] == result.processor_id


def test_refund_beyond_paid_message(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    payment = card_payment(memory_ledger, processor, payment_id="PAY-7")
    refund(memory_ledger, processor, "PAY-7", "60.00")
    with pytest.raises(PaymentError) as caught:
        refund(memory_ledger, processor, payment.payment_id, "50.00")
    assert str(caught.value) == (
        "payment PAY-7 of 100.00 has 40.00 left to refund; a refund of 50.00 is "
        "more than that"
    )
    assert journal_length(memory_ledger) == 3


def test_refund_beyond_not_at_processor(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    payment = card_payment(memory_ledger, processor)
    with pytest.raises(PaymentError):
        refund(memory_ledger, processor, payment.payment_id, "100.01")
    refund(memory_ledger, processor, payment.payment_id, "100.00")
    assert owed(memory_ledger) == "100.00"


def test_refund_needs_reason(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    payment = collect_payment(
        memory_ledger, "P-1", usd("10.00"), PaymentMethod.CASH, actor="d"
    )
    with pytest.raises(PaymentError, match="needs a reason"):
        refund_payment(
            memory_ledger, payment.payment_id, usd("1.00"), actor="m", reason=""
        )
    assert journal_length(memory_ledger) == 2


def test_refund_unknown_payment(memory_ledger: Ledger) -> None:
    with pytest.raises(PaymentError, match="payment PAY-404 does not exist"):
        refund_payment(memory_ledger, "PAY-404", usd("1.00"), actor="m", reason="x")


def test_refund_takes_credit_first(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor, "130.00", allow_credit=True)
    refund(ledger, processor, payment.payment_id, "40.00")
    # 30.00 of the refund comes back from credit, the other 10.00 reopens the line.
    assert ledger.balance(PATIENT_CREDIT, patient="P-1").posted == usd("0.00")
    assert owed(ledger) == "10.00"


def test_one_of_two_payments_refunded(ledger: Ledger, fees: FeeSchedule) -> None:
    sign(ledger, fees)
    collect_payment(ledger, "P-1", usd("100.00"), PaymentMethod.CASH, actor="d")
    second = collect_payment(
        ledger, "P-1", usd("100.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    refund_payment(
        ledger, second.payment_id, usd("100.00"), actor="m", reason="duplicate"
    )
    assert get_invoice(ledger, "INV-V-1").status is InvoiceStatus.PAID
    assert ledger.balance(PATIENT_CREDIT, patient="P-1").posted == usd("0.00")


def test_refund_after_credit_used_reopens_once(
    ledger: Ledger, fees: FeeSchedule
) -> None:
    from ona_ledger.billing.payments import apply_credit

    sign(ledger, fees, visit_id="V-1")
    payment = collect_payment(
        ledger, "P-1", usd("150.00"), PaymentMethod.CASH, actor="d", allow_credit=True
    )
    sign(
        ledger,
        fees,
        visit_id="V-2",
        lines=[{"code": "36415"}],
        date_of_service="2026-03-05",
    )
    apply_credit(ledger, "P-1", actor="billing", amount=usd("20.00"))
    # Credit 50.00, of which 20.00 paid V-2: 30.00 credit left. A 40.00 refund
    # takes the 30.00 of credit and reopens 10.00 of V-1's line.
    refund_payment(ledger, payment.payment_id, usd("40.00"), actor="m", reason="x")
    # The next 100.00 may reopen only the 90.00 still paid on V-1. The other
    # 10.00 was credit that V-2 used, so the refund raises and nothing posts.
    before = journal_length(ledger)
    with pytest.raises(PaymentError, match=r"refund at most 90.00 now"):
        refund_payment(ledger, payment.payment_id, usd("100.00"), actor="m", reason="x")
    assert journal_length(ledger) == before
    assert owed(ledger) == "10.00"


def test_refund_idempotent_key(
    ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(ledger, fees)
    payment = card_payment(ledger, processor)
    for _ in range(2):
        refund_payment(
            ledger,
            payment.payment_id,
            usd("5.00"),
            actor="m",
            reason="x",
            processor=processor,
            idempotency_key="R-1",
        )
    assert owed(ledger) == "5.00"


def test_refund_after_payout_netted(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    from datetime import date

    sign(memory_ledger, fees, visit_id="V-1")
    sign(memory_ledger, fees, visit_id="V-2")
    card_payment(memory_ledger, processor, payment_id="PAY-1")
    first = processor.payout(date(2026, 3, 3))
    refund(memory_ledger, processor, "PAY-1", "10.00")
    card_payment(memory_ledger, processor, payment_id="PAY-2")
    second = processor.payout(date(2026, 3, 4))
    assert first is not None and second is not None
    # Each 100.00 charge nets 96.80 after its 3.20 fee; the 10.00 refund of
    # the first, already paid out, comes off the second: 96.80 - 10.00.
    assert first.amount == usd("96.80")
    assert second.amount == usd("86.80")
