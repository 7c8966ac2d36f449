"""Patient balances, statements (text and HTML) and the audit trail of an invoice or patient.

Statements take demographics from the host at render time; the ledger holds
only the opaque patient id.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime

from ona_ledger.billing.common import (
    PATIENT_CREDIT,
    RECEIVABLE_INSURANCE,
    RECEIVABLE_PATIENTS,
    EntryType,
)
from ona_ledger.billing.invoices import Invoice, InvoiceStatus, patient_invoices
from ona_ledger.errors import InvalidInputError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money


@dataclass(frozen=True, slots=True)
class PatientBalance:
    """What a patient owes now, apart from what is still pending with a payer."""

    patient_id: str
    owes_now: Money
    pending_insurance: Money
    credit: Money

    @property
    def net_due(self) -> Money:
        """What the patient owes now less their credit, never below zero."""
        return max(self.owes_now - self.credit, Money.zero())


@dataclass(frozen=True, slots=True)
class Demographics:
    """A patient's name and mailing address, passed in by the host to render a document."""

    name: str
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementActivity:
    day: date
    description: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Statement:
    """A patient statement: open invoices, payments, adjustments and the amount due."""

    patient_id: str
    statement_date: date
    invoices: tuple[Invoice, ...]
    activity: tuple[StatementActivity, ...]
    balance: PatientBalance
    hsa_eligible_due: Money


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry in an audit trail: who did what, when and why."""

    entry_id: str
    recorded_at: datetime
    effective_date: date
    actor: str
    action: str
    narration: str
    reason: str | None
    amount: Money


def patient_balance(
    ledger: Ledger, patient_id: str, *, as_of: date | None = None
) -> PatientBalance:
    """Return a patient's balance from the maintained balances, without reading the journal."""
    return PatientBalance(
        patient_id=patient_id,
        owes_now=ledger.balance(
            RECEIVABLE_PATIENTS, patient=patient_id, as_of=as_of
        ).posted,
        pending_insurance=ledger.balance(
            RECEIVABLE_INSURANCE, patient=patient_id, as_of=as_of
        ).posted,
        credit=ledger.balance(PATIENT_CREDIT, patient=patient_id, as_of=as_of).posted,
    )


def build_statement(ledger: Ledger, patient_id: str, statement_date: date) -> Statement:
    """Build a patient's statement as of `statement_date`.

    The amount due counts only what the patient owes now: amounts a payer has
    not yet decided are listed as pending and never requested.
    """
    invoices = tuple(
        invoice
        for invoice in patient_invoices(ledger, patient_id, as_of=statement_date)
        if invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.VOID)
    )
    activity = []
    for entry in ledger.entries(patient=patient_id, end=statement_date):
        entry_type = entry.meta.get("type")
        if entry_type not in (
            EntryType.PAYMENT,
            EntryType.REFUND,
            EntryType.ADJUSTMENT,
        ):
            continue
        amount = Money.zero()
        for posting in entry.postings:
            if posting.patient == patient_id and posting.account in (
                RECEIVABLE_PATIENTS,
                PATIENT_CREDIT,
            ):
                amount = amount + posting.amount
        if entry_type == EntryType.PAYMENT:
            description = f"Payment, {entry.meta.get('method', '')}"
        elif entry_type == EntryType.REFUND:
            description = "Refund"
        else:
            description = (
                f"Adjustment: {entry.meta.get('reason_code', '').replace('_', ' ')}"
            )
        activity.append(StatementActivity(entry.effective_date, description, amount))
    eligible = Money.zero()
    for invoice in invoices:
        for line in invoice.lines:
            if line.hsa_eligible:
                eligible = eligible + line.patient_open
    return Statement(
        patient_id=patient_id,
        statement_date=statement_date,
        invoices=invoices,
        activity=tuple(activity),
        balance=patient_balance(ledger, patient_id, as_of=statement_date),
        hsa_eligible_due=eligible,
    )


def render_statement_text(
    statement: Statement, patient: Demographics, clinic_name: str
) -> str:
    """Render a statement as plain text for printing or an email body."""
    out = [clinic_name, f"Statement for {patient.name}", *patient.address_lines]
    out += [f"Statement date: {statement.statement_date}", ""]
    out.append(
        f"{'Invoice':<18}{'Date':<12}{'Code':<8}{'Charged':>12}{'Paid':>12}{'You owe':>12}{'With payer':>12}"
    )
    for invoice in statement.invoices:
        for line in invoice.lines:
            mark = " *" if line.hsa_eligible else ""
            out.append(
                f"{invoice.invoice_id:<18}{line.date_of_service!s:<12}{line.code:<8}"
                f"{line.charged!s:>12}{line.paid!s:>12}{line.patient_open!s:>12}"
                f"{line.insurance_open!s:>12}{mark}"
            )
    if statement.activity:
        out += ["", "Payments and adjustments"]
        out += [
            f"  {a.day}  {a.description:<40}{a.amount!s:>12}"
            for a in statement.activity
        ]
    balance = statement.balance
    out += [
        "",
        f"You owe now:              {balance.owes_now!s:>12}",
        f"Your credit:              {balance.credit!s:>12}",
        f"Amount due:               {balance.net_due!s:>12}",
        f"Pending with insurance:   {balance.pending_insurance!s:>12}  (not due until your insurer decides)",
        f"* HSA/FSA eligible amount due: {statement.hsa_eligible_due}",
    ]
    return "\n".join(out) + "\n"


def render_statement_html(
    statement: Statement, patient: Demographics, clinic_name: str
) -> str:
    """Render a statement as a self-contained HTML page; every value is escaped."""
    esc = html.escape
    rows = []
    for invoice in statement.invoices:
        for line in invoice.lines:
            hsa = "HSA/FSA eligible" if line.hsa_eligible else ""
            rows.append(
                "<tr>"
                f"<td>{esc(invoice.invoice_id)}</td><td>{line.date_of_service}</td>"
                f"<td>{esc(line.code)}</td><td class=num>{line.charged}</td>"
                f"<td class=num>{line.paid}</td><td class=num>{line.patient_open}</td>"
                f"<td class=num>{line.insurance_open}</td><td>{hsa}</td></tr>"
            )
    activity = "".join(
        f"<tr><td>{a.day}</td><td>{esc(a.description)}</td><td class=num>{a.amount}</td></tr>"
        for a in statement.activity
    )
    address = "<br>".join(esc(line) for line in patient.address_lines)
    balance = statement.balance
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>Statement {statement.statement_date}</title>"
        "<style>td.num{text-align:right}table{border-collapse:collapse}td,th{padding:2px 8px}</style>"
        f"</head><body><h1>{esc(clinic_name)}</h1>"
        f"<p>Statement for {esc(patient.name)}<br>{address}</p>"
        f"<p>Statement date: {statement.statement_date}</p>"
        "<table><tr><th>Invoice</th><th>Date</th><th>Code</th><th>Charged</th><th>Paid</th>"
        f"<th>You owe</th><th>With payer</th><th></th></tr>{''.join(rows)}</table>"
        f"<h2>Payments and adjustments</h2><table>{activity}</table>"
        f"<p>You owe now: {balance.owes_now}<br>Your credit: {balance.credit}<br>"
        f"<strong>Amount due: {balance.net_due}</strong><br>"
        f"Pending with insurance: {balance.pending_insurance} (not due until your insurer decides)<br>"
        f"HSA/FSA eligible amount due: {statement.hsa_eligible_due}</p>"
        "</body></html>"
    )


def audit_trail(
    ledger: Ledger, *, invoice: str | None = None, patient: str | None = None
) -> list[AuditEvent]:
    """List who did what, when and why, for an invoice or a patient, in journal order."""
    if (invoice is None) == (patient is None):
        raise InvalidInputError("audit_trail needs exactly one of invoice= or patient=")
    entries = (
        ledger.entries(invoice=invoice)
        if invoice
        else ledger.entries(patient=patient or "")
    )
    events = []
    for entry in entries:
        amount = Money.zero()
        for posting in entry.postings:
            matches = (
                posting.invoice == invoice if invoice else posting.patient == patient
            )
            if matches and posting.amount.cents > 0:
                amount = amount + posting.amount
        events.append(
            AuditEvent(
                entry_id=entry.id,
                recorded_at=entry.recorded_at,
                effective_date=entry.effective_date,
                actor=entry.actor,
                action=entry.meta.get("type", entry.kind.value),
                narration=entry.narration,
                reason=entry.reason,
                amount=amount,
            )
        )
    return events
