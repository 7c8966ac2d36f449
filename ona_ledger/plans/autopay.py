"""The autopay runner: charges due plan instalments and membership fees with smart retries.

A host calls `run_autopay` from its scheduler (or runs `ona-ledger run-autopay
--as-of DATE`). Each charge attempt is claimed under the book lock before the
card is charged, so two runners at once never charge the same attempt.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ona_ledger.billing.common import PATIENT_CREDIT
from ona_ledger.billing.payments import PaymentMethod, apply_credit, collect_payment
from ona_ledger.billing.processing import Processor
from ona_ledger.errors import LedgerError, PaymentDeclinedError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money
from ona_ledger.plans.common import (
    OffSessionProcessor,
    claim_attempt,
    finish_claim,
    release_claim,
)
from ona_ledger.plans.events import (
    EventBus,
    EventType,
    PlanEvent,
    default_bus,
    record_event,
)
from ona_ledger.plans.memberships import bill_memberships
from ona_ledger.plans.payment_plans import (
    PaymentPlan,
    PlanState,
    get_plan,
    list_plans,
    load_plan_record,
    publish_all,
    resync,
    save_plan_record,
)
from ona_ledger.plans.schedule import RetryPolicy, is_soft_decline

logger = logging.getLogger(__name__)

AUTOPAY_ACTOR = "autopay"


@dataclass
class AutopayReport:
    """Counts of one run: charges, declines, credit used, and membership billing."""

    as_of: date
    charged: int = 0
    charged_amount: Money = field(default_factory=Money.zero)
    declined: int = 0
    paid_from_credit: int = 0
    skipped_claimed: int = 0
    errors: int = 0
    memberships_billed: int = 0
    memberships_declined: int = 0
    recognised_amount: Money = field(default_factory=Money.zero)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "charged": self.charged,
            "charged_amount": str(self.charged_amount),
            "declined": self.declined,
            "paid_from_credit": self.paid_from_credit,
            "skipped_claimed": self.skipped_claimed,
            "errors": self.errors,
            "memberships_billed": self.memberships_billed,
            "memberships_declined": self.memberships_declined,
            "recognised_amount": str(self.recognised_amount),
        }


def default_runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_autopay(
    ledger: Ledger,
    processor: Processor,
    as_of: date,
    *,
    policy: RetryPolicy | None = None,
    runner_id: str | None = None,
    bus: EventBus = default_bus,
    plan_ids: list[str] | None = None,
) -> AutopayReport:
    """Charge every plan instalment and membership fee due on or before `as_of`.

    Running it again on the same day charges nothing new, because a declined
    attempt waits for its retry day and a paid one is done. Soft declines are
    retried on `policy`. A hard decline stops retries and marks the plan as
    needing a new card, and a failed last retry makes the plan delinquent.
    """
    policy = policy or RetryPolicy()
    runner_id = runner_id or default_runner_id()
    off_session = OffSessionProcessor(processor)
    report = AutopayReport(as_of)
    # A plan with nothing due is skipped without a transaction; its balance is
    # rechecked against the invoices only when an instalment is due.
    plans = [
        plan
        for plan in list_plans(ledger)
        if (plan_ids is None or plan.plan_id in plan_ids) and _may_be_due(plan, as_of)
    ]
    ids = [plan.plan_id for plan in plans]
    for plan_id in ids:
        _collect_plan(
            ledger, off_session, plan_id, as_of, policy, runner_id, report, bus
        )
    bill_memberships(ledger, off_session, as_of, policy, runner_id, report, bus)
    logger.info(
        "autopay %s: %d charged (%s), %d declined, %d from credit, %d errors",
        as_of,
        report.charged,
        report.charged_amount,
        report.declined,
        report.paid_from_credit,
        report.errors,
    )
    return report


def _collect_plan(
    ledger: Ledger,
    processor: Processor,
    plan_id: str,
    as_of: date,
    policy: RetryPolicy,
    runner_id: str,
    report: AutopayReport,
    bus: EventBus,
) -> None:
    """Collect a plan's due instalments in order, stopping at the first decline."""
    while True:
        events: list[PlanEvent] = []
        with ledger.atomic() as tx:
            record = load_plan_record(tx, plan_id)
            if record["state"] != PlanState.ACTIVE.value or record["needs_new_card"]:
                return
            events += resync(tx, record)
            events += _card_expiry_notice(tx, record, as_of)
            row = _due_row(record, as_of)
            claim = None
            if row is not None:
                if _pay_from_credit(tx, record, row, as_of, events):
                    report.paid_from_credit += 1
                else:
                    key = f"{plan_id}:{row['number']}:{len(row['attempts']) + 1}"
                    claim = claim_attempt(tx, key, runner_id)
                    if claim is None:
                        report.skipped_claimed += 1
            save_plan_record(tx, record)
        publish_all(bus, events)
        if row is None:
            return
        if claim is None:
            if row["status"] == "paid":
                continue
            return
        paid = _charge_instalment(
            ledger, processor, record, row, claim, as_of, policy, report, bus
        )
        if not paid or not _may_be_due(get_plan(ledger, plan_id), as_of):
            return


def _may_be_due(plan: PaymentPlan, as_of: date) -> bool:
    if plan.state is not PlanState.ACTIVE or plan.needs_new_card:
        return False
    first = next(iter(plan.scheduled), None)
    return first is not None and (
        first.next_attempt_on is not None and first.next_attempt_on <= as_of
    )


def _due_row(record: dict[str, Any], as_of: date) -> dict[str, Any] | None:
    """Return the first unpaid instalment when it is due for an attempt by `as_of`."""
    for row in record["instalments"]:
        if row["status"] != "scheduled":
            continue
        due = row["next_attempt_on"]
        found: dict[str, Any] = row
        if due is not None and date.fromisoformat(due) <= as_of:
            return found
        return None
    return None


def _pay_from_credit(
    tx: Ledger,
    record: dict[str, Any],
    row: dict[str, Any],
    as_of: date,
    events: list[PlanEvent],
) -> bool:
    """Apply the patient's credit to the instalment; return True when it paid it in full."""
    patient = record["patient_id"]
    credit = tx.balance(PATIENT_CREDIT, patient=patient).posted
    remaining = Money(row["amount_cents"] - row["paid_cents"])
    if credit.cents <= 0:
        return False
    used = min(credit, remaining)
    entry = apply_credit(
        tx,
        patient,
        actor=AUTOPAY_ACTOR,
        invoices=record["invoices"],
        amount=used,
        effective_date=as_of,
    )
    row["paid_cents"] += used.cents
    row["attempts"].append(
        {
            "day": as_of.isoformat(),
            "outcome": "credit",
            "amount": str(used),
            "entry": entry.id if entry else "",
        }
    )
    if row["paid_cents"] < row["amount_cents"]:
        return False
    row["status"] = "paid"
    events.append(
        record_event(
            tx,
            EventType.PAYMENT_SUCCEEDED,
            as_of,
            record["plan_id"],
            patient,
            {"instalment": str(row["number"]), "amount": str(used), "method": "credit"},
        )
    )
    return True


def _charge_instalment(
    ledger: Ledger,
    processor: Processor,
    record: dict[str, Any],
    row: dict[str, Any],
    claim: dict[str, Any],
    as_of: date,
    policy: RetryPolicy,
    report: AutopayReport,
    bus: EventBus,
) -> bool:
    """Charge one claimed attempt and record its outcome; return True when it was paid."""
    plan_id, number = record["plan_id"], row["number"]
    attempt = len(row["attempts"]) + 1
    amount = Money(row["amount_cents"] - row["paid_cents"])
    decline: PaymentDeclinedError | None = None
    try:
        payment = collect_payment(
            ledger,
            record["patient_id"],
            amount,
            PaymentMethod.CARD,
            actor=AUTOPAY_ACTOR,
            invoices=record["invoices"],
            processor=processor,
            card_token=record["card_token"],
            payment_id=f"{plan_id}-{number}-{attempt}",
            effective_date=as_of,
        )
    except PaymentDeclinedError as error:
        decline = error
    except LedgerError as error:
        logger.warning("plan %s instalment %d not charged: %s", plan_id, number, error)
        release_claim(ledger, claim, str(error))
        report.errors += 1
        return False

    events: list[PlanEvent] = []
    with ledger.atomic() as tx:
        fresh = load_plan_record(tx, plan_id)
        current = next(r for r in fresh["instalments"] if r["number"] == number)
        if decline is None:
            _record_paid(tx, fresh, current, payment.payment_id, amount, as_of, events)
            report.charged += 1
            report.charged_amount = report.charged_amount + amount
        else:
            _record_decline(tx, fresh, current, decline, as_of, policy, events)
            report.declined += 1
        events += resync(tx, fresh)
        save_plan_record(tx, fresh)
        finish_claim(tx, claim, "paid" if decline is None else "declined")
    publish_all(bus, events)
    return decline is None


def _record_paid(
    tx: Ledger,
    record: dict[str, Any],
    row: dict[str, Any],
    payment_id: str,
    amount: Money,
    as_of: date,
    events: list[PlanEvent],
) -> None:
    row["paid_cents"] += amount.cents
    row["amount_cents"] = max(row["amount_cents"], row["paid_cents"])
    row["status"] = "paid"
    row["attempts"].append(
        {"day": as_of.isoformat(), "outcome": "paid", "payment_id": payment_id}
    )
    events.append(
        record_event(
            tx,
            EventType.PAYMENT_SUCCEEDED,
            as_of,
            record["plan_id"],
            record["patient_id"],
            {"instalment": str(row["number"]), "amount": str(amount), "method": "card"},
        )
    )


def _record_decline(
    tx: Ledger,
    record: dict[str, Any],
    row: dict[str, Any],
    decline: PaymentDeclinedError,
    as_of: date,
    policy: RetryPolicy,
    events: list[PlanEvent],
) -> None:
    """Record a declined attempt and schedule a retry, ask for a new card, or go delinquent."""
    plan_id, patient = record["plan_id"], record["patient_id"]
    row["attempts"].append(
        {
            "day": as_of.isoformat(),
            "outcome": "declined",
            "decline_code": decline.decline_code,
            "category": decline.category,
        }
    )
    row["cycle_attempts"] += 1
    details = {
        "instalment": str(row["number"]),
        "decline_code": decline.decline_code,
        "category": decline.category,
    }
    if not is_soft_decline(decline.category):
        record["needs_new_card"] = True
        row["next_attempt_on"] = None
        details["next_step"] = "new_card"
    else:
        retry_on = policy.next_attempt(row["cycle_attempts"], as_of)
        row["next_attempt_on"] = retry_on.isoformat() if retry_on else None
        details["next_step"] = f"retry on {retry_on}" if retry_on else "delinquent"
    events.append(
        record_event(tx, EventType.PAYMENT_FAILED, as_of, plan_id, patient, details)
    )
    if record["needs_new_card"]:
        events.append(
            record_event(tx, EventType.NEEDS_NEW_CARD, as_of, plan_id, patient, details)
        )
    elif row["next_attempt_on"] is None:
        record["state"] = PlanState.DELINQUENT.value
        events.append(
            record_event(
                tx, EventType.PLAN_DELINQUENT, as_of, plan_id, patient, details
            )
        )
    logger.info(
        "plan %s instalment %d declined (%s): %s",
        plan_id,
        row["number"],
        decline.decline_code,
        details["next_step"],
    )


def _card_expiry_notice(
    tx: Ledger, record: dict[str, Any], as_of: date
) -> list[PlanEvent]:
    """Record one card-expiring event per card that expires before the plan's last instalment."""
    expires = record.get("card_expires")
    if not expires or record.get("card_expiry_notified") == record["card_token"]:
        return []
    unpaid = [r for r in record["instalments"] if r["status"] == "scheduled"]
    if not unpaid:
        return []
    year, month = expires
    last_due = date.fromisoformat(unpaid[-1]["due"])
    if (last_due.year, last_due.month) <= (year, month):
        return []
    record["card_expiry_notified"] = record["card_token"]
    event = record_event(
        tx,
        EventType.CARD_EXPIRING,
        as_of,
        record["plan_id"],
        record["patient_id"],
        {"expires": f"{year:04d}-{month:02d}"},
    )
    return [event]
