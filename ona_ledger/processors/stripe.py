"""The Stripe adapter: billing's Processor over the official SDK, plus cards on file, pay links and Terminal.

Every idempotency key sent to Stripe is built from our own ids (book, payment,
invoice, plan instalment, attempt), so a retried call never charges twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import stripe

from ona_ledger.billing.invoices import InvoiceStatus, get_invoice
from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundResult,
)
from ona_ledger.errors import (
    InvalidInputError,
    InvoiceStateError,
    PaymentError,
    ProcessorError,
)
from ona_ledger.ledger import Ledger, system_clock
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

# Stripe Checkout sessions expire between 30 minutes and 24 hours after creation.
PAY_LINK_EXPIRY_MIN: Final = timedelta(minutes=30)
PAY_LINK_EXPIRY_MAX: Final = timedelta(hours=24)
HSA_FSA_METADATA_KEY: Final = "hsa_fsa"


@dataclass(frozen=True)
class StripeConfig:
    """The host's Stripe settings; the key and the secret never appear in repr or logs."""

    api_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_base: str | None = None
    max_network_retries: int = 2
    checkout_success_url: str = ""
    clinic_name: str = "Your clinic"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StripeConfig:
        """Read ONA_STRIPE_API_KEY, ONA_STRIPE_WEBHOOK_SECRET and the optional rest.

        `environ` defaults to os.environ, read at call time so that no default
        value (and no secret in it) shows in help text or generated docs.
        """
        if environ is None:
            environ = os.environ
        missing = [
            name
            for name in ("ONA_STRIPE_API_KEY", "ONA_STRIPE_WEBHOOK_SECRET")
            if not environ.get(name)
        ]
        if missing:
            raise InvalidInputError(
                f"Stripe settings {', '.join(missing)} are missing; set them in the "
                "environment or build StripeConfig directly"
            )
        return cls(
            api_key=environ["ONA_STRIPE_API_KEY"],
            webhook_secret=environ["ONA_STRIPE_WEBHOOK_SECRET"],
            api_base=environ.get("ONA_STRIPE_API_BASE") or None,
            checkout_success_url=environ.get("ONA_STRIPE_SUCCESS_URL", ""),
            clinic_name=environ.get("ONA_CLINIC_NAME", "Your clinic"),
        )


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A SetupIntent the host's page confirms with Stripe.js to save a card."""

    setup_intent_id: str
    client_secret: str = field(repr=False)
    customer_id: str


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A card on file: a payment method token attached to a Stripe customer."""

    payment_method: str
    customer_id: str
    brand: str
    last4: str
    hsa_fsa: bool


@dataclass(frozen=True, slots=True)
class OnlinePayment:
    """A PaymentIntent for an invoice's balance, for the host's payment page."""

    payment_intent_id: str
    client_secret: str = field(repr=False)
    amount: Money
    payment_id: str


@dataclass(frozen=True, slots=True)
class PayLink:
    """A text-to-pay link for one invoice and the message body to send with it."""

    url: str
    session_id: str
    expires_at: datetime
    amount: Money
    payment_id: str
    message: str


@dataclass(frozen=True, slots=True)
class TerminalPayment:
    """A card_present PaymentIntent handed to a reader."""

    payment_intent_id: str
    reader_id: str
    payment_id: str
    reader_action_status: str


def instalment_key(book_id: str, plan_id: str, instalment: int, attempt: int) -> str:
    """Return the idempotency key of one attempt at one payment plan instalment."""
    return f"{book_id}:plan:{plan_id}:instalment-{instalment}:attempt-{attempt}"


class StripeProcessor:
    """Billing's Processor on Stripe, through the official SDK's StripeClient."""

    name = "stripe"

    def __init__(
        self,
        config: StripeConfig,
        *,
        http_client: stripe.HTTPClient | None = None,
        clock: Callable[[], datetime] = system_clock,
    ):
        if not config.api_key:
            raise InvalidInputError("Stripe API key is empty; set StripeConfig.api_key")
        self.config = config
        self.clock = clock
        self.client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base or stripe.DEFAULT_API_BASE},
            max_network_retries=config.max_network_retries,
            http_client=http_client,
        )

    # Processor protocol -----------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent; a decline returns a DECLINED result."""
        params: Any = {
            "amount": request.amount.cents,
            "currency": request.amount.currency.lower(),
            "payment_method": request.payment_method,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": dict(request.metadata),
            "expand": ["latest_charge.balance_transaction", "payment_method"],
        }
        if request.description:
            params["description"] = request.description
        if request.customer:
            params["customer"] = request.customer
        if request.off_session:
            params["off_session"] = True
        try:
            intent = self.client.v1.payment_intents.create(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.CardError as error:
            return _declined(request.amount, error)
        except stripe.StripeError as error:
            raise _processor_error("charge", request.idempotency_key, error) from error
        return self.result_of_intent(intent, request.amount, request.metadata)

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        """Refund part or all of a Stripe charge."""
        try:
            refund = self.client.v1.refunds.create(
                {"charge": charge_id, "amount": amount.cents},
                {"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            raise PaymentError(
                f"Stripe rejected the refund of {amount} on charge {charge_id}: "
                f"{error.user_message}; check what is left to refund on the charge"
            ) from error
        except stripe.StripeError as error:
            raise _processor_error("refund", idempotency_key, error) from error
        return RefundResult(
            refund.id,
            Money.from_minor(refund.amount, amount.currency),
            refund.status or "",
        )

    def result_of_intent(
        self,
        intent: stripe.PaymentIntent,
        amount: Money,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        """Read a confirmed PaymentIntent (latest_charge expanded) as a ChargeResult."""
        if intent.status == "requires_action":
            return ChargeResult(
                ChargeStatus.REQUIRES_ACTION,
                amount,
                processor_id=intent.id,
                decline_code="authentication_required",
                message="the patient must authenticate this payment",
            )
        if intent.status != "succeeded":
            error = intent.last_payment_error
            code = (error.decline_code or error.code) if error else None
            return ChargeResult(
                ChargeStatus.DECLINED,
                amount,
                processor_id=intent.id,
                decline_code=code,
                message=f"payment intent {intent.id} is {intent.status}",
            )
        charge = self._expanded_charge(intent.latest_charge)
        details = charge.payment_method_details
        card: Any = None
        if details is not None:
            card = details.card if details.type == "card" else details.card_present
        return ChargeResult(
            ChargeStatus.SUCCEEDED,
            Money.from_minor(charge.amount, amount.currency),
            processor_id=charge.id,
            fee=self.charge_fee(charge),
            card_brand=getattr(card, "brand", "") or "",
            card_last4=getattr(card, "last4", "") or "",
            hsa_fsa=_is_hsa_fsa(metadata, intent.payment_method),
        )

    def charge_fee(self, charge: stripe.Charge | Mapping[str, Any]) -> Money:
        """Return a charge's processing fee, read from its balance transaction."""
        txn = charge["balance_transaction"]
        currency = str(charge["currency"]).upper()
        if txn is None:
            return Money.zero(currency)
        if isinstance(txn, str):
            txn = self.client.v1.balance_transactions.retrieve(txn)
        return Money.from_minor(int(txn["fee"]), currency)

    def _expanded_charge(self, latest: str | stripe.Charge | None) -> stripe.Charge:
        if latest is None:
            raise ProcessorError(
                "Stripe returned a succeeded payment intent with no charge"
            )
        if isinstance(latest, str):
            return self.client.v1.charges.retrieve(
                latest, {"expand": ["balance_transaction"]}
            )
        return latest

    # Cards on file ----------------------------------------------------------

    def create_customer(self, book_id: str, patient_id: str) -> str:
        """Create the Stripe customer of a patient; only the opaque patient id is sent."""
        customer = self._call(
            "create customer",
            f"{book_id}:customer:{patient_id}",
            lambda options: self.client.v1.customers.create(
                {"metadata": {"book": book_id, "patient": patient_id}}, options
            ),
        )
        return str(customer.id)

    def start_card_setup(
        self, book_id: str, customer_id: str, *, setup_id: str
    ) -> CardSetup:
        """Create an off-session SetupIntent for the host's page to save a card."""
        intent = self._call(
            "card setup",
            f"{book_id}:card-setup:{setup_id}",
            lambda options: self.client.v1.setup_intents.create(
                {
                    "customer": customer_id,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {"book": book_id, "setup_id": setup_id},
                },
                options,
            ),
        )
        return CardSetup(intent.id, intent.client_secret or "", customer_id)

    def confirm_card_setup(
        self, book_id: str, setup: CardSetup, payment_method: str, *, setup_id: str
    ) -> SavedCard:
        """Confirm a SetupIntent server-side with a payment method token and return the saved card."""
        try:
            self.client.v1.setup_intents.confirm(
                setup.setup_intent_id,
                {"payment_method": payment_method},
                {"idempotency_key": f"{book_id}:card-setup:{setup_id}:confirm"},
            )
        except stripe.CardError as error:
            code = error.error.decline_code if error.error else None
            raise PaymentError(
                f"Stripe declined the card saved by setup {setup_id} "
                f"({code or error.code}); ask the patient for another card"
            ) from error
        return self.saved_card(setup.setup_intent_id)

    def saved_card(self, setup_intent_id: str) -> SavedCard:
        """Return the card a succeeded SetupIntent saved."""
        intent = self.client.v1.setup_intents.retrieve(
            setup_intent_id, {"expand": ["payment_method"]}
        )
        if intent.status != "succeeded" or intent.payment_method is None:
            raise PaymentError(
                f"setup intent {setup_intent_id} is {intent.status}, so no card is saved "
                "yet; wait for the patient to finish the card form"
            )
        method: Any = intent.payment_method
        card = method.card
        return SavedCard(
            payment_method=method.id,
            customer_id=str(intent.customer),
            brand=card.brand if card else "",
            last4=card.last4 if card else "",
            hsa_fsa=_is_hsa_fsa(None, method),
        )

    def flag_hsa_fsa(self, payment_method: str) -> None:
        """Mark a saved card as an HSA/FSA card: Stripe's card object does not say so."""
        self._call(
            "flag HSA/FSA card",
            f"hsa-flag:{payment_method}",
            lambda options: self.client.v1.payment_methods.update(
                payment_method, {"metadata": {HSA_FSA_METADATA_KEY: "true"}}, options
            ),
        )

    # Online payments and text-to-pay ----------------------------------------

    def create_invoice_payment(
        self, ledger: Ledger, invoice_id: str, *, attempt: int = 1
    ) -> OnlinePayment:
        """Create a PaymentIntent for an invoice's patient balance; the webhook posts it."""
        invoice = _payable_invoice(ledger, invoice_id, "an online payment")
        payment_id = f"{invoice_id}-WEB{attempt}"
        intent = self._call(
            "invoice payment intent",
            f"{ledger.book_id}:invoice-intent:{invoice_id}:{attempt}",
            lambda options: self.client.v1.payment_intents.create(
                {
                    "amount": invoice.patient_due.cents,
                    "currency": invoice.patient_due.currency.lower(),
                    "payment_method_types": ["card"],
                    "metadata": _payment_metadata(
                        ledger.book_id, invoice.patient_id, payment_id, invoice_id
                    ),
                    "description": f"Invoice {invoice_id}",
                },
                options,
            ),
        )
        return OnlinePayment(
            intent.id, intent.client_secret or "", invoice.patient_due, payment_id
        )

    def create_pay_link(
        self,
        ledger: Ledger,
        invoice_id: str,
        *,
        expires_in: timedelta = PAY_LINK_EXPIRY_MAX,
        attempt: int = 1,
    ) -> PayLink:
        """Create a Checkout Session paying one invoice's balance, and the text to send with it."""
        if not PAY_LINK_EXPIRY_MIN <= expires_in <= PAY_LINK_EXPIRY_MAX:
            raise InvalidInputError(
                f"pay link expiry {expires_in} is outside what Stripe Checkout allows; "
                "pass between 30 minutes and 24 hours"
            )
        if not self.config.checkout_success_url:
            raise InvalidInputError(
                "StripeConfig.checkout_success_url is empty; set the page patients "
                "return to after paying"
            )
        invoice = _payable_invoice(ledger, invoice_id, "a pay link")
        payment_id = f"{invoice_id}-LINK{attempt}"
        expires_at = self.clock().astimezone(UTC) + expires_in
        amount = invoice.patient_due
        metadata = _payment_metadata(
            ledger.book_id, invoice.patient_id, payment_id, invoice_id
        )
        session = self._call(
            "pay link",
            f"{ledger.book_id}:pay-link:{invoice_id}:{attempt}",
            lambda options: self.client.v1.checkout.sessions.create(
                {
                    "mode": "payment",
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": amount.currency.lower(),
                                "unit_amount": amount.cents,
                                "product_data": {"name": f"Invoice {invoice_id}"},
                            },
                        }
                    ],
                    "expires_at": int(expires_at.timestamp()),
                    "client_reference_id": invoice_id,
                    "success_url": self.config.checkout_success_url,
                    "metadata": metadata,
                    "payment_intent_data": {
                        "metadata": metadata,
                        "description": f"Invoice {invoice_id}",
                    },
                },
                options,
            ),
        )
        message = (
            f"{self.config.clinic_name}: invoice {invoice_id} has {amount.format()} due. "
            f"Pay securely at {session.url} (link expires "
            f"{expires_at:%b %d, %H:%M} UTC)."
        )
        return PayLink(
            session.url or "", session.id, expires_at, amount, payment_id, message
        )

    # Terminal ---------------------------------------------------------------

    def start_terminal_payment(
        self,
        book_id: str,
        patient_id: str,
        amount: Money,
        reader_id: str,
        *,
        payment_id: str,
        invoice_id: str | None = None,
    ) -> TerminalPayment:
        """Create a card_present PaymentIntent and hand it to a Terminal reader."""
        metadata = _payment_metadata(book_id, patient_id, payment_id, invoice_id)
        intent = self._call(
            "terminal payment intent",
            f"{book_id}:terminal:{payment_id}:intent",
            lambda options: self.client.v1.payment_intents.create(
                {
                    "amount": amount.cents,
                    "currency": amount.currency.lower(),
                    "payment_method_types": ["card_present"],
                    "capture_method": "automatic",
                    "metadata": metadata,
                },
                options,
            ),
        )
        reader = self._call(
            "terminal reader",
            f"{book_id}:terminal:{payment_id}:reader",
            lambda options: self.client.v1.terminal.readers.process_payment_intent(
                reader_id, {"payment_intent": intent.id}, options
            ),
        )
        status = reader.action.status if reader.action else ""
        return TerminalPayment(intent.id, reader_id, payment_id, status or "")

    def terminal_result(self, payment: TerminalPayment, amount: Money) -> ChargeResult:
        """Read the outcome of a reader payment once the reader's action has finished."""
        intent = self.client.v1.payment_intents.retrieve(
            payment.payment_intent_id,
            {"expand": ["latest_charge.balance_transaction", "payment_method"]},
        )
        return self.result_of_intent(intent, amount, intent.metadata)

    def _call(self, what: str, key: str, request: Callable[[Any], Any]) -> Any:
        try:
            return request({"idempotency_key": key})
        except stripe.StripeError as error:
            raise _processor_error(what, key, error) from error


def _payment_metadata(
    book_id: str, patient_id: str, payment_id: str, invoice_id: str | None
) -> dict[str, str]:
    """Metadata that lets the webhook post a payment: opaque ids only, never names."""
    metadata = {"book": book_id, "patient": patient_id, "payment_id": payment_id}
    if invoice_id:
        metadata["invoice"] = invoice_id
    return metadata


def _payable_invoice(ledger: Ledger, invoice_id: str, what: str) -> Any:
    invoice = get_invoice(ledger, invoice_id)
    if invoice.status in (
        InvoiceStatus.PAID,
        InvoiceStatus.VOID,
        InvoiceStatus.IN_CREDIT,
    ):
        raise InvoiceStateError(
            f"invoice {invoice_id} is {invoice.status.value}, so {what} cannot be "
            "created for it; nothing is due from the patient"
        )
    if invoice.patient_due.cents <= 0:
        raise InvoiceStateError(
            f"invoice {invoice_id} has nothing due from the patient "
            f"({invoice.insurance_pending} is still with the payer); {what} waits "
            "until the payer has paid"
        )
    return invoice


def _is_hsa_fsa(metadata: Mapping[str, str] | None, method: Any) -> bool:
    """An HSA/FSA card is flagged by the host, in the request or on the saved card."""
    if metadata and metadata.get(HSA_FSA_METADATA_KEY) == "true":
        return True
    method_metadata = getattr(method, "metadata", None) or {}
    return bool(method_metadata.get(HSA_FSA_METADATA_KEY) == "true")


def _declined(amount: Money, error: stripe.CardError) -> ChargeResult:
    detail = error.error
    code = (detail.decline_code if detail else None) or error.code
    intent = detail.payment_intent if detail else None
    logger.info("Stripe declined a charge: %s", code)
    return ChargeResult(
        ChargeStatus.DECLINED,
        amount,
        processor_id=intent.id if intent is not None else "",
        decline_code=code,
        message=error.user_message or "",
    )


def _processor_error(what: str, key: str, error: stripe.StripeError) -> ProcessorError:
    logger.warning(
        "Stripe %s failed (idempotency key %s, HTTP %s): %s",
        what,
        key,
        error.http_status,
        type(error).__name__,
    )
    return ProcessorError(
        f"Stripe {what} failed with {type(error).__name__} (HTTP {error.http_status}): "
        f"{error.user_message}; retry with the same ids, which reuse idempotency key {key}"
    )
