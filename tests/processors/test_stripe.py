"""The Stripe adapter through the real SDK against the fake Stripe on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.billing.charges import void_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.invoices import InvoiceStatus, get_invoice
from ona_ledger.billing.payments import PaymentMethod, collect_payment, refund_payment
from ona_ledger.billing.processing import (
    _CATEGORIES,
    ChargeRequest,
    ChargeStatus,
    DeclineCategory,
)
from ona_ledger.errors import (
    InvalidInputError,
    InvoiceStateError,
    PaymentDeclinedError,
)
from ona_ledger.processors.stripe import StripeConfig, StripeProcessor, instalment_key
from ona_ledger.processors.stripe_fake import FakeStripeServer
from ona_ledger.processors.webhooks import StripeWebhookHandler
from tests.billing.helpers import journal_length, sign
from tests.conftest import FakeClock
from tests.processors.fake_stripe import API_KEY, WEBHOOK_SECRET


def pay_by_card(ledger: Ledger, processor: StripeProcessor, token: str) -> object:
    return collect_payment(
        ledger,
        "P-1",
        Money.of("100.00"),
        PaymentMethod.CARD,
        actor="front-desk",
        processor=processor,
        card_token=token,
        payment_id="PAY-1",
    )


def charge_request(token: str, **fields: object) -> ChargeRequest:
    return ChargeRequest(
        amount=Money.of("40.00"),
        payment_method=token,
        idempotency_key=f"test:{token}",
        **fields,  # type: ignore[arg-type]
    )


def test_card_payment_posts_fee(
    book: Ledger, fees: FeeSchedule, stripe_processor: StripeProcessor
) -> None:
    sign(book, fees)
    payment = pay_by_card(book, stripe_processor, "pm_card_visa")
    assert payment.processor_id.startswith("ch_")  # type: ignore[attr-defined]
    assert payment.fee == Money.of("3.20")  # type: ignore[attr-defined]
    assert book.balance("Expenses:ProcessorFees").posted == Money.of("3.20")
    assert book.balance("Assets:Clearing:Processor").posted == Money.of("96.80")


def test_dropped_response_charges_once(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> None:
    sign(book, fees)
    server.fake.fail_next("/v1/payment_intents", "drop")
    pay_by_card(book, stripe_processor, "pm_card_visa")
    posts = [r for r in server.fake.requests if r[1] == "/v1/payment_intents"]
    assert len(posts) == 2
    assert posts[0][2] == posts[1][2] == f"{book.book_id}:PAY-1:pm_card_visa"
    assert server.fake.count("ch") == 1
    assert book.balance("Assets:Receivable:Patients").posted == Money.zero()


def test_server_error_retried_once(
    server: FakeStripeServer, stripe_processor: StripeProcessor
) -> None:
    server.fake.fail_next("/v1/payment_intents", "500")
    result = stripe_processor.charge(charge_request("pm_card_visa"))
    assert result.status is ChargeStatus.SUCCEEDED
    assert server.fake.count("ch") == 1


def test_key_never_random(
    server: FakeStripeServer, stripe_processor: StripeProcessor
) -> None:
    stripe_processor.charge(charge_request("pm_card_visa"))
    stripe_processor.charge(charge_request("pm_card_visa"))
    keys = [r[2] for r in server.fake.requests if r[0] == "POST"]
    assert keys == ["test:pm_card_visa", "test:pm_card_visa"]
    assert server.fake.count("ch") == 1


@pytest.mark.parametrize(
    ("token", "category"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", DeclineCategory.RETRY_LATER),
        ("pm_card_chargeDeclinedProcessingError", DeclineCategory.RETRY_LATER),
        ("pm_card_chargeDeclinedExpiredCard", DeclineCategory.NEW_CARD),
        ("pm_card_chargeDeclinedLostCard", DeclineCategory.NEW_CARD),
        ("pm_card_chargeDeclinedStolenCard", DeclineCategory.NEW_CARD),
        ("pm_card_chargeDeclinedFraudulent", DeclineCategory.NEW_CARD),
        ("pm_card_chargeDeclined", DeclineCategory.UNCLEAR),
    ],
)
def test_decline_families(
    stripe_processor: StripeProcessor, token: str, category: DeclineCategory
) -> None:
    result = stripe_processor.charge(charge_request(token))
    assert result.status is ChargeStatus.DECLINED
    assert result.decline_category is category


def test_every_decline_code(stripe_processor: StripeProcessor) -> None:
    for code, category in _CATEGORIES.items():
        result = stripe_processor.charge(charge_request(f"pm_card_declined_{code}"))
        assert result.decline_code == code
        assert result.decline_category is category


def test_off_session_needs_patient(stripe_processor: StripeProcessor) -> None:
    result = stripe_processor.charge(
        charge_request("pm_card_authenticationRequired", off_session=True)
    )
    assert result.decline_category is DeclineCategory.PATIENT_PRESENT


def test_on_session_requires_action(stripe_processor: StripeProcessor) -> None:
    result = stripe_processor.charge(charge_request("pm_card_authenticationRequired"))
    assert result.status is ChargeStatus.REQUIRES_ACTION


def test_declined_payment_posts_nothing(
    book: Ledger, fees: FeeSchedule, stripe_processor: StripeProcessor
) -> None:
    sign(book, fees)
    before = journal_length(book)
    with pytest.raises(PaymentDeclinedError) as raised:
        pay_by_card(book, stripe_processor, "pm_card_chargeDeclinedInsufficientFunds")
    assert raised.value.category == "retry_later"
    assert journal_length(book) == before


def test_wrong_api_key_is_processor_error(server: FakeStripeServer) -> None:
    from ona_ledger.errors import ProcessorError
    from ona_ledger.processors.stripe_fake import NoWaitRequestsClient

    config = StripeConfig(
        api_key="sk_test_wrong", webhook_secret="x", api_base=server.url
    )
    processor = StripeProcessor(config, http_client=NoWaitRequestsClient())
    with pytest.raises(ProcessorError) as raised:
        processor.charge(charge_request("pm_card_visa"))
    assert "sk_test_wrong" not in str(raised.value)


def test_config_repr_hides_secrets() -> None:
    config = StripeConfig(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET)
    assert API_KEY not in repr(config)
    assert WEBHOOK_SECRET not in repr(config)


def test_saved_card_off_session(
    book: Ledger, server: FakeStripeServer, stripe_processor: StripeProcessor
) -> None:
    customer = stripe_processor.create_customer(book.book_id, "P-1")
    setup = stripe_processor.start_card_setup(
        book.book_id, customer, setup_id="P-1-card1"
    )
    saved = stripe_processor.confirm_card_setup(
        book.book_id, setup, "pm_card_visa", setup_id="P-1-card1"
    )
    assert saved.customer_id == customer
    assert saved.last4 == "4242"
    result = stripe_processor.charge(
        ChargeRequest(
            amount=Money.of("25.00"),
            payment_method=saved.payment_method,
            idempotency_key=instalment_key(book.book_id, "PLAN-1", 2, 1),
            customer=customer,
            off_session=True,
        )
    )
    assert result.status is ChargeStatus.SUCCEEDED
    assert server.fake.get(result.processor_id)["customer"] == customer


def test_hsa_card_flag(book: Ledger, stripe_processor: StripeProcessor) -> None:
    customer = stripe_processor.create_customer(book.book_id, "P-1")
    setup = stripe_processor.start_card_setup(book.book_id, customer, setup_id="s1")
    saved = stripe_processor.confirm_card_setup(
        book.book_id, setup, "pm_card_visa", setup_id="s1"
    )
    stripe_processor.flag_hsa_fsa(saved.payment_method)
    result = stripe_processor.charge(
        charge_request(saved.payment_method, customer=customer, off_session=True)
    )
    assert result.hsa_fsa is True


def test_hsa_card_payment_marked(
    book: Ledger, fees: FeeSchedule, stripe_processor: StripeProcessor
) -> None:
    sign(book, fees)
    payment = pay_by_card(book, stripe_processor, "pm_card_hsa")
    assert payment.hsa_fsa is True  # type: ignore[attr-defined]


def test_refund_through_stripe(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> None:
    sign(book, fees)
    payment = pay_by_card(book, stripe_processor, "pm_card_visa")
    refund = refund_payment(
        book,
        "PAY-1",
        Money.of("30.00"),
        actor="manager",
        reason="overcharge",
        processor=stripe_processor,
    )
    assert refund.processor_id.startswith("re_")
    charge = server.fake.get(payment.processor_id)  # type: ignore[attr-defined]
    assert charge["amount_refunded"] == 3000


def test_pay_link_message(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> None:
    signed_visit = sign(book, fees)
    link = stripe_processor.create_pay_link(
        book, signed_visit.invoice_id, expires_in=timedelta(hours=2)
    )
    assert link.url.startswith(server.url)
    assert link.amount == Money.of("100.00")
    assert signed_visit.invoice_id in link.message
    assert "100.00 USD" in link.message
    assert "P-1" not in link.message
    assert server.fake.get(link.session_id)["expires_at"] == int(
        link.expires_at.timestamp()
    )


def test_pay_link_paid_then_rejected(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    invoice_id = sign(book, fees).invoice_id
    link = stripe_processor.create_pay_link(book, invoice_id)
    server.fake.complete_checkout_session(link.session_id)
    handler = StripeWebhookHandler(book, stripe_processor)
    for event in server.fake.take_events():
        handler.handle_event(event)
    assert get_invoice(book, invoice_id).status is InvoiceStatus.PAID
    with pytest.raises(InvoiceStateError, match="is paid"):
        stripe_processor.create_pay_link(book, invoice_id, attempt=2)


def test_pay_link_void_rejected(
    book: Ledger, fees: FeeSchedule, stripe_processor: StripeProcessor
) -> None:
    invoice_id = sign(book, fees).invoice_id
    void_visit(book, "V-1", actor="billing-lead", reason="wrong patient")
    with pytest.raises(InvoiceStateError, match="void"):
        stripe_processor.create_pay_link(book, invoice_id)


def test_pay_link_expiry_range(
    book: Ledger, fees: FeeSchedule, stripe_processor: StripeProcessor
) -> None:
    invoice_id = sign(book, fees).invoice_id
    with pytest.raises(InvalidInputError, match="30 minutes and 24 hours"):
        stripe_processor.create_pay_link(book, invoice_id, expires_in=timedelta(days=3))


def test_online_intent_for_balance(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> None:
    invoice_id = sign(book, fees).invoice_id
    online = stripe_processor.create_invoice_payment(book, invoice_id)
    intent = server.fake.get(online.payment_intent_id)
    assert intent["amount"] == 10000
    assert intent["metadata"]["invoice"] == invoice_id
    assert online.payment_id == f"{invoice_id}-WEB1"


def test_terminal_reader_payment(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> None:
    invoice_id = sign(book, fees).invoice_id
    reader_id = server.fake.readers[0]["id"]
    started = stripe_processor.start_terminal_payment(
        book.book_id,
        "P-1",
        Money.of("100.00"),
        reader_id,
        payment_id="PAY-T1",
        invoice_id=invoice_id,
    )
    assert started.reader_action_status == "in_progress"
    stripe_processor.client.v1.test_helpers.terminal.readers.present_payment_method(
        reader_id
    )
    result = stripe_processor.terminal_result(started, Money.of("100.00"))
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.fee == Money.of("2.75")
    handler = StripeWebhookHandler(book, stripe_processor)
    for event in server.fake.take_events():
        handler.handle_event(event)
    assert get_invoice(book, invoice_id).status is InvoiceStatus.PAID


def test_terminal_decline(
    book: Ledger, server: FakeStripeServer, stripe_processor: StripeProcessor
) -> None:
    reader_id = server.fake.readers[0]["id"]
    started = stripe_processor.start_terminal_payment(
        book.book_id, "P-1", Money.of("10.00"), reader_id, payment_id="PAY-T2"
    )
    stripe_processor.client.v1.test_helpers.terminal.readers.present_payment_method(
        reader_id, {"card_present": {"number": "4000000000009995"}}
    )
    result = stripe_processor.terminal_result(started, Money.of("10.00"))
    assert result.decline_category is DeclineCategory.RETRY_LATER
