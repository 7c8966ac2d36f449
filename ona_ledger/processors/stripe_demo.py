"""The demo's Stripe step: a text-to-pay link paid through the Stripe adapter against the local fake Stripe."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Final

from ona_ledger.billing.charges import sign_visit
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.invoices import get_invoice
from ona_ledger.billing.visits import Visit
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.processors.stripe import StripeConfig, StripeProcessor
from ona_ledger.processors.stripe_fake import (
    NoWaitRequestsClient,
    running_fake,
    sign_payload,
)
from ona_ledger.processors.webhooks import StripeWebhookHandler

logger = logging.getLogger(__name__)

# Made-up credentials that only the local fake accepts; no real Stripe account is used.
DEMO_API_KEY: Final = "sk_test_ona_demo_local_only"
DEMO_WEBHOOK_SECRET: Final = "whsec_ona_demo_local_only"


def run_stripe_fake_step(ledger: Ledger, fees: FeeSchedule) -> list[str]:
    """Sign one self-pay visit, pay it by a pay link on the fake Stripe, then pay out; return the log lines."""
    day = ledger.clock().date()
    visit = Visit.model_validate(
        {
            "visit_id": f"V-{day:%Y-%m%d}-WEB",
            "book_id": ledger.book_id,
            "patient_id": "P-1010",
            "provider": {"provider_id": "DR-ADAMS", "npi": "1234567893"},
            "location": "MAIN",
            "date_of_service": day.isoformat(),
            "signed_at": f"{day.isoformat()}T16:00:00Z",
            "diagnoses": ["J02.9"],
            "lines": [{"code": "99213"}],
        }
    )
    invoice_id = sign_visit(ledger, visit, fees, actor="DR-ADAMS").invoice_id
    now = ledger.clock
    with running_fake(DEMO_API_KEY, clock=lambda: int(now().timestamp())) as server:
        config = StripeConfig(
            api_key=DEMO_API_KEY,
            webhook_secret=DEMO_WEBHOOK_SECRET,
            api_base=server.url,
            checkout_success_url="https://clinic.example/paid",
            clinic_name="Ona Demo Family Clinic",
        )
        processor = StripeProcessor(
            config, http_client=NoWaitRequestsClient(), clock=now
        )
        handler = StripeWebhookHandler(ledger, processor)
        link = processor.create_pay_link(
            ledger, invoice_id, expires_in=timedelta(hours=24)
        )
        # The fake's port changes from run to run; the demo's output must not.
        message = link.message.replace(server.url, "http://127.0.0.1:PORT")
        lines = [f"stripe-fake: text-to-pay for {invoice_id}: {message}"]
        server.fake.complete_checkout_session(link.session_id)
        payout = server.fake.create_payout(arrival_date=int(now().timestamp()) + 86400)
        handled = 0
        for event in server.fake.take_events():
            body = json.dumps(event).encode()
            header = sign_payload(body, DEMO_WEBHOOK_SECRET, int(now().timestamp()))
            outcome = handler.handle(body, header)
            handled += outcome.status == "handled"
        invoice = get_invoice(ledger, invoice_id)
        lines.append(
            f"stripe-fake: {handled} webhook events posted; {invoice_id} is now "
            f"{invoice.status.value}; payout {payout['id']} of "
            f"{Money.from_minor(int(payout['amount']))} reached the bank"
        )
    return lines
