"""A local test double of the Stripe API for the tests and the demo; never a production path.

It listens on 127.0.0.1 only and serves Stripe-shaped objects built from stripe-mock's
fixtures, with test cards, declines, idempotency keys, injected faults and webhook events.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import requests
from stripe import RequestsClient

from ona_ledger.processors.simulator import TEST_CARD_DECLINES

logger = logging.getLogger(__name__)

PACKAGE_FIXTURES: Final = (
    Path(__file__).resolve().parent / "data" / "stripe_fixtures.json"
)
FAKE_API_VERSION: Final = "2026-02-25.clover"
DISPUTE_FEE_CENTS: Final = 1500

# Stripe's test payment methods and what a charge on each does (code, decline_code);
# `pm_card_declined_<code>` is this fake's own family for any other decline code.
_DECLINING_METHODS: Final = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds"),
    "pm_card_chargeDeclinedLostCard": ("card_declined", "lost_card"),
    "pm_card_chargeDeclinedStolenCard": ("card_declined", "stolen_card"),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent"),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", None),
    "pm_card_chargeDeclinedProcessingError": ("processing_error", None),
    "pm_card_chargeDeclinedIncorrectCvc": ("incorrect_cvc", None),
}
_CARD_PROFILES: Final = {
    "pm_card_visa": ("visa", "4242", "credit"),
    "pm_card_visa_debit": ("visa", "5556", "debit"),
    "pm_card_mastercard": ("mastercard", "4444", "credit"),
    "pm_card_hsa": ("visa", "5556", "debit"),
}


@dataclass
class _Card:
    brand: str
    last4: str
    funding: str
    decline: tuple[str, str | None] | None = None
    needs_authentication: bool = False
    card_present: bool = False


class FakeStripeError(Exception):
    """An API error the fake answers with: HTTP status and Stripe's error object."""

    def __init__(self, status: int, error: dict[str, Any]):
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


class FakeStripe:
    """The fake's state: objects by id, balance transactions, events and injected faults."""

    def __init__(
        self,
        api_key: str,
        fixtures: Path = PACKAGE_FIXTURES,
        clock: Callable[[], int] | None = None,
    ):
        self.api_key = api_key
        loaded: dict[str, Any] = json.loads(fixtures.read_text("utf-8"))
        self.templates: dict[str, Any] = loaded["resources"]
        self.clock = clock or _StepClock()
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, _Card] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []
        self.idempotent: dict[str, tuple[str, int, bytes]] = {}
        self.faults: list[tuple[str, str]] = []
        self.session_intent_data: dict[str, dict[str, Any]] = {}
        self._counter = 0
        self.base_url = ""
        self.readers = [self._new_reader("Front desk")]

    # Ids, templates, events ------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_fake{self._counter:08d}"

    def build(self, resource: str, prefix: str, **fields: Any) -> dict[str, Any]:
        obj: dict[str, Any] = copy.deepcopy(self.templates[resource])
        obj.update(id=self.new_id(prefix), created=self.clock(), livemode=False)
        if "metadata" in obj:
            obj["metadata"] = {}
        obj.update(fields)
        self.objects[obj["id"]] = obj
        return obj

    def emit(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = self.build(
            "event",
            "evt",
            type=event_type,
            api_version=FAKE_API_VERSION,
            data={"object": copy.deepcopy(obj)},
            pending_webhooks=1,
            request={"id": None, "idempotency_key": None},
        )
        self.events.append(event)
        return event

    def take_events(self) -> list[dict[str, Any]]:
        """Return the events emitted since the last call, oldest first."""
        with self.lock:
            events, self.events = self.events, []
        return events

    def fail_next(self, path_prefix: str, mode: str = "drop") -> None:
        """Make the next request under `path_prefix` fail.

        "drop" processes the request and then closes the connection without a
        response, as a timeout after Stripe acted does; "500" answers a server
        error without acting.
        """
        with self.lock:
            self.faults.append((path_prefix, mode))

    def take_fault(self, path: str) -> str | None:
        with self.lock:
            for index, (prefix, mode) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[index]
                    return mode
        return None

    def count(self, prefix: str) -> int:
        """Return how many objects with an id prefix exist, such as "ch" for charges."""
        return sum(1 for key in self.objects if key.startswith(prefix + "_"))

    # Routing ---------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = [part for part in path.split("/") if part][1:]
        route = self._route(method, parts)
        if route is None:
            raise _invalid(f"Unrecognized request URL ({method} {path}).", status=404)
        handler, args = route
        with self.lock:
            result = handler(*args, params)
        return self._expand(result, params.get("expand") or [])

    def _route(
        self, method: str, parts: list[str]
    ) -> tuple[Callable[..., dict[str, Any]], list[str]] | None:
        table: dict[tuple[str, ...], Callable[..., dict[str, Any]]] = {
            ("POST", "customers"): self.create_customer,
            ("POST", "setup_intents"): self.create_setup_intent,
            ("POST", "setup_intents", "*", "confirm"): self.confirm_setup_intent,
            ("POST", "payment_intents"): self.create_payment_intent,
            ("POST", "payment_intents", "*", "confirm"): self.confirm_payment_intent,
            ("POST", "payment_methods", "*"): self.update_payment_method,
            ("POST", "refunds"): self.create_refund,
            ("POST", "checkout", "sessions"): self.create_checkout_session,
            ("POST", "terminal", "readers", "*", "process_payment_intent"): (
                self.process_payment_intent
            ),
            (
                "POST",
                "test_helpers",
                "terminal",
                "readers",
                "*",
                "present_payment_method",
            ): (self.present_payment_method),
            ("GET", "balance_transactions"): self.list_balance_transactions,
        }
        for (verb, *pattern), handler in table.items():
            if verb != method or len(pattern) != len(parts):
                continue
            args = [p for p, q in zip(parts, pattern, strict=True) if q == "*"]
            if all(q in ("*", p) for p, q in zip(parts, pattern, strict=True)):
                return handler, args
        if method == "GET" and len(parts) >= 2:
            return self.retrieve, [parts[-1]]
        return None

    def retrieve(self, object_id: str, _params: dict[str, Any]) -> dict[str, Any]:
        return self.get(object_id)

    def get(self, object_id: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None:
            raise _invalid(
                f"No such object: '{object_id}'", code="resource_missing", status=404
            )
        return obj

    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        result = copy.deepcopy(obj)
        for path in paths:
            _expand_path(result, path.split("."), self.objects)
        return result

    # Customers, cards, setup intents ---------------------------------------

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.build(
            "customer",
            "cus",
            discount=None,
            email=params.get("email"),
            metadata=params.get("metadata", {}),
            description=params.get("description"),
        )

    def payment_method(self, token: str, customer: str | None = None) -> dict[str, Any]:
        """Return the payment method of a token, creating it from a test token on first use."""
        if token in self.objects:
            return self.objects[token]
        card = _test_card(token)
        if card is None:
            raise _invalid(
                f"No such PaymentMethod: '{token}'",
                code="resource_missing",
                status=404,
                param="payment_method",
            )
        metadata = {"hsa_fsa": "true"} if token == "pm_card_hsa" else {}
        return self._store_card(card, customer, metadata)

    def _store_card(
        self, card: _Card, customer: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        pm = self.build("payment_method", "pm", customer=customer, metadata=metadata)
        if card.card_present:
            pm["type"] = "card_present"
            pm["card_present"] = {
                "brand": card.brand,
                "last4": card.last4,
                "funding": card.funding,
            }
            pm.pop("card", None)
        else:
            pm["card"].update(brand=card.brand, last4=card.last4, funding=card.funding)
            pm["billing_details"].update(email=None, phone=None, name=None)
        self.cards[pm["id"]] = card
        return pm

    def update_payment_method(
        self, pm_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        pm = self.get(pm_id)
        pm["metadata"].update(params.get("metadata", {}))
        return pm

    def create_setup_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if customer is not None:
            self.get(customer)
        intent = self.build(
            "setup_intent",
            "seti",
            customer=customer,
            usage=params.get("usage", "off_session"),
            metadata=params.get("metadata", {}),
            last_setup_error=None,
            next_action=None,
            payment_method=None,
        )
        intent["client_secret"] = f"{intent['id']}_secret_fake"
        if _flag(params.get("confirm")):
            return self.confirm_setup_intent(intent["id"], params)
        return intent

    def confirm_setup_intent(
        self, seti_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        intent = self.get(seti_id)
        token = params.get("payment_method")
        if not token:
            raise _invalid(
                "A payment method is required to confirm.", param="payment_method"
            )
        source = self.payment_method(token)
        card = self.cards[source["id"]]
        if card.decline is not None:
            code, decline_code = card.decline
            intent.update(status="requires_payment_method")
            raise _card_error(code, decline_code, setup_intent=copy.deepcopy(intent))
        saved = self._store_card(card, intent["customer"], dict(source["metadata"]))
        intent.update(status="succeeded", payment_method=saved["id"])
        self.emit("setup_intent.succeeded", intent)
        return intent

    # Payment intents and charges -------------------------------------------

    def create_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _positive_int(params.get("amount"), "amount")
        types = params.get("payment_method_types") or ["card"]
        intent = self.build(
            "payment_intent",
            "pi",
            amount=amount,
            amount_received=0,
            amount_capturable=0,
            currency=params.get("currency", "usd"),
            customer=params.get("customer"),
            description=params.get("description"),
            metadata=params.get("metadata", {}),
            payment_method=params.get("payment_method"),
            payment_method_types=types,
            capture_method=params.get("capture_method", "automatic"),
            canceled_at=None,
            last_payment_error=None,
            next_action=None,
            latest_charge=None,
            processing=None,
            transfer_data=None,
            status="requires_payment_method",
        )
        intent["client_secret"] = f"{intent['id']}_secret_fake"
        if _flag(params.get("confirm")):
            return self.confirm_payment_intent(intent["id"], params)
        return intent

    def confirm_payment_intent(
        self, pi_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        intent = self.get(pi_id)
        if intent["status"] == "succeeded":
            raise _invalid(
                "This PaymentIntent's status is succeeded; it cannot be confirmed again.",
                code="payment_intent_unexpected_state",
            )
        token = params.get("payment_method") or intent["payment_method"]
        if not token:
            raise _invalid(
                "A payment method is required to confirm.", param="payment_method"
            )
        pm = self.payment_method(token, intent["customer"])
        intent["payment_method"] = pm["id"]
        return self._attempt(intent, pm, off_session=_flag(params.get("off_session")))

    def _attempt(
        self, intent: dict[str, Any], pm: dict[str, Any], *, off_session: bool
    ) -> dict[str, Any]:
        card = self.cards[pm["id"]]
        if card.needs_authentication and not off_session:
            intent.update(
                status="requires_action",
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
            )
            self.emit("payment_intent.requires_action", intent)
            return intent
        decline = card.decline
        if card.needs_authentication:
            decline = ("authentication_required", "authentication_required")
        charge = self._charge(intent, pm, card, decline)
        intent["latest_charge"] = charge["id"]
        if decline is not None:
            code, decline_code = decline
            error = _card_error(code, decline_code, charge=charge["id"])
            intent.update(
                status="requires_payment_method", last_payment_error=error.error
            )
            self.emit("charge.failed", charge)
            self.emit("payment_intent.payment_failed", intent)
            error.error["payment_intent"] = copy.deepcopy(intent)
            raise error
        intent.update(status="succeeded", amount_received=intent["amount"])
        self.emit("charge.succeeded", charge)
        self.emit("payment_intent.succeeded", intent)
        return intent

    def _charge(
        self,
        intent: dict[str, Any],
        pm: dict[str, Any],
        card: _Card,
        decline: tuple[str, str | None] | None,
    ) -> dict[str, Any]:
        kind = "card_present" if card.card_present else "card"
        details = copy.deepcopy(
            self.templates["charge"]["payment_method_details"]["card"]
        )
        details.update(brand=card.brand, last4=card.last4, funding=card.funding)
        charge = self.build(
            "charge",
            "ch",
            amount=intent["amount"],
            currency=intent["currency"],
            customer=intent["customer"],
            description=intent["description"],
            metadata=dict(intent["metadata"]),
            payment_intent=intent["id"],
            payment_method=pm["id"],
            payment_method_details={"type": kind, kind: details},
            billing_details={
                **self.templates["charge"]["billing_details"],
                "name": None,
            },
            refunds={"object": "list", "data": [], "has_more": False, "url": ""},
            transfer_data=None,
            source=None,
            dispute=None,
        )
        if decline is not None:
            code, decline_code = decline
            charge.update(
                status="failed",
                paid=False,
                captured=False,
                balance_transaction=None,
                failure_code=code,
                failure_message=_DECLINE_MESSAGES.get(code, "Your card was declined."),
                outcome={
                    "type": "issuer_declined",
                    "reason": decline_code,
                    "network_status": "declined_by_network",
                    "seller_message": "The bank did not return any further details with this decline.",
                },
            )
            return charge
        fee = _fee_cents(intent["amount"], card.card_present)
        txn = self._balance_transaction("charge", intent["amount"], fee, charge["id"])
        charge.update(
            status="succeeded",
            paid=True,
            captured=True,
            amount_captured=intent["amount"],
            balance_transaction=txn["id"],
            outcome={
                "type": "authorized",
                "reason": None,
                "network_status": "approved_by_network",
                "seller_message": "Payment complete.",
            },
        )
        return charge

    def _balance_transaction(
        self, kind: str, amount: int, fee: int, source: str, description: str = ""
    ) -> dict[str, Any]:
        fee_details = (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": "usd",
                    "description": description or "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        )
        return self.build(
            "balance_transaction",
            "txn",
            amount=amount,
            fee=fee,
            fee_details=fee_details,
            net=amount - fee,
            source=source,
            type=kind,
            reporting_category=kind,
            description=description or None,
            status="pending",
            payout=None,
        )

    # Refunds ----------------------------------------------------------------

    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        charge_id = params.get("charge")
        if charge_id is None and params.get("payment_intent"):
            charge_id = self.get(params["payment_intent"])["latest_charge"]
        if not charge_id:
            raise _invalid(
                "One of charge or payment_intent is required.", param="charge"
            )
        charge = self.get(charge_id)
        left = charge["amount"] - charge["amount_refunded"]
        amount = _positive_int(params.get("amount", left), "amount")
        if left == 0:
            raise _invalid(
                f"Charge {charge_id} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > left:
            raise _invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                param="amount",
            )
        refund = self.build(
            "refund",
            "re",
            amount=amount,
            charge=charge_id,
            payment_intent=charge["payment_intent"],
            metadata=params.get("metadata", {}),
            reason=params.get("reason"),
            status="succeeded",
        )
        txn = self._balance_transaction("refund", -amount, 0, refund["id"])
        refund["balance_transaction"] = txn["id"]
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        self.emit("charge.refunded", charge)
        self.emit("refund.created", refund)
        return refund

    # Checkout sessions (text-to-pay) ----------------------------------------

    def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("line_items") or []
        if not items:
            raise _invalid(
                "line_items is required in payment mode.", param="line_items"
            )
        total = 0
        for item in items:
            price = item.get("price_data") or {}
            total += _positive_int(price.get("unit_amount"), "unit_amount") * int(
                item.get("quantity", 1)
            )
        expires_at = int(params.get("expires_at") or self.clock() + 86400)
        if not 1800 <= expires_at - self.clock() <= 86400:
            raise _invalid(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                param="expires_at",
            )
        session = self.build(
            "checkout.session",
            "cs",
            mode="payment",
            status="open",
            payment_status="unpaid",
            amount_total=total,
            amount_subtotal=total,
            currency=items[0]["price_data"].get("currency", "usd"),
            expires_at=expires_at,
            client_reference_id=params.get("client_reference_id"),
            customer=params.get("customer"),
            metadata=params.get("metadata", {}),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            payment_intent=None,
            customer_details=None,
            shipping_cost=None,
            total_details=None,
            currency_conversion=None,
            shipping_address_collection=None,
        )
        self.session_intent_data[session["id"]] = params.get("payment_intent_data", {})
        session["url"] = f"{self.base_url}/pay/{session['id']}"
        return session

    def complete_checkout_session(
        self, session_id: str, payment_method: str = "pm_card_visa"
    ) -> dict[str, Any]:
        """Pay a checkout session as the patient would on its page."""
        with self.lock:
            session = self.get(session_id)
            if session["status"] != "open" or self.clock() > session["expires_at"]:
                raise _invalid(f"Checkout session {session_id} is {session['status']}.")
            data = self.session_intent_data[session_id]
            intent = self.create_payment_intent(
                {
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "description": data.get("description"),
                    "metadata": data.get("metadata", {}),
                }
            )
            pm = self.payment_method(payment_method)
            intent["payment_method"] = pm["id"]
            self._attempt(intent, pm, off_session=False)
            session.update(
                status="complete", payment_status="paid", payment_intent=intent["id"]
            )
            self.emit("checkout.session.completed", session)
            return session

    # Terminal ---------------------------------------------------------------

    def _new_reader(self, label: str) -> dict[str, Any]:
        return self.build(
            "terminal.reader",
            "tmr",
            label=label,
            device_type="simulated_wisepos_e",
            ip_address="127.0.0.1",
            action=None,
            status="online",
        )

    def process_payment_intent(
        self, reader_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        reader = self.get(reader_id)
        intent = self.get(str(params.get("payment_intent")))
        if "card_present" not in intent["payment_method_types"]:
            raise _invalid(
                "This PaymentIntent does not accept card_present payments.",
                code="payment_intent_invalid_parameter",
            )
        if reader["action"] and reader["action"]["status"] == "in_progress":
            raise _invalid(
                "Reader is currently busy processing another request.",
                code="terminal_reader_busy",
                status=409,
            )
        reader["action"] = {
            "type": "process_payment_intent",
            "status": "in_progress",
            "failure_code": None,
            "failure_message": None,
            "process_payment_intent": {"payment_intent": intent["id"]},
        }
        return reader

    def present_payment_method(
        self, reader_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        reader = self.get(reader_id)
        action = reader["action"]
        if not action or action["status"] != "in_progress":
            raise _invalid("Reader has no payment to present a card to.")
        number = (params.get("card_present") or {}).get("number", "4242424242424242")
        decline_code = TEST_CARD_DECLINES.get(number)
        card = _Card(
            brand="visa",
            last4=number[-4:],
            funding="credit",
            decline=("card_declined", decline_code) if decline_code else None,
            card_present=True,
        )
        pm = self._store_card(card, None, {})
        intent = self.get(action["process_payment_intent"]["payment_intent"])
        intent["payment_method"] = pm["id"]
        try:
            self._attempt(intent, pm, off_session=False)
            action["status"] = "succeeded"
        except FakeStripeError as error:
            action.update(
                status="failed",
                failure_code=error.error.get("decline_code") or error.error.get("code"),
                failure_message=error.error.get("message"),
            )
        return reader

    # Disputes and payouts (driven by the test, as Stripe drives them) -------

    def dispute_charge(
        self, charge_id: str, fee_cents: int = DISPUTE_FEE_CENTS
    ) -> dict[str, Any]:
        """Open a dispute on a charge: the amount and the dispute fee leave the balance."""
        with self.lock:
            charge = self.get(charge_id)
            dispute = self.build(
                "dispute",
                "dp",
                amount=charge["amount"],
                charge=charge_id,
                payment_intent=charge["payment_intent"],
                status="needs_response",
                reason="fraudulent",
                balance_transactions=[],
            )
            txn = self._balance_transaction(
                "adjustment", -charge["amount"], fee_cents, dispute["id"], "Dispute fee"
            )
            dispute["balance_transactions"].append(copy.deepcopy(txn))
            charge.update(disputed=True, dispute=dispute["id"])
            self.emit("charge.dispute.created", dispute)
            self.emit("charge.dispute.funds_withdrawn", dispute)
            return dispute

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """Close a dispute; a won dispute returns the amount (the fee stays with Stripe)."""
        with self.lock:
            dispute = self.get(dispute_id)
            if won:
                txn = self._balance_transaction(
                    "adjustment", dispute["amount"], 0, dispute_id, "Dispute reversal"
                )
                dispute["balance_transactions"].append(copy.deepcopy(txn))
                dispute["status"] = "won"
                self.emit("charge.dispute.funds_reinstated", dispute)
            else:
                dispute["status"] = "lost"
            self.emit("charge.dispute.closed", dispute)
            return dispute

    def create_payout(
        self, arrival_date: int, unlisted_cents: int = 0
    ) -> dict[str, Any]:
        """Pay out every balance transaction not yet paid out.

        `unlisted_cents` adds money the payout's balance transaction list does
        not show, to test a payout the listed transactions do not explain.
        """
        with self.lock:
            pending = [
                obj
                for obj in self.objects.values()
                if obj["id"].startswith("txn_")
                and obj["payout"] is None
                and obj["type"] != "payout"
            ]
            amount = sum(txn["net"] for txn in pending) + unlisted_cents
            payout = self.build(
                "payout",
                "po",
                amount=amount,
                arrival_date=arrival_date,
                status="in_transit",
                automatic=True,
                description="STRIPE PAYOUT",
            )
            own = self._balance_transaction("payout", -amount, 0, payout["id"])
            payout["balance_transaction"] = own["id"]
            for txn in [*pending, own]:
                txn.update(payout=payout["id"], status="available")
            self.emit("payout.created", payout)
            payout["status"] = "paid"
            self.emit("payout.paid", payout)
            return payout

    def list_balance_transactions(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = [
            obj
            for obj in self.objects.values()
            if obj["id"].startswith("txn_")
            and (params.get("payout") is None or obj["payout"] == params["payout"])
        ]
        after = params.get("starting_after")
        if after:
            ids = [row["id"] for row in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "data": rows[:limit],
            "has_more": len(rows) > limit,
            "url": "/v1/balance_transactions",
        }


# The HTTP side ---------------------------------------------------------------


class FakeStripeServer:
    """The fake on a background thread at http://127.0.0.1:PORT; use it as a context manager."""

    def __init__(self, fake: FakeStripe, port: int = 0):
        self.fake = fake
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        fake.base_url = self.url
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeStripeServer:
        self._thread.start()
        logger.info("fake Stripe listening on %s", self.url)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FakeStripeServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake Stripe %s", self.requestline)

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        params = parse_form(body if method == "POST" else url.query)
        key = self.headers.get("Idempotency-Key", "")
        self.fake.requests.append((method, url.path, key))

        if self.headers.get("Authorization") != f"Bearer {self.fake.api_key}":
            self._send(
                401, _error_body(_invalid("Invalid API Key provided.", status=401))
            )
            return
        fault = self.fake.take_fault(url.path)
        if fault == "500":
            self._send(
                500,
                _error_body(
                    FakeStripeError(
                        500,
                        {"type": "api_error", "message": "An unknown error occurred"},
                    )
                ),
            )
            return

        fingerprint = f"{method} {url.path} {json.dumps(params, sort_keys=True)}"
        status, payload, replayed = self._respond(
            method, url.path, params, key, fingerprint
        )
        if fault == "drop":
            # Stripe acted, but the response never reaches the client.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, payload, replayed)

    def _respond(
        self, method: str, path: str, params: dict[str, Any], key: str, fingerprint: str
    ) -> tuple[int, bytes, bool]:
        with self.fake.lock:
            if method == "POST" and key in self.fake.idempotent:
                earlier_fingerprint, status, payload = self.fake.idempotent[key]
                if earlier_fingerprint != fingerprint:
                    error = FakeStripeError(
                        400,
                        {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        },
                    )
                    return 400, _error_body(error), False
                return status, payload, True
            try:
                status, payload = (
                    200,
                    json.dumps(self.fake.handle(method, path, params)).encode(),
                )
            except FakeStripeError as error:
                status, payload = error.status, _error_body(error)
            if method == "POST" and key:
                self.fake.idempotent[key] = (fingerprint, status, payload)
        return status, payload, False

    def _send(self, status: int, payload: bytes, replayed: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", f"req_fake{len(self.fake.requests):08d}")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(payload)


class NoWaitRequestsClient(RequestsClient):
    """The SDK's requests client without proxies from the environment nor waits between retries."""

    def __init__(self) -> None:
        session = requests.Session()
        session.trust_env = False
        super().__init__(timeout=10, session=session)

    def _sleep_time_seconds(self, num_retries: int, response: Any = None) -> float:
        return 0.0


@contextmanager
def running_fake(
    api_key: str,
    fixtures: Path = PACKAGE_FIXTURES,
    clock: Callable[[], int] | None = None,
) -> Iterator[FakeStripeServer]:
    """Run a fresh fake Stripe on a free 127.0.0.1 port for the block."""
    with FakeStripeServer(FakeStripe(api_key, fixtures, clock)) as server:
        yield server


def sign_payload(payload: bytes, secret: str, timestamp: int) -> str:
    """Return a Stripe-Signature header for a webhook body, as Stripe computes it."""
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def parse_form(text: str) -> dict[str, Any]:
    """Decode Stripe's form encoding (`a[b][0]=c`, `expand[]=d`) into nested values."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = root
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            last = following is None
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                if part == "" or int(part) >= len(node):
                    node.append([] if following in ("", "0") else {})
                node = node[-1] if part == "" else node[int(part)]
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(
                    part, [] if str(following).isdigit() or following == "" else {}
                )
    return root


# Helpers ---------------------------------------------------------------------

_DECLINE_MESSAGES: Final = {
    "card_declined": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


def _test_card(token: str) -> _Card | None:
    if token in _CARD_PROFILES:
        return _Card(*_CARD_PROFILES[token])
    if token in _DECLINING_METHODS:
        return _Card("visa", "0002", "credit", decline=_DECLINING_METHODS[token])
    if token.startswith("pm_card_declined_"):
        return _Card("visa", "0002", "credit", decline=("card_declined", token[17:]))
    if token == "pm_card_authenticationRequired":
        return _Card("visa", "3184", "credit", needs_authentication=True)
    return None


def _fee_cents(amount: int, card_present: bool) -> int:
    """Stripe's standard US prices: 2.9% + 30c online, 2.7% + 5c in person, half up."""
    basis_points, fixed = (270, 5) if card_present else (290, 30)
    return (amount * basis_points + 5000) // 10000 + fixed


def _card_error(code: str, decline_code: str | None, **extra: Any) -> FakeStripeError:
    error: dict[str, Any] = {
        "type": "card_error",
        "code": code,
        "message": _DECLINE_MESSAGES.get(code, "Your card was declined."),
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        **extra,
    }
    if decline_code is not None:
        error["decline_code"] = decline_code
    return FakeStripeError(402, error)


def _invalid(
    message: str,
    *,
    code: str | None = None,
    status: int = 400,
    param: str | None = None,
) -> FakeStripeError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return FakeStripeError(status, error)


def _error_body(error: FakeStripeError) -> bytes:
    return json.dumps({"error": error.error}).encode()


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(f"Invalid integer: {value}", param=name) from None
    if number <= 0:
        raise _invalid("This value must be greater than or equal to 1.", param=name)
    return number


def _flag(value: Any) -> bool:
    return value in (True, "true", "True")


def _expand_path(obj: Any, path: list[str], objects: dict[str, dict[str, Any]]) -> None:
    if not path or not isinstance(obj, dict):
        return
    name, rest = path[0], path[1:]
    value = obj.get(name)
    if isinstance(value, str) and value in objects:
        value = copy.deepcopy(objects[value])
        obj[name] = value
    _expand_path(value, rest, objects)


class _StepClock:
    """A clock for the fake alone: a fixed start that moves one second a call."""

    def __init__(self, start: int = 1_772_438_400) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now
