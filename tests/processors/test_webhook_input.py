"""Stripe webhooks with malformed or conflicting content: typed errors, nothing posted."""

from __future__ import annotations

import copy
import logging
from datetime import date
from typing import Any

import pytest

from ona_ledger import Ledger, Money
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.payments import PaymentMethod, collect_payment
from ona_ledger.billing.processing import ChargeRequest
from ona_ledger.errors import (
    IdempotencyConflictError,
    InvalidInputError,
    PeriodClosedError,
    WebhookEventError,
    WebhookSignatureError,
)
from ona_ledger.processors.stripe import StripeProcessor
from ona_ledger.processors.stripe_fake import FakeStripeServer
from ona_ledger.processors.webhooks import StripeWebhookHandler, verify_signature
from tests.billing.helpers import journal_length, sign
from tests.conftest import FakeClock
from tests.processors.fake_stripe import WEBHOOK_SECRET, shared_event, signed


def charge_event(
    book: Ledger, server: FakeStripeServer, processor: StripeProcessor
) -> dict[str, Any]:
    """Charge P-1 100.00 as payment PAY-1 and return the charge.succeeded event."""
    processor.charge(
        ChargeRequest(
            amount=Money.from_minor(10000),
            payment_method="pm_card_visa",
            idempotency_key=f"{book.book_id}:PAY-1:pm_card_visa",
            metadata={"payment_id": "PAY-1", "patient": "P-1", "invoice": "INV-V-1"},
        )
    )
    events = server.fake.take_events()
    return next(e for e in events if e["type"] == "charge.succeeded")


def variant(event: dict[str, Any], event_id: str, **fields: Any) -> dict[str, Any]:
    """Return a copy of a charge event with a new id and some charge fields replaced."""
    changed = copy.deepcopy(event)
    changed["id"] = event_id
    changed["data"]["object"].update(fields)
    return changed


@pytest.fixture
def setup(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
) -> tuple[StripeWebhookHandler, dict[str, Any]]:
    sign(book, fees)
    event = charge_event(book, server, stripe_processor)
    return StripeWebhookHandler(book, stripe_processor), event


def test_float_amount_rejected(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
) -> None:
    handler, event = setup
    bad = variant(
        event,
        "evt_float",
        amount=12.5,
        metadata={"payment_id": "PAY-2", "patient": "P-1"},
    )
    with pytest.raises(WebhookEventError, match=r"'amount' is float 12\.5"):
        handler.handle(*signed(bad, clock))
    assert journal_length(book) == 1


def test_missing_created_rejected(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
) -> None:
    handler, event = setup
    bad = variant(
        event, "evt_nocreated", metadata={"payment_id": "PAY-2", "patient": "P-1"}
    )
    del bad["data"]["object"]["created"]
    with pytest.raises(WebhookEventError, match="'created' is missing"):
        handler.handle(*signed(bad, clock))
    assert journal_length(book) == 1


@pytest.mark.parametrize("data", [None, {}, {"object": "ch_1"}])
def test_missing_data_rejected(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
    data: Any,
) -> None:
    handler, _event = setup
    bad = {"id": "evt_nodata", "type": "charge.succeeded", "data": data}
    with pytest.raises(WebhookEventError, match=r"has no data\.object"):
        handler.handle(*signed(bad, clock))
    assert journal_length(book) == 1


def test_refund_event_without_created(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
) -> None:
    handler, event = setup
    handler.handle(*signed(event, clock))
    refunded = variant(event, "evt_refund", amount_refunded=2500)
    refunded["type"] = "charge.refunded"
    refunded.pop("created", None)
    with pytest.raises(WebhookEventError, match="'created' is missing"):
        handler.handle(*signed(refunded, clock))
    assert journal_length(book) == 2


@pytest.mark.parametrize(
    "patient", ["John Smith 1980-01-02", "P 1", "P-1\n", "x" * 121, 7]
)
def test_patient_not_opaque_rejected(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    patient: Any,
) -> None:
    handler, event = setup
    bad = variant(
        event,
        "evt_name",
        amount=100,
        metadata={"payment_id": "PAY-7", "patient": patient},
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(WebhookEventError) as caught:
        handler.handle(*signed(bad, clock))
    assert "not an opaque id" in str(caught.value)
    assert "Smith" not in str(caught.value)
    assert "Smith" not in caplog.text
    assert journal_length(book) == 1


def test_payment_id_not_opaque_rejected(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
) -> None:
    handler, event = setup
    bad = variant(
        event, "evt_pid", metadata={"payment_id": "PAY 1; Jane Doe", "patient": "P-1"}
    )
    with pytest.raises(WebhookEventError, match="'payment_id' is not an opaque id"):
        handler.handle(*signed(bad, clock))
    assert journal_length(book) == 1


@pytest.mark.parametrize(
    ("fields", "conflict"),
    [
        (
            {"metadata": {"payment_id": "PAY-1", "patient": "P-OTHER"}},
            "patient P-OTHER",
        ),
        ({"amount": 99999}, "amount 999.99, not 100.00"),
        ({"id": "ch_other"}, "charge ch_other"),
    ],
)
def test_existing_payment_conflict(
    book: Ledger,
    setup: tuple[StripeWebhookHandler, dict[str, Any]],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, Any],
    conflict: str,
) -> None:
    handler, event = setup
    handler.handle(*signed(event, clock))
    bad = variant(event, "evt_conflict", **fields)
    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(IdempotencyConflictError, match=conflict),
    ):
        handler.handle(*signed(bad, clock))
    assert "names payment PAY-1" in caplog.text
    assert journal_length(book) == 2


def test_undone_attempt_charge_ignored(
    book: Ledger,
    fees: FeeSchedule,
    server: FakeStripeServer,
    stripe_processor: StripeProcessor,
    clock: FakeClock,
) -> None:
    clock.advance(days=5)
    sign(book, fees)

    class ClosingStripe:
        """Stripe, with the period closed right after the charge."""

        name = "stripe"

        def charge(self, request: ChargeRequest) -> Any:
            result = stripe_processor.charge(request)
            book.close_period(date(2026, 3, 2), actor="accountant")
            return result

        def refund(self, charge_id: str, amount: Money, key: str) -> Any:
            return stripe_processor.refund(charge_id, amount, key)

    with pytest.raises(PeriodClosedError):
        collect_payment(
            book,
            "P-1",
            Money.of("50.00"),
            PaymentMethod.CARD,
            actor="desk",
            processor=ClosingStripe(),
            card_token="pm_card_visa",
            payment_id="PAY-X",
            effective_date=date(2026, 3, 2),
        )
    payment = collect_payment(
        book,
        "P-1",
        Money.of("50.00"),
        PaymentMethod.CARD,
        actor="desk",
        processor=stripe_processor,
        card_token="pm_card_visa",
        payment_id="PAY-X",
        effective_date=date(2026, 3, 3),
    )
    charges = [
        obj for obj in server.fake.objects.values() if obj.get("object") == "charge"
    ]
    live = [c for c in charges if c["amount_refunded"] == 0]
    assert len(charges) == 2
    assert [c["id"] for c in live] == [payment.processor_id]

    handler = StripeWebhookHandler(book, stripe_processor)
    length = journal_length(book)
    outcomes = [
        handler.handle(*signed(event, clock)) for event in server.fake.take_events()
    ]
    assert "handled" in {o.status for o in outcomes}
    assert journal_length(book) == length


def test_signature_header_none(clock: FakeClock) -> None:
    body, _header = signed(shared_event("charge.succeeded"), clock)
    with pytest.raises(WebhookSignatureError, match="header is missing"):
        verify_signature(body, None, WEBHOOK_SECRET, now=clock())  # type: ignore[arg-type]


def test_signature_secret_none(clock: FakeClock) -> None:
    body, header = signed(shared_event("charge.succeeded"), clock)
    with pytest.raises(InvalidInputError, match="signing secret is a NoneType"):
        verify_signature(body, header, None, now=clock())  # type: ignore[arg-type]
