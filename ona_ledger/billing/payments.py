"""Payments at the desk and online, split tender, patient credit, refunds and adjustments.

Every payment applies to invoice lines, so collections per provider are exact;
what exceeds the open lines becomes patient credit only when the caller allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Final

from ona_ledger.billing.common import (
    BANK,
    CLEARING_PROCESSOR,
    CLEARING_UNDEPOSITED,
    PATIENT_CREDIT,
    PROCESSOR_FEES,
    RECEIVABLE_PATIENTS,
    RECORD_INVOICE,
    RECORD_PAYMENT,
    EntryType,
)
from ona_ledger.billing.processing import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    Processor,
)
from ona_ledger.entries import Entry, JournalEntry, Posting, PostingStatus
from ona_ledger.errors import (
    AccountClosedError,
    CurrencyMismatchError,
    IdempotencyConflictError,
    LedgerError,
    PaymentDeclinedError,
    PaymentError,
    PeriodClosedError,
    ProcessorError,
)
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, allocate

logger = logging.getLogger(__name__)

# Card attempts of a payment id that ended without a posted payment (declined,
# or charged and refunded because the post failed), keyed by payment id.
RECORD_PAYMENT_ATTEMPT: Final = "payment_attempt"

# Dimensions a line's receivable carries that a payment on it copies.
_LINE_DIMENSIONS = (
    "patient",
    "invoice",
    "invoice_line",
    "visit",
    "provider",
    "location",
)


class PaymentMethod(StrEnum):
    CASH = "cash"
    CHECK = "check"
    CARD = "card"
    HSA_FSA_CARD = "hsa_fsa_card"
    ACH = "ach"

    @property
    def deposit_account(self) -> str:
        """The account the money sits in until it reaches the bank."""
        if self in (PaymentMethod.CASH, PaymentMethod.CHECK):
            return CLEARING_UNDEPOSITED
        if self is PaymentMethod.ACH:
            return BANK
        return CLEARING_PROCESSOR

    @property
    def is_card(self) -> bool:
        return self in (PaymentMethod.CARD, PaymentMethod.HSA_FSA_CARD)


class AdjustmentReason(StrEnum):
    """Reason codes of patient-side adjustments, each with its contra-revenue account."""

    COURTESY = "courtesy"
    SMALL_BALANCE = "small_balance"
    BAD_DEBT = "bad_debt"
    ADMINISTRATIVE = "administrative"

    @property
    def account(self) -> str:
        names = {
            AdjustmentReason.COURTESY: "Courtesy",
            AdjustmentReason.SMALL_BALANCE: "SmallBalance",
            AdjustmentReason.BAD_DEBT: "BadDebt",
            AdjustmentReason.ADMINISTRATIVE: "Administrative",
        }
        return f"Income:Adjustments:{names[self]}"


@dataclass(frozen=True, slots=True)
class Tender:
    """One part of a checkout: an amount and how it is paid."""

    amount: Money
    method: PaymentMethod
    check_number: str | None = None
    card_token: str | None = None


@dataclass(frozen=True, slots=True)
class OpenLine:
    """An invoice line with an open patient balance, and the dimensions it carries."""

    invoice: str
    invoice_line: str
    open: Money
    dimensions: dict[str, str]
    first_date: date


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment as posted: where it went, line by line, and any credit it left."""

    payment_id: str
    patient_id: str
    method: PaymentMethod
    amount: Money
    entry: JournalEntry
    applied: tuple[tuple[str, str, Money], ...]
    credit: Money
    processor_id: str = ""
    fee: Money | None = None
    hsa_fsa: bool = False


@dataclass(frozen=True, slots=True)
class Refund:
    payment_id: str
    amount: Money
    entry: JournalEntry
    processor_id: str = ""


@dataclass
class _Allocation:
    lines: list[tuple[OpenLine, Money]] = field(default_factory=list)
    credit: Money = field(default_factory=Money.zero)


def open_lines(
    ledger: Ledger, patient_id: str, invoices: Sequence[str] | None = None
) -> list[OpenLine]:
    """Return a patient's invoice lines with an open balance, oldest first."""
    # Only the patient's receivable postings on invoice lines are read, through
    # the invoice (or patient) index, not whole entries.
    postings = ledger.store.line_postings(
        ledger.book_id, RECEIVABLE_PATIENTS, patient_id, invoices
    )
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for day, posting in postings:
        assert posting.invoice is not None and posting.invoice_line is not None
        key = (posting.invoice, posting.invoice_line)
        line = lines.setdefault(key, {"open": Money.zero(), "first": day, "dims": {}})
        line["open"] = line["open"] + posting.amount
        line["first"] = min(line["first"], day)
        dims = posting.dimensions()
        line["dims"] = {name: dims[name] for name in _LINE_DIMENSIONS if name in dims}
    result = [
        OpenLine(invoice, line_id, data["open"], data["dims"], data["first"])
        for (invoice, line_id), data in lines.items()
        if data["open"].cents > 0
    ]
    order = {invoice: index for index, invoice in enumerate(invoices or ())}
    return sorted(
        result,
        key=lambda line: (
            order.get(line.invoice, 0),
            line.first_date,
            line.invoice,
            line.invoice_line,
        ),
    )


def allocate_to_lines(lines: Sequence[OpenLine], amount: Money) -> _Allocation:
    """Apply an amount to open lines: invoices oldest first, each invoice's lines pro rata.

    The cents left over within an invoice go to its lines by the largest
    remainder, so the parts always sum to the amount applied.
    """
    result = _Allocation()
    remaining = amount
    invoices: dict[str, list[OpenLine]] = {}
    for line in lines:
        invoices.setdefault(line.invoice, []).append(line)
    for invoice_lines in invoices.values():
        if remaining.cents <= 0:
            break
        invoice_open = Money(sum(line.open.cents for line in invoice_lines))
        applied = min(remaining, invoice_open)
        if applied == invoice_open:
            parts = [line.open for line in invoice_lines]
        else:
            parts = allocate(applied, [line.open.cents for line in invoice_lines])
        result.lines.extend(
            (line, part)
            for line, part in zip(invoice_lines, parts, strict=True)
            if part.cents
        )
        remaining = remaining - applied
    result.credit = remaining
    return result


def collect_payment(
    ledger: Ledger,
    patient_id: str,
    amount: Money,
    method: PaymentMethod | str,
    *,
    actor: str,
    invoices: Sequence[str] | None = None,
    allow_credit: bool = False,
    check_number: str | None = None,
    processor: Processor | None = None,
    card_token: str | None = None,
    payment_id: str | None = None,
    effective_date: date | None = None,
) -> Payment:
    """Take a payment and apply it to the patient's open invoice lines.

    Named invoices are paid in the order given; otherwise the oldest open
    invoices first. More than is open raises unless `allow_credit`, when the
    excess becomes patient credit; that check runs before a card is charged.
    A card is charged through `processor` with an idempotency key made from
    `payment_id`, the card token and the attempt number, so a retried call never
    charges twice. A decline raises PaymentDeclinedError and posts nothing. The
    period, the accounts and the amount are checked before the card is charged.
    A charge whose post still fails is refunded and its attempt recorded, so a
    retry with the same payment id makes a new charge rather than reusing the
    refunded one. A payment id posted before returns that payment when the
    details match and raises otherwise.
    """
    method = _payment_method(method)
    invoices = _invoice_ids(invoices)
    tender = Tender(amount, method, check_number, card_token)
    _check_payment_input(amount, method, check_number, processor, card_token)
    day = effective_date or ledger.clock().date()
    payment_id = (
        payment_id or f"PAY-{ledger.store.next_sequence(ledger.book_id, 'payment'):06d}"
    )
    earlier = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT, payment_id)
    if earlier is not None:
        _check_same_payment(earlier, patient_id, tender)
        return _payment_from_record(ledger, earlier)
    _check_invoices(ledger, patient_id, invoices)
    _check_fits(ledger, patient_id, amount, invoices, allow_credit)
    _check_postable(
        ledger,
        day,
        _payment_accounts([tender], allow_credit),
        f"payment {payment_id}",
        amount.currency,
    )

    charge = None
    if method.is_card:
        assert processor is not None
        charge = _charge_card(ledger, processor, patient_id, payment_id, tender)
    charges = [] if charge is None else [(payment_id, charge)]
    with (
        _undo_charges_on_error(ledger, processor, charges),
        ledger.atomic() as tx,
    ):
        record, entry = _post_payment(
            tx,
            patient_id,
            tender,
            payment_id,
            charge,
            processor,
            actor=actor,
            invoices=invoices,
            allow_credit=allow_credit,
            day=day,
        )
    logger.info("payment %s posted as entry %s", payment_id, entry.id)
    return _payment_from_record(ledger, record, entry)


def checkout(
    ledger: Ledger,
    patient_id: str,
    tenders: Sequence[Tender],
    *,
    actor: str,
    invoices: Sequence[str] | None = None,
    allow_credit: bool = False,
    processor: Processor | None = None,
    checkout_id: str | None = None,
    effective_date: date | None = None,
) -> list[Payment]:
    """Pay one checkout with several tenders, such as cash plus card.

    Together the tenders may not exceed what is open unless `allow_credit`.
    The period and accounts are checked first. Then every card is charged
    before anything posts, and all tenders post in one transaction. A declined
    card refunds the cards already charged, records those attempts and posts
    nothing, so a retry with the same checkout id charges each card anew. A
    checkout id posted before returns its payments.
    """
    if isinstance(tenders, str | bytes) or not tenders:
        raise PaymentError(
            "a checkout needs at least one tender; pass a list of Tender objects"
        )
    invoices = _invoice_ids(invoices)
    tenders = [
        replace(tender, method=_payment_method(tender.method)) for tender in tenders
    ]
    for tender in tenders:
        _check_payment_input(
            tender.amount,
            tender.method,
            tender.check_number,
            processor,
            tender.card_token,
        )
    base = (
        checkout_id
        or f"CHK-{ledger.store.next_sequence(ledger.book_id, 'checkout'):06d}"
    )
    payment_ids = [f"{base}-{index + 1}" for index in range(len(tenders))]
    earlier = [
        ledger.store.get_record(ledger.book_id, RECORD_PAYMENT, payment_id)
        for payment_id in payment_ids
    ]
    if any(record is not None for record in earlier):
        for record, tender in zip(earlier, tenders, strict=True):
            if record is None:
                raise PaymentError(
                    f"checkout {base} was posted with fewer tenders; send the same "
                    "tenders again, or use a new checkout id"
                )
            _check_same_payment(record, patient_id, tender)
        return [
            _payment_from_record(ledger, record)
            for record in earlier
            if record is not None
        ]
    _check_invoices(ledger, patient_id, invoices)
    tendered = Money(sum(t.amount.cents for t in tenders))
    due = Money(
        sum(line.open.cents for line in open_lines(ledger, patient_id, invoices))
    )
    if tendered > due and not allow_credit:
        raise PaymentError(
            f"tenders of {tendered} exceed the {due} open for patient {patient_id}; lower a "
            "tender or pass allow_credit=True to keep the excess as patient credit"
        )

    day = effective_date or ledger.clock().date()
    for currency in sorted({tender.amount.currency for tender in tenders}):
        _check_postable(
            ledger,
            day,
            _payment_accounts(tenders, allow_credit),
            f"checkout {base}",
            currency,
        )

    charges: dict[int, ChargeResult] = {}
    charged: list[tuple[str, ChargeResult]] = []
    with _undo_charges_on_error(ledger, processor, charged):
        for index, tender in enumerate(tenders):
            if tender.method.is_card:
                assert processor is not None
                charges[index] = _charge_card(
                    ledger, processor, patient_id, payment_ids[index], tender
                )
                charged.append((payment_ids[index], charges[index]))
        posted: list[tuple[dict[str, Any], JournalEntry]] = []
        with ledger.atomic() as tx:
            for index, tender in enumerate(tenders):
                posted.append(
                    _post_payment(
                        tx,
                        patient_id,
                        tender,
                        payment_ids[index],
                        charges.get(index),
                        processor,
                        actor=actor,
                        invoices=invoices,
                        allow_credit=allow_credit,
                        day=day,
                    )
                )
    logger.info("checkout %s posted %d tenders", base, len(posted))
    return [_payment_from_record(ledger, record, entry) for record, entry in posted]


def apply_credit(
    ledger: Ledger,
    patient_id: str,
    *,
    actor: str,
    invoices: Sequence[str] | None = None,
    amount: Money | None = None,
    effective_date: date | None = None,
) -> JournalEntry | None:
    """Apply a patient's credit to open invoice lines; return None when nothing applies."""
    invoices = _invoice_ids(invoices)
    if amount is not None and amount.cents <= 0:
        raise PaymentError(
            f"credit to apply for patient {patient_id} is {amount}; it must be more "
            "than zero, or pass no amount to apply all the credit that fits"
        )
    _check_invoices(ledger, patient_id, invoices)
    with ledger.atomic() as tx:
        available = tx.balance(PATIENT_CREDIT, patient=patient_id).posted
        lines = open_lines(tx, patient_id, invoices)
        due = Money(sum(line.open.cents for line in lines))
        wanted = min(available, due) if amount is None else amount
        if amount is not None and amount > available:
            raise PaymentError(
                f"patient {patient_id} has {available} of credit; applying {amount} is more "
                "than that"
            )
        if wanted.cents <= 0:
            return None
        allocation = allocate_to_lines(lines, wanted)
        if allocation.credit.cents:
            raise PaymentError(
                f"patient {patient_id} has {due} open; applying {wanted} of credit is more "
                "than that"
            )
        postings = credit_draw_postings(tx, patient_id, wanted)
        postings += [
            Posting.with_dimensions(RECEIVABLE_PATIENTS, -part, line.dimensions)
            for line, part in allocation.lines
        ]
        return tx.post(
            Entry(
                effective_date=effective_date or tx.clock().date(),
                narration=f"Credit of {wanted} applied for patient {patient_id}",
                postings=tuple(postings),
                actor=actor,
                links=tuple(sorted({line.invoice for line, _ in allocation.lines})),
                meta={"type": EntryType.CREDIT_APPLIED.value},
            )
        )


def credit_draw_postings(
    ledger: Ledger, patient_id: str, amount: Money, prefer_invoice: str | None = None
) -> list[Posting]:
    """Debit `amount` of a patient's credit, from the invoices the credit came from.

    Credit left on an invoice (an overpaid or voided invoice) is drawn from that
    invoice, so the invoice stops reading "in credit" once its credit is used.
    `prefer_invoice` is drawn first, then credit with no invoice, then the
    other invoices by id.
    """
    by_invoice: dict[str | None, Money] = {}
    for entry in ledger.entries(patient=patient_id, account=PATIENT_CREDIT):
        for posting in entry.postings:
            if posting.account != PATIENT_CREDIT or posting.patient != patient_id:
                continue
            if posting.status is not PostingStatus.POSTED:
                continue
            credit_on_invoice = by_invoice.get(posting.invoice, Money.zero())
            by_invoice[posting.invoice] = credit_on_invoice - posting.amount
    order = sorted(
        by_invoice,
        key=lambda invoice: (
            invoice is None or invoice != prefer_invoice,
            invoice is not None,
            invoice or "",
        ),
    )
    postings = []
    remaining = amount
    for invoice in order:
        part = min(remaining, by_invoice[invoice])
        if part.cents <= 0:
            continue
        postings.append(
            Posting(PATIENT_CREDIT, part, patient=patient_id, invoice=invoice)
        )
        remaining = remaining - part
    if remaining.cents:
        # More than the patient has in credit: the balance limit rejects the post.
        postings.append(Posting(PATIENT_CREDIT, remaining, patient=patient_id))
    return postings


def refund_payment(
    ledger: Ledger,
    payment_id: str,
    amount: Money,
    *,
    actor: str,
    reason: str,
    processor: Processor | None = None,
    idempotency_key: str | None = None,
    effective_date: date | None = None,
) -> Refund:
    """Refund all or part of a payment to its original method.

    The refund first takes back what the payment left as patient credit, then
    reopens the lines it paid, last applied first. A payment is never refunded
    beyond what it paid. The period, accounts and amount are checked before the
    processor refunds the card, and the processor's refunded amount must equal
    `amount`. Pass the same `idempotency_key` on a retry; the same key with
    another amount raises IdempotencyConflictError.
    """
    if not reason:
        raise PaymentError(f"a refund of payment {payment_id} needs a reason")
    if amount.cents <= 0:
        raise PaymentError(f"refund amount {amount} must be more than zero")
    day = effective_date or ledger.clock().date()
    with ledger.atomic() as tx:
        record = tx.store.get_record(tx.book_id, RECORD_PAYMENT, payment_id)
        if record is None:
            raise PaymentError(
                f"payment {payment_id} does not exist in book {tx.book_id}"
            )
        number = len(record["refunds"]) + 1
        key = idempotency_key or f"{payment_id}-R{number}"
        earlier_refund = _earlier_refund(tx, record, key, amount)
        if earlier_refund is not None:
            return earlier_refund
        paid = Money.of(record["amount"])
        refunded = Money(sum(Money.of(r["amount"]).cents for r in record["refunds"]))
        left = paid - refunded
        if amount > left:
            raise PaymentError(
                f"payment {payment_id} of {paid} has {left} left to refund; a refund of "
                f"{amount} is more than that"
            )
        method = PaymentMethod(record["method"])
        if method.is_card and processor is None:
            raise PaymentError(
                f"refunding card payment {payment_id} needs its processor"
            )
        # Postings and period first: a refund the ledger cannot post must not
        # reach the card.
        postings, from_credit, reopened = _refund_postings(tx, record, amount, method)
        _check_postable(
            tx,
            day,
            {p.account for p in postings},
            f"refund {key} of {payment_id}",
            amount.currency,
        )
        processor_id = ""
        if method.is_card:
            assert processor is not None
            processor_id = _refund_card(
                processor, record["processor_id"], amount, f"{tx.book_id}:{key}"
            )
        entry = _post_refund(
            tx,
            Entry(
                effective_date=day,
                narration=f"Refund {key} of payment {payment_id}",
                postings=tuple(postings),
                actor=actor,
                reason=reason,
                links=tuple(sorted({a["invoice"] for a in record["applied"]})),
                meta={
                    "type": EntryType.REFUND.value,
                    "payment_id": payment_id,
                    "method": method.value,
                    "processor_id": processor_id,
                },
                idempotency_key=f"refund:{key}",
            ),
            processor_id,
        )
        record["refunds"].append(
            {
                "key": key,
                "amount": str(amount),
                "entry_seq": entry.seq,
                "processor_id": processor_id,
                "from_credit": str(from_credit),
                "reopened": reopened,
            }
        )
        tx.store.put_record(tx.book_id, RECORD_PAYMENT, payment_id, record)
    logger.info("refund %s of payment %s posted as entry %s", key, payment_id, entry.id)
    return Refund(payment_id, amount, entry, processor_id)


def adjust_invoice(
    ledger: Ledger,
    invoice_id: str,
    amount: Money,
    reason_code: AdjustmentReason | str,
    *,
    actor: str,
    reason: str,
    effective_date: date | None = None,
) -> JournalEntry:
    """Write off or discount part of an invoice's patient balance, pro rata across its lines.

    The adjustment posts to the reason code's contra-revenue account with the
    actor and reason; undo it with Ledger.reverse. `reason_code` may be the
    enum member or its value, such as "courtesy".
    """
    reason_code = _adjustment_reason(reason_code)
    if not reason:
        raise PaymentError(f"an adjustment of invoice {invoice_id} needs a reason")
    if amount.cents <= 0:
        raise PaymentError(f"adjustment amount {amount} must be more than zero")
    with ledger.atomic() as tx:
        from ona_ledger.billing.invoices import get_invoice

        invoice = get_invoice(tx, invoice_id)
        lines = open_lines(tx, invoice.patient_id, [invoice_id])
        due = Money(sum(line.open.cents for line in lines))
        if amount > due:
            raise PaymentError(
                f"invoice {invoice_id} has {due} open for the patient; an adjustment of "
                f"{amount} is more than that"
            )
        allocation = allocate_to_lines(lines, amount)
        postings: list[Posting] = []
        for line, part in allocation.lines:
            postings.append(
                Posting.with_dimensions(reason_code.account, part, line.dimensions)
            )
            postings.append(
                Posting.with_dimensions(RECEIVABLE_PATIENTS, -part, line.dimensions)
            )
        return tx.post(
            Entry(
                effective_date=effective_date or tx.clock().date(),
                narration=f"{reason_code.value.replace('_', ' ').capitalize()} adjustment on {invoice_id}",
                postings=tuple(postings),
                actor=actor,
                reason=reason,
                links=(invoice_id,),
                meta={
                    "type": EntryType.ADJUSTMENT.value,
                    "reason_code": reason_code.value,
                },
            )
        )


def get_payment(ledger: Ledger, payment_id: str) -> Payment:
    record = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT, payment_id)
    if record is None:
        raise PaymentError(
            f"payment {payment_id} does not exist in book {ledger.book_id}"
        )
    return _payment_from_record(ledger, record)


def _check_same_payment(
    record: dict[str, Any], patient_id: str, tender: Tender
) -> None:
    """Raise unless a replayed payment id carries the details it was posted with."""
    posted = (record["patient_id"], Money.of(record["amount"]), record["method"])
    requested = (patient_id, tender.amount, tender.method.value)
    if posted != requested:
        raise PaymentError(
            f"payment {record['payment_id']} was already posted for patient "
            f"{posted[0]}, {posted[1]} by {posted[2]}; this call requests patient "
            f"{requested[0]}, {requested[1]} by {requested[2]}. Use a new payment id"
        )


def _earlier_refund(
    tx: Ledger, record: dict[str, Any], key: str, amount: Money
) -> Refund | None:
    """Return the refund posted before under `key`, or None for a new key.

    Raise IdempotencyConflictError when the key was used for another amount, or
    for a refund of another payment.
    """
    payment_id = record["payment_id"]
    for earlier in record["refunds"]:
        if earlier["key"] != key:
            continue
        posted = Money.of(earlier["amount"])
        if posted != amount:
            raise IdempotencyConflictError(
                f"refund key {key!r} of payment {payment_id} was used for a refund of "
                f"{posted}; this call requests {amount}. Use a new idempotency key for "
                "a new refund"
            )
        return Refund(
            payment_id, posted, tx.entry(earlier["entry_seq"]), earlier["processor_id"]
        )
    with tx.store.transaction() as store_tx:
        found = store_tx.find_by_idempotency_keys(tx.book_id, [f"refund:{key}"])
    if found:
        raise IdempotencyConflictError(
            f"refund key {key!r} was already used by entry "
            f"{found[f'refund:{key}'][0].id}, which is not a refund of payment "
            f"{payment_id}; use a new idempotency key"
        )
    return None


def _refund_card(
    processor: Processor, charge_id: str, amount: Money, idempotency_key: str
) -> str:
    """Refund `amount` of a card charge; raise unless the processor refunded exactly that."""
    result = processor.refund(charge_id, amount, idempotency_key)
    if result.amount != amount:
        logger.error(
            "refund %s of charge %s: the processor refunded %s, not %s; nothing posted",
            idempotency_key,
            charge_id,
            result.amount,
            amount,
        )
        raise ProcessorError(
            f"processor refund {result.processor_id} of charge {charge_id} under key "
            f"{idempotency_key!r} is {result.amount}, but {amount} was requested; an "
            f"earlier call refunded that amount. Retry with {result.amount} to "
            "record it, or check the refund at the processor"
        )
    return result.processor_id


def _post_refund(tx: Ledger, entry: Entry, processor_id: str) -> JournalEntry:
    """Post a refund entry, logging a processor refund that the post leaves unrecorded."""
    try:
        return tx.post(entry)
    except LedgerError:
        if processor_id:
            logger.error(
                "processor refund %s was made but entry %r did not post; retry "
                "with the same amount and key to record it",
                processor_id,
                entry.idempotency_key,
            )
        raise


def _payment_method(method: PaymentMethod | str) -> PaymentMethod:
    """Return `method` as a PaymentMethod, accepting its value string ("card")."""
    if isinstance(method, PaymentMethod):
        return method
    if isinstance(method, str):
        try:
            return PaymentMethod(method)
        except ValueError:
            pass
    choices = ", ".join(m.value for m in PaymentMethod)
    raise PaymentError(
        f"payment method {method!r} is invalid; pass a PaymentMethod or one of "
        f"{choices}"
    )


def _adjustment_reason(reason_code: AdjustmentReason | str) -> AdjustmentReason:
    """Return `reason_code` as an AdjustmentReason, accepting its value string."""
    if isinstance(reason_code, AdjustmentReason):
        return reason_code
    if isinstance(reason_code, str):
        try:
            return AdjustmentReason(reason_code)
        except ValueError:
            pass
    choices = ", ".join(r.value for r in AdjustmentReason)
    raise PaymentError(
        f"adjustment reason code {reason_code!r} is invalid; pass an AdjustmentReason "
        f"or one of {choices}"
    )


def _invoice_ids(invoices: Sequence[str] | None) -> list[str] | None:
    """Return the named invoice ids as a list; a bare string is rejected, not split."""
    if invoices is None:
        return None
    if isinstance(invoices, str | bytes):
        raise PaymentError(
            f"invoices={invoices!r} is a single string; pass a list of invoice ids, "
            f"such as [{invoices!r}]"
        )
    ids = list(invoices)
    for invoice_id in ids:
        if not isinstance(invoice_id, str) or not invoice_id:
            raise PaymentError(
                f"invoice id {invoice_id!r} is invalid; invoice ids are non-empty strings"
            )
    return ids


def _payment_accounts(tenders: Sequence[Tender], allow_credit: bool) -> set[str]:
    """Return the accounts that posting these tenders may touch."""
    accounts = {RECEIVABLE_PATIENTS}
    accounts.update(tender.method.deposit_account for tender in tenders)
    if any(tender.method.is_card for tender in tenders):
        accounts.update((CLEARING_PROCESSOR, PROCESSOR_FEES))
    if allow_credit:
        accounts.add(PATIENT_CREDIT)
    return accounts


def _check_postable(
    ledger: Ledger,
    day: date,
    accounts: Iterable[str],
    what: str,
    currency: str | None = None,
) -> None:
    """Raise when an entry dated `day` in `currency` on `accounts` cannot post.

    Runs before a card is charged or refunded, so a date in a closed period, a
    closed account or another currency never reaches the processor.
    """
    closed_through = ledger.closed_through()
    if closed_through is not None and day <= closed_through:
        raise PeriodClosedError(
            f"book {ledger.book_id} is closed through {closed_through}; {what} dated "
            f"{day} must be dated after it. Nothing was charged or refunded"
        )
    for name in sorted(accounts):
        account = ledger.account(name)
        if currency is not None and account.currency != currency:
            raise CurrencyMismatchError(
                f"{what} is in {currency}, but account {name} is in "
                f"{account.currency}; nothing was charged or refunded"
            )
        if not account.is_open_on(day):
            raise AccountClosedError(
                f"account {name} is not open on {day}, so {what} cannot post on that "
                "date; nothing was charged or refunded"
            )


def _check_invoices(
    ledger: Ledger, patient_id: str, invoices: Sequence[str] | None
) -> None:
    """Raise unless every named invoice exists and belongs to the patient."""
    for invoice_id in invoices or ():
        record = ledger.store.get_record(ledger.book_id, RECORD_INVOICE, invoice_id)
        if record is None:
            raise PaymentError(
                f"invoice {invoice_id} does not exist in book {ledger.book_id}; name "
                "an invoice of the patient, or none to pay the oldest first"
            )
        if record["patient_id"] != patient_id:
            raise PaymentError(
                f"invoice {invoice_id} belongs to another patient, not {patient_id}; "
                "name only the paying patient's invoices"
            )


def _check_fits(
    ledger: Ledger,
    patient_id: str,
    amount: Money,
    invoices: Sequence[str] | None,
    allow_credit: bool,
) -> None:
    """Raise when a payment is more than is open and no credit is allowed."""
    if allow_credit:
        return
    due = Money(
        sum(line.open.cents for line in open_lines(ledger, patient_id, invoices))
    )
    if amount > due:
        raise PaymentError(
            f"payment of {amount} is more than the {due} open for patient {patient_id}"
            f"{' on ' + ', '.join(invoices) if invoices else ''}; pass allow_credit=True "
            "to keep the excess as patient credit"
        )


def _charge_card(
    ledger: Ledger,
    processor: Processor,
    patient_id: str,
    payment_id: str,
    tender: Tender,
) -> ChargeResult:
    """Charge a card tender; raise PaymentDeclinedError on a decline.

    The idempotency key names the card token and the attempt, so a retry with
    the same card never charges twice while another card, or a retry after a
    decline or an undone charge, is a new charge.
    """
    assert tender.card_token is not None
    attempt = _attempt_number(ledger, payment_id)
    key = f"{ledger.book_id}:{payment_id}:{tender.card_token}"
    if attempt > 1:
        key += f":attempt-{attempt}"
    charge = processor.charge(
        ChargeRequest(
            amount=tender.amount,
            payment_method=tender.card_token,
            idempotency_key=key,
            description=f"Payment {payment_id}",
            metadata={"payment_id": payment_id, "patient": patient_id},
        )
    )
    if charge.status is not ChargeStatus.SUCCEEDED:
        _record_attempt(ledger, payment_id, charge.processor_id, "declined")
        category = charge.decline_category
        raise PaymentDeclinedError(
            f"card payment {payment_id} of {tender.amount} was declined "
            f"({charge.decline_code}); "
            f"{_decline_advice(category.value if category else '')}",
            charge.decline_code or "",
            category.value if category else "",
        )
    if charge.amount != tender.amount:
        logger.error(
            "charge %s for payment %s is %s, not the %s requested; nothing posted",
            charge.processor_id,
            payment_id,
            charge.amount,
            tender.amount,
        )
        raise ProcessorError(
            f"processor charge {charge.processor_id} under key {key!r} is "
            f"{charge.amount}, but payment {payment_id} requests {tender.amount}; an "
            f"earlier call made that charge. Retry with {charge.amount} to post it, "
            "or refund it at the processor"
        )
    return charge


def _attempt_number(ledger: Ledger, payment_id: str) -> int:
    """Return the number of the next card attempt of a payment id, from 1."""
    record = ledger.store.get_record(ledger.book_id, RECORD_PAYMENT_ATTEMPT, payment_id)
    return 1 if record is None else len(record["attempts"]) + 1


def _record_attempt(
    ledger: Ledger, payment_id: str, processor_id: str, outcome: str
) -> None:
    """Record a card attempt that ended without a posted payment, so the next one gets a new key."""
    with ledger.atomic() as tx:
        record = tx.store.get_record(
            tx.book_id, RECORD_PAYMENT_ATTEMPT, payment_id
        ) or {"payment_id": payment_id, "attempts": []}
        attempt = len(record["attempts"]) + 1
        record["attempts"].append(
            {"attempt": attempt, "processor_id": processor_id, "outcome": outcome}
        )
        tx.store.put_record(tx.book_id, RECORD_PAYMENT_ATTEMPT, payment_id, record)
    logger.info(
        "payment %s card attempt %d %s (%s)",
        payment_id,
        attempt,
        outcome,
        processor_id or "no charge",
    )


@contextmanager
def _undo_charges_on_error(
    ledger: Ledger,
    processor: Processor | None,
    charges: Iterable[tuple[str, ChargeResult]],
) -> Iterator[None]:
    """Refund the cards charged in the block when the block raises, then re-raise.

    Each refunded charge is recorded as an attempt of its payment id. A refund
    that fails records nothing, so a retry reuses the charge, which still holds
    the money.
    """
    try:
        yield
    except Exception:
        for payment_id, charge in list(charges):
            if processor is None or charge.status is not ChargeStatus.SUCCEEDED:
                continue
            logger.warning(
                "refunding card charge %s of payment %s: its payment did not post",
                charge.processor_id,
                payment_id,
            )
            processor.refund(
                charge.processor_id,
                charge.amount,
                f"{ledger.book_id}:undo:{charge.processor_id}",
            )
            _record_attempt(ledger, payment_id, charge.processor_id, "refunded")
        raise


def _post_payment(
    tx: Ledger,
    patient_id: str,
    tender: Tender,
    payment_id: str,
    charge: ChargeResult | None,
    processor: Processor | None,
    *,
    actor: str,
    invoices: Sequence[str] | None,
    allow_credit: bool,
    day: date,
) -> tuple[dict[str, Any], JournalEntry]:
    """Apply a tender to open lines and post it inside the caller's transaction."""
    amount, method = tender.amount, tender.method
    lines = open_lines(tx, patient_id, invoices)
    allocation = allocate_to_lines(lines, amount)
    if allocation.credit.cents and not allow_credit:
        due = amount - allocation.credit
        raise PaymentError(
            f"payment of {amount} is more than the {due} open for patient {patient_id}"
            f"{' on ' + ', '.join(invoices) if invoices else ''}; pass allow_credit=True "
            "to keep the excess as patient credit"
        )
    hsa = method is PaymentMethod.HSA_FSA_CARD or bool(charge and charge.hsa_fsa)
    meta = {
        "type": EntryType.PAYMENT.value,
        "payment_id": payment_id,
        "method": method.value,
    }
    if tender.check_number:
        meta["check_number"] = tender.check_number
    if charge is not None:
        meta["processor"] = processor.name if processor else ""
        meta["processor_id"] = charge.processor_id
    if hsa:
        meta["hsa_fsa"] = "true"
    postings = _payment_postings(patient_id, amount, method, allocation, invoices)
    if charge is not None and charge.fee is not None and charge.fee.cents:
        postings.append(Posting(PROCESSOR_FEES, charge.fee))
        postings.append(Posting(CLEARING_PROCESSOR, -charge.fee))
    entry = tx.post(
        Entry(
            effective_date=day,
            narration=f"Payment {payment_id} by {method.value} from patient {patient_id}",
            postings=tuple(postings),
            actor=actor,
            links=tuple(sorted({line.invoice for line, _ in allocation.lines})),
            meta=meta,
            idempotency_key=f"payment:{payment_id}",
        )
    )
    record = {
        "payment_id": payment_id,
        "patient_id": patient_id,
        "method": method.value,
        "amount": str(amount),
        "entry_seq": entry.seq,
        "processor_id": charge.processor_id if charge else "",
        "fee": str(charge.fee) if charge and charge.fee else None,
        "hsa_fsa": hsa,
        "applied": [
            {
                "invoice": line.invoice,
                "invoice_line": line.invoice_line,
                "amount": str(part),
                "dimensions": line.dimensions,
            }
            for line, part in allocation.lines
        ],
        "credit": str(allocation.credit),
        "credit_invoice": _credit_invoice(invoices),
        "refunds": [],
    }
    tx.store.put_record(tx.book_id, RECORD_PAYMENT, payment_id, record)
    return record, entry


def _credit_invoice(invoices: Sequence[str] | None) -> str | None:
    """The invoice a payment's excess is credited on: the one named invoice, else none."""
    return invoices[0] if invoices and len(invoices) == 1 else None


def _check_payment_input(
    amount: Money,
    method: PaymentMethod,
    check_number: str | None,
    processor: Processor | None,
    card_token: str | None,
) -> None:
    if not isinstance(amount, Money):
        raise TypeError(f"amount must be Money, not {type(amount).__name__}")
    if amount.cents <= 0:
        raise PaymentError(f"payment amount {amount} must be more than zero")
    if method is PaymentMethod.CHECK and not check_number:
        raise PaymentError("a check payment needs the check number; pass check_number")
    if method.is_card and (processor is None or not card_token):
        raise PaymentError(
            f"a {method.value} payment needs a processor and a card token from it; card "
            "numbers never enter the ledger"
        )


def _decline_advice(category: str) -> str:
    advice = {
        "retry_later": "try again later or use another card",
        "new_card": "ask the patient for another card",
        "patient_present": "the patient must authenticate the payment in person or online",
    }
    return advice.get(
        category, "ask the patient to call their bank or use another card"
    )


def _payment_postings(
    patient_id: str,
    amount: Money,
    method: PaymentMethod,
    allocation: _Allocation,
    invoices: Sequence[str] | None,
) -> list[Posting]:
    postings = [Posting(method.deposit_account, amount, patient=patient_id)]
    for line, part in allocation.lines:
        postings.append(
            Posting.with_dimensions(RECEIVABLE_PATIENTS, -part, line.dimensions)
        )
    if allocation.credit.cents:
        invoice = _credit_invoice(invoices)
        postings.append(
            Posting(
                PATIENT_CREDIT, -allocation.credit, patient=patient_id, invoice=invoice
            )
        )
    return postings


def _refund_postings(
    ledger: Ledger,
    record: dict[str, Any],
    amount: Money,
    method: PaymentMethod,
) -> tuple[list[Posting], Money, dict[str, str]]:
    """Take the refund from the payment's credit first, then reopen its lines, last first.

    Earlier refunds of the payment record what they took from credit and which
    lines they reopened, so no line is reopened beyond what the payment paid on
    it. Returns the postings, the part taken from credit and the reopened lines.
    """
    patient_id = record["patient_id"]
    postings = [Posting(method.deposit_account, -amount, patient=patient_id)]
    remaining = amount
    credit_given = Money.of(record["credit"])
    credit_taken_before = Money.zero()
    reopened_before: dict[str, Money] = {}
    for earlier in record["refunds"]:
        credit_taken_before = credit_taken_before + Money.of(earlier["from_credit"])
        for line, part in earlier["reopened"].items():
            reopened_before[line] = reopened_before.get(line, Money.zero()) + Money.of(
                part
            )
    credit_available = ledger.balance(PATIENT_CREDIT, patient=patient_id).posted
    from_credit = max(
        min(remaining, credit_given - credit_taken_before, credit_available),
        Money.zero(),
    )
    if from_credit.cents > 0:
        postings += credit_draw_postings(
            ledger, patient_id, from_credit, record.get("credit_invoice")
        )
        remaining = remaining - from_credit
    reopened: dict[str, str] = {}
    for applied in reversed(record["applied"]):
        if remaining.cents == 0:
            break
        line = applied["invoice_line"]
        part = Money.of(applied["amount"]) - reopened_before.get(line, Money.zero())
        reopen = min(part, remaining)
        if reopen.cents > 0:
            postings.append(
                Posting.with_dimensions(
                    RECEIVABLE_PATIENTS, reopen, applied["dimensions"]
                )
            )
            reopened[line] = str(reopen)
            remaining = remaining - reopen
    if remaining.cents:
        raise PaymentError(
            f"payment {record['payment_id']} left credit that was since applied to other "
            f"invoices; refund at most {amount - remaining} now, or refund from the "
            "invoices that credit paid"
        )
    return postings, from_credit, reopened


def _payment_from_record(
    ledger: Ledger, record: dict[str, Any], entry: JournalEntry | None = None
) -> Payment:
    return Payment(
        payment_id=record["payment_id"],
        patient_id=record["patient_id"],
        method=PaymentMethod(record["method"]),
        amount=Money.of(record["amount"]),
        entry=entry or ledger.entry(int(record["entry_seq"])),
        applied=tuple(
            (a["invoice"], a["invoice_line"], Money.of(a["amount"]))
            for a in record["applied"]
        ),
        credit=Money.of(record["credit"]),
        processor_id=record["processor_id"],
        fee=Money.of(record["fee"]) if record.get("fee") else None,
        hsa_fsa=bool(record["hsa_fsa"]),
    )
