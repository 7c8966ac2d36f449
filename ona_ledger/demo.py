"""The example clinic run end to end: a week of visits, payments, refunds and write-offs.

`ona-ledger demo` calls `run_demo`, which builds a fresh SQLite ledger from
examples/clinic/ and writes what a clinic manager would read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from ona_ledger.billing.charges import sign_visit, void_visit
from ona_ledger.billing.common import RECORD_INVOICE
from ona_ledger.billing.deposits import record_deposit, record_payout
from ona_ledger.billing.fees import FeeSchedule
from ona_ledger.billing.insurance import post_claim_payment
from ona_ledger.billing.invoices import Invoice, get_invoice
from ona_ledger.billing.payments import (
    AdjustmentReason,
    PaymentMethod,
    Tender,
    adjust_invoice,
    apply_credit,
    checkout,
    collect_payment,
    refund_payment,
)
from ona_ledger.billing.statements import patient_balance
from ona_ledger.billing.visits import Visit
from ona_ledger.claims.demo_step import run_claims_step
from ona_ledger.claims.remittance_demo import run_remittance_step
from ona_ledger.errors import PaymentDeclinedError
from ona_ledger.export.beancount import check_with_beancount, write_beancount_file
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.plans.demo import run_plans_demo
from ona_ledger.processors.simulator import SimulatorProcessor
from ona_ledger.reconcile.demo_step import run_reconcile_step
from ona_ledger.reports.demo_step import run_revenue_step
from ona_ledger.reports.providers import provider_revenue
from ona_ledger.reports.trial_balance import format_trial_balance, trial_balance
from ona_ledger.store import open_ledger

logger = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "clinic"


_METHOD_LABELS = {
    PaymentMethod.CASH: "cash",
    PaymentMethod.CHECK: "check",
    PaymentMethod.CARD: "card",
    PaymentMethod.HSA_FSA_CARD: "HSA/FSA card",
    PaymentMethod.ACH: "ACH",
}


class DemoClock:
    """The demo's clock: the end of the business day being replayed."""

    def __init__(self) -> None:
        self.day = date(2026, 3, 2)

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(17, 0), tzinfo=UTC)


@dataclass
class DemoResult:
    """What the demo did, for the CLI to print or a test to check."""

    ledger: Ledger
    log: list[str] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    beancount_path: Path | None = None
    beancount_errors: list[str] = field(default_factory=list)
    beancount_matches: bool = False
    chain_ok: bool = False
    claims: list[str] = field(default_factory=list)
    reconciliation: list[str] = field(default_factory=list)
    remittance: list[str] = field(default_factory=list)
    revenue: list[str] = field(default_factory=list)


def run_demo(
    out_dir: Path, examples: Path = EXAMPLES, processor_name: str = "simulator"
) -> DemoResult:
    """Replay the example clinic's week into a fresh SQLite ledger in `out_dir`.

    With `processor_name` "stripe-fake" a last step pays an invoice through the
    Stripe adapter against a local fake Stripe on 127.0.0.1.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "demo.db"
    for stale in out_dir.glob("demo.db*"):
        stale.unlink()
    script = json.loads((examples / "week.json").read_text(encoding="utf-8"))
    fees = FeeSchedule.from_csv(examples / "fee_schedule.csv")
    clock = DemoClock()
    ledger = open_ledger(
        f"sqlite:///{db_path}",
        script["book_id"],
        book_name=script["clinic_name"],
        clock=clock,
    )
    processor = SimulatorProcessor()
    result = DemoResult(ledger)
    for event in script["events"]:
        clock.day = date.fromisoformat(event["day"])
        line = _replay(ledger, fees, processor, event)
        note = f"  ({event['note']})" if event.get("note") else ""
        result.log.append(f"{event['day']}  {line}{note}")

    result.claims = run_claims_step(ledger, examples, out_dir)
    result.reconciliation = run_reconcile_step(ledger, examples)
    result.remittance = run_remittance_step(ledger, examples)
    result.log += run_plans_demo(ledger, processor, clock)
    if processor_name == "stripe-fake":
        from ona_ledger.processors.stripe_demo import run_stripe_fake_step

        result.log += [
            f"{clock.day}  {line}" for line in run_stripe_fake_step(ledger, fees)
        ]
    # Every invoice the week created, including any a processor step added.
    invoice_ids = [
        key for key, _ in ledger.store.list_records(ledger.book_id, RECORD_INVOICE)
    ]
    result.invoices = [get_invoice(ledger, invoice_id) for invoice_id in invoice_ids]
    result.beancount_path = out_dir / "demo.beancount"
    closing = write_beancount_file(ledger, result.beancount_path)
    errors, beancount_balances = check_with_beancount(result.beancount_path)
    result.beancount_errors = errors
    result.beancount_matches = all(
        beancount_balances.get(account, 0) == amount.to_decimal()
        for account, amount in closing.items()
    ) and all(
        ledger.balance(account).posted.cents * ledger.account(account).type.normal_sign
        == amount.cents
        for account, amount in closing.items()
    )
    result.chain_ok = ledger.verify().ok
    result.revenue = run_revenue_step(
        ledger, out_dir, start=date(2026, 3, 1), as_of=clock.day
    )
    return result


def _replay(
    ledger: Ledger,
    fees: FeeSchedule,
    processor: SimulatorProcessor,
    event: dict[str, Any],
) -> str:
    handler = _HANDLERS[event["event"]]
    return handler(ledger, fees, processor, event)


def _sign(
    ledger: Ledger, fees: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    visit = Visit.model_validate(event["visit"])
    signed = sign_visit(ledger, visit, fees, actor=visit.provider.provider_id)
    total = Money(sum(line.amount.cents for line in signed.lines))
    if signed.entry is None:
        return f"signed {visit.visit_id} again: nothing new to post"
    return f"signed {visit.visit_id} ({visit.provider.provider_id}, {visit.coverage.kind.replace('_', '-')}): {total} on {signed.invoice_id}, entry {signed.entry.id}"


def _payment(
    ledger: Ledger,
    _f: FeeSchedule,
    processor: SimulatorProcessor,
    event: dict[str, Any],
) -> str:
    method = PaymentMethod(event["method"])
    token = processor.tokenize(event["card"]) if "card" in event else None
    try:
        payment = collect_payment(
            ledger,
            event["patient"],
            Money.of(event["amount"]),
            method,
            actor="front-desk",
            allow_credit=event.get("allow_credit", False),
            check_number=event.get("check_number"),
            processor=processor if token else None,
            card_token=token,
            payment_id=event.get("payment_id"),
        )
    except PaymentDeclinedError as declined:
        return f"payment {event['payment_id']} declined: {declined.decline_code} ({declined.category}); nothing posted"
    credit = f", {payment.credit} to credit" if payment.credit.cents else ""
    fee = f", fee {payment.fee}" if payment.fee else ""
    return f"payment {payment.payment_id} {payment.amount} by {_METHOD_LABELS[method]} from {payment.patient_id}{credit}{fee}"


def _checkout(
    ledger: Ledger,
    _f: FeeSchedule,
    processor: SimulatorProcessor,
    event: dict[str, Any],
) -> str:
    tenders = [
        Tender(
            Money.of(t["amount"]),
            PaymentMethod(t["method"]),
            card_token=processor.tokenize(t["card"]) if "card" in t else None,
        )
        for t in event["tenders"]
    ]
    payments = checkout(
        ledger,
        event["patient"],
        tenders,
        actor="front-desk",
        processor=processor,
        checkout_id=event["checkout_id"],
    )
    parts = " + ".join(f"{p.amount} {_METHOD_LABELS[p.method]}" for p in payments)
    return f"checkout {event['checkout_id']} for {event['patient']}: {parts}"


def _refund(
    ledger: Ledger,
    _f: FeeSchedule,
    processor: SimulatorProcessor,
    event: dict[str, Any],
) -> str:
    refund = refund_payment(
        ledger,
        event["payment_id"],
        Money.of(event["amount"]),
        actor="manager",
        reason=event["reason"],
        processor=processor,
    )
    return f"refund {refund.amount} of {refund.payment_id}, entry {refund.entry.id}"


def _void(
    ledger: Ledger, _f: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    voided = void_visit(
        ledger, event["visit_id"], actor="billing-lead", reason=event["reason"]
    )
    return f"voided {voided.visit_id}: its charges reversed{', entry ' + voided.entry.id if voided.entry else ''}"


def _adjust(
    ledger: Ledger, _f: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    reason = AdjustmentReason(event["reason_code"])
    entry = adjust_invoice(
        ledger,
        event["invoice"],
        Money.of(event["amount"]),
        reason,
        actor="manager",
        reason=event["reason"],
    )
    return f"{reason.value} adjustment {event['amount']} on {event['invoice']}, entry {entry.id}"


def _apply_credit(
    ledger: Ledger, _f: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    entry = apply_credit(ledger, event["patient"], actor="billing-lead")
    return f"credit applied for {event['patient']}" + (
        f", entry {entry.id}" if entry else ": nothing open"
    )


def _claim_payment(
    ledger: Ledger, _f: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    entry = post_claim_payment(
        ledger,
        event["claim"],
        paid=Money.of(event["paid"]),
        contractual=Money.of(event["contractual"]),
        patient_responsibility=Money.of(event["patient_responsibility"]),
        actor="remittance",
        effective_date=ledger.clock().date(),
        trace_number=event["trace_number"],
    )
    return f"payer paid {event['paid']} on claim {event['claim']} (contractual {event['contractual']}, patient share {event['patient_responsibility']}), entry {entry.id}"


def _deposit(
    ledger: Ledger, _f: FeeSchedule, _p: SimulatorProcessor, event: dict[str, Any]
) -> str:
    amount = ledger.balance("Assets:Clearing:Undeposited").posted
    entry = record_deposit(
        ledger, event["batch_id"], amount, ledger.clock().date(), actor="front-desk"
    )
    return f"deposited {amount} of cash and checks as {event['batch_id']}, entry {entry.id}"


def _payout(
    ledger: Ledger,
    _f: FeeSchedule,
    processor: SimulatorProcessor,
    _event: dict[str, Any],
) -> str:
    payout = processor.payout(ledger.clock().date())
    if payout is None:
        return "no card money to pay out"
    entry = record_payout(
        ledger, payout.payout_id, payout.amount, payout.arrival_date, actor="processor"
    )
    return f"processor payout {payout.payout_id} of {payout.amount} reached the bank, entry {entry.id}"


_HANDLERS: dict[
    str, Callable[[Ledger, FeeSchedule, SimulatorProcessor, dict[str, Any]], str]
] = {
    "sign": _sign,
    "payment": _payment,
    "checkout": _checkout,
    "refund": _refund,
    "void": _void,
    "adjust": _adjust,
    "apply_credit": _apply_credit,
    "claim_payment": _claim_payment,
    "deposit": _deposit,
    "payout": _payout,
}


def format_demo(result: DemoResult) -> str:
    """Render the demo's results as the report a clinic manager reads."""
    ledger = result.ledger
    out = [
        "ona_ledger demo: the example clinic, from its first week of visits to the month-end close",
        "",
        "What happened",
    ]
    out += [f"  {line}" for line in result.log]
    out += [
        "",
        "Invoices",
        f"  {'Invoice':<24}{'Patient':<9}{'Status':<13}{'Charged':>10}{'Paid':>10}{'Adjusted':>10}{'Pt due':>10}{'Ins due':>10}",
    ]
    for invoice in result.invoices:
        out.append(
            f"  {invoice.invoice_id:<24}{invoice.patient_id:<9}{invoice.status.value:<13}"
            f"{invoice.charged!s:>10}{invoice.paid!s:>10}{invoice.adjusted!s:>10}"
            f"{invoice.patient_due!s:>10}{invoice.insurance_pending!s:>10}"
        )
    out += [
        "",
        "Patient balances",
        f"  {'Patient':<9}{'Owes now':>10}{'With payer':>12}{'Credit':>10}",
    ]
    for patient in sorted({invoice.patient_id for invoice in result.invoices}):
        balance = patient_balance(ledger, patient)
        out.append(
            f"  {patient:<9}{balance.owes_now!s:>10}{balance.pending_insurance!s:>12}{balance.credit!s:>10}"
        )
    out += ["", "Trial balance"]
    out += [
        "  " + line for line in format_trial_balance(trial_balance(ledger)).splitlines()
    ]
    out += [
        "",
        "Charges and collections per provider",
        f"  {'Provider':<10}{'Charges':>10}{'Collected':>11}{'Adjusted':>10}",
    ]
    for row in provider_revenue(ledger):
        out.append(
            f"  {row.provider:<10}{row.charges!s:>10}{row.collections!s:>11}{row.adjustments!s:>10}"
        )
    out += ["", "Claims"] + [f"  {line}" for line in result.claims]
    out += ["", "Bank reconciliation, March 2026"]
    out += [f"  {line}" for line in result.reconciliation]
    out += ["", "Remittance (835)"]
    out += [f"  {line}" if line else "" for line in result.remittance]
    out += ["", "Revenue"] + [f"  {line}" if line else "" for line in result.revenue]
    out += [""]
    verdict = (
        "no errors"
        if not result.beancount_errors
        else f"{len(result.beancount_errors)} errors"
    )
    out.append(
        f"Beancount file: {result.beancount_path} (beancount loader: {verdict}; balances {'match' if result.beancount_matches else 'DO NOT match'} the ledger)"
    )
    out.extend(f"  {error}" for error in result.beancount_errors)
    out.append(
        f"Hash chain: {'verified' if result.chain_ok else 'BROKEN'}, {ledger.verify().entries_checked} entries"
    )
    return "\n".join(out)
