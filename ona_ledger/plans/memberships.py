"""Memberships: monthly or annual fees per member, family plans, proration and HSA caps.

Fees are charged by the autopay runner. A monthly fee is earned in the month
it pays for and goes straight to Income:Memberships. An annual fee paid up
front goes to Liabilities:Deferred:Memberships and is recognised month by
month into Income:Memberships.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from dateutil.relativedelta import relativedelta

from ona_ledger.billing.processing import ChargeStatus, Processor, classify_decline
from ona_ledger.entries import Entry, Posting
from ona_ledger.errors import LedgerError, PlanError
from ona_ledger.ledger import Ledger
from ona_ledger.money import Money, allocate, split_evenly
from ona_ledger.plans.common import (
    DEFERRED_MEMBERSHIPS,
    INCOME_MEMBERSHIPS,
    RECORD_MEMBERSHIP,
    card_postings,
    charge_card,
    claim_attempt,
    finish_claim,
    release_claim,
    require_positive,
    undo_charge,
)
from ona_ledger.plans.events import EventBus, EventType, PlanEvent, record_event
from ona_ledger.plans.schedule import RetryPolicy, is_soft_decline

if TYPE_CHECKING:
    from ona_ledger.plans.autopay import AutopayReport

logger = logging.getLogger(__name__)

# Direct-primary-care fees an HSA may pay from 2026, per month: 150.00 for
# one person and 300.00 for an arrangement covering more than one. The One
# Big Beautiful Bill Act of 2025 (Public Law 119-21) set them in IRC section
# 223, indexed for inflation after 2026.
HSA_DPC_CAP_PERSON: Final = Money.of("150.00")
HSA_DPC_CAP_FAMILY: Final = Money.of("300.00")
HSA_DPC_FIRST_YEAR: Final = 2026


class MembershipInterval(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class MembershipState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Member:
    patient_id: str
    fee: Money


@dataclass(frozen=True, slots=True)
class Membership:
    """A membership as stored: who pays, the members and their fees, and its periods."""

    membership_id: str
    account_patient: str
    members: tuple[Member, ...]
    interval: MembershipInterval
    state: MembershipState
    hsa_eligible: bool
    needs_new_card: bool
    periods: tuple[dict[str, Any], ...]

    @property
    def fee(self) -> Money:
        return Money(sum(member.fee.cents for member in self.members))


def hsa_eligible(
    fee: Money, interval: MembershipInterval, members: int, year: int
) -> bool:
    """Check whether an HSA may pay this direct-primary-care fee in `year`.

    An annual fee is compared as twelve monthly fees. Before 2026 no DPC fee
    was HSA-eligible.
    """
    # NOTE: the IRS has not published the indexed limits for 2027 on, so later
    # years are checked against the 2026 limits until they are added here.
    if year < HSA_DPC_FIRST_YEAR:
        return False
    cap = HSA_DPC_CAP_PERSON if members == 1 else HSA_DPC_CAP_FAMILY
    if interval is MembershipInterval.MONTHLY:
        return fee.cents <= cap.cents
    return fee.cents <= cap.cents * 12


def prorated_first_fee(fee: Money, enrolled: date) -> Money:
    """Return the first monthly fee for an enrolment on `enrolled`.

    Proration rule: monthly memberships bill on the first of each month. The
    first month costs the fee times the days from the enrolment day to the
    month's end, both included, over the days in that month, with cents
    allocated deterministically (`allocate`). Enrolling on the 1st pays the
    whole fee.
    """
    days = calendar.monthrange(enrolled.year, enrolled.month)[1]
    used = days - enrolled.day + 1
    if used == days:
        return fee
    return allocate(fee, [used, days - used])[0]


def enrol(
    ledger: Ledger,
    account_patient: str,
    members: Sequence[Member],
    interval: MembershipInterval,
    *,
    start: date,
    card_token: str,
    membership_id: str | None = None,
) -> Membership:
    """Enrol one member or a family; the first fee falls due on `start`.

    `account_patient` is the member who pays; family members each carry
    their own fee. Enrolling posts nothing until the runner charges the fee.
    """
    interval = MembershipInterval(interval)
    if not members:
        raise PlanError(f"membership for {account_patient} needs at least one member")
    for member in members:
        require_positive(member.fee, f"membership fee of member {member.patient_id}")
    if not card_token:
        raise PlanError("a membership needs the card token of the card on file")
    membership_id = (
        membership_id
        or f"MEM-{ledger.store.next_sequence(ledger.book_id, 'membership'):06d}"
    )
    if ledger.store.get_record(ledger.book_id, RECORD_MEMBERSHIP, membership_id):
        raise PlanError(f"membership {membership_id} exists already; use another id")
    fee = Money(sum(member.fee.cents for member in members))
    record = {
        "membership_id": membership_id,
        "account_patient": account_patient,
        "members": [
            {"patient_id": m.patient_id, "fee_cents": m.fee.cents} for m in members
        ],
        "interval": interval.value,
        "start": start.isoformat(),
        "state": MembershipState.ACTIVE.value,
        "card_token": card_token,
        "needs_new_card": False,
        "hsa_eligible": hsa_eligible(fee, interval, len(members), start.year),
        "next_period_start": start.isoformat(),
        "periods": [],
    }
    ledger.store.put_record(ledger.book_id, RECORD_MEMBERSHIP, membership_id, record)
    logger.info("membership %s enrolled: %d members", membership_id, len(members))
    return membership_from_record(record)


def get_membership(ledger: Ledger, membership_id: str) -> Membership:
    return membership_from_record(_load(ledger, membership_id))


def add_member(ledger: Ledger, membership_id: str, member: Member) -> Membership:
    """Add a family member; the fee changes from the next period, with no proration."""
    require_positive(member.fee, f"membership fee of member {member.patient_id}")
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        if any(m["patient_id"] == member.patient_id for m in record["members"]):
            raise PlanError(
                f"{member.patient_id} is already in membership {membership_id}"
            )
        record["members"].append(
            {"patient_id": member.patient_id, "fee_cents": member.fee.cents}
        )
        _refresh_hsa(record)
        _save(tx, record)
    return membership_from_record(record)


def pause_membership(ledger: Ledger, membership_id: str) -> Membership:
    """Stop billing; periods that start while paused are never billed."""
    return _set_state(
        ledger, membership_id, MembershipState.PAUSED, (MembershipState.ACTIVE,)
    )


def resume_membership(ledger: Ledger, membership_id: str, day: date) -> Membership:
    """Resume billing from the next period start on or after `day` (no proration)."""
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        if record["state"] != MembershipState.PAUSED.value:
            raise PlanError(
                f"membership {membership_id} is {record['state']}, not paused"
            )
        next_start = date.fromisoformat(record["next_period_start"])
        step = _step(MembershipInterval(record["interval"]))
        while next_start < day:
            next_start = _period_start_after(next_start, step)
        record["next_period_start"] = next_start.isoformat()
        record["state"] = MembershipState.ACTIVE.value
        _save(tx, record)
    return membership_from_record(record)


def cancel_membership(ledger: Ledger, membership_id: str) -> Membership:
    """Cancel: nothing more is billed.

    Policy: an annual fee already paid is not refunded and is recognised to
    the end of its term, since the member keeps access until then.
    """
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        record["state"] = MembershipState.CANCELLED.value
        _save(tx, record)
    return membership_from_record(record)


def update_membership_card(
    ledger: Ledger, membership_id: str, card_token: str
) -> Membership:
    """Put a new card on file; a past-due period is retried at the next run."""
    if not card_token:
        raise PlanError(f"membership {membership_id}: the new card token is empty")
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        record["card_token"] = card_token
        record["needs_new_card"] = False
        if record["state"] == MembershipState.PAST_DUE.value:
            record["state"] = MembershipState.ACTIVE.value
        for period in record["periods"]:
            if period["status"] == "scheduled":
                period["cycle_attempts"] = 0
                period["next_attempt_on"] = period["start"]
        _save(tx, record)
    return membership_from_record(record)


def bill_memberships(
    ledger: Ledger,
    processor: Processor,
    as_of: date,
    policy: RetryPolicy,
    runner_id: str,
    report: AutopayReport,
    bus: EventBus,
) -> None:
    """Charge every membership period due by `as_of` and recognise annual fees earned."""
    for membership_id, _ in ledger.store.list_records(
        ledger.book_id, RECORD_MEMBERSHIP
    ):
        while _bill_next(
            ledger, processor, membership_id, as_of, policy, runner_id, report, bus
        ):
            pass
        report.recognised_amount = (
            report.recognised_amount
            + recognise_membership_revenue(ledger, membership_id, as_of)
        )


def recognise_membership_revenue(
    ledger: Ledger, membership_id: str, as_of: date
) -> Money:
    """Move each month of paid annual fees that has begun by `as_of` into income."""
    recognised = Money.zero()
    if not _earning_due(_load(ledger, membership_id), as_of):
        return recognised
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        for period in record["periods"]:
            if period["status"] != "paid" or record["interval"] != "annual":
                continue
            start = date.fromisoformat(period["start"])
            parts = split_evenly(Money(period["amount_cents"]), 12)
            while period["recognised"] < 12:
                month = period["recognised"]
                day = start + relativedelta(months=month)
                if day > as_of:
                    break
                tx.post(_recognition_entry(record, period, month, parts[month], day))
                period["recognised"] += 1
                recognised = recognised + parts[month]
        _save(tx, record)
    return recognised


def _earning_due(record: dict[str, Any], as_of: date) -> bool:
    """Check for a paid annual month that began by `as_of` and is not yet earned."""
    if record["interval"] != MembershipInterval.ANNUAL.value:
        return False
    for period in record["periods"]:
        if period["status"] != "paid" or period["recognised"] >= 12:
            continue
        start = date.fromisoformat(period["start"])
        if start + relativedelta(months=period["recognised"]) <= as_of:
            return True
    return False


def membership_from_record(record: dict[str, Any]) -> Membership:
    return Membership(
        membership_id=record["membership_id"],
        account_patient=record["account_patient"],
        members=tuple(
            Member(m["patient_id"], Money(m["fee_cents"])) for m in record["members"]
        ),
        interval=MembershipInterval(record["interval"]),
        state=MembershipState(record["state"]),
        hsa_eligible=bool(record["hsa_eligible"]),
        needs_new_card=bool(record["needs_new_card"]),
        periods=tuple(record["periods"]),
    )


def _bill_next(
    ledger: Ledger,
    processor: Processor,
    membership_id: str,
    as_of: date,
    policy: RetryPolicy,
    runner_id: str,
    report: AutopayReport,
    bus: EventBus,
) -> bool:
    """Attempt the next due period; return True when another period may be due too."""
    if not _billing_due(_load(ledger, membership_id), as_of):
        return False
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        if record["state"] != MembershipState.ACTIVE.value or record["needs_new_card"]:
            return False
        period = _due_period(record, as_of)
        if period is None:
            _save(tx, record)
            return False
        attempt = len(period["attempts"]) + 1
        key = f"{membership_id}:{period['start']}:{attempt}"
        claim = claim_attempt(tx, key, runner_id)
        _save(tx, record)
    if claim is None:
        report.skipped_claimed += 1
        return False
    amount = Money(period["amount_cents"])
    try:
        charge = charge_card(
            ledger,
            processor,
            record["card_token"],
            amount,
            key,
            f"Membership {membership_id} from {period['start']}",
            record["account_patient"],
        )
    except LedgerError as error:
        logger.warning("membership %s not charged: %s", membership_id, error)
        release_claim(ledger, claim, str(error))
        report.errors += 1
        return False

    events: list[PlanEvent] = []
    try:
        with ledger.atomic() as tx:
            fresh = _load(tx, membership_id)
            current: dict[str, Any] = next(
                p for p in fresh["periods"] if p["start"] == period["start"]
            )
            if charge.status is ChargeStatus.SUCCEEDED:
                tx.post(_fee_entry(fresh, current, charge, amount))
                current["status"] = "paid"
                current["attempts"].append(
                    {"day": as_of.isoformat(), "outcome": "paid"}
                )
                events.append(
                    record_event(
                        tx,
                        EventType.MEMBERSHIP_BILLED,
                        as_of,
                        membership_id,
                        fresh["account_patient"],
                        {"period_start": current["start"], "amount": str(amount)},
                    )
                )
                report.memberships_billed += 1
            else:
                _membership_decline(
                    tx, fresh, current, charge.decline_code or "", as_of, policy, events
                )
                report.memberships_declined += 1
            _save(tx, fresh)
            finish_claim(tx, claim, current["status"])
    except LedgerError:
        if charge.status is ChargeStatus.SUCCEEDED:
            undo_charge(processor, charge, ledger.book_id)
        raise
    for event in events:
        bus.publish(event)
    return charge.status is ChargeStatus.SUCCEEDED


def _billing_due(record: dict[str, Any], as_of: date) -> bool:
    """Check, without the book lock, whether a period may be due by `as_of`."""
    if record["state"] != MembershipState.ACTIVE.value or record["needs_new_card"]:
        return False
    for period in record["periods"]:
        if period["status"] == "scheduled":
            due = period["next_attempt_on"]
            return bool(due) and date.fromisoformat(due) <= as_of
    return date.fromisoformat(record["next_period_start"]) <= as_of


def _due_period(record: dict[str, Any], as_of: date) -> dict[str, Any] | None:
    """Return the period to attempt now, opening the next one when it has started."""
    for period in record["periods"]:
        if period["status"] == "scheduled":
            due = period["next_attempt_on"]
            found: dict[str, Any] = period
            if due and date.fromisoformat(due) <= as_of:
                return found
            return None
    start = date.fromisoformat(record["next_period_start"])
    if start > as_of:
        return None
    interval = MembershipInterval(record["interval"])
    fee = Money(sum(m["fee_cents"] for m in record["members"]))
    if interval is MembershipInterval.MONTHLY:
        amount = prorated_first_fee(fee, start) if not record["periods"] else fee
        end = date(
            start.year, start.month, calendar.monthrange(start.year, start.month)[1]
        )
    else:
        amount = fee
        end = start + relativedelta(years=1) - timedelta(days=1)
    period = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "amount_cents": amount.cents,
        "status": "scheduled",
        "next_attempt_on": start.isoformat(),
        "cycle_attempts": 0,
        "attempts": [],
        "recognised": 0,
        "hsa_eligible": hsa_eligible(fee, interval, len(record["members"]), start.year),
    }
    record["periods"].append(period)
    record["next_period_start"] = (end + timedelta(days=1)).isoformat()
    return period


def _membership_decline(
    tx: Ledger,
    record: dict[str, Any],
    period: dict[str, Any],
    decline_code: str,
    as_of: date,
    policy: RetryPolicy,
    events: list[PlanEvent],
) -> None:
    category = classify_decline(decline_code).value
    period["attempts"].append(
        {
            "day": as_of.isoformat(),
            "outcome": "declined",
            "decline_code": decline_code,
            "category": category,
        }
    )
    period["cycle_attempts"] += 1
    retry_on = (
        policy.next_attempt(period["cycle_attempts"], as_of)
        if is_soft_decline(category)
        else None
    )
    period["next_attempt_on"] = retry_on.isoformat() if retry_on else None
    if not is_soft_decline(category):
        record["needs_new_card"] = True
    elif retry_on is None:
        record["state"] = MembershipState.PAST_DUE.value
    events.append(
        record_event(
            tx,
            EventType.PAYMENT_FAILED,
            as_of,
            record["membership_id"],
            record["account_patient"],
            {
                "period_start": period["start"],
                "decline_code": decline_code,
                "category": category,
            },
        )
    )


def _fee_entry(
    record: dict[str, Any], period: dict[str, Any], charge: Any, amount: Money
) -> Entry:
    annual = record["interval"] == MembershipInterval.ANNUAL.value
    dims = {"patient": record["account_patient"], "plan": record["membership_id"]}
    credit_account = DEFERRED_MEMBERSHIPS if annual else INCOME_MEMBERSHIPS
    postings = card_postings(charge, amount, **dims)
    postings.append(Posting(credit_account, -amount, **dims))
    return Entry(
        effective_date=date.fromisoformat(period["start"]),
        narration=f"Membership {record['membership_id']} fee from {period['start']}",
        postings=tuple(postings),
        actor="autopay",
        meta={
            "type": "membership_fee",
            "processor_id": charge.processor_id,
            "hsa_eligible": "true" if period["hsa_eligible"] else "false",
        },
        idempotency_key=f"membership:{record['membership_id']}:{period['start']}",
    )


def _recognition_entry(
    record: dict[str, Any], period: dict[str, Any], month: int, amount: Money, day: date
) -> Entry:
    dims = {"patient": record["account_patient"], "plan": record["membership_id"]}
    return Entry(
        effective_date=day,
        narration=(
            f"Membership {record['membership_id']}: month {month + 1} of 12 earned"
        ),
        postings=(
            Posting.with_dimensions(DEFERRED_MEMBERSHIPS, amount, dims),
            Posting.with_dimensions(INCOME_MEMBERSHIPS, -amount, dims),
        ),
        actor="autopay",
        meta={"type": "membership_recognised"},
        idempotency_key=(
            f"membership-earned:{record['membership_id']}:{period['start']}:{month}"
        ),
    )


def _refresh_hsa(record: dict[str, Any]) -> None:
    fee = Money(sum(m["fee_cents"] for m in record["members"]))
    year = date.fromisoformat(record["next_period_start"]).year
    record["hsa_eligible"] = hsa_eligible(
        fee, MembershipInterval(record["interval"]), len(record["members"]), year
    )


def _step(interval: MembershipInterval) -> relativedelta:
    return (
        relativedelta(months=1)
        if interval is MembershipInterval.MONTHLY
        else relativedelta(years=1)
    )


def _period_start_after(start: date, step: relativedelta) -> date:
    following: date = start + step
    if step.months == 1:
        return following.replace(day=1)
    return following


def _load(ledger: Ledger, membership_id: str) -> dict[str, Any]:
    record = ledger.store.get_record(ledger.book_id, RECORD_MEMBERSHIP, membership_id)
    if record is None:
        raise PlanError(
            f"membership {membership_id} does not exist in book {ledger.book_id}"
        )
    return record


def _save(ledger: Ledger, record: dict[str, Any]) -> None:
    ledger.store.put_record(
        ledger.book_id, RECORD_MEMBERSHIP, record["membership_id"], record
    )


def _set_state(
    ledger: Ledger,
    membership_id: str,
    state: MembershipState,
    allowed: Sequence[MembershipState],
) -> Membership:
    with ledger.atomic() as tx:
        record = _load(tx, membership_id)
        if record["state"] not in {s.value for s in allowed}:
            raise PlanError(
                f"membership {membership_id} is {record['state']}; this needs "
                f"{' or '.join(s.value for s in allowed)}"
            )
        record["state"] = state.value
        _save(tx, record)
    return membership_from_record(record)
