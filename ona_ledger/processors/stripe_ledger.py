"""Stripe money into the ledger: captured charges, refunds booked from cumulative totals, disputes and payouts."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from ona_ledger.accounts import chart_account
from ona_ledger.billing.common import (
    BANK,
    CLEARING_PROCESSOR,
    RECEIVABLE_PATIENTS,
    RECORD_PAYMENT,
    EntryType,
)
from ona_ledger.billing.deposits import record_payout
from ona_ledger.billing.payments import (
    RECORD_PAYMENT_ATTEMPT,
    Payment,
    PaymentMethod,
    collect_payment,
    get_payment,
    refund_payment,
)
from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundResult,
)
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import (
    IdempotencyConflictError,
    ProcessorError,
    WebhookEventError,
)
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.processors.stripe import StripeProcessor

logger = logging.getLogger(__name__)

CHARGEBACKS: Final = "Expenses:Chargebacks"
PAYOUT_SUSPENSE: Final = "Liabilities:Suspense:Payouts"
RECORD_STRIPE_PAYOUT: Final = "stripe_payout"
RECORD_STRIPE_DISPUTE: Final = "stripe_dispute"
ACTOR: Final = "stripe"
# Ids from charge metadata reach postings and narrations, so they must be opaque
# ids of the same shape as visit ids: never a name or a birth date.
_OPAQUE_ID: Final = re.compile(r"[A-Za-z0-9._\-]{1,120}")


class _AlreadyCaptured:
    """A Processor that reports a charge Stripe already made, so billing posts it without a new charge."""

    name = "stripe"

    def __init__(self, result: ChargeResult, refund_id: str = ""):
        self.result = result
        self.refund_id = refund_id

    def charge(self, request: ChargeRequest) -> ChargeResult:
        return self.result

    def refund(
        self, charge_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        if not self.refund_id:
            raise ProcessorError(
                f"charge {charge_id} was captured in Stripe but its payment could not "
                "post; refund it in Stripe or post it by hand"
            )
        return RefundResult(self.refund_id, amount)


def stripe_date(timestamp: int) -> date:
    """Return the UTC date of a Stripe timestamp (seconds since the epoch)."""
    return datetime.fromtimestamp(int(timestamp), UTC).date()


def require_int(obj: Mapping[str, Any], name: str, what: str) -> int:
    """Return the integer field `name` of a Stripe object; raise WebhookEventError otherwise.

    Stripe sends amounts in minor units and timestamps in seconds, both as
    JSON integers, so a float, a string, a bool or a missing field is rejected
    rather than truncated.
    """
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        shown = "missing" if value is None else f"{type(value).__name__} {value!r}"
        raise WebhookEventError(
            f"{what} field {name!r} is {shown}, not an integer; Stripe sends amounts "
            "in minor units and timestamps in seconds as integers, so check the event"
        )
    return value


def require_text(obj: Mapping[str, Any], name: str, what: str) -> str:
    """Return the non-empty string field `name` of a Stripe object; raise WebhookEventError otherwise."""
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise WebhookEventError(
            f"{what} field {name!r} is missing or not a string; check the event"
        )
    return value


def _metadata_id(metadata: Mapping[str, Any], name: str, charge_id: str) -> str | None:
    """Return an opaque id from charge metadata, None when absent; raise on any other shape.

    The message leaves the value out, because a value of the wrong shape may be
    a patient's name or birth date.
    """
    value = metadata.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _OPAQUE_ID.fullmatch(value):
        raise WebhookEventError(
            f"Stripe charge {charge_id} metadata {name!r} is not an opaque id (1 to 120 "
            "letters, digits, '.', '_' or '-'); set our own id there, never a name or "
            "birth date. The value is not shown because it may hold patient details"
        )
    return value


def post_captured_charge(
    ledger: Ledger, processor: StripeProcessor, charge: Mapping[str, Any]
) -> Payment | None:
    """Post a succeeded Stripe charge as a payment once, by the payment id in its metadata.

    A payment already posted (by the synchronous response or an earlier event)
    is returned as it is. Charges without our metadata are not ours and return None.
    """
    charge_id = require_text(charge, "id", "Stripe charge")
    metadata = charge.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise WebhookEventError(
            f"Stripe charge {charge_id} metadata is not an object; check the event"
        )
    payment_id = _metadata_id(metadata, "payment_id", charge_id)
    patient_id = _metadata_id(metadata, "patient", charge_id)
    if charge.get("status") != "succeeded" or not payment_id or not patient_id:
        return None
    if metadata.get("book", ledger.book_id) != ledger.book_id:
        return None
    what = f"Stripe charge {charge_id}"
    currency = require_text(charge, "currency", what).upper()
    amount = Money.from_minor(require_int(charge, "amount", what), currency)
    # NOTE: an event arriving while the desk's own collect_payment still waits for
    # Stripe posts first, and that call then fails on its idempotency key.
    record = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT, payment_id)
    if record is not None:
        if _undone_attempt(ledger, payment_id, charge_id):
            logger.info(
                "Stripe charge %s was an undone attempt of payment %s; ignored",
                charge_id,
                payment_id,
            )
            return None
        _check_same_charge(record, charge_id, patient_id, amount)
        return get_payment(ledger, payment_id)
    effective_date = stripe_date(require_int(charge, "created", what))
    captured = ChargeResult(
        ChargeStatus.SUCCEEDED,
        amount,
        processor_id=charge_id,
        fee=processor.charge_fee(charge),
        hsa_fsa=metadata.get("hsa_fsa") == "true",
    )
    invoice = _metadata_id(metadata, "invoice", charge_id)
    payment = collect_payment(
        ledger,
        patient_id,
        amount,
        PaymentMethod.CARD,
        actor=ACTOR,
        invoices=[invoice] if invoice else None,
        allow_credit=True,
        processor=_AlreadyCaptured(captured),
        card_token=str(charge.get("payment_method") or charge_id),
        payment_id=payment_id,
        effective_date=effective_date,
    )
    logger.info("Stripe charge %s posted as payment %s", charge_id, payment_id)
    return payment


def _undone_attempt(ledger: Ledger, payment_id: str, charge_id: str) -> bool:
    """True when billing refunded this charge because its payment did not post."""
    record = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT_ATTEMPT, payment_id)
    return record is not None and any(
        attempt["processor_id"] == charge_id and attempt["outcome"] == "refunded"
        for attempt in record["attempts"]
    )


def _check_same_charge(
    record: Mapping[str, Any], charge_id: str, patient_id: str, amount: Money
) -> None:
    """Raise IdempotencyConflictError when a charge names a payment posted with other details."""
    posted = Money.of(record["amount"], amount.currency)
    conflicts = []
    if record["patient_id"] != patient_id:
        conflicts.append(f"patient {patient_id}, not {record['patient_id']}")
    if posted != amount:
        conflicts.append(f"amount {amount}, not {posted}")
    if record["processor_id"] and record["processor_id"] != charge_id:
        conflicts.append(f"charge {charge_id}, not {record['processor_id']}")
    if not conflicts:
        return
    logger.error(
        "Stripe charge %s names payment %s, posted with other details: %s",
        charge_id,
        record["payment_id"],
        "; ".join(conflicts),
    )
    raise IdempotencyConflictError(
        f"Stripe charge {charge_id} names payment {record['payment_id']}, which was "
        f"posted with other details ({'; '.join(conflicts)}); check the charge's "
        "metadata in Stripe, and refund or post it by hand"
    )


def book_refunds(
    ledger: Ledger, charge: Mapping[str, Any], event_created: int
) -> JournalEntry | None:
    """Book what Stripe refunded on a charge beyond what the ledger already holds.

    `amount_refunded` is cumulative, so only the change since the refunds the
    ledger booked is posted; a stale total (an older event arriving late) posts nothing.
    """
    payment_id = (charge.get("metadata") or {}).get("payment_id")
    record = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT, payment_id or "")
    if record is None:
        return None
    what = f"Stripe charge {charge.get('id')}"
    currency = require_text(charge, "currency", what).upper()
    total = Money.from_minor(require_int(charge, "amount_refunded", what), currency)
    booked = Money.from_minor(
        sum(Money.of(r["amount"], currency).cents for r in record["refunds"]), currency
    )
    change = total - booked
    if change.cents <= 0:
        return None
    refunds = (charge.get("refunds") or {}).get("data") or []
    refund_id = str(refunds[0]["id"]) if refunds else f"{charge['id']}:refunded"
    refund = refund_payment(
        ledger,
        payment_id or "",
        change,
        actor=ACTOR,
        reason="refunded in Stripe",
        processor=_AlreadyCaptured(
            ChargeResult(ChargeStatus.SUCCEEDED, change), refund_id=refund_id
        ),
        idempotency_key=f"stripe:{charge['id']}:refunded-to-{total.cents}",
        effective_date=stripe_date(event_created),
    )
    logger.info("Stripe refunds on %s booked: %s more", charge["id"], change)
    return refund.entry


def book_dispute(
    ledger: Ledger, dispute: Mapping[str, Any], payment: Payment
) -> list[JournalEntry]:
    """Post each of a dispute's balance transactions once: funds withdrawn with the fee, or reinstated.

    A withdrawal reopens what the payment paid (Receivable:Patients) and books
    the dispute fee to Expenses:Chargebacks, both out of Clearing:Processor; a
    reinstatement after a win puts the same lines back.
    """
    posted = []
    for txn in dispute.get("balance_transactions") or []:
        amount = int(txn["amount"])
        entry = _dispute_entry(ledger, dispute, payment, txn, amount)
        posted.append(ledger.post(entry))
    ledger.store.put_record(
        ledger.book_id,
        RECORD_STRIPE_DISPUTE,
        str(dispute["id"]),
        {
            "charge": dispute["charge"],
            "payment_id": payment.payment_id,
            "status": dispute.get("status"),
            "balance_transactions": [
                t["id"] for t in dispute.get("balance_transactions") or []
            ],
        },
    )
    return posted


def _dispute_entry(
    ledger: Ledger,
    dispute: Mapping[str, Any],
    payment: Payment,
    txn: Mapping[str, Any],
    amount_cents: int,
) -> Entry:
    currency = str(txn["currency"]).upper()
    fee = Money.from_minor(int(txn["fee"]), currency)
    disputed = Money.from_minor(abs(amount_cents), currency)
    sign = 1 if amount_cents < 0 else -1
    postings = _receivable_postings(payment, disputed, sign)
    postings.append(
        Posting(CLEARING_PROCESSOR, Money.from_minor(amount_cents, currency) - fee)
    )
    if fee.cents:
        postings.append(Posting(CHARGEBACKS, fee))
    withdrawn = amount_cents < 0
    return Entry(
        effective_date=stripe_date(txn["created"]),
        narration=(
            f"Chargeback {dispute['id']}: funds {'withdrawn' if withdrawn else 'reinstated'} "
            f"on payment {payment.payment_id}"
        ),
        postings=tuple(p for p in postings if p.amount.cents),
        actor=ACTOR,
        reason=f"card dispute ({dispute.get('reason') or 'no reason given'})",
        links=tuple(sorted({invoice for invoice, _, _ in payment.applied})),
        meta={
            "type": "chargeback" if withdrawn else "chargeback_reversal",
            "dispute_id": str(dispute["id"]),
            "payment_id": payment.payment_id,
            "processor_id": str(dispute["charge"]),
            "balance_transaction": str(txn["id"]),
        },
        idempotency_key=f"stripe:dispute:{txn['id']}",
    )


def _receivable_postings(payment: Payment, amount: Money, sign: int) -> list[Posting]:
    """Reopen (sign 1) or close again (sign -1) the lines a payment paid, last applied first."""
    record_lines = list(reversed(payment.applied))
    postings = []
    remaining = amount
    dimensions = _line_dimensions(payment)
    for _invoice, line, paid in record_lines:
        part = min(paid, remaining)
        if part.cents <= 0:
            continue
        postings.append(
            Posting.with_dimensions(RECEIVABLE_PATIENTS, part * sign, dimensions[line])
        )
        remaining = remaining - part
    if remaining.cents:
        # The part the payment left as credit: owed again by the patient, on no line.
        postings.append(
            Posting(RECEIVABLE_PATIENTS, remaining * sign, patient=payment.patient_id)
        )
    return postings


def _line_dimensions(payment: Payment) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for posting in payment.entry.postings:
        if posting.account == RECEIVABLE_PATIENTS and posting.invoice_line:
            result[posting.invoice_line] = posting.dimensions()
    return result


def book_payout(
    ledger: Ledger,
    payout: Mapping[str, Any],
    balance_transactions: list[Mapping[str, Any]],
) -> JournalEntry:
    """Post a paid payout from Clearing:Processor to the bank, explaining it by its balance transactions.

    Any part of the payout that the listed transactions do not explain gets its
    own line on Liabilities:Suspense:Payouts for the accountant to clear.
    """
    currency = str(payout["currency"]).upper()
    amount = Money.from_minor(int(payout["amount"]), currency)
    arrival = stripe_date(payout["arrival_date"])
    listed = [t for t in balance_transactions if t["type"] != "payout"]
    explained = Money.from_minor(sum(int(t["net"]) for t in listed), currency)
    remainder = amount - explained
    if remainder.is_zero():
        entry = record_payout(ledger, str(payout["id"]), amount, arrival, actor=ACTOR)
    else:
        if all(account.name != PAYOUT_SUSPENSE for account in ledger.accounts()):
            ledger.open_account(chart_account(PAYOUT_SUSPENSE, currency))
        logger.warning(
            "Stripe payout %s: %s not explained by its %d balance transactions",
            payout["id"],
            remainder,
            len(listed),
        )
        entry = ledger.post(
            Entry(
                effective_date=arrival,
                narration=f"Processor payout {payout['id']}",
                postings=(
                    Posting(BANK, amount),
                    Posting(CLEARING_PROCESSOR, -explained),
                    Posting(PAYOUT_SUSPENSE, -remainder),
                ),
                actor=ACTOR,
                meta={
                    "type": EntryType.PAYOUT.value,
                    "payout_id": str(payout["id"]),
                    "unexplained": str(remainder),
                },
                idempotency_key=f"payout:{payout['id']}",
            )
        )
    ledger.store.put_record(
        ledger.book_id,
        RECORD_STRIPE_PAYOUT,
        str(payout["id"]),
        {
            "payout_id": str(payout["id"]),
            "amount": str(amount),
            "arrival_date": arrival.isoformat(),
            "explained": str(explained),
            "unexplained": str(remainder),
            "balance_transactions": [str(t["id"]) for t in listed],
            "entry_seq": entry.seq,
        },
    )
    return entry
