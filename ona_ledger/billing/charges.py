"""Charges from signed notes: post once, post only the difference on amendment, reverse on void."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ona_ledger.billing.common import (
    ADJUSTMENTS_PREFIX,
    INCOME_SERVICES,
    PATIENT_CREDIT,
    PAYER_REFUNDS,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    RECORD_INVOICE,
    RECORD_VISIT,
    EntryType,
)
from ona_ledger.billing.fees import SELF_PAY, FeeSchedule
from ona_ledger.billing.visits import Insured, Visit
from ona_ledger.entries import Entry, JournalEntry, Posting
from ona_ledger.errors import FeeScheduleError, InvalidVisitError, InvoiceStateError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

DEFAULT_PAYMENT_TERMS_DAYS = 30


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A service line with its price from the fee schedule (or the override)."""

    invoice_line: str
    code: str
    modifiers: tuple[str, ...]
    units: int
    unit_price: Money
    amount: Money
    allowed: Money | None
    hsa_eligible: bool
    override_reason: str | None

    def as_record(self) -> dict[str, Any]:
        return {
            "invoice_line": self.invoice_line,
            "code": self.code,
            "modifiers": list(self.modifiers),
            "units": self.units,
            "unit_price": str(self.unit_price),
            "amount": str(self.amount),
            "allowed": None if self.allowed is None else str(self.allowed),
            "hsa_eligible": self.hsa_eligible,
            "override_reason": self.override_reason,
        }


@dataclass(frozen=True, slots=True)
class SignResult:
    """The outcome of signing, amending or voiding a visit, with the entry it posted."""

    visit_id: str
    invoice_id: str
    entry: JournalEntry | None
    lines: tuple[PricedLine, ...]

    @property
    def posted(self) -> bool:
        return self.entry is not None


def price_lines(visit: Visit, fees: FeeSchedule) -> tuple[PricedLine, ...]:
    """Price every line of a visit; a code missing from the schedule raises, naming it.

    Charges use the clinic's self-pay schedule; for insured visits the payer's
    schedule, when it has the code, gives the allowed amount kept beside it.
    """
    priced = []
    payer = visit.coverage.payer_id if isinstance(visit.coverage, Insured) else None
    for index, line in enumerate(visit.lines):
        override = line.price_override
        if override is not None:
            unit_price = Money.of(override.price)
            hsa_eligible = True
        else:
            fee = fees.find(line.code, line.modifiers, visit.date_of_service, SELF_PAY)
            unit_price, hsa_eligible = fee.price, fee.hsa_eligible
        allowed = None
        if payer is not None and payer in fees.schedules():
            try:
                allowed_fee = fees.find(
                    line.code, line.modifiers, visit.date_of_service, payer
                )
                allowed = allowed_fee.price * line.units
            except FeeScheduleError:
                allowed = None
        line_key = visit.line_key(index)
        priced.append(
            PricedLine(
                invoice_line=f"{visit.visit_id}-{line_key}-{line.code}{''.join(line.modifiers)}",
                code=line.code,
                modifiers=line.modifiers,
                units=line.units,
                unit_price=unit_price,
                amount=unit_price * line.units,
                allowed=allowed,
                hsa_eligible=hsa_eligible,
                override_reason=override.reason if override else None,
            )
        )
    return tuple(priced)


def sign_visit(
    ledger: Ledger, visit: Visit, fees: FeeSchedule, *, actor: str
) -> SignResult:
    """Post the charges of a signed visit note, exactly once however often it is retried.

    A visit signed again with other lines is an amendment: only the difference
    per invoice line posts, as a new entry. Nothing posts when the lines are
    unchanged.
    """
    if visit.book_id != ledger.book_id:
        raise InvalidVisitError(
            f"visit {visit.visit_id} belongs to book {visit.book_id}, not {ledger.book_id}; "
            "sign it into its own clinic's ledger"
        )
    lines = price_lines(visit, fees)
    with ledger.atomic() as tx:
        record = tx.store.get_record(tx.book_id, RECORD_VISIT, visit.visit_id)
        if record is not None and record.get("voided"):
            raise InvoiceStateError(
                f"visit {visit.visit_id} was voided; sign a new visit id instead"
            )
        if record is not None:
            signed_before = Visit.model_validate(record["visit"])
            _check_amendment(signed_before, visit)
            if visit.signed_at < signed_before.signed_at:
                # A late retry of an older signature must not undo an amendment.
                logger.warning(
                    "visit %s: signature of %s is older than the one posted (%s); "
                    "nothing posted",
                    visit.visit_id,
                    visit.signed_at.isoformat(),
                    signed_before.signed_at.isoformat(),
                )
                return SignResult(
                    visit.visit_id, visit.invoice, None, price_lines_from_record(record)
                )
        current, charge_count = _charged_by_line(tx, visit.visit_id)
        wanted = {line.invoice_line: line.amount for line in lines}
        postings = _charge_postings(tx, visit, lines, current, wanted)
        entry = None
        if postings:
            # The count of earlier charge entries keeps a repeated amendment
            # (A to B, back to A, then to B again) from replaying the first A to B.
            transition = _fingerprint(
                {
                    "from": _as_text(current),
                    "to": _as_text(wanted),
                    "after": charge_count,
                }
            )
            kind = "Amended charges" if current else "Charges"
            entry = tx.post(
                Entry(
                    effective_date=_charge_date(tx, visit.date_of_service),
                    narration=f"{kind} for visit {visit.visit_id}",
                    postings=tuple(postings),
                    actor=actor,
                    links=(visit.invoice,),
                    meta={
                        "type": EntryType.CHARGE.value,
                        "visit": visit.visit_id,
                        "codes": " ".join(line.code for line in lines),
                        "signed_at": visit.signed_at.isoformat(),
                    },
                    idempotency_key=f"charge:{visit.visit_id}:{transition}",
                )
            )
        _save_visit(tx, visit, lines, record)
    if entry is not None:
        logger.info("visit %s: charges posted as entry %s", visit.visit_id, entry.id)
    return SignResult(visit.visit_id, visit.invoice, entry, lines)


def void_visit(ledger: Ledger, visit_id: str, *, actor: str, reason: str) -> SignResult:
    """Reverse every charge of a visit; what was paid on it becomes patient credit."""
    if not reason:
        raise InvalidVisitError(f"voiding visit {visit_id} needs a reason")
    with ledger.atomic() as tx:
        record = tx.store.get_record(tx.book_id, RECORD_VISIT, visit_id)
        if record is None:
            raise InvalidVisitError(
                f"visit {visit_id} was never signed in book {tx.book_id}"
            )
        if record.get("voided"):
            entry = None
        else:
            visit = Visit.model_validate(record["visit"])
            current, _count = _charged_by_line(tx, visit_id)
            lines = price_lines_from_record(record)
            postings = _charge_postings(tx, visit, lines, current, {})
            entry = None
            if postings:
                entry = tx.post(
                    Entry(
                        effective_date=_charge_date(tx, visit.date_of_service),
                        narration=f"Void of visit {visit_id}",
                        postings=tuple(postings),
                        actor=actor,
                        reason=reason,
                        links=(visit.invoice,),
                        meta={
                            "type": EntryType.CHARGE.value,
                            "visit": visit_id,
                            "void": "true",
                        },
                        idempotency_key=f"void:{visit_id}",
                    )
                )
            record["voided"] = True
            tx.store.put_record(tx.book_id, RECORD_VISIT, visit_id, record)
    invoice = record["invoice_id"]
    return SignResult(visit_id, invoice, entry, price_lines_from_record(record))


def price_lines_from_record(record: dict[str, Any]) -> tuple[PricedLine, ...]:
    """Rebuild the priced lines of the last signed version of a visit."""
    return tuple(
        PricedLine(
            invoice_line=line["invoice_line"],
            code=line["code"],
            modifiers=tuple(line["modifiers"]),
            units=int(line["units"]),
            unit_price=Money.of(line["unit_price"]),
            amount=Money.of(line["amount"]),
            allowed=None if line["allowed"] is None else Money.of(line["allowed"]),
            hsa_eligible=bool(line["hsa_eligible"]),
            override_reason=line["override_reason"],
        )
        for line in record["lines"]
    )


def _charge_postings(
    ledger: Ledger,
    visit: Visit,
    lines: tuple[PricedLine, ...],
    current: dict[str, Money],
    wanted: dict[str, Money],
) -> list[Posting]:
    """Build the postings that move each line's charge from `current` to `wanted`.

    A reduction first closes what is still open on the line; any part the
    patient already paid moves to patient credit instead of a negative balance.
    On an insured line, see `_insured_reduction`.
    """
    insured = isinstance(visit.coverage, Insured)
    receivable = RECEIVABLE_INSURANCE if insured else RECEIVABLE_PATIENTS
    payer = visit.coverage.payer_id if isinstance(visit.coverage, Insured) else None
    dimensions = {
        "patient": visit.patient_id,
        "invoice": visit.invoice,
        "visit": visit.visit_id,
        "provider": visit.provider.provider_id,
        "location": visit.location,
    }
    if payer is not None:
        dimensions["payer"] = payer
        dimensions["claim"] = visit.visit_id
    postings: list[Posting] = []
    for line_id in sorted(set(current) | set(wanted)):
        delta = wanted.get(line_id, Money.zero()) - current.get(line_id, Money.zero())
        if delta.is_zero():
            continue
        line_dims = {**dimensions, "invoice_line": line_id}
        postings.append(Posting.with_dimensions(INCOME_SERVICES, -delta, line_dims))
        if delta.cents > 0:
            postings.append(Posting.with_dimensions(receivable, delta, line_dims))
            continue
        if insured:
            postings += _insured_reduction(ledger, visit, -delta, line_dims)
            continue
        open_amount = ledger.balance(
            receivable, invoice=visit.invoice, invoice_line=line_id
        ).posted
        from_receivable = min(-delta, max(open_amount, Money.zero()))
        if from_receivable.cents:
            postings.append(
                Posting.with_dimensions(receivable, -from_receivable, line_dims)
            )
        to_credit = -delta - from_receivable
        if to_credit.cents:
            # The credit keeps the line's dimensions, so per-provider collections
            # drop by what was paid on a line that no longer exists.
            postings.append(
                Posting.with_dimensions(PATIENT_CREDIT, -to_credit, line_dims)
            )
    return postings


def _insured_reduction(
    ledger: Ledger, visit: Visit, reduction: Money, line_dims: dict[str, str]
) -> list[Posting]:
    """Build the credits that take `reduction` off an insured line, never below zero.

    In this order, each up to what the line holds: what is still open with the
    payer; what the payer paid, owed back on Liabilities:PayerRefunds; the
    line's adjustments (contractual write-down, denial write-off), reversed;
    the patient's open share; and last what the patient paid, as patient
    credit. A void takes all of them, so the line ends at zero everywhere.
    """
    held, payer_paid = _insured_line_money(ledger, visit, line_dims["invoice_line"])
    patient_dims = {k: v for k, v in line_dims.items() if k not in ("payer", "claim")}
    buckets = [
        (RECEIVABLE_INSURANCE, held.pop(RECEIVABLE_INSURANCE, 0), line_dims),
        # A refund owed earlier on the line is a credit, so it lowers what is left.
        (PAYER_REFUNDS, payer_paid + held.pop(PAYER_REFUNDS, 0), line_dims),
    ]
    buckets += [
        (account, cents, line_dims)
        for account, cents in sorted(held.items())
        if account.startswith(ADJUSTMENTS_PREFIX)
    ]
    buckets.append(
        (RECEIVABLE_PATIENTS, held.get(RECEIVABLE_PATIENTS, 0), patient_dims)
    )
    postings = []
    left = reduction
    for account, cents, dims in buckets:
        taken = min(left, Money(max(cents, 0)))
        if taken.cents:
            postings.append(Posting.with_dimensions(account, -taken, dims))
            left = left - taken
    if left.cents:
        postings.append(Posting.with_dimensions(PATIENT_CREDIT, -left, patient_dims))
    return postings


def _insured_line_money(
    ledger: Ledger, visit: Visit, line_id: str
) -> tuple[dict[str, int], int]:
    """Return one line's balance in cents per account, and what the payer paid on it.

    A payer entry (an 835 line, a claim payment, their reversals) credits the
    line's insurance receivable by what it paid plus what it adjusted or moved
    to the patient, so its payment is that credit less those postings. A
    denial's write-off or move to the patient nets to zero.
    """
    held: dict[str, int] = {}
    payer_paid = 0
    for entry in ledger.entries(invoice=visit.invoice, invoice_line=line_id):
        on_line = [p for p in entry.postings if p.invoice_line == line_id]
        for posting in on_line:
            held[posting.account] = held.get(posting.account, 0) + posting.amount.cents
        if entry.meta.get("type") == EntryType.CHARGE.value or all(
            p.account != RECEIVABLE_INSURANCE for p in on_line
        ):
            continue
        payer_paid -= sum(
            p.amount.cents
            for p in on_line
            if p.account in (RECEIVABLE_INSURANCE, RECEIVABLE_PATIENTS)
            or p.account.startswith(ADJUSTMENTS_PREFIX)
        )
    return held, payer_paid


def _charged_by_line(ledger: Ledger, visit_id: str) -> tuple[dict[str, Money], int]:
    """Return what each invoice line of a visit is charged now, and the charge entry count."""
    charged: dict[str, Money] = {}
    entries = ledger.entries(visit=visit_id, account=INCOME_SERVICES)
    for entry in entries:
        for posting in entry.postings:
            if posting.account == INCOME_SERVICES and posting.invoice_line is not None:
                line = posting.invoice_line
                charged[line] = charged.get(line, Money.zero()) - posting.amount
    current = {line: amount for line, amount in charged.items() if amount.cents}
    return current, len(entries)


def _check_amendment(signed_before: Visit, visit: Visit) -> None:
    """Reject an amendment that moves a visit's charges to another patient, payer or provider.

    Only the difference per line posts, so a line whose amount is unchanged
    would keep the old patient, payer, provider, location or invoice.
    """
    fields = {
        "patient": (signed_before.patient_id, visit.patient_id),
        "coverage": (_coverage_text(signed_before), _coverage_text(visit)),
        "provider": (
            signed_before.provider.provider_id,
            visit.provider.provider_id,
        ),
        "location": (signed_before.location, visit.location),
        "invoice": (signed_before.invoice, visit.invoice),
    }
    for name, (before, after) in fields.items():
        if before != after:
            raise InvalidVisitError(
                f"visit {visit.visit_id} was signed with {name} {before}; an amendment "
                f"cannot change it to {after}, so void the visit and sign a new visit id"
            )


def _coverage_text(visit: Visit) -> str:
    coverage = visit.coverage
    return (
        f"insured by {coverage.payer_id}"
        if isinstance(coverage, Insured)
        else "self-pay"
    )


def _charge_date(ledger: Ledger, date_of_service: date) -> date:
    """Date charges on the date of service, or on today when that period has closed."""
    closed = ledger.closed_through()
    if closed is not None and date_of_service <= closed:
        return max(ledger.clock().date(), closed + timedelta(days=1))
    return date_of_service


def _save_visit(
    ledger: Ledger,
    visit: Visit,
    lines: tuple[PricedLine, ...],
    earlier: dict[str, Any] | None,
) -> None:
    record = {
        "visit": visit.model_dump(mode="json"),
        "patient_id": visit.patient_id,
        "invoice_id": visit.invoice,
        "date_of_service": visit.date_of_service.isoformat(),
        "lines": [line.as_record() for line in lines],
        "voided": False,
        "versions": (earlier or {}).get("versions", 0) + 1,
        "retired_lines": _retired_lines(earlier, lines),
    }
    ledger.store.put_record(ledger.book_id, RECORD_VISIT, visit.visit_id, record)
    invoice = ledger.store.get_record(ledger.book_id, RECORD_INVOICE, visit.invoice)
    if invoice is None:
        invoice = {
            "invoice_id": visit.invoice,
            "patient_id": visit.patient_id,
            "visits": [],
            "issued": visit.date_of_service.isoformat(),
            "due": (
                visit.date_of_service + timedelta(days=DEFAULT_PAYMENT_TERMS_DAYS)
            ).isoformat(),
        }
    elif invoice["patient_id"] != visit.patient_id:
        raise InvalidVisitError(
            f"invoice {visit.invoice} belongs to another patient; group only one "
            "patient's visits into an invoice"
        )
    if visit.visit_id not in invoice["visits"]:
        invoice["visits"].append(visit.visit_id)
    ledger.store.put_record(ledger.book_id, RECORD_INVOICE, visit.invoice, invoice)


def _retired_lines(
    earlier: dict[str, Any] | None, lines: tuple[PricedLine, ...]
) -> list[dict[str, Any]]:
    """Keep the description of lines an amendment removed, so invoices can still name them."""
    if earlier is None:
        return []
    kept = {line.invoice_line for line in lines}
    retired = [
        line
        for line in earlier.get("retired_lines", [])
        if line["invoice_line"] not in kept
    ]
    retired += [line for line in earlier["lines"] if line["invoice_line"] not in kept]
    return retired


def _as_text(amounts: dict[str, Money]) -> dict[str, str]:
    return {line: str(amount) for line, amount in sorted(amounts.items())}


def _fingerprint(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]
