"""Invoices read from the ledger: lines, what was charged, paid and adjusted, and the status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ona_ledger.billing.common import (
    ADJUSTMENTS_PREFIX,
    INCOME_SERVICES,
    PATIENT_CREDIT,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    RECORD_INVOICE,
    RECORD_VISIT,
)
from ona_ledger.entries import JournalEntry, PostingStatus
from ona_ledger.errors import InvoiceStateError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money


class InvoiceStatus(StrEnum):
    """An invoice's state, derived from the ledger and never stored."""

    OPEN = "open"
    PARTLY_PAID = "partly paid"
    PAID = "paid"
    IN_CREDIT = "in credit"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice line with its money: charged, paid, adjusted and still open."""

    invoice_line: str
    visit_id: str
    code: str
    modifiers: tuple[str, ...]
    units: int
    provider: str
    date_of_service: date
    charged: Money
    paid: Money
    adjusted: Money
    patient_open: Money
    insurance_open: Money
    hsa_eligible: bool


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice: a visit's lines (or several visits'), its balance, due date and status."""

    invoice_id: str
    patient_id: str
    issued: date
    due: date
    lines: tuple[InvoiceLine, ...]
    credit: Money
    voided: bool

    @property
    def charged(self) -> Money:
        return _sum(line.charged for line in self.lines)

    @property
    def paid(self) -> Money:
        return _sum(line.paid for line in self.lines)

    @property
    def adjusted(self) -> Money:
        return _sum(line.adjusted for line in self.lines)

    @property
    def patient_due(self) -> Money:
        """What the patient owes now; amounts still with a payer are not included."""
        return _sum(line.patient_open for line in self.lines)

    @property
    def insurance_pending(self) -> Money:
        """What is still with a payer, not yet the patient's to pay."""
        return _sum(line.insurance_open for line in self.lines)

    @property
    def balance_due(self) -> Money:
        return self.patient_due + self.insurance_pending

    @property
    def status(self) -> InvoiceStatus:
        if self.voided and self.charged.is_zero():
            return InvoiceStatus.VOID
        if self.balance_due.cents <= 0 and self.credit.cents > 0:
            return InvoiceStatus.IN_CREDIT
        if self.balance_due.cents <= 0:
            return InvoiceStatus.PAID
        if self.paid.cents > 0:
            return InvoiceStatus.PARTLY_PAID
        return InvoiceStatus.OPEN


def get_invoice(
    ledger: Ledger, invoice_id: str, *, as_of: date | None = None
) -> Invoice:
    """Read an invoice from the ledger; raise InvoiceStateError when it does not exist.

    With `as_of`, only entries dated on or before that day count.
    """
    record = ledger.store.get_record(ledger.book_id, RECORD_INVOICE, invoice_id)
    if record is None:
        raise InvoiceStateError(
            f"invoice {invoice_id} does not exist in book {ledger.book_id}; invoices are "
            "created when a visit is signed"
        )
    entries = ledger.entries(invoice=invoice_id, end=as_of)
    line_info = _line_descriptions(ledger, record["visits"])
    totals = _line_totals(entries, invoice_id)
    lines = []
    for line_id, info in sorted(
        line_info.items(), key=lambda item: (item[1][5], item[0])
    ):
        money = totals.get(line_id)
        if money is None:
            continue
        code, modifiers, units, visit_id, provider, day, eligible = info
        lines.append(
            InvoiceLine(
                invoice_line=line_id,
                visit_id=visit_id,
                code=code,
                modifiers=modifiers,
                units=units,
                provider=provider,
                date_of_service=day,
                charged=money["charged"],
                paid=money["paid"],
                adjusted=money["adjusted"],
                patient_open=money["patient_open"],
                insurance_open=money["insurance_open"],
                hsa_eligible=eligible,
            )
        )
    credit = Money.zero()
    for entry in entries:
        for posting in entry.postings:
            if posting.account == PATIENT_CREDIT and posting.invoice == invoice_id:
                credit = credit - posting.amount
    voided = all(
        (ledger.store.get_record(ledger.book_id, RECORD_VISIT, v) or {}).get(
            "voided", False
        )
        for v in record["visits"]
    )
    return Invoice(
        invoice_id=invoice_id,
        patient_id=record["patient_id"],
        issued=date.fromisoformat(record["issued"]),
        due=date.fromisoformat(record["due"]),
        lines=tuple(lines),
        credit=credit,
        voided=voided,
    )


def patient_invoices(
    ledger: Ledger, patient_id: str, *, as_of: date | None = None
) -> list[Invoice]:
    """Return a patient's invoices, oldest first; with `as_of`, as they stood that day."""
    invoice_ids: set[str] = set()
    for entry in ledger.entries(patient=patient_id, account=INCOME_SERVICES, end=as_of):
        for posting in entry.postings:
            if posting.invoice is not None and posting.patient == patient_id:
                invoice_ids.add(posting.invoice)
    invoices = [
        get_invoice(ledger, invoice_id, as_of=as_of) for invoice_id in invoice_ids
    ]
    return sorted(invoices, key=lambda invoice: (invoice.issued, invoice.invoice_id))


def _line_descriptions(
    ledger: Ledger, visit_ids: list[str]
) -> dict[str, tuple[str, tuple[str, ...], int, str, str, date, bool]]:
    described = {}
    for visit_id in visit_ids:
        record = ledger.store.get_record(ledger.book_id, RECORD_VISIT, visit_id)
        if record is None:
            continue
        provider = record["visit"]["provider"]["provider_id"]
        day = date.fromisoformat(record["date_of_service"])
        for line in [*record.get("retired_lines", []), *record["lines"]]:
            described[line["invoice_line"]] = (
                line["code"],
                tuple(line["modifiers"]),
                int(line["units"]),
                visit_id,
                provider,
                day,
                bool(line["hsa_eligible"]),
            )
    return described


def _line_totals(
    entries: list[JournalEntry], invoice_id: str
) -> dict[str, dict[str, Money]]:
    """Sum each line's charges, adjustments and open receivables from its postings.

    What was paid is what was charged less adjustments and what is still open,
    so payments, refunds, applied credit and payer payments all count without
    naming each kind of entry.
    """
    totals: dict[str, dict[str, Money]] = {}
    keys = ("charged", "adjusted", "patient_open", "insurance_open")
    for entry in entries:
        for posting in entry.postings:
            line = posting.invoice_line
            if line is None or posting.invoice != invoice_id:
                continue
            if posting.status is not PostingStatus.POSTED:
                continue
            money = totals.setdefault(line, {key: Money.zero() for key in keys})
            if posting.account == INCOME_SERVICES:
                money["charged"] = money["charged"] - posting.amount
            elif posting.account.startswith(ADJUSTMENTS_PREFIX):
                money["adjusted"] = money["adjusted"] + posting.amount
            elif posting.account == RECEIVABLE_PATIENTS:
                money["patient_open"] = money["patient_open"] + posting.amount
            elif posting.account == RECEIVABLE_INSURANCE:
                money["insurance_open"] = money["insurance_open"] + posting.amount
    for money in totals.values():
        money["paid"] = (
            money["charged"]
            - money["adjusted"]
            - money["patient_open"]
            - money["insurance_open"]
        )
    return totals


def _sum(amounts: Iterable[Money]) -> Money:
    result = Money.zero()
    for amount in amounts:
        result = result + amount
    return result
