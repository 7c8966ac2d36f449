"""Card payments and refunds that fail part way: the ledger and the processor agree after a retry."""

from __future__ import annotations

from datetime import date

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.billing.common import CLEARING_PROCESSOR, RECEIVABLE_PATIENTS
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import (
    Payment,
    PaymentMethod,
    Tender,
    adjust_invoice,
    apply_credit,
    checkout,
    collect_payment,
    get_payment,
    refund_payment,
)
from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    Processor,
    RefundResult,
)
from ona_ledger.errors import (
    IdempotencyConflictError,
    PaymentDeclinedError,
    PaymentError,
    PeriodClosedError,
    ProcessorError,
)
from ona_ledger.processors.simulator import SimulatorProcessor, processing_fee
from tests.billing.helpers import journal_length, sign, usd
from tests.conftest import FakeClock

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


class ClosingProcessor:
    """The simulator, with the book's period closed right after each charge.

    It stands for a month-end close that lands between billing's checks and
    its post, so the post fails after the card was charged.
    """

    name = "simulator"

    def __init__(self, inner: SimulatorProcessor, ledger: Ledger, through: date):
        self.inner = inner
        self.ledger = ledger
        self.through = through
        self.armed = True

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = self.inner.charge(request)
        if self.armed:
            self.ledger.close_period(self.through, actor="accountant")
            self.armed = False
        return result

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        return self.inner.refund(charge_id, amount, idempotency_key)


def pay_card(
    ledger: Ledger,
    processor: Processor,
    token: str,
    amount: str = "50.00",
    **kwargs: object,
) -> Payment:
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


def net_of_fee(amount: str) -> Money:
    return usd(amount) - processing_fee(usd(amount))


def test_closed_period_never_charged(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    memory_ledger.close_period(date(2026, 3, 1), actor="accountant")
    token = processor.tokenize(GOOD_CARD)
    with pytest.raises(PeriodClosedError, match="Nothing was charged"):
        pay_card(
            memory_ledger,
            processor,
            token,
            payment_id="PAY-X",
            effective_date=date(2026, 3, 1),
        )
    assert journal_length(memory_ledger) == 1
    assert processor.payout(date(2026, 3, 3)) is None


def test_retry_after_undone_charge(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    clock: FakeClock,
) -> None:
    clock.advance(days=5)
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    closing = ClosingProcessor(processor, memory_ledger, date(2026, 3, 2))
    with pytest.raises(PeriodClosedError):
        pay_card(
            memory_ledger,
            closing,
            token,
            payment_id="PAY-X",
            effective_date=date(2026, 3, 2),
        )
    assert journal_length(memory_ledger) == 1

    payment = pay_card(
        memory_ledger,
        processor,
        token,
        payment_id="PAY-X",
        effective_date=date(2026, 3, 3),
    )
    first = processor.payout(date(2026, 3, 4))
    assert first is not None
    # The refunded first charge nets its fee away; the retry is a new charge.
    assert first.amount == net_of_fee("50.00") - processing_fee(usd("50.00"))
    assert len(first.charge_ids) == 2
    assert get_payment(memory_ledger, "PAY-X").processor_id == payment.processor_id
    assert payment.processor_id in first.charge_ids


def test_retry_after_undone_charge_new_key(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    clock: FakeClock,
) -> None:
    clock.advance(days=5)
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    closing = ClosingProcessor(processor, memory_ledger, date(2026, 3, 2))
    with pytest.raises(PeriodClosedError):
        pay_card(
            memory_ledger,
            closing,
            token,
            payment_id="PAY-X",
            effective_date=date(2026, 3, 2),
        )
    refunded_charge = processor.payout(date(2026, 3, 3))
    assert refunded_charge is not None
    payment = pay_card(
        memory_ledger,
        processor,
        token,
        payment_id="PAY-X",
        effective_date=date(2026, 3, 3),
    )
    assert payment.processor_id not in refunded_charge.charge_ids


def test_checkout_retry_after_decline(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    good = processor.tokenize(GOOD_CARD)
    declined = processor.tokenize(DECLINED_CARD)
    with pytest.raises(PaymentDeclinedError):
        checkout(
            memory_ledger,
            "P-1",
            [
                Tender(usd("20.00"), PaymentMethod.CARD, card_token=good),
                Tender(usd("20.00"), PaymentMethod.CARD, card_token=declined),
            ],
            actor="desk",
            processor=processor,
            checkout_id="CK1",
        )
    undone = processor.payout(date(2026, 3, 2))
    assert undone is not None

    payments = checkout(
        memory_ledger,
        "P-1",
        [
            Tender(usd("20.00"), PaymentMethod.CARD, card_token=good),
            Tender(usd("20.00"), PaymentMethod.CARD, card_token=good),
        ],
        actor="desk",
        processor=processor,
        checkout_id="CK1",
    )
    retried = processor.payout(date(2026, 3, 3))
    assert retried is not None
    assert payments[0].processor_id not in undone.charge_ids
    assert retried.amount == net_of_fee("20.00") + net_of_fee("20.00")
    assert memory_ledger.balance(CLEARING_PROCESSOR).posted == retried.amount


def test_declined_card_retried_fresh(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    declined = processor.tokenize(DECLINED_CARD)
    for _ in range(2):
        with pytest.raises(PaymentDeclinedError):
            pay_card(memory_ledger, processor, declined, payment_id="PAY-D")
    record = memory_ledger.store.get_record(
        memory_ledger.book_id, "payment_attempt", "PAY-D"
    )
    assert record is not None
    assert [a["outcome"] for a in record["attempts"]] == ["declined", "declined"]


def test_charge_amount_mismatch_rejected(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    # An earlier call charged 30.00 under this payment id, then crashed before posting.
    processor.charge(
        ChargeRequest(usd("30.00"), token, f"{memory_ledger.book_id}:PAY-Z:{token}")
    )
    with pytest.raises(ProcessorError, match=r"Retry with 30\.00"):
        pay_card(memory_ledger, processor, token, "50.00", payment_id="PAY-Z")
    assert journal_length(memory_ledger) == 1
    payment = pay_card(memory_ledger, processor, token, "30.00", payment_id="PAY-Z")
    assert payment.amount == usd("30.00")


def test_refund_closed_period_not_at_processor(
    memory_ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    clock: FakeClock,
) -> None:
    clock.advance(days=5)
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    pay_card(memory_ledger, processor, token, "100.00", payment_id="PAY-C")
    memory_ledger.close_period(date(2026, 3, 2), actor="accountant")
    with pytest.raises(PeriodClosedError):
        refund_payment(
            memory_ledger,
            "PAY-C",
            usd("40.00"),
            actor="manager",
            reason="goodwill",
            processor=processor,
            effective_date=date(2026, 3, 1),
        )
    payout = processor.payout(date(2026, 3, 3))
    assert payout is not None
    assert payout.amount == net_of_fee("100.00")
    assert journal_length(memory_ledger) == 2


def test_refund_retry_other_amount(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    payment = pay_card(memory_ledger, processor, token, "100.00", payment_id="PAY-C")
    # An earlier call refunded 40.00 under the first refund key, then crashed.
    processor.refund(
        payment.processor_id,
        usd("40.00"),
        f"{memory_ledger.book_id}:PAY-C-R1",
    )
    with pytest.raises(ProcessorError, match=r"Retry with 40\.00"):
        refund_payment(
            memory_ledger,
            "PAY-C",
            usd("60.00"),
            actor="manager",
            reason="goodwill",
            processor=processor,
        )
    assert journal_length(memory_ledger) == 2
    refund = refund_payment(
        memory_ledger,
        "PAY-C",
        usd("40.00"),
        actor="manager",
        reason="goodwill",
        processor=processor,
    )
    assert refund.amount == usd("40.00")


def test_refund_key_other_amount(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    collect_payment(
        memory_ledger,
        "P-1",
        usd("100.00"),
        PaymentMethod.CASH,
        actor="desk",
        payment_id="PAY-A",
    )
    refund_payment(
        memory_ledger,
        "PAY-A",
        usd("5.00"),
        actor="m",
        reason="x",
        idempotency_key="r1",
    )
    with pytest.raises(IdempotencyConflictError, match=r"used for a refund of 5\.00"):
        refund_payment(
            memory_ledger,
            "PAY-A",
            usd("50.00"),
            actor="m",
            reason="x",
            idempotency_key="r1",
        )
    assert journal_length(memory_ledger) == 3


def test_refund_key_of_other_payment(
    memory_ledger: Ledger, fees: FeeSchedule, processor: SimulatorProcessor
) -> None:
    sign(memory_ledger, fees)
    token = processor.tokenize(GOOD_CARD)
    pay_card(memory_ledger, processor, token, "50.00", payment_id="PAY-1")
    pay_card(memory_ledger, processor, token, "50.00", payment_id="PAY-2")
    refund_payment(
        memory_ledger,
        "PAY-1",
        usd("5.00"),
        actor="m",
        reason="x",
        processor=processor,
        idempotency_key="r1",
    )
    with pytest.raises(IdempotencyConflictError, match="not a refund of payment PAY-2"):
        refund_payment(
            memory_ledger,
            "PAY-2",
            usd("5.00"),
            actor="m",
            reason="x",
            processor=processor,
            idempotency_key="r1",
        )
    payout = processor.payout(date(2026, 3, 3))
    assert payout is not None
    assert payout.amount == net_of_fee("50.00") * 2 - usd("5.00")


def test_method_value_string_accepted(memory_ledger: Ledger, fees: FeeSchedule) -> None:
    sign(memory_ledger, fees)
    payment = collect_payment(memory_ledger, "P-1", usd("10.00"), "cash", actor="d")
    assert payment.method is PaymentMethod.CASH


def test_method_unknown_string_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="payment method 'bitcoin' is invalid"):
        collect_payment(memory_ledger, "P-1", usd("10.00"), "bitcoin", actor="d")
    assert journal_length(memory_ledger) == 1


def test_tender_method_string_accepted(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    sign(memory_ledger, fees)
    tender = Tender(usd("10.00"), "cash")  # type: ignore[arg-type]
    payments = checkout(memory_ledger, "P-1", [tender], actor="d")
    assert payments[0].method is PaymentMethod.CASH


def test_invoices_bare_string_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    result = sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="pass a list of invoice ids"):
        collect_payment(
            memory_ledger,
            "P-1",
            usd("10.00"),
            PaymentMethod.CASH,
            actor="d",
            invoices=result.invoice_id,  # type: ignore[arg-type]
        )
    with pytest.raises(PaymentError, match="pass a list of invoice ids"):
        apply_credit(memory_ledger, "P-1", actor="d", invoices=result.invoice_id)  # type: ignore[arg-type]
    assert journal_length(memory_ledger) == 1


def test_adjustment_reason_string_accepted(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    result = sign(memory_ledger, fees)
    adjust_invoice(
        memory_ledger,
        result.invoice_id,
        usd("10.00"),
        "courtesy",
        actor="m",
        reason="goodwill",
    )
    owed = memory_ledger.balance(RECEIVABLE_PATIENTS, patient="P-1").posted
    assert owed == usd("90.00")


def test_adjustment_reason_unknown_rejected(
    memory_ledger: Ledger, fees: FeeSchedule
) -> None:
    result = sign(memory_ledger, fees)
    with pytest.raises(PaymentError, match="one of courtesy"):
        adjust_invoice(
            memory_ledger,
            result.invoice_id,
            usd("10.00"),
            "kindness",
            actor="m",
            reason="goodwill",
        )
    assert journal_length(memory_ledger) == 1
