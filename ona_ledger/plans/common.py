"""Account names, record kinds and the claim and off-session charge helpers plans share."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Final

from ona_ledger.billing.common import (
    CLEARING_PROCESSOR,
    CLEARING_UNDEPOSITED,
    PROCESSOR_FEES,
)
from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    Processor,
    RefundResult,
)
from ona_ledger.entries import Posting
from ona_ledger.errors import PaymentDeclinedError, PlanError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

DEFERRED_GIFT_CARDS: Final = "Liabilities:Deferred:GiftCards"
DEFERRED_PACKAGES: Final = "Liabilities:Deferred:Packages"
DEFERRED_MEMBERSHIPS: Final = "Liabilities:Deferred:Memberships"
INCOME_MEMBERSHIPS: Final = "Income:Memberships"
INCOME_PACKAGES: Final = "Income:Packages"
INCOME_BREAKAGE: Final = "Income:Breakage"

RECORD_PLAN: Final = "payment_plan"
RECORD_MEMBERSHIP: Final = "membership"
RECORD_PACKAGE: Final = "package"
RECORD_GIFT_CARD: Final = "gift_card"
RECORD_GIFT_CARD_CODE: Final = "gift_card_code"
RECORD_CLAIM: Final = "autopay_claim"

# A claim older than this was left by a runner that died mid-charge; a later
# run may take it over. Re-charging is safe because the processor's
# idempotency key is the same for the same attempt.
CLAIM_TIMEOUT: Final = timedelta(hours=1)


def today(ledger: Ledger) -> date:
    return ledger.clock().date()


def require_positive(amount: Money, what: str) -> None:
    if not isinstance(amount, Money):
        raise TypeError(f"{what} must be Money, not {type(amount).__name__}")
    if amount.cents <= 0:
        raise PlanError(f"{what} is {amount}; it must be more than zero")


def claim_attempt(
    ledger: Ledger, attempt_key: str, runner_id: str
) -> dict[str, Any] | None:
    """Claim one charge attempt for this runner; return None when another holds it.

    The claim is written under the book lock (`Ledger.atomic`), so of two
    runners reading the same attempt only the first writes a claim and the
    second sees it. A finished attempt is never claimed again; a claim left by
    a runner that died is taken over after CLAIM_TIMEOUT.
    """
    now = ledger.clock()
    with ledger.atomic() as tx:
        earlier = tx.store.get_record(tx.book_id, RECORD_CLAIM, attempt_key)
        if earlier is not None:
            if earlier["status"] == "done":
                return None
            claimed_at = datetime.fromisoformat(earlier["claimed_at"])
            fresh = now - claimed_at < CLAIM_TIMEOUT
            if earlier["status"] == "claimed" and fresh:
                return None
            logger.info(
                "autopay attempt %s: taking over the %s claim of runner %s",
                attempt_key,
                earlier["status"],
                earlier["runner"],
            )
        claim = {
            "attempt": attempt_key,
            "runner": runner_id,
            "claimed_at": now.isoformat(),
            "status": "claimed",
        }
        tx.store.put_record(tx.book_id, RECORD_CLAIM, attempt_key, claim)
    return claim


def finish_claim(ledger: Ledger, claim: dict[str, Any], outcome: str) -> None:
    """Mark a claimed attempt as done, so no runner charges it again."""
    done = dict(claim, status="done", outcome=outcome)
    ledger.store.put_record(ledger.book_id, RECORD_CLAIM, claim["attempt"], done)


def release_claim(ledger: Ledger, claim: dict[str, Any], problem: str) -> None:
    """Give a claimed attempt back after an error that charged nothing."""
    released = dict(claim, status="released", problem=problem)
    ledger.store.put_record(ledger.book_id, RECORD_CLAIM, claim["attempt"], released)


def claim_status(ledger: Ledger, attempt_key: str) -> str | None:
    record = ledger.store.get_record(ledger.book_id, RECORD_CLAIM, attempt_key)
    return None if record is None else str(record["status"])


class OffSessionProcessor:
    """A processor wrapper that marks every charge as merchant-initiated (off session).

    Autopay charges a saved card while the patient is not there, which
    processors such as Stripe must be told (`off_session`).
    """

    def __init__(self, inner: Processor):
        self.inner = inner
        self.name = inner.name

    def charge(self, request: ChargeRequest) -> ChargeResult:
        return self.inner.charge(replace(request, off_session=True))

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        return self.inner.refund(charge_id, amount, idempotency_key)


def charge_card(
    ledger: Ledger,
    processor: Processor,
    card_token: str,
    amount: Money,
    key: str,
    description: str,
    patient_id: str,
) -> ChargeResult:
    """Charge a card for a sale or a fee; the idempotency key makes a replay charge once."""
    if not card_token:
        raise PlanError(f"{description}: a card payment needs the card token")
    return processor.charge(
        ChargeRequest(
            amount=amount,
            payment_method=card_token,
            idempotency_key=f"{ledger.book_id}:{key}",
            description=description,
            metadata={"patient": patient_id, "reference": key},
        )
    )


def card_postings(
    charge: ChargeResult, amount: Money, **dimensions: str
) -> list[Posting]:
    """Debit the processor clearing account for a captured charge, net of its fee."""
    fee = charge.fee or Money.zero()
    postings = [Posting.with_dimensions(CLEARING_PROCESSOR, amount - fee, dimensions)]
    if fee.cents:
        postings.append(Posting.with_dimensions(PROCESSOR_FEES, fee, dimensions))
    return postings


def sale_postings(
    ledger: Ledger,
    processor: Processor | None,
    card_token: str | None,
    amount: Money,
    key: str,
    description: str,
    patient_id: str,
    dimensions: dict[str, str],
) -> tuple[ChargeResult | None, list[Posting]]:
    """Take the money for a sale: charge the card when a processor is given, else cash.

    Returns the charge (None for cash) and the postings of the money received.
    A declined card raises PaymentDeclinedError and nothing is charged.
    """
    if processor is None:
        cash = Posting.with_dimensions(CLEARING_UNDEPOSITED, amount, dimensions)
        return None, [cash]

    charge = charge_card(
        ledger, processor, card_token or "", amount, key, description, patient_id
    )
    if charge.status is not ChargeStatus.SUCCEEDED:
        category = charge.decline_category
        raise PaymentDeclinedError(
            f"card for {description[:1].lower()}{description[1:]} was declined "
            f"({charge.decline_code}); use another card",
            charge.decline_code or "",
            category.value if category else "",
        )
    return charge, card_postings(charge, amount, **dimensions)


def undo_charge(processor: Processor, charge: ChargeResult, book_id: str) -> None:
    """Refund a charge whose entry did not post, so no money is kept without a record."""
    logger.warning("refunding charge %s: its entry did not post", charge.processor_id)
    processor.refund(
        charge.processor_id, charge.amount, f"{book_id}:undo:{charge.processor_id}"
    )
