"""The card processor protocol billing calls, and the decline categories every processor shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ona_ledger.money import Money


class DeclineCategory(StrEnum):
    """What to do after a decline; payment plans schedule retries by these."""

    RETRY_LATER = "retry_later"
    NEW_CARD = "new_card"
    PATIENT_PRESENT = "patient_present"
    UNCLEAR = "unclear"


# Decline codes as Stripe names them (stripe.com/docs/declines/codes); other
# processors map their codes onto these names.
_CATEGORIES: dict[str, DeclineCategory] = {
    "insufficient_funds": DeclineCategory.RETRY_LATER,
    "processing_error": DeclineCategory.RETRY_LATER,
    "try_again_later": DeclineCategory.RETRY_LATER,
    "issuer_not_available": DeclineCategory.RETRY_LATER,
    "reenter_transaction": DeclineCategory.RETRY_LATER,
    "approve_with_id": DeclineCategory.RETRY_LATER,
    "card_velocity_exceeded": DeclineCategory.RETRY_LATER,
    "withdrawal_count_limit_exceeded": DeclineCategory.RETRY_LATER,
    "expired_card": DeclineCategory.NEW_CARD,
    "lost_card": DeclineCategory.NEW_CARD,
    "stolen_card": DeclineCategory.NEW_CARD,
    "pickup_card": DeclineCategory.NEW_CARD,
    "incorrect_number": DeclineCategory.NEW_CARD,
    "invalid_account": DeclineCategory.NEW_CARD,
    "fraudulent": DeclineCategory.NEW_CARD,
    "card_not_supported": DeclineCategory.NEW_CARD,
    "restricted_card": DeclineCategory.NEW_CARD,
    "account_closed": DeclineCategory.NEW_CARD,
    "authentication_required": DeclineCategory.PATIENT_PRESENT,
    # Stripe's next step is to retry with the correct CVC. A saved card stores no
    # CVC, so an off-session retry declines again until the patient re-enters it.
    "incorrect_cvc": DeclineCategory.PATIENT_PRESENT,
    "do_not_honor": DeclineCategory.UNCLEAR,
    "generic_decline": DeclineCategory.UNCLEAR,
    "call_issuer": DeclineCategory.UNCLEAR,
    "no_action_taken": DeclineCategory.UNCLEAR,
}


def classify_decline(decline_code: str | None) -> DeclineCategory:
    """Return the category of a decline code; unknown codes are unclear."""
    return _CATEGORIES.get(decline_code or "", DeclineCategory.UNCLEAR)


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """A card charge as billing asks for it; the card is a processor token, never a number."""

    amount: Money
    payment_method: str
    idempotency_key: str
    description: str = ""
    customer: str | None = None
    off_session: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What the processor did with a charge."""

    status: ChargeStatus
    amount: Money
    processor_id: str = ""
    fee: Money | None = None
    decline_code: str | None = None
    message: str = ""
    card_brand: str = ""
    card_last4: str = ""
    hsa_fsa: bool = False

    @property
    def decline_category(self) -> DeclineCategory | None:
        return (
            None
            if self.status is ChargeStatus.SUCCEEDED
            else classify_decline(self.decline_code)
        )


@dataclass(frozen=True, slots=True)
class RefundResult:
    processor_id: str
    amount: Money
    status: str = "succeeded"


class Processor(Protocol):
    """A card processor: charges a tokenised card and refunds a charge."""

    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult: ...
