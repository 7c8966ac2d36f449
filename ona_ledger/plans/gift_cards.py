"""Gift cards: sale as a liability, redemption as a payment, codes kept only as hashes.

The card id in the ledger (`plan` dimension) is an opaque number, never the
redeemable code: the code is shown once at sale, and only its SHA-256 hash is
stored, so neither the journal, an export nor a database dump can be used to
redeem a card.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from dateutil.relativedelta import relativedelta

from ona_ledger.billing.common import RECEIVABLE_PATIENTS
from ona_ledger.billing.payments import allocate_to_lines, open_lines
from ona_ledger.billing.processing import Processor
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import (
    BalanceLimitError,
    LedgerError,
    PlanError,
)
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.plans.common import (
    DEFERRED_GIFT_CARDS,
    INCOME_BREAKAGE,
    RECORD_GIFT_CARD,
    RECORD_GIFT_CARD_CODE,
    require_positive,
    sale_postings,
    today,
    undo_charge,
)

logger = logging.getLogger(__name__)

# The US CARD Act (15 U.S.C. 1693l-1, Regulation E 12 CFR 1005.20) forbids
# gift card funds expiring within five years of issue.
MIN_EXPIRY_YEARS: Final = 5
# 20 characters of Crockford's base32 alphabet: 100 bits, grouped for reading.
_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH: Final = 20


@dataclass(frozen=True, slots=True)
class IssuedGiftCard:
    """A sold card: its ledger id and the code, which the library shows only here."""

    card_id: str
    code: str
    amount: Money
    expires_on: date | None


def new_code() -> str:
    """Return a fresh unguessable code, such as 7K3M-...; from the secrets module."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[index : index + 5] for index in range(0, _CODE_LENGTH, 5))


def code_hash(code: str) -> str:
    """Return the stored form of a code: SHA-256 of the code without dashes or spaces.

    A plain hash suffices because codes carry 100 random bits, far beyond any
    brute-force search; nothing here is a low-entropy secret like a password.
    """
    normal = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normal.encode("ascii", "replace")).hexdigest()


def sell_gift_card(
    ledger: Ledger,
    amount: Money,
    *,
    actor: str,
    processor: Processor | None = None,
    card_token: str | None = None,
    expires_on: date | None = None,
    purchaser: str | None = None,
) -> IssuedGiftCard:
    """Sell a gift card paid by card (processor and token) or cash; returns the code once.

    Cards never expire unless `expires_on` is given, which must be at least
    five years after the sale.
    """
    require_positive(amount, "gift card amount")
    day = today(ledger)
    if expires_on is not None and expires_on < day + relativedelta(
        years=MIN_EXPIRY_YEARS
    ):
        raise PlanError(
            f"gift card expiry {expires_on} is less than {MIN_EXPIRY_YEARS} years after "
            f"the sale on {day}; the CARD Act forbids it. Pass a later date or none"
        )
    card_id = f"GC-{ledger.store.next_sequence(ledger.book_id, 'gift_card'):06d}"
    code = new_code()
    dims: dict[str, str] = {"plan": card_id}
    if purchaser:
        dims["patient"] = purchaser
    charge, postings = sale_postings(
        ledger, processor, card_token, amount, f"gift-card:{card_id}",
        f"Gift card {card_id}", purchaser or "", dims,
    )  # fmt: skip
    postings.append(Posting(DEFERRED_GIFT_CARDS, -amount, plan=card_id))
    record: dict[str, Any] = {
        "card_id": card_id,
        "code_hash": code_hash(code),
        "amount_cents": amount.cents,
        "sold_on": day.isoformat(),
        "expires_on": expires_on.isoformat() if expires_on else None,
        "broken": False,
    }
    try:
        with ledger.atomic() as tx:
            tx.post(
                Entry(
                    effective_date=day,
                    narration=f"Gift card {card_id} sold",
                    postings=tuple(postings),
                    actor=actor,
                    meta={"type": "gift_card_sale"},
                    idempotency_key=f"gift-card-sale:{card_id}",
                )
            )
            tx.store.put_record(tx.book_id, RECORD_GIFT_CARD, card_id, record)
            tx.store.put_record(
                tx.book_id,
                RECORD_GIFT_CARD_CODE,
                record["code_hash"],
                {"card_id": card_id},
            )
    except LedgerError:
        if charge is not None and processor is not None:
            undo_charge(processor, charge, ledger.book_id)
        raise
    logger.info("gift card %s sold for %s", card_id, amount)
    return IssuedGiftCard(card_id, code, amount, expires_on)


def find_card(ledger: Ledger, code: str) -> str:
    """Return the card id of a code, or raise when no card has it."""
    found = ledger.store.get_record(
        ledger.book_id, RECORD_GIFT_CARD_CODE, code_hash(code)
    )
    if found is None:
        raise PlanError("gift card code is not valid; check the code and try again")
    return str(found["card_id"])


def gift_card_balance(ledger: Ledger, card_id: str) -> Money:
    return ledger.balance(DEFERRED_GIFT_CARDS, plan=card_id).posted


def redeem_gift_card(
    ledger: Ledger,
    code: str,
    patient_id: str,
    amount: Money,
    *,
    actor: str,
    invoices: Sequence[str] | None = None,
    redemption_id: str | None = None,
) -> JournalEntry:
    """Pay a patient's open invoice lines from a gift card.

    The card's balance never goes below zero, also with concurrent
    redemptions: the ledger's balance limit on Deferred:GiftCards per card is
    checked under the book lock, and this read-then-post runs in one
    `Ledger.atomic` block. A replayed `redemption_id` posts nothing new.
    """
    require_positive(amount, "gift card redemption")
    card_id = find_card(ledger, code)
    record = ledger.store.get_record(ledger.book_id, RECORD_GIFT_CARD, card_id)
    assert record is not None
    day = today(ledger)
    if record["broken"] or (
        record["expires_on"] and date.fromisoformat(record["expires_on"]) < day
    ):
        raise PlanError(f"gift card {card_id} expired on {record['expires_on']}")
    key = f"gift-card-redeem:{redemption_id}" if redemption_id else None
    with ledger.atomic() as tx:
        available = gift_card_balance(tx, card_id)
        if amount > available:
            raise PlanError(
                f"gift card {card_id} has {available} left; a redemption of {amount} "
                "is more than that. Redeem at most the balance"
            )
        allocation = allocate_to_lines(open_lines(tx, patient_id, invoices), amount)
        if allocation.credit.cents:
            raise PlanError(
                f"patient {patient_id} has {amount - allocation.credit} open; redeem at "
                f"most that, not {amount}"
            )
        postings = [
            Posting(DEFERRED_GIFT_CARDS, amount, plan=card_id, patient=patient_id)
        ]
        postings += [
            Posting.with_dimensions(RECEIVABLE_PATIENTS, -part, line.dimensions)
            for line, part in allocation.lines
        ]
        try:
            return tx.post(
                Entry(
                    effective_date=day,
                    narration=f"Gift card {card_id} redeemed by patient {patient_id}",
                    postings=tuple(postings),
                    actor=actor,
                    links=tuple(sorted({line.invoice for line, _ in allocation.lines})),
                    meta={"type": "gift_card_redemption", "card_id": card_id},
                    idempotency_key=key,
                )
            )
        except BalanceLimitError as error:
            raise PlanError(
                f"gift card {card_id} has less than {amount} left: {error}"
            ) from error


def record_gift_card_breakage(ledger: Ledger, as_of: date) -> Money:
    """Recognise the balance of cards that expired before `as_of` as Income:Breakage.

    Breakage policy: only a card with an expiry date (at least five years after
    sale) ever breaks, on the day after it expires, for its whole remaining
    balance; cards without one stay a liability. Many states instead require
    unclaimed balances to be reported as unclaimed property, so a clinic sets
    expiry dates only where its state allows breakage.
    """
    total = Money.zero()
    for card_id, _ in ledger.store.list_records(ledger.book_id, RECORD_GIFT_CARD):
        with ledger.atomic() as tx:
            record = tx.store.get_record(tx.book_id, RECORD_GIFT_CARD, card_id)
            assert record is not None
            expiry = record["expires_on"]
            if (
                record["broken"]
                or expiry is None
                or date.fromisoformat(expiry) >= as_of
            ):
                continue
            left = gift_card_balance(tx, card_id)
            if left.cents > 0:
                tx.post(
                    Entry(
                        effective_date=as_of,
                        narration=f"Gift card {card_id} expired unredeemed",
                        postings=(
                            Posting(DEFERRED_GIFT_CARDS, left, plan=card_id),
                            Posting(INCOME_BREAKAGE, -left, plan=card_id),
                        ),
                        actor="autopay",
                        meta={"type": "gift_card_breakage"},
                        idempotency_key=f"gift-card-breakage:{card_id}",
                    )
                )
                total = total + left
            record["broken"] = True
            tx.store.put_record(tx.book_id, RECORD_GIFT_CARD, card_id, record)
    return total


def gift_card_record(ledger: Ledger, card_id: str) -> dict[str, Any]:
    record = ledger.store.get_record(ledger.book_id, RECORD_GIFT_CARD, card_id)
    if record is None:
        raise PlanError(f"gift card {card_id} does not exist in book {ledger.book_id}")
    return record
