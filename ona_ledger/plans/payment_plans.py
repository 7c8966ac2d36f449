"""Payment plans: a patient balance split into scheduled instalments, and their states.

A plan is a record beside the journal. Creating, pausing or re-spreading a
plan posts nothing; each instalment collected is a payment on the plan's
invoices, so the plan's unpaid instalments always sum to what is open on them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from ona_ledger.billing.payments import open_lines
from ona_ledger.errors import PlanError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, split_evenly
from ona_ledger.plans.common import RECORD_PLAN, require_positive, today
from ona_ledger.plans.events import (
    EventBus,
    EventType,
    PlanEvent,
    default_bus,
    record_event,
)
from ona_ledger.plans.schedule import Frequency as Frequency
from ona_ledger.plans.schedule import due_dates

logger = logging.getLogger(__name__)

# NOTE: the default minimum instalment is this library's choice; a clinic
# sets its own with `minimum_instalment`.
DEFAULT_MINIMUM_INSTALMENT = Money.of("25.00")


class PlanState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DELINQUENT = "delinquent"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DEFAULTED = "defaulted"


class InstalmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    PAID = "paid"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Instalment:
    """One scheduled collection: its number, due day, amount, what is paid and the attempts."""

    number: int
    due: date
    amount: Money
    paid: Money
    status: InstalmentStatus
    next_attempt_on: date | None
    attempts: tuple[dict[str, str], ...]

    @property
    def remaining(self) -> Money:
        return self.amount - self.paid


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """A plan as stored: its patient, invoices, schedule, card and state."""

    plan_id: str
    patient_id: str
    invoices: tuple[str, ...]
    frequency: Frequency
    state: PlanState
    needs_new_card: bool
    card_token: str
    minimum_instalment: Money
    instalments: tuple[Instalment, ...]

    @property
    def scheduled(self) -> tuple[Instalment, ...]:
        return tuple(
            i for i in self.instalments if i.status is InstalmentStatus.SCHEDULED
        )

    @property
    def remaining(self) -> Money:
        return Money(sum(i.remaining.cents for i in self.scheduled))


def plan_outstanding(ledger: Ledger, patient_id: str, invoices: Sequence[str]) -> Money:
    """Return what is open for the patient on the plan's invoices."""
    lines = open_lines(ledger, patient_id, list(invoices))
    return Money(sum(line.open.cents for line in lines))


def create_plan(
    ledger: Ledger,
    patient_id: str,
    invoices: Sequence[str],
    *,
    frequency: Frequency,
    first_date: date,
    card_token: str,
    instalments: int | None = None,
    instalment_amount: Money | None = None,
    down_payment: Money | None = None,
    minimum_instalment: Money = DEFAULT_MINIMUM_INSTALMENT,
    card_expires: tuple[int, int] | None = None,
    plan_id: str | None = None,
) -> PaymentPlan:
    """Create a plan over what is open on `invoices`; it posts nothing.

    Give either `instalments` (a count; the parts differ by at most one cent)
    or `instalment_amount` (the last instalment takes the rest). A down
    payment falls due on the day the plan is made. Every instalment except a
    shorter last one must be at least `minimum_instalment`. `card_expires` is
    the card's (year, month), used for card-expiring notices.
    """
    frequency = Frequency(frequency)
    if not invoices:
        raise PlanError(f"a plan for patient {patient_id} needs at least one invoice")
    if (instalments is None) == (instalment_amount is None):
        raise PlanError(
            "pass either instalments (a count) or instalment_amount, not both or neither"
        )
    if not card_token:
        raise PlanError("a plan needs the card token of the card on file for autopay")
    existing = ledger.store.get_record(ledger.book_id, RECORD_PLAN, plan_id or "")
    if plan_id and existing is not None:
        raise PlanError(f"plan {plan_id} exists already; use another plan id")
    balance = plan_outstanding(ledger, patient_id, invoices)
    if balance.cents <= 0:
        raise PlanError(
            f"invoices {', '.join(invoices)} have nothing open for patient {patient_id}; "
            "a plan needs a balance to cover"
        )
    rest = balance
    amounts: list[Money] = []
    if down_payment is not None:
        require_positive(down_payment, "down payment")
        if down_payment >= balance:
            raise PlanError(
                f"down payment {down_payment} covers the whole balance {balance}; "
                "collect it as a payment instead of making a plan"
            )
        rest = balance - down_payment
    amounts = _split(rest, instalments, instalment_amount, minimum_instalment)

    made_on = today(ledger)
    plan_id = plan_id or f"PLN-{ledger.store.next_sequence(ledger.book_id, 'plan'):06d}"
    rows: list[dict[str, Any]] = []
    if down_payment is not None:
        rows.append(_instalment_row(0, made_on, down_payment))
    for number, (due, amount) in enumerate(
        zip(due_dates(first_date, frequency, len(amounts)), amounts, strict=True),
        start=1,
    ):
        rows.append(_instalment_row(number, due, amount))
    record = {
        "plan_id": plan_id,
        "patient_id": patient_id,
        "invoices": list(invoices),
        "frequency": frequency.value,
        "first_date": first_date.isoformat(),
        "state": PlanState.ACTIVE.value,
        "needs_new_card": False,
        "card_token": card_token,
        "card_expires": list(card_expires) if card_expires else None,
        "card_expiry_notified": None,
        "minimum_cents": minimum_instalment.cents,
        "regular_cents": amounts[0].cents,
        "next_number": len(amounts) + 1,
        "created_on": made_on.isoformat(),
        "instalments": rows,
    }
    ledger.store.put_record(ledger.book_id, RECORD_PLAN, plan_id, record)
    logger.info("plan %s made: %d instalments of %s", plan_id, len(rows), balance)
    return plan_from_record(record)


def get_plan(ledger: Ledger, plan_id: str) -> PaymentPlan:
    return plan_from_record(load_plan_record(ledger, plan_id))


def list_plans(ledger: Ledger) -> list[PaymentPlan]:
    return [
        plan_from_record(body)
        for _, body in ledger.store.list_records(ledger.book_id, RECORD_PLAN)
    ]


def load_plan_record(ledger: Ledger, plan_id: str) -> dict[str, Any]:
    record = ledger.store.get_record(ledger.book_id, RECORD_PLAN, plan_id)
    if record is None:
        raise PlanError(
            f"payment plan {plan_id} does not exist in book {ledger.book_id}"
        )
    return record


def save_plan_record(ledger: Ledger, record: dict[str, Any]) -> None:
    ledger.store.put_record(ledger.book_id, RECORD_PLAN, record["plan_id"], record)


def refresh_plan(
    ledger: Ledger, plan_id: str, *, bus: EventBus = default_bus
) -> PaymentPlan:
    """Match the unpaid instalments to what is open now, after credits, adjustments or charges."""
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        events = resync(tx, record)
        save_plan_record(tx, record)
    publish_all(bus, events)
    return plan_from_record(record)


def add_invoices(
    ledger: Ledger,
    plan_id: str,
    invoices: Sequence[str],
    *,
    bus: EventBus = default_bus,
) -> PaymentPlan:
    """Join new charges to a plan; the unpaid instalments are re-spread over the new total."""
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(
            record, (PlanState.ACTIVE, PlanState.PAUSED, PlanState.DELINQUENT)
        )
        for invoice in invoices:
            if invoice not in record["invoices"]:
                record["invoices"].append(invoice)
        events = resync(tx, record)
        save_plan_record(tx, record)
    publish_all(bus, events)
    return plan_from_record(record)


def pause_plan(ledger: Ledger, plan_id: str) -> PaymentPlan:
    """Stop autopay for the plan until it is resumed."""
    return _set_state(ledger, plan_id, PlanState.PAUSED, (PlanState.ACTIVE,))


def resume_plan(
    ledger: Ledger, plan_id: str, first_date: date | None = None
) -> PaymentPlan:
    """Resume a paused or delinquent plan; unpaid instalments are re-dated from `first_date`.

    By default the first unpaid instalment falls due today and the rest follow
    at the plan's frequency.
    """
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(record, (PlanState.PAUSED, PlanState.DELINQUENT))
        start = first_date or today(tx)
        unpaid = [row for row in record["instalments"] if row["status"] == "scheduled"]
        days = due_dates(start, Frequency(record["frequency"]), len(unpaid))
        for row, due in zip(unpaid, days, strict=True):
            row["due"] = due.isoformat()
            row["next_attempt_on"] = due.isoformat()
            row["cycle_attempts"] = 0
        record["state"] = PlanState.ACTIVE.value
        save_plan_record(tx, record)
    return plan_from_record(record)


def cancel_plan(ledger: Ledger, plan_id: str) -> PaymentPlan:
    """Cancel a plan: no more collections; what is open stays owed on the invoices."""
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(
            record, (PlanState.ACTIVE, PlanState.PAUSED, PlanState.DELINQUENT)
        )
        _drop_unpaid(record)
        record["state"] = PlanState.CANCELLED.value
        save_plan_record(tx, record)
    return plan_from_record(record)


def mark_defaulted(ledger: Ledger, plan_id: str) -> PaymentPlan:
    """Mark a delinquent plan defaulted; it posts nothing (write-offs are the clinic's call)."""
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(record, (PlanState.DELINQUENT,))
        _drop_unpaid(record)
        record["state"] = PlanState.DEFAULTED.value
        save_plan_record(tx, record)
    return plan_from_record(record)


def update_card(
    ledger: Ledger,
    plan_id: str,
    card_token: str,
    card_expires: tuple[int, int] | None = None,
) -> PaymentPlan:
    """Put a new card on file: retries start afresh and a delinquent plan is active again."""
    if not card_token:
        raise PlanError(f"plan {plan_id}: the new card token is empty")
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(
            record, (PlanState.ACTIVE, PlanState.PAUSED, PlanState.DELINQUENT)
        )
        record["card_token"] = card_token
        record["card_expires"] = list(card_expires) if card_expires else None
        record["card_expiry_notified"] = None
        record["needs_new_card"] = False
        day = today(tx)
        for row in record["instalments"]:
            if row["status"] == "scheduled":
                row["cycle_attempts"] = 0
                due = date.fromisoformat(row["due"])
                row["next_attempt_on"] = max(due, day).isoformat()
        if record["state"] == PlanState.DELINQUENT.value:
            record["state"] = PlanState.ACTIVE.value
        save_plan_record(tx, record)
    return plan_from_record(record)


def resync(ledger: Ledger, record: dict[str, Any]) -> list[PlanEvent]:
    """Make the unpaid instalments sum to what is open on the plan's invoices.

    Less open (a credit, an insurance adjustment, a payment at the desk)
    shortens the plan from its last instalment; more open (a charge that
    joined) re-spreads the unpaid instalments; nothing open completes it.
    Returns the events to publish once the caller's transaction commits.
    """
    if record["state"] in (
        PlanState.COMPLETED.value,
        PlanState.CANCELLED.value,
        PlanState.DEFAULTED.value,
    ):
        return []
    outstanding = plan_outstanding(ledger, record["patient_id"], record["invoices"])
    unpaid = [row for row in record["instalments"] if row["status"] == "scheduled"]
    scheduled = sum(row["amount_cents"] - row["paid_cents"] for row in unpaid)
    if outstanding.cents == scheduled and outstanding.cents > 0:
        return []
    if outstanding.cents <= 0:
        _drop_unpaid(record)
        record["state"] = PlanState.COMPLETED.value
        logger.info("plan %s completed", record["plan_id"])
        event = record_event(
            ledger,
            EventType.PLAN_COMPLETED,
            today(ledger),
            record["plan_id"],
            record["patient_id"],
        )
        return [event]
    if outstanding.cents < scheduled:
        _shorten(unpaid, outstanding.cents)
    else:
        _respread(record, unpaid, outstanding)
    return []


def publish_all(bus: EventBus, events: Sequence[PlanEvent]) -> None:
    for event in events:
        bus.publish(event)


def plan_from_record(record: dict[str, Any]) -> PaymentPlan:
    return PaymentPlan(
        plan_id=record["plan_id"],
        patient_id=record["patient_id"],
        invoices=tuple(record["invoices"]),
        frequency=Frequency(record["frequency"]),
        state=PlanState(record["state"]),
        needs_new_card=bool(record["needs_new_card"]),
        card_token=record["card_token"],
        minimum_instalment=Money(record["minimum_cents"]),
        instalments=tuple(
            Instalment(
                number=row["number"],
                due=date.fromisoformat(row["due"]),
                amount=Money(row["amount_cents"]),
                paid=Money(row["paid_cents"]),
                status=InstalmentStatus(row["status"]),
                next_attempt_on=(
                    date.fromisoformat(row["next_attempt_on"])
                    if row["next_attempt_on"]
                    else None
                ),
                attempts=tuple(row["attempts"]),
            )
            for row in record["instalments"]
        ),
    )


def _split(
    rest: Money,
    count: int | None,
    amount: Money | None,
    minimum: Money,
) -> list[Money]:
    """Split what the instalments cover, by count or by instalment amount."""
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise PlanError(
                f"instalment count {count!r} must be a whole number of 1 or more"
            )
        parts = split_evenly(rest, count)
        if parts[-1] < minimum:
            raise PlanError(
                f"{count} instalments of {rest} are {parts[-1]} each, below the minimum "
                f"instalment of {minimum}; choose at most {max(rest.cents // minimum.cents, 1)} "
                "instalments"
            )
        return parts
    assert amount is not None
    require_positive(amount, "instalment amount")
    if amount < minimum:
        raise PlanError(
            f"instalment amount {amount} is below the minimum instalment of {minimum}; "
            "raise it"
        )
    full, last = divmod(rest.cents, amount.cents)
    parts = [amount] * full
    if last:
        parts.append(Money(last))
    return parts


def _instalment_row(number: int, due: date, amount: Money) -> dict[str, Any]:
    return {
        "number": number,
        "due": due.isoformat(),
        "amount_cents": amount.cents,
        "paid_cents": 0,
        "status": InstalmentStatus.SCHEDULED.value,
        "next_attempt_on": due.isoformat(),
        "cycle_attempts": 0,
        "attempts": [],
    }


def _shorten(unpaid: list[dict[str, Any]], outstanding_cents: int) -> None:
    """Keep the first instalments as they are and cut the plan's end to fit."""
    left = outstanding_cents
    for row in unpaid:
        remaining = row["amount_cents"] - row["paid_cents"]
        keep = min(remaining, left)
        left -= keep
        row["amount_cents"] = row["paid_cents"] + keep
        if keep == 0:
            row["status"] = (
                InstalmentStatus.PAID.value
                if row["paid_cents"]
                else InstalmentStatus.DROPPED.value
            )


def _respread(
    record: dict[str, Any], unpaid: list[dict[str, Any]], outstanding: Money
) -> None:
    """Spread more than is scheduled over the unpaid instalments, adding some if none are left.

    The count shrinks while a part would fall below the minimum instalment.
    """
    minimum = record["minimum_cents"]
    if not unpaid:
        regular = max(record["regular_cents"], minimum, 1)
        count = max(1, -(-outstanding.cents // regular))
        last_due = max(date.fromisoformat(r["due"]) for r in record["instalments"])
        days = due_dates(last_due, Frequency(record["frequency"]), count + 1)[1:]
        for due in days:
            row = _instalment_row(record["next_number"], due, Money.zero())
            record["next_number"] += 1
            record["instalments"].append(row)
            unpaid.append(row)
    count = len(unpaid)
    parts = split_evenly(outstanding, count)
    while count > 1 and parts[-1].cents < minimum:
        count -= 1
        parts = split_evenly(outstanding, count)
    for index, row in enumerate(unpaid):
        if index < count:
            row["amount_cents"] = row["paid_cents"] + parts[index].cents
        elif row["paid_cents"]:
            row["amount_cents"] = row["paid_cents"]
            row["status"] = InstalmentStatus.PAID.value
        else:
            row["status"] = InstalmentStatus.DROPPED.value


def _drop_unpaid(record: dict[str, Any]) -> None:
    for row in record["instalments"]:
        if row["status"] == InstalmentStatus.SCHEDULED.value:
            row["status"] = (
                InstalmentStatus.PAID.value
                if row["paid_cents"]
                else InstalmentStatus.DROPPED.value
            )
            row["amount_cents"] = row["paid_cents"]


def _require_state(record: dict[str, Any], allowed: Sequence[PlanState]) -> None:
    if record["state"] not in {state.value for state in allowed}:
        raise PlanError(
            f"plan {record['plan_id']} is {record['state']}; this needs a plan that is "
            f"{' or '.join(state.value for state in allowed)}"
        )


def _set_state(
    ledger: Ledger, plan_id: str, state: PlanState, allowed: Sequence[PlanState]
) -> PaymentPlan:
    with ledger.atomic() as tx:
        record = load_plan_record(tx, plan_id)
        _require_state(record, allowed)
        record["state"] = state.value
        save_plan_record(tx, record)
    return plan_from_record(record)
