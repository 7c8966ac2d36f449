"""An offline card processor for the demo and tests: tokens, approvals, declines, fees and payouts."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundResult,
)
from ona_ledger.errors import PaymentError
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

# Test card numbers and the decline code each produces, after Stripe's
# published test cards (stripe.com/docs/testing); any other valid number approves.
TEST_CARD_DECLINES: Final = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
    "4000000000000127": "incorrect_cvc",
    "4100000000000019": "fraudulent",
    "4000002760003184": "authentication_required",
    "4000000000000259": "do_not_honor",
}
# Cards the simulator reports as HSA/FSA cards.
TEST_HSA_CARDS: Final = frozenset({"4000056655665556"})

FEE_PERCENT_BASIS_POINTS: Final = (
    290  # 2.9% + 30 cents, Stripe's standard US card price
)
FEE_FIXED_CENTS: Final = 30


def processing_fee(amount: Money) -> Money:
    """Return the simulated fee of a charge, rounded half up to the cent."""
    variable = (amount.cents * FEE_PERCENT_BASIS_POINTS + 5000) // 10000
    return Money(variable + FEE_FIXED_CENTS, amount.currency)


@dataclass
class _Card:
    last4: str
    brand: str
    decline_code: str | None
    hsa_fsa: bool


@dataclass
class _Charge:
    charge_id: str
    amount: Money
    fee: Money
    refunded: Money
    paid_out: bool = False
    refunds_paid_out: Money = field(default_factory=Money.zero)


@dataclass
class SimulatedPayout:
    payout_id: str
    amount: Money
    arrival_date: date
    charge_ids: list[str] = field(default_factory=list)


class SimulatorProcessor:
    """A deterministic in-memory processor: the same calls always give the same ids."""

    name = "simulator"

    def __init__(self) -> None:
        self._cards: dict[str, _Card] = {}
        self._charges: dict[str, _Charge] = {}
        self._by_key: dict[str, ChargeResult] = {}
        self._refunds: dict[str, RefundResult] = {}
        self._payouts = 0

    def tokenize(self, card_number: str) -> str:
        """Return a token for a test card number; the number itself is not kept."""
        digits = card_number.replace(" ", "")
        if not digits.isdigit() or not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
            raise PaymentError(
                "card number is not a valid test card (Luhn check failed); use a test "
                "number such as 4242 4242 4242 4242"
            )
        token = "tok_sim_" + hashlib.sha256(digits.encode()).hexdigest()[:16]
        self._cards[token] = _Card(
            last4=digits[-4:],
            brand="visa" if digits.startswith("4") else "card",
            decline_code=TEST_CARD_DECLINES.get(digits),
            hsa_fsa=digits in TEST_HSA_CARDS,
        )
        return token

    def charge(self, request: ChargeRequest) -> ChargeResult:
        earlier = self._by_key.get(request.idempotency_key)
        if earlier is not None:
            return earlier
        card = self._cards.get(request.payment_method)
        if card is None:
            raise PaymentError(
                f"payment method {request.payment_method!r} is not a token of this "
                "processor; tokenize the card first"
            )
        if card.decline_code is not None:
            result = ChargeResult(
                ChargeStatus.DECLINED,
                request.amount,
                decline_code=card.decline_code,
                message=f"card ending {card.last4} declined: {card.decline_code}",
                card_brand=card.brand,
                card_last4=card.last4,
            )
        else:
            charge_id = (
                "ch_sim_"
                + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:16]
            )
            fee = processing_fee(request.amount)
            self._charges[charge_id] = _Charge(
                charge_id, request.amount, fee, Money.zero()
            )
            result = ChargeResult(
                ChargeStatus.SUCCEEDED,
                request.amount,
                processor_id=charge_id,
                fee=fee,
                card_brand=card.brand,
                card_last4=card.last4,
                hsa_fsa=card.hsa_fsa,
            )
        self._by_key[request.idempotency_key] = result
        logger.debug("simulated charge %s: %s", request.idempotency_key, result.status)
        return result

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        earlier = self._refunds.get(idempotency_key)
        if earlier is not None:
            return earlier
        charge = self._charges.get(charge_id)
        if charge is None:
            raise PaymentError(f"charge {charge_id} is not known to the simulator")
        if charge.refunded + amount > charge.amount:
            raise PaymentError(
                f"charge {charge_id} has {charge.amount - charge.refunded} left to refund; "
                f"a refund of {amount} is more than that"
            )
        charge.refunded = charge.refunded + amount
        result = RefundResult(
            "re_sim_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16],
            amount,
        )
        self._refunds[idempotency_key] = result
        return result

    def payout(self, arrival_date: date) -> SimulatedPayout | None:
        """Pay out every charge not yet paid out, net of fees and of refunds not yet netted.

        A refund of a charge that was already paid out comes off the next payout.
        """
        pending = [
            c
            for c in self._charges.values()
            if not c.paid_out or c.refunded != c.refunds_paid_out
        ]
        if not pending:
            return None
        net = Money.zero()
        for charge in pending:
            if not charge.paid_out:
                net = net + charge.amount - charge.fee
            net = net - (charge.refunded - charge.refunds_paid_out)
            charge.paid_out = True
            charge.refunds_paid_out = charge.refunded
        self._payouts += 1
        return SimulatedPayout(
            f"po_sim_{self._payouts:04d}",
            net,
            arrival_date,
            [c.charge_id for c in pending],
        )


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
