"""Stripe webhooks: Stripe-Signature verification over the raw body, and each event handled once into the ledger."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from ona_ledger.errors import (
    InvalidInputError,
    WebhookEventError,
    WebhookSignatureError,
)
from ona_ledger.ledger import Ledger
from ona_ledger.processors.stripe import StripeProcessor
from ona_ledger.processors.stripe_ledger import (
    book_dispute,
    book_payout,
    book_refunds,
    post_captured_charge,
    require_int,
)

logger = logging.getLogger(__name__)

# Stripe's own libraries accept signatures up to five minutes old by default.
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
RECORD_STRIPE_EVENT: Final = "stripe_event"


def verify_signature(
    payload: bytes,
    header: str,
    secrets: str | Sequence[str],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Verify a Stripe-Signature header over the raw request body and return the parsed event.

    The signature is HMAC-SHA256 of "TIMESTAMP.BODY" under the endpoint's signing
    secret; any v1 signature in the header may match any of `secrets` (during a
    secret rotation). Raises WebhookSignatureError otherwise.
    """
    if not isinstance(payload, bytes | bytearray):
        raise WebhookSignatureError(
            f"webhook body is a {type(payload).__name__}, not bytes; pass the raw "
            "request body exactly as received, before any JSON parsing"
        )
    if not isinstance(header, str) or not header:
        raise WebhookSignatureError(
            "Stripe-Signature header is missing; pass the header Stripe sent with the "
            "request unchanged"
        )
    keys = _signing_secrets(secrets)
    timestamp, signatures = _parse_header(header)
    signed = str(timestamp).encode() + b"." + bytes(payload)
    expected = [
        hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        for key in keys
        if key
    ]
    if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise WebhookSignatureError(
            "Stripe-Signature does not match the webhook body: verify over the raw "
            "request bytes as received (a body re-serialised from parsed JSON differs) "
            "with this endpoint's signing secret"
        )
    age = now.timestamp() - timestamp
    if abs(age) > tolerance.total_seconds():
        raise WebhookSignatureError(
            f"Stripe-Signature timestamp {timestamp} is {int(age)} seconds from now, "
            f"outside the {int(tolerance.total_seconds())}-second tolerance; a replayed "
            "or delayed delivery is rejected, so check the server clock"
        )
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise WebhookSignatureError(
            f"webhook body is signed but is not JSON ({error}); Stripe sends JSON events"
        ) from error
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise WebhookSignatureError(
            "webhook body is not a Stripe event (no id or type)"
        )
    return event


def _signing_secrets(secrets: str | Sequence[str]) -> list[str]:
    """Return the signing secrets as a list; raise InvalidInputError when none is usable."""
    keys = [secrets] if isinstance(secrets, str) else secrets
    if not isinstance(keys, Sequence) or not all(isinstance(k, str) for k in keys):
        raise InvalidInputError(
            f"webhook signing secret is a {type(secrets).__name__}, not a string or a "
            "list of strings; set the endpoint's signing secret (whsec_...)"
        )
    return list(keys)


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures = []
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError(
            f"Stripe-Signature header {header[:40]!r} has no timestamp (t=) or no v1 "
            "signature; pass the header Stripe sent unchanged"
        )
    return timestamp, signatures


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What handling one delivery did: handled, duplicate (seen before) or ignored."""

    event_id: str
    event_type: str
    status: str
    entries: tuple[str, ...] = field(default_factory=tuple)


class StripeWebhookHandler:
    """Handles one book's Stripe events: each event id once, in any order, into the same ledger."""

    def __init__(
        self,
        ledger: Ledger,
        processor: StripeProcessor,
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
    ):
        self.ledger = ledger
        self.processor = processor
        self.tolerance = tolerance

    def handle(self, payload: bytes, signature_header: str) -> WebhookOutcome:
        """Verify and handle one delivery; raise WebhookSignatureError on a bad signature."""
        event = verify_signature(
            payload,
            signature_header,
            self.processor.config.webhook_secret,
            now=self.ledger.clock(),
            tolerance=self.tolerance,
        )
        return self.handle_event(event)

    def handle_event(self, event: Mapping[str, Any]) -> WebhookOutcome:
        """Handle a verified event once by its id; redeliveries return status "duplicate"."""
        event_id, event_type = str(event["id"]), str(event["type"])
        book = self.ledger.book_id
        if self.ledger.store.get_record(book, RECORD_STRIPE_EVENT, event_id):
            return WebhookOutcome(event_id, event_type, "duplicate")
        obj = _event_object(event, event_id, event_type)
        # Stripe reads happen before the transaction, so no lock is held over the network.
        context = self._fetch(event_type, obj)
        with self.ledger.atomic() as tx:
            if tx.store.get_record(book, RECORD_STRIPE_EVENT, event_id):
                return WebhookOutcome(event_id, event_type, "duplicate")
            entries = self._apply(tx, event, context)
            status = "ignored" if entries is None else "handled"
            tx.store.put_record(
                book,
                RECORD_STRIPE_EVENT,
                event_id,
                {"type": event_type, "status": status, "entries": entries or []},
            )
        logger.info("Stripe event %s (%s) %s", event_id, event_type, status)
        return WebhookOutcome(event_id, event_type, status, tuple(entries or ()))

    def _fetch(self, event_type: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Read from Stripe what an event needs beyond its payload."""
        client = self.processor.client.v1
        expand: Any = {"expand": ["balance_transaction"]}
        if event_type in ("charge.succeeded", "charge.refunded"):
            charge = dict(obj)
            if isinstance(charge.get("balance_transaction"), str):
                charge["balance_transaction"] = client.balance_transactions.retrieve(
                    charge["balance_transaction"]
                )
            return {"charge": charge}
        if event_type == "payment_intent.succeeded" and obj.get("latest_charge"):
            return {
                "charge": client.charges.retrieve(str(obj["latest_charge"]), expand)
            }
        if event_type == "checkout.session.completed" and obj.get("payment_intent"):
            intent = client.payment_intents.retrieve(str(obj["payment_intent"]))
            if not intent.latest_charge:
                return {}
            return {
                "charge": client.charges.retrieve(str(intent.latest_charge), expand)
            }
        if event_type.startswith("charge.dispute.funds_"):
            return {"charge": client.charges.retrieve(str(obj["charge"]), expand)}
        if event_type == "payout.paid":
            listed = client.balance_transactions.list(
                {"payout": str(obj["id"]), "limit": 100}
            )
            return {"balance_transactions": list(listed.auto_paging_iter())}
        return {}

    def _apply(
        self, tx: Ledger, event: Mapping[str, Any], context: Mapping[str, Any]
    ) -> list[str] | None:
        event_type = str(event["type"])
        obj = event["data"]["object"]
        if event_type in ("charge.succeeded", "charge.refunded"):
            payment = post_captured_charge(tx, self.processor, context["charge"])
            if payment is None:
                return None
            entries = [payment.entry.id]
            if event_type == "charge.refunded":
                created = require_int(event, "created", f"Stripe event {event['id']}")
                refund = book_refunds(tx, obj, created)
                entries += [refund.id] if refund else []
            return entries
        if event_type in ("payment_intent.succeeded", "checkout.session.completed"):
            charge = context.get("charge")
            payment = (
                post_captured_charge(tx, self.processor, charge) if charge else None
            )
            return None if payment is None else [payment.entry.id]
        if event_type.startswith("charge.dispute.funds_"):
            payment = post_captured_charge(tx, self.processor, context["charge"])
            if payment is None:
                return None
            return [entry.id for entry in book_dispute(tx, obj, payment)]
        if event_type == "payout.paid":
            return [book_payout(tx, obj, context["balance_transactions"]).id]
        if event_type in ("charge.failed", "payment_intent.payment_failed"):
            error = obj.get("last_payment_error") or {}
            logger.info(
                "Stripe reports a failed payment %s: %s",
                obj.get("id"),
                obj.get("failure_code")
                or error.get("decline_code")
                or error.get("code"),
            )
        return None


def _event_object(
    event: Mapping[str, Any], event_id: str, event_type: str
) -> Mapping[str, Any]:
    """Return an event's data.object; raise WebhookEventError when it is missing."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise WebhookEventError(
            f"Stripe event {event_id} ({event_type}) has no data.object; a Stripe event "
            "carries the object it is about, so check what sent this event"
        )
    return obj
