"""Money on its way to the bank: processor payouts and desk deposits of cash and checks."""

from __future__ import annotations

from datetime import date

from ona_ledger.billing.common import (
    BANK,
    CLEARING_PROCESSOR,
    CLEARING_UNDEPOSITED,
    EntryType,
)
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import PaymentError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money


def record_payout(
    ledger: Ledger, payout_id: str, amount: Money, arrival_date: date, *, actor: str
) -> JournalEntry:
    """Post a processor payout reaching the bank; the payout id lets reconciliation match it."""
    if amount.cents <= 0:
        raise PaymentError(f"payout {payout_id} amount {amount} must be more than zero")
    return ledger.post(
        Entry(
            effective_date=arrival_date,
            narration=f"Processor payout {payout_id}",
            postings=(Posting(BANK, amount), Posting(CLEARING_PROCESSOR, -amount)),
            actor=actor,
            meta={"type": EntryType.PAYOUT.value, "payout_id": payout_id},
            idempotency_key=f"payout:{payout_id}",
        )
    )


def record_deposit(
    ledger: Ledger, batch_id: str, amount: Money, deposit_date: date, *, actor: str
) -> JournalEntry:
    """Post a desk deposit of cash and checks taken to the bank as one batch."""
    if amount.cents <= 0:
        raise PaymentError(f"deposit {batch_id} amount {amount} must be more than zero")
    undeposited = ledger.balance(CLEARING_UNDEPOSITED).posted
    if amount > undeposited:
        raise PaymentError(
            f"deposit {batch_id} of {amount} is more than the {undeposited} of cash and "
            "checks not yet deposited"
        )
    return ledger.post(
        Entry(
            effective_date=deposit_date,
            narration=f"Desk deposit {batch_id}",
            postings=(Posting(BANK, amount), Posting(CLEARING_UNDEPOSITED, -amount)),
            actor=actor,
            meta={"type": EntryType.DEPOSIT.value, "deposit_batch": batch_id},
            idempotency_key=f"deposit:{batch_id}",
        )
    )
