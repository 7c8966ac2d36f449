"""The fake Stripe server for the processor tests: the package's local test double, fed the shared fixtures in place.

The server logic lives in ona_ledger.processors.stripe_fake so the demo can run it
too; here it reads stripe-mock's full fixtures3.json (MIT, (c) Stripe, Inc.)
from the shared test data, and the helpers sign webhook payloads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ona_ledger.processors.stripe import StripeConfig, StripeProcessor
from ona_ledger.processors.stripe_fake import (
    FakeStripe,
    FakeStripeServer,
    NoWaitRequestsClient,
    sign_payload,
)
from tests.conftest import SHARED_DATA, FakeClock

FIXTURES = SHARED_DATA / "stripe" / "fixtures3.json"
EVENTS = SHARED_DATA / "stripe" / "events"
API_KEY = "sk_test_fake_key_for_local_tests"
WEBHOOK_SECRET = "whsec_fake_secret_for_local_tests"


@contextmanager
def fake_stripe(clock: FakeClock) -> Iterator[tuple[FakeStripeServer, StripeProcessor]]:
    """Run the fake on a free 127.0.0.1 port and return it with an adapter pointed at it."""
    fake = FakeStripe(API_KEY, FIXTURES, clock=lambda: int(clock().timestamp()))
    with FakeStripeServer(fake, port=0) as server:
        config = StripeConfig(
            api_key=API_KEY,
            webhook_secret=WEBHOOK_SECRET,
            api_base=server.url,
            checkout_success_url="https://clinic.example/paid",
            clinic_name="Ona Clinic",
        )
        yield (
            server,
            StripeProcessor(config, http_client=NoWaitRequestsClient(), clock=clock),
        )


def signed(
    event: dict[str, Any], clock: FakeClock, secret: str = WEBHOOK_SECRET
) -> tuple[bytes, str]:
    """Return an event's body bytes and a Stripe-Signature header for it, signed now."""
    body = json.dumps(event, indent=2).encode()
    return body, sign_payload(body, secret, int(clock().timestamp()))


def shared_event(name: str) -> dict[str, Any]:
    """Load one of the shared webhook payloads, such as "charge.succeeded"."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text("utf-8"))
    return loaded
