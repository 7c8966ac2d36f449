"""Stripe webhooks: signatures over raw bytes, events once by id, any order, refunds, disputes, payouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ona_ledger import Ledger, Money, open_ledger
from ona_ledger.accounts import CLINIC_CHART
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import PaymentMethod, collect_payment
from ona_ledger.billing.processing import ChargeRequest
from ona_ledger.errors import WebhookSignatureError
from ona_ledger.processors.stripe import StripeProcessor
from ona_ledger.processors.stripe_fake import FakeStripeServer
from ona_ledger.processors.webhooks import StripeWebhookHandler, verify_signature
from tests.billing.helpers import journal_length, sign
from tests.conftest import FakeClock
from tests.processors.fake_stripe import WEBHOOK_SECRET, shared_event, signed


def charge_patient(
    processor: StripeProcessor, book: Ledger, payment_id: str, cents: int = 10000
) -> str:
    """Charge P-1 in Stripe for the invoice of V-1, leaving the posting to the webhooks."""
    result = processor.charge(
        ChargeRequest(
            amount=Money.from_minor(cents),
            payment_method="pm_card_visa",
            idempotency_key=f"{book.book_id}:{payment_id}:pm_card_visa",
            metadata={"payment_id": payment_id, "patient": "P-1", "invoice": "INV-V-1"},
        )
    )
    return result.processor_id


def handle_all(
    handler: StripeWebhookHandler, events: list[dict[str, Any]], clock: FakeClock
) -> None:
    for event in events:
        handler.handle(*signed(event, clock))


def balances(ledger: Ledger) -> dict[str, Money]:
    return {name: ledger.balance(name).posted for name, _ in CLINIC_CHART}


# Signatures -------------------------------------------------------------------


def test_signature_valid(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock)
    event = verify_signature(body, header, WEBHOOK_SECRET, now=clock())
    assert event["type"] == "charge.succeeded"


def test_signature_reserialised_body(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock)
    reserialised = json.dumps(json.loads(body)).encode()
    with pytest.raises(WebhookSignatureError, match="raw request bytes"):
        verify_signature(reserialised, header, WEBHOOK_SECRET, now=clock())


def test_signature_wrong_secret(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock, secret="whsec_other")
    with pytest.raises(WebhookSignatureError, match="signing secret"):
        verify_signature(body, header, WEBHOOK_SECRET, now=clock())


def test_signature_too_old(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock)
    clock.advance(minutes=6)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_signature(body, header, WEBHOOK_SECRET, now=clock())


def test_signature_needs_bytes(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock)
    with pytest.raises(WebhookSignatureError, match="not bytes"):
        verify_signature(body.decode(), header, WEBHOOK_SECRET, now=clock())  # type: ignore[arg-type]


def test_signature_rotated_secret(clock: FakeClock) -> None:
    body, header = signed(shared_event("payout.paid"), clock, secret="whsec_new")
    event = verify_signature(body, header, ["whsec_new", WEBHOOK_SECRET], now=clock())
    assert event["id"] == "evt_000000000000000000000000"


def test_foreign_charge_ignored(
    book: Ledger, stripe_processor: StripeProcessor, clock: FakeClock
) -> None:
    event = shared_event("charge.failed")
    outcome = StripeWebhookHandler(book, stripe_processor).handle(*signed(event, clock))
    assert outcome.status == "ignored"


# Once per event, once per payment ----------------------------------------------


def test_redelivery_handled_once(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    charge_patient(stripe_processor, book, "PAY-W1")
    events = server.fake.take_events()
    handler = StripeWebhookHandler(book, stripe_processor)
    handle_all(handler, events, clock)
    length = journal_length(book)
    outcomes = [handler.handle(*signed(event, clock)) for event in events]
    assert {o.status for o in outcomes} == {"duplicate"}
    assert journal_length(book) == length
    assert book.balance("Assets:Receivable:Patients").posted == Money.zero()


def test_sync_then_webhook_posts_once(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    collect_payment(
        book,
        "P-1",
        Money.of("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=stripe_processor,
        card_token="pm_card_visa",
        payment_id="PAY-S1",
    )
    length = journal_length(book)
    handle_all(
        StripeWebhookHandler(book, stripe_processor), server.fake.take_events(), clock
    )
    assert journal_length(book) == length
    assert book.balance("Assets:Clearing:Processor").posted == Money.of("96.80")


def test_webhook_then_sync_posts_once(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    charge_patient(stripe_processor, book, "PAY-S2")
    handle_all(
        StripeWebhookHandler(book, stripe_processor), server.fake.take_events(), clock
    )
    length = journal_length(book)
    collect_payment(
        book,
        "P-1",
        Money.of("100.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=stripe_processor,
        card_token="pm_card_visa",
        payment_id="PAY-S2",
    )
    assert journal_length(book) == length
    assert server.fake.count("ch") == 1


# Order and cumulative refunds ----------------------------------------------------


def refund_story(
    server: FakeStripeServer, processor: StripeProcessor, book: Ledger
) -> list[dict[str, Any]]:
    charge_id = charge_patient(processor, book, "PAY-R1")
    processor.refund(charge_id, Money.of("30.00"), "test:refund-1")
    processor.refund(charge_id, Money.of("20.00"), "test:refund-2")
    return server.fake.take_events()


def other_book(
    tmp_path: Path, clock: FakeClock, fees: FeeSchedule, name: str
) -> Ledger:
    ledger = open_ledger(f"sqlite:///{tmp_path / name}", "clinic-1", clock=clock)
    sign(ledger, fees)
    return ledger


def test_refunds_book_the_change(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    handle_all(
        StripeWebhookHandler(book, stripe_processor),
        refund_story(server, stripe_processor, book),
        clock,
    )
    assert book.balance("Assets:Receivable:Patients").posted == Money.of("50.00")
    assert book.balance("Assets:Clearing:Processor").posted == Money.of("46.80")


def test_out_of_order_same_ledger(
    tmp_path: Path,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    in_order = other_book(tmp_path, clock, fees, "a.db")
    reversed_order = other_book(tmp_path, clock, fees, "b.db")
    events = refund_story(server, stripe_processor, in_order)
    handle_all(StripeWebhookHandler(in_order, stripe_processor), events, clock)
    handle_all(
        StripeWebhookHandler(reversed_order, stripe_processor), events[::-1], clock
    )
    assert balances(reversed_order) == balances(in_order)
    assert reversed_order.balance("Assets:Receivable:Patients").posted == Money.of(
        "50.00"
    )


# Disputes and payouts ------------------------------------------------------------------


def test_dispute_lost_then_won(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    charge_id = charge_patient(stripe_processor, book, "PAY-D1")
    handler = StripeWebhookHandler(book, stripe_processor)
    handle_all(handler, server.fake.take_events(), clock)
    dispute = server.fake.dispute_charge(charge_id)
    handle_all(handler, server.fake.take_events(), clock)
    assert book.balance("Assets:Receivable:Patients").posted == Money.of("100.00")
    assert book.balance("Expenses:Chargebacks").posted == Money.of("15.00")
    assert book.balance("Assets:Clearing:Processor").posted == Money.of("-18.20")
    server.fake.close_dispute(dispute["id"], won=True)
    handle_all(handler, server.fake.take_events(), clock)
    assert book.balance("Assets:Receivable:Patients").posted == Money.zero()
    assert book.balance("Expenses:Chargebacks").posted == Money.of("15.00")
    assert book.balance("Assets:Clearing:Processor").posted == Money.of("81.80")


def test_payout_clears_processor(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    events = refund_story(server, stripe_processor, book)
    payout = server.fake.create_payout(arrival_date=int(clock().timestamp()) + 86400)
    handle_all(
        StripeWebhookHandler(book, stripe_processor),
        events + server.fake.take_events(),
        clock,
    )
    assert payout["amount"] == 4680
    assert book.balance("Assets:Bank:Operating").posted == Money.of("46.80")
    assert book.balance("Assets:Clearing:Processor").posted == Money.zero()
    entry = book.entries(account="Assets:Bank:Operating")[-1]
    assert entry.meta["type"] == "payout"
    assert entry.meta["payout_id"] == payout["id"]
    assert entry.effective_date.isoformat() == "2026-03-03"


def test_payout_remainder_explicit(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    sign(book, fees)
    charge_patient(stripe_processor, book, "PAY-P2")
    server.fake.create_payout(arrival_date=int(clock().timestamp()), unlisted_cents=7)
    handle_all(
        StripeWebhookHandler(book, stripe_processor), server.fake.take_events(), clock
    )
    assert book.balance("Assets:Bank:Operating").posted == Money.of("96.87")
    assert book.balance("Liabilities:Suspense:Payouts").posted == Money.of("0.07")
    assert book.balance("Assets:Clearing:Processor").posted == Money.zero()
